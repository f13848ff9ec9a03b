package dev.grid.core.internal.cluster;

import dev.grid.core.QuorumStatus;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.HeartbeatDecoder;
import dev.grid.core.codec.messages.HeartbeatEncoder;
import dev.grid.core.codec.messages.NotMemberDecoder;
import dev.grid.core.codec.messages.TopologyDecoder;
import dev.grid.core.codec.messages.TopologyEncoder;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.Topology;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Membership of a running cluster: heartbeats and their echoes, failure detection, the quorum this member holds
 * (members heard within the lease, by the baseline), the coordinator's publication of topology versions and every
 * member's adoption of them, graceful leaves, members told they are no longer members, the baseline's auto-adjustment
 * and the coordinator's probes for another cluster to merge with.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class Membership
{
    private final MemberContext context;
    private final TopologyEncoder topologyOut = new TopologyEncoder();
    private final TopologyDecoder topologyIn = new TopologyDecoder();
    final Long2LongHashMap lastHeardNs = new Long2LongHashMap(Long.MIN_VALUE);

    long nextHeartbeatNs;
    /** Whether the last round of heartbeats said this member holds its bound of cache data. */
    private boolean announcedFull;

    // Quorum (see hasQuorum()).
    /** Per member: the send time, on this member's clock, of the newest of this member's heartbeats it echoed back. */
    final Long2LongHashMap echoedNs = new Long2LongHashMap(Long.MIN_VALUE);

    /** Per member: the send time, on its clock, of its newest heartbeat here: echoed back in this member's. */
    final Long2LongHashMap peerHeartbeatNs = new Long2LongHashMap(Long.MIN_VALUE);

    /** Per member: whom its newest heartbeat here names as coordinator (see holdsCoordinatorVotes()). */
    final Long2LongHashMap coordinatorVotes = new Long2LongHashMap(Long.MIN_VALUE);
    /** Members whose last heartbeat said they hold their bound of cache data. */
    private final org.agrona.collections.LongHashSet memoryFull = new org.agrona.collections.LongHashSet();

    /** When the coordinator next probes the seeds for another cluster (see probeForOtherClusters()). */
    private long nextMergeProbeNs;

    /** Per member: when this member adopted a topology that added it (its echoes are awaited from then). */
    final Long2LongHashMap addedNs = new Long2LongHashMap(Long.MIN_VALUE);

    /** How fresh an echo must be to count toward the quorum: failure detection less one heartbeat interval. */
    private final long quorumLeaseNs;

    /** {@link #hasQuorum()} as of {@link #quorumCheckedNs}; recomputed when time moves or an echo arrives. */
    private boolean quorumHeld;

    long quorumCheckedNs = Long.MIN_VALUE;

    /** When this member last went without quorum while active ({@link Long#MIN_VALUE}: it holds quorum). */
    long quorumMissingSinceNs = Long.MIN_VALUE;

    long writesRefusedForQuorum;
    long readsWithoutQuorum;

    final ArrayDeque<String> quorumHistory = new ArrayDeque<>();

    // Joint quorum across a baseline change (see holdsSettledBaselineQuorum()).
    /** The baseline of the newest settled map's topology; null until a map settled since this member joined. */
    private Baseline settledBaseline;
    /** By topology version: the baselines of maps installed here and not known settled yet. */
    private final Long2ObjectHashMap<Baseline> unsettledBaselines = new Long2ObjectHashMap<>();
    /** The topology and settled baseline {@link #baselineChangeUnsettled} last compared, and what it found. */
    private Topology comparedTopology;
    private Baseline comparedSettled;
    private boolean changeUnsettled;

    /** Coordinator: since when membership differs from a baseline that auto-adjusts; -1 while it does not. */
    private long baselineDifferentSinceNs = -1;

    /** Coordinator: the membership that {@link #baselineDifferentSinceNs} was measured against. */
    private List<MemberRecord> baselineDifferentMembers = List.of();

    Membership(final MemberContext context, final long quorumLeaseNs)
    {
        this.context = context;
        this.quorumLeaseNs = quorumLeaseNs;
    }

    /** Forget every peer heard and every vote and quorum reading: the member leaves its topology to join again. */
    void reset()
    {
        echoedNs.clear();
        peerHeartbeatNs.clear();
        coordinatorVotes.clear();
        memoryFull.clear();
        addedNs.clear();
        quorumCheckedNs = Long.MIN_VALUE;
        quorumMissingSinceNs = Long.MIN_VALUE;
        lastHeardNs.clear();
        settledBaseline = null;
        unsettledBaselines.clear();
        comparedTopology = null;
    }

    /**
     * A map was installed here: its baseline counts as settled once the map settled.
     *
     * @param version  the map's topology version.
     * @param baseline that topology's baseline.
     */
    void onMapInstalled(final long version, final Baseline baseline)
    {
        unsettledBaselines.put(version, baseline);
    }

    /**
     * A map settled (see {@link Exchange#noteSettled}): its baseline is the one a change of baseline must keep a
     * quorum of until the change's own map settles.
     *
     * @param version the settled map's topology version.
     */
    void onMapSettled(final long version)
    {
        final Baseline baseline = unsettledBaselines.get(version);
        if (baseline != null)
        {
            settledBaseline = baseline;
            quorumCheckedNs = Long.MIN_VALUE;
        }
        unsettledBaselines.keySet().removeIf(v -> v <= version);
    }

    /**
     * Joint quorum: while the topology's baseline lists other members than the newest settled map's, a quorum must
     * also be one of that settled baseline (echoes; for removals, votes too). A coordinator that changes the baseline
     * adopts the change at once, and a majority of the new baseline can be disjoint from one of the old: three members
     * grow to five while the two others of the three are cut off (soak seed 0x181c5050b). The coordinator and the two
     * new members held a quorum of five, the two cut off one of three, both sides acknowledged writes, and one side's
     * were lost at the heal. The change settles once every member of its topology installed its map; until then a
     * member of the old majority's side keeps the old quorum, and the coordinator's side loses it.
     *
     * @param votes whether the members counted must also name this member their coordinator.
     * @return whether the members heard hold a quorum of the settled baseline too, or no change is unsettled.
     */
    private boolean holdsSettledBaselineQuorum(final boolean votes)
    {
        if (!baselineChangeUnsettled())
        {
            return true;
        }
        return settledBaselineHave(votes) >= quorumNeed(settledBaseline);
    }

    private int settledBaselineHave(final boolean votes)
    {
        return heard(settledBaseline, votes);
    }

    /**
     * @param baseline the baseline whose members count (all of the topology's if it is not set).
     * @param votes    whether a member counts only if it names this one its coordinator.
     * @return this member and the members of the topology in the baseline that echoed a heartbeat within the lease.
     */
    private int heard(final Baseline baseline, final boolean votes)
    {
        int have = 0;
        // Indexed: counted for every operation routed (hasQuorum), so no iterator per call.
        final List<MemberRecord> members = context.topology().members();
        for (int i = 0, n = members.size(); i < n; i++)
        {
            final MemberRecord member = members.get(i);
            if (baseline.isSet() && !baseline.contains(member.memberId()))
            {
                continue;
            }
            if (member.incarnation() == context.incarnation() ||
                heardEchoWithin(member) && (!votes || votesForThisMember(member)))
            {
                have++;
            }
        }
        return have;
    }

    /**
     * For an admission without quorum ({@code Joining}): like {@link #holdsSettledBaselineQuorum} with votes, the
     * joiners counted too. Without it, a coordinator that lost the joint quorum regained one of the new baseline with
     * a joiner, removed the old majority as failed and forked again (a read-only review found it).
     *
     * @param joiners the members the admission would add.
     * @return whether the members heard that name this one coordinator, with the joiners, hold a quorum of the
     *         settled baseline too, or no baseline change is unsettled.
     */
    boolean holdsSettledBaselineQuorumWith(final List<MemberRecord> joiners)
    {
        if (!baselineChangeUnsettled())
        {
            return true;
        }
        int have = settledBaselineHave(true);
        for (final MemberRecord joiner : joiners)
        {
            if (!settledBaseline.isSet() || settledBaseline.contains(joiner.memberId()))
            {
                have++;
            }
        }
        return have >= quorumNeed(settledBaseline);
    }

    /** @return whether the topology's baseline lists other members than the newest settled map's. */
    private boolean baselineChangeUnsettled()
    {
        final Topology topology = context.topology();
        if (settledBaseline == null || topology == null)
        {
            return false;
        }
        if (topology != comparedTopology || settledBaseline != comparedSettled)
        {
            comparedTopology = topology;
            comparedSettled = settledBaseline;
            changeUnsettled = !topology.baseline().memberIds().equals(settledBaseline.memberIds());
        }
        return changeUnsettled;
    }

    /** @return why quorum is missing for the baseline change not settled yet, or "" if it is not missing for that. */
    private String unsettledChangeDetail()
    {
        if (!baselineChangeUnsettled() || holdsSettledBaselineQuorum(false))
        {
            return "";
        }
        return "; the change from " + (settledBaseline.isSet() ? "the baseline " + settledBaseline.memberIds() :
            "no baseline") + " has not settled, and " + settledBaselineHave(false) + " of its members are heard, " +
            quorumNeed(settledBaseline) + " needed";
    }

    /** The member's state changed: the quorum is read afresh. */
    void quorumStateChanged()
    {
        quorumCheckedNs = Long.MIN_VALUE;
    }

    /** @return this member's view of the quorum, with its counts and recent changes. */
    QuorumStatus quorumStatus()
    {
        return new QuorumStatus(quorumHave(), quorumNeed(), hasQuorum(), writesRefusedForQuorum, readsWithoutQuorum,
            List.copyOf(quorumHistory));
    }

    /** A read was served without quorum (its cache allows it); counted for the quorum status. */
    void readWithoutQuorum()
    {
        readsWithoutQuorum++;
    }

    /** @return whether the member names this one its coordinator (as of its last heartbeat). */
    boolean votesForThisMember(final MemberRecord member)
    {
        return coordinatorVotes.get(member.incarnation()) == context.incarnation();
    }

    /**
     * Every heartbeat interval: heartbeat the other members, note the quorum, detect failures and probe for other
     * clusters to merge with.
     *
     * @return the work done.
     */
    int heartbeatDuty()
    {
        // A member that just reached its memory bound says so at once: until the primaries of the partitions it backs
        // up hear it, they accept writes for it (a heartbeat interval of them went over the bound several times).
        // Only the step to full is hurried, so a member at its bound that evicts and crosses it with every write
        // sends at most one early round per interval.
        final boolean full = context.evictions().isFull();
        if (context.nowNs() < nextHeartbeatNs && (announcedFull || !full))
        {
            return 0;
        }
        announcedFull = full;
        nextHeartbeatNs = context.nowNs() + context.config().heartbeatIntervalNs();
        for (final MemberRecord member : context.topology().members())
        {
            if (member.incarnation() != context.incarnation())
            {
                sendHeartbeat(member);
            }
        }
        noteQuorum();
        detectFailures();
        probeForOtherClusters();
        return 1;
    }

    /**
     * A message of a member of the topology arrived now.
     *
     * @param sender its incarnation.
     */
    void heard(final long sender)
    {
        lastHeardNs.put(sender, context.nowNs());
    }

    boolean isCoordinator()
    {
        return context.topology() != null && context.topology().coordinator().incarnation() == context.incarnation();
    }

    /**
     * @return the oldest member this one heard within failure detection, itself at the latest: the coordinator, unless
     *         the coordinator failed and the survivors could not remove it (no quorum). It admits joiners meanwhile.
     */
    MemberRecord actingCoordinator()
    {
        for (final MemberRecord member : context.topology().members())
        {
            if (member.incarnation() == context.incarnation() || heardWithin(member,
                context.config().failureDetectionTimeoutNs()))
            {
                return member;
            }
        }
        return context.topology().coordinator();
    }

    /**
     * Whether a quorum of members (itself included) name this member as their coordinator in their newest heartbeats,
     * echoed within the lease: each names the oldest member of its topology it hears. Quorum alone does not make a
     * member's removals safe: when two members cannot hear each other but both hear the rest (a cut of one link), each
     * holds quorum and each would remove the other, forking the topology. The rest name only one of them.
     */
    private boolean holdsCoordinatorVotes()
    {
        return heard(context.topology().baseline(), true) >= quorumNeed() && holdsSettledBaselineQuorum(true);
    }

    boolean heardWithin(final MemberRecord member, final long windowNs)
    {
        final long heard = lastHeardNs.get(member.incarnation());
        return heard != Long.MIN_VALUE && context.nowNs() - heard <= windowNs;
    }

    boolean heardEchoWithin(final MemberRecord member)
    {
        final long echoed = echoedNs.get(member.incarnation());
        return echoed != Long.MIN_VALUE && context.nowNs() - echoed <= quorumLeaseNs;
    }

    /**
     * Coordinator: once membership stayed different from a baseline that auto-adjusts for its timeout (every
     * membership change restarts the wait), set the baseline to the present members, which moves data for good.
     */
    int baselineAutoAdjust()
    {
        final Baseline baseline = context.topology().baseline();
        if (baseline.autoAdjustTimeoutNs() < 0 || baseline.matches(context.topology().members()) || !hasQuorum())
        {
            baselineDifferentSinceNs = -1;
            return 0;
        }
        if (baselineDifferentSinceNs < 0 || !context.topology().members().equals(baselineDifferentMembers))
        {
            baselineDifferentSinceNs = context.nowNs();
            baselineDifferentMembers = context.topology().members();
            return 0;
        }
        if (context.nowNs() - baselineDifferentSinceNs < baseline.autoAdjustTimeoutNs() ||
            context.exchange().isCoordinating() || waitsForLostPartitions())
        {
            return 0;
        }
        baselineDifferentSinceNs = -1;
        final Baseline next = baseline.ofPresent(context.topology().members());
        context.listener().onEvent("coordinator " + context.config().memberId() + " auto-adjusts the baseline from " +
            baseline.memberIds() + " to " + next.memberIds() + " after " +
            TimeUnit.NANOSECONDS.toMillis(baseline.autoAdjustTimeoutNs()) + " ms");
        publishTopology(context.topology().withBaseline(next));
        return 1;
    }

    void sendHeartbeat(final MemberRecord member)
    {
        writeHeartbeat(member.incarnation(), peerHeartbeatNs.get(member.incarnation()));
        context.send(member, context.writer());
    }

    /**
     * A heartbeat: topology version, send time (the peer echoes it back: an echo proves the peer took this member for
     * a member after then), the echo of the peer's newest heartbeat, this member's coordinator vote, and the newest
     * map it knows settled (see {@link Exchange#settledVersion()}).
     */
    private void writeHeartbeat(final long destinationIncarnation, final long echoNs)
    {
        final HeartbeatEncoder out = context.messages().encode(context.wire().heartbeatOut, context.incarnation(),
            destinationIncarnation);
        out.version(context.topology().version()).sentNs(context.nowNs()).echoNs(echoNs)
            .coordinatorVote(actingCoordinator().incarnation())
            .memoryFull((short)(context.evictions().isFull() ? 1 : 0))
            .settledVersion(context.exchange().settledVersion())
            .coordinator(context.topology().coordinator().incarnation());
        context.messages().finish(out);
    }

    /**
     * Whether this member holds its cluster's quorum: enough members that count toward it (the baseline's, or any
     * without a baseline) echoed a heartbeat this member sent within the lease (failure detection less one heartbeat
     * interval), itself included. Only then does it serve writes, complete updates, change membership or caches.
     * <p>
     * Echoes, not mere messages, because a member that resumes after a pause finds its peers' heartbeats of before the
     * pause waiting for it: those say nothing about whether they still count it as a member, an echo of a heartbeat
     * sent after the pause does. A peer echoes only while it lists this member, and the coordinator removes a member
     * only after a failure-detection timeout of silence, so a member that lost its majority loses quorum (and stops
     * acknowledging) before that majority can have moved on without it.
     */
    boolean hasQuorum()
    {
        if (quorumCheckedNs != context.nowNs())
        {
            quorumCheckedNs = context.nowNs();
            quorumHeld = context.state() == MemberState.ACTIVE && quorumHave() >= quorumNeed() &&
                holdsSettledBaselineQuorum(false);
        }
        return quorumHeld;
    }

    int quorumHave()
    {
        if (context.state() != MemberState.ACTIVE || context.topology() == null)
        {
            return 0;
        }
        return heard(context.topology().baseline(), false);
    }

    int quorumNeed()
    {
        return quorumNeed(context.topology() == null ? context.walBaseline() : context.topology().baseline());
    }

    /**
     * @return {@code cluster.min.members} if configured, else a majority of the baseline if one is set, else a
     *         majority of the seeds.
     */
    int quorumNeed(final Baseline baseline)
    {
        if (context.config().minMembers() > 0 || !baseline.isSet())
        {
            return context.config().quorumMinMembers();
        }
        return baseline.members().size() / 2 + 1;
    }

    /**
     * Log and remember when quorum is lost or regained; on regaining it, complete the updates that waited for it.
     */
    void noteQuorum()
    {
        final boolean held = hasQuorum();
        if (!held && quorumMissingSinceNs == Long.MIN_VALUE)
        {
            quorumMissingSinceNs = context.nowNs();
            if (context.installedMap() != null)
            {
                // Not news while the member first meets its peers (no echo yet).
                final String event = "member " + context.config().memberId() + " lost quorum: " + quorumHave() +
                    " members heard, " + quorumNeed() + " needed (topology " + context.topology().version() + ")" +
                    unsettledChangeDetail();
                context.listener().onEvent(event);
                rememberQuorumEvent(event);
            }
        }
        else if (held && quorumMissingSinceNs != Long.MIN_VALUE)
        {
            if (context.installedMap() != null)
            {
                final String event = "member " + context.config().memberId() + " regained quorum after " +
                    TimeUnit.NANOSECONDS.toMillis(context.nowNs() - quorumMissingSinceNs) + " ms: " + quorumHave() +
                    " members heard, " + quorumNeed() + " needed (topology " + context.topology().version() + ")";
                context.listener().onEvent(event);
                rememberQuorumEvent(event);
            }
            quorumMissingSinceNs = Long.MIN_VALUE;
        }
        if (held)
        {
            context.replication().answerDeferredUpdates();
            context.tx().onMapSettled();
        }
        if (held)
        {
            // Not only when quorum comes back after being noticed missing: an update may have been held in a moment
            // without quorum between two of these checks (a member resumed from a pause shorter than the lease).
            context.replication().completeUpdatesHeldForQuorum();
        }
    }

    void rememberQuorumEvent(final String event)
    {
        if (quorumHistory.size() == 16)
        {
            quorumHistory.removeFirst();
        }
        quorumHistory.addLast(event);
    }

    /**
     * A write is refused for want of quorum only once quorum has been missing for two heartbeat intervals: a member
     * that just joined, or whose peers' echoes are a moment late on a busy machine, waits a little instead.
     */
    boolean refusesForQuorum()
    {
        if (hasQuorum())
        {
            return false;
        }
        noteQuorum();
        return context.nowNs() - quorumMissingSinceNs > 2 * context.config().heartbeatIntervalNs();
    }

    GridException noQuorum(final String what)
    {
        writesRefusedForQuorum++;
        return new GridException(ErrorCode.NO_QUORUM, "member " + context.config().memberId() + " refuses " + what +
            ": it holds no quorum (" + quorumHave() + " members heard within " +
            TimeUnit.NANOSECONDS.toMillis(quorumLeaseNs) + " ms, " + quorumNeed() + " needed; topology " +
            (context.topology() == null ? 0 : context.topology().version()) + unsettledChangeDetail() +
            "); retry through a member of the majority");
    }

    void detectFailures()
    {
        if (!hasQuorum())
        {
            // A member without quorum removes no one: after a pause or on the minority side of a split, its view is
            // stale, and the majority (if any) decides. It learns where it stands from the echoes or from the
            // coordinator's "not a member" answer to its heartbeats.
            return;
        }
        final List<MemberRecord> alive = new ArrayList<>();
        boolean olderAllFailed = true;
        boolean anyFailed = false;
        boolean seenSelf = false;
        for (final MemberRecord member : context.topology().members())
        {
            if (member.incarnation() == context.incarnation())
            {
                seenSelf = true;
                alive.add(member);
                continue;
            }
            // Failed: silent, or deaf (its heartbeats arrive but echo none of this member's for as long): a member that
            // cannot hear the cluster keeps talking to it, and without quorum removes no one, so only this way does it
            // leave a topology it cannot serve (an asymmetric cut).
            final long echoOrAddedNs = Math.max(echoedNs.get(member.incarnation()), addedNs.get(member.incarnation()));
            final long timeoutNs = context.config().failureDetectionTimeoutNs();
            final boolean failed = context.nowNs() - lastHeardNs.get(member.incarnation()) > timeoutNs ||
                context.nowNs() - echoOrAddedNs > timeoutNs;
            if (failed)
            {
                anyFailed = true;
            }
            else
            {
                alive.add(member);
                if (!seenSelf)
                {
                    olderAllFailed = false;
                }
            }
        }
        if (anyFailed && (isCoordinator() || olderAllFailed) && holdsCoordinatorVotes())
        {
            final List<String> gone = new ArrayList<>();
            for (final MemberRecord member : context.topology().members())
            {
                if (!alive.contains(member))
                {
                    gone.add(member.toString());
                }
            }
            context.listener().onEvent("member " + context.config().memberId() + " removes failed members " + gone);
            publishTopology(context.topology().withMembers(alive));
        }
    }

    void publishTopology(final Topology next)
    {
        adoptTopology(next);
        for (final MemberRecord member : next.members())
        {
            if (member.incarnation() != context.incarnation())
            {
                sendTopology(member);
            }
        }
    }

    void sendTopology(final MemberRecord member)
    {
        final byte[] body = StateBodies.encode(context.topology());
        context.send(member, context.messages().finish(context.messages().encode(topologyOut, context.incarnation(),
            member.incarnation()).putTopology(body, 0, body.length)));
    }

    void onTopology(final long sender)
    {
        final TopologyDecoder in = context.messages().decode(topologyIn);
        final byte[] body = MemberMessages.bytes(in, in.topologyLength(), "topology");
        in.getTopology(body, 0, body.length);
        final Topology received = StateBodies.decodeTopology(body);
        if (context.state() == MemberState.JOINING)
        {
            if (received.indexOf(context.incarnation()) < 0)
            {
                return;
            }
            context.changeState(MemberState.ACTIVE, "joined topology " + received.version());
            adoptTopology(received);
            return;
        }
        if (context.state() != MemberState.ACTIVE || received.version() <= context.topology().version())
        {
            return;
        }
        if (context.topology().indexOf(sender) < 0)
        {
            // Another cluster's topology (one that admitted a restarted member this one still lists, say): a member
            // follows only its own cluster's coordinators, who are members of its current topology.
            return;
        }
        if (received.indexOf(context.incarnation()) < 0)
        {
            context.rejoin("topology " + received.version() + " no longer lists this member");
            return;
        }
        // The coordinator was heard: without this, a member that installs a topology from a coordinator it had not
        // heard for a while (a cut that just healed) could take it for failed in the same breath.
        lastHeardNs.put(sender, context.nowNs());
        adoptTopology(received);
    }

    void adoptTopology(final Topology next)
    {
        final Topology previous = context.topology();
        if (previous == null)
        {
            context.recovery().dropRecoveredCopiesUnknownTo(next);
        }
        context.installTopology(next);
        quorumCheckedNs = Long.MIN_VALUE;
        context.joining().forgetWaitingJoiners();
        for (final MemberRecord member : next.members())
        {
            if (previous == null || previous.indexOf(member.incarnation()) < 0 || !lastHeardNs.containsKey(
                member.incarnation()))
            {
                lastHeardNs.put(member.incarnation(), context.nowNs());
                addedNs.put(member.incarnation(), context.nowNs());
            }
        }
        if (previous != null)
        {
            for (final MemberRecord member : previous.members())
            {
                if (next.indexOf(member.incarnation()) < 0)
                {
                    lastHeardNs.remove(member.incarnation());
                    echoedNs.remove(member.incarnation());
                    peerHeartbeatNs.remove(member.incarnation());
                    coordinatorVotes.remove(member.incarnation());
                    addedNs.remove(member.incarnation());
                    context.replication().forgetBackup(member.incarnation());
                    context.tx().forgetMember(member.incarnation());
                }
            }
            for (final CacheDescriptor cache : previous.caches())
            {
                if (next.cache(cache.cacheId()) == null)
                {
                    context.near().failOperationsOnCache(cache);
                }
            }
            context.tx().onTopologyChanged(cacheId -> next.cache(cacheId) != null,
                cacheId -> previous.cache(cacheId) == null ? null : previous.cache(cacheId).name());
        }
        context.rebalancer().onTopologyChanged();
        context.checker().onTopologyChanged();
        context.exchange().startFor(next, isCoordinator());
        if (!isCoordinator())
        {
            context.cacheAdmin().reset();
        }
        nextHeartbeatNs = context.nowNs();
    }

    void onHeartbeat(final long sender)
    {
        final HeartbeatDecoder in = context.messages().decode(context.wire().heartbeatIn);
        final long version = in.version();
        final long sentNs = in.sentNs();
        final long echoNs = in.echoNs();
        final long topologyCoordinator = in.coordinator();
        coordinatorVotes.put(sender, in.coordinatorVote());
        if (in.settledVersion() != HeartbeatDecoder.settledVersionNullValue() &&
            version == context.topology().version() && sender == context.topology().coordinator().incarnation())
        {
            // Only the word of this topology's coordinator, on this topology: a member of a newer topology (the
            // majority's coordinator probing the seeds it does not list) settled maps this member never had, and its
            // settled version would release answers given under a map the next decision may not know.
            context.exchange().noteSettled(in.settledVersion());
        }
        if (in.memoryFull() != 0)
        {
            memoryFull.add(sender);
        }
        else
        {
            memoryFull.remove(sender);
        }
        final boolean firstFromSender = peerHeartbeatNs.get(sender) == Long.MIN_VALUE;
        peerHeartbeatNs.put(sender, sentNs);
        if (echoNs != Long.MIN_VALUE && echoNs <= context.nowNs() && echoNs > echoedNs.get(sender))
        {
            echoedNs.put(sender, echoNs);
            quorumCheckedNs = Long.MIN_VALUE;
        }
        if (firstFromSender)
        {
            // Echo at once: a member that just joined (or rejoined) holds quorum one round trip later, not a heartbeat
            // interval later.
            sendHeartbeat(context.topology().member(sender));
        }
        if (isCoordinator() && version < context.topology().version())
        {
            sendTopology(context.topology().member(sender));
        }
        if (topologyCoordinator != HeartbeatDecoder.coordinatorNullValue() &&
            version == context.topology().version() &&
            topologyCoordinator != context.topology().coordinator().incarnation())
        {
            // Two topologies of one version: a coordinator published this one to some members and failed, and a
            // member it never reached numbered its own the same (admitting restarted members without quorum, or
            // taking over as acting coordinator). The two list each other, so neither says "not a member", and each
            // side's exchange waits for the other's report forever (soak seed 0x161dbe23). Leaving with its copies,
            // as from a cluster it merges into: an in-memory member may hold the only copies of what was acknowledged.
            final String cannotFinish = whyOwnTopologyCannotFinish();
            if (cannotFinish != null)
            {
                context.dissolve("member " + Long.toHexString(sender) + " is in another topology " + version +
                    " (coordinator " + Long.toHexString(topologyCoordinator) + "), and this member's topology " +
                    version + " cannot finish (" + cannotFinish + ")");
            }
        }
    }

    /**
     * Of two topologies of one version, this member's side yields if its topology's coordinator is another member and
     * the topology cannot finish: the coordinator silent for failure detection, or this member without quorum that
     * long. A coordinator never yields here: its side is the one that can still act, and the other's members yield
     * to it.
     *
     * @return why this member's topology cannot finish, or null if this member does not yield.
     */
    private String whyOwnTopologyCannotFinish()
    {
        final MemberRecord coordinator = context.topology().coordinator();
        if (coordinator.incarnation() == context.incarnation())
        {
            return null;
        }
        if (!heardWithin(coordinator, context.config().failureDetectionTimeoutNs()))
        {
            return "its coordinator " + coordinator + " is silent";
        }
        return !hasQuorum() && quorumLostForFailureDetection() ? "no quorum for failure detection" : null;
    }

    /**
     * @param incarnation a member.
     * @return whether its last heartbeat said it holds its bound of cache data.
     */
    boolean isMemoryFull(final long incarnation)
    {
        return memoryFull.contains(incarnation);
    }

    /** @return whether any member's last heartbeat said it holds its bound (almost never: writes check it first). */
    boolean anyMemoryFull()
    {
        return !memoryFull.isEmpty();
    }

    void onLeave(final long sender)
    {
        context.listener().onEvent("member " + context.config().memberId() + " hears that " +
            context.topology().member(sender) + " leaves");
        lastHeardNs.put(sender, Long.MIN_VALUE / 2);
        detectFailures();
    }

    /**
     * A member that does not list this one says so, with its topology's version, its cluster life, its size and its
     * coordinator. Of the same cluster: this member was removed (a newer topology, or the same version from its
     * coordinator, or the same version with other members while this one holds no quorum: a fork it is on the wrong
     * side of; or any version once it has been without quorum for failure detection: each side of a fork may have
     * numbered on), and rejoins. Of another cluster (two formed, or one split and both sides went on): the smaller one
     * dissolves, ties going against the one whose coordinator's incarnation is greater, and a side without quorum
     * always; its members rejoin the other with their copies (recovered from the WAL, or an in-memory member's kept),
     * judged by counters as any rejoining member's.
     */
    void onNotMember(final long sender)
    {
        final NotMemberDecoder in = context.messages().decode(context.wire().notMemberIn);
        final long version = in.version();
        final long lifeId = in.lifeId();
        final int members = in.members();
        final long coordinator = in.coordinator();
        if (members < 1 || members > 65_535)
        {
            throw new MalformedMessageException("not-member answer with " + members + " members");
        }
        if (context.state() != MemberState.ACTIVE)
        {
            return;
        }
        final long ownLifeId = clusterLifeId();
        if (lifeId != 0 && ownLifeId != 0 && lifeId != ownLifeId)
        {
            final int own = context.topology().members().size();
            if (!hasQuorum() || members > own || (members == own &&
                Long.compareUnsigned(coordinator, context.topology().coordinator().incarnation()) < 0))
            {
                final String why = "another cluster (" + members + " members, topology " + version + ") " +
                    "answered at a seed address; this cluster of " + own + " dissolves into it";
                context.dissolve(why);
            }
            return;
        }
        // Without quorum for failure detection, any version: the two may have forked, each side numbering on (a member
        // that published topologies nobody installed is ahead of the cluster that went on without it).
        if (version > context.topology().version() || quorumLostForFailureDetection() ||
            (version == context.topology().version() &&
            (context.topology().coordinator().incarnation() == sender || !hasQuorum())))
        {
            context.rejoin("member " + Long.toHexString(sender) + " of topology " + version +
                " does not list this member");
        }
    }

    private boolean quorumLostForFailureDetection()
    {
        return quorumMissingSinceNs != Long.MIN_VALUE &&
            context.nowNs() - quorumMissingSinceNs > context.config().failureDetectionTimeoutNs();
    }

    /** @return the cluster life of the installed map (0 before one is installed): what tells two clusters apart. */
    long clusterLifeId()
    {
        return context.installedMap() == null ? 0 : context.installedMap().lifeId();
    }

    /**
     * Once a second or so, the coordinator sends a heartbeat to every seed address its topology does not list, and a
     * member that has been without quorum for failure detection to every seed address: a member that does not list
     * the sender answers that it is not a member (see onNotMember()), so two clusters merge, and a member the others
     * removed while it was away learns it even if every member it lists is gone (their addresses now other
     * incarnations', which drop the heartbeats addressed to the old ones).
     */
    void probeForOtherClusters()
    {
        final boolean lost = quorumLostForFailureDetection();
        if (!(isCoordinator() || lost) || context.nowNs() < nextMergeProbeNs)
        {
            return;
        }
        nextMergeProbeNs = context.nowNs() + 10 * context.config().heartbeatIntervalNs();
        for (final String address : context.joining().seedAddresses())
        {
            boolean listed = false;
            for (final MemberRecord member : context.topology().members())
            {
                listed |= member.address().equals(address);
            }
            if (!listed || lost)
            {
                // Addressed to no incarnation in particular; a member that lists this one takes it for a heartbeat.
                writeHeartbeat(0, Long.MIN_VALUE);
                context.transport().send(context.transport().endpointOf(address), context.writer().buffer(), 0,
                    context.writer().length());
            }
        }
    }

    /**
     * @return true while a partition is lost: its last owners may be the absent baseline members, and dropping them
     *         from the baseline would make the loss final (their copies, when they return, would no longer be owners').
     */
    boolean waitsForLostPartitions()
    {
        if (context.installedMap() == null)
        {
            return false;
        }
        for (final CacheDescriptor cache : context.topology().caches())
        {
            if (!context.installedMap().lostPartitions(cache.cacheId()).isEmpty())
            {
                return true;
            }
        }
        return false;
    }
}
