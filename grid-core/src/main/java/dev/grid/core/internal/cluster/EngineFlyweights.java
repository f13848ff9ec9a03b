package dev.grid.core.internal.cluster;

import dev.grid.core.codec.messages.CacheAdminResponseDecoder;
import dev.grid.core.codec.messages.CacheAdminResponseEncoder;
import dev.grid.core.codec.messages.HeartbeatDecoder;
import dev.grid.core.codec.messages.HeartbeatEncoder;
import dev.grid.core.codec.messages.JoinPendingDecoder;
import dev.grid.core.codec.messages.JoinPendingEncoder;
import dev.grid.core.codec.messages.JoinRejectedDecoder;
import dev.grid.core.codec.messages.JoinRejectedEncoder;
import dev.grid.core.codec.messages.LeaveDecoder;
import dev.grid.core.codec.messages.LeaveEncoder;
import dev.grid.core.codec.messages.MapInstalledDecoder;
import dev.grid.core.codec.messages.MapInstalledEncoder;
import dev.grid.core.codec.messages.NotMemberDecoder;
import dev.grid.core.codec.messages.NotMemberEncoder;
import dev.grid.core.codec.messages.RebalanceDoneDecoder;
import dev.grid.core.codec.messages.RebalanceDoneEncoder;
import dev.grid.core.codec.messages.ReplicateAckDecoder;
import dev.grid.core.codec.messages.ReplicateAckEncoder;
import dev.grid.core.codec.messages.ReplicateDecoder;
import dev.grid.core.codec.messages.ReplicateEncoder;
import dev.grid.core.codec.messages.ReportAckDecoder;
import dev.grid.core.codec.messages.ReportAckEncoder;
import dev.grid.core.codec.messages.RequestDecoder;
import dev.grid.core.codec.messages.RequestEncoder;
import dev.grid.core.codec.messages.ResponseDecoder;
import dev.grid.core.codec.messages.ResponseEncoder;
import dev.grid.core.codec.messages.SizeRequestDecoder;
import dev.grid.core.codec.messages.SizeRequestEncoder;

/**
 * The flyweights of the member messages the engine's smaller components share (single-key operations and their
 * replication, membership, the exchange's acknowledgements, cache administration's answer, rebalance done): one of
 * each, reused for every message. Components with messages of their own hold their own flyweights.
 *
 * <p><b>Threading:</b> the engine's thread only.
 */
final class EngineFlyweights
{
    final RequestEncoder requestOut = new RequestEncoder();
    final RequestDecoder requestIn = new RequestDecoder();
    final ResponseEncoder responseOut = new ResponseEncoder();
    final ResponseDecoder responseIn = new ResponseDecoder();
    final ReplicateEncoder replicateOut = new ReplicateEncoder();
    final ReplicateDecoder replicateIn = new ReplicateDecoder();
    final ReplicateAckEncoder replicateAckOut = new ReplicateAckEncoder();
    final ReplicateAckDecoder replicateAckIn = new ReplicateAckDecoder();
    final SizeRequestEncoder sizeRequestOut = new SizeRequestEncoder();
    final SizeRequestDecoder sizeRequestIn = new SizeRequestDecoder();
    final JoinPendingEncoder joinPendingOut = new JoinPendingEncoder();
    final JoinPendingDecoder joinPendingIn = new JoinPendingDecoder();
    final JoinRejectedEncoder joinRejectedOut = new JoinRejectedEncoder();
    final JoinRejectedDecoder joinRejectedIn = new JoinRejectedDecoder();
    final HeartbeatEncoder heartbeatOut = new HeartbeatEncoder();
    final HeartbeatDecoder heartbeatIn = new HeartbeatDecoder();
    final NotMemberEncoder notMemberOut = new NotMemberEncoder();
    final NotMemberDecoder notMemberIn = new NotMemberDecoder();
    final LeaveEncoder leaveOut = new LeaveEncoder();
    final LeaveDecoder leaveIn = new LeaveDecoder();
    final ReportAckEncoder reportAckOut = new ReportAckEncoder();
    final ReportAckDecoder reportAckIn = new ReportAckDecoder();
    final MapInstalledEncoder mapInstalledOut = new MapInstalledEncoder();
    final MapInstalledDecoder mapInstalledIn = new MapInstalledDecoder();
    final CacheAdminResponseEncoder cacheAdminResponseOut = new CacheAdminResponseEncoder();
    final CacheAdminResponseDecoder cacheAdminResponseIn = new CacheAdminResponseDecoder();
    final RebalanceDoneEncoder rebalanceDoneOut = new RebalanceDoneEncoder();
    final RebalanceDoneDecoder rebalanceDoneIn = new RebalanceDoneDecoder();
}
