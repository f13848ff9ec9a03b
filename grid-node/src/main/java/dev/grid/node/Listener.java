package dev.grid.node;

import dev.grid.core.KeptCopy;
import dev.grid.core.KeptCopyFiles;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.OpType;
import dev.grid.core.engine.RebalancePlan;
import dev.grid.core.engine.Topology;

import java.nio.file.Path;
import java.time.Instant;

/**
 * What the engine reports (metrics, events, state changes, copies kept), turned into the member's metrics, log lines
 * and kept-copy files.
 * <p>
 * <b>Threading:</b> the member's agent thread only.
 */
final class Listener implements EngineListener
{
    private final GridMember member;

    Listener(final GridMember member)
    {
        this.member = member;
    }

    @Override
    public void onTransactionPrepared(final long prepareNs)
    {
        member.metrics.transactionPrepared(prepareNs);
    }

    @Override
    public void onTransactionFinished(final int errorCode, final long commitNs, final long totalNs)
    {
        member.metrics.transactionFinished(errorCode, commitNs, totalNs);
    }

    @Override
    public void onLockWait(final long waitNs)
    {
        member.metrics.lockWait(waitNs);
    }

    public void onOperationComplete(final OpType type, final long latencyNs, final int errorCode)
    {
        member.metrics.record(type, latencyNs, errorCode);
    }

    public void onRemap()
    {
        member.metrics.remap();
    }

    public void onRouted(final boolean toSelf)
    {
        member.metrics.routed(toSelf);
    }

    public void onStateChange(final MemberState from, final MemberState to, final String why)
    {
        member.state = to;
        GridMember.LOG.info("member {}: {} -> {} ({})", member.config.memberId(), from, to, why);
    }

    public void onMapInstalled(final Topology installed)
    {
        member.topology = installed;
        GridMember.LOG.info("member {} installed topology {} with {} member(s) and {} cache(s)",
            member.config.memberId(),
            installed.version(), installed.members().size(), installed.caches().size());
    }

    public void onPartitionLost(final int cacheId, final int partition, final long version)
    {
        GridMember.LOG.warn("cache id {} partition {} lost every copy at topology {}; it starts empty",
            cacheId, partition,
            version);
    }

    public void onCopyDropped(final int cacheId, final int partition, final long incarnation, final String why)
    {
        GridMember.LOG.warn("cache id {} partition {}: copy on {} dropped: {}", cacheId, partition,
            Long.toHexString(incarnation), why);
    }

    public void onCopyKept(final KeptCopy copy)
    {
        if (member.dataDirectory == null)
        {
            GridMember.LOG.warn("member {} loses {} entries of cache '{}' partition {} (in memory, nowhere to keep " +
                "them): {}", member.config.memberId(), copy.keys().size(), copy.cacheName(), copy.partition(),
                copy.reason());
            return;
        }
        final Path file = KeptCopyFiles.write(member.dataDirectory.keptDirectory(), copy, Instant.now());
        GridMember.LOG.warn("member {} kept {} entries of cache '{}' partition {} in {} before dropping the copy: {}",
            member.config.memberId(), copy.keys().size(), copy.cacheName(), copy.partition(), file, copy.reason());
    }

    public void onMalformedMessage(final int source, final String why)
    {
        GridMember.LOG.warn("member {} dropped a malformed message from endpoint {}: {}",
            member.config.memberId(), source,
            LogText.oneLine(why));
    }

    public void onEvent(final String message)
    {
        // Events may quote what peers and clients named (member ids of a baseline change): one line each.
        GridMember.LOG.info("{}", LogText.oneLine(message));
    }

    public void onRebalanceFinished(final int cacheId, final int partition, final boolean full,
        final long records, final long bytes, final long durationNs)
    {
        if (!member.rebalanceListeners.isEmpty())
        {
            final String cache = member.cacheName(cacheId);
            member.rebalanceEvents.execute(() -> member.rebalanceListeners.forEach(l -> l.onFinished(cache,
                partition, !full,
                records, bytes, durationNs)));
        }
    }

    public void onRebalanceStarted(final RebalancePlan plan, final String supplier)
    {
        if (!member.rebalanceListeners.isEmpty())
        {
            final String cache = member.cacheName(plan.cacheId());
            member.rebalanceEvents.execute(() -> member.rebalanceListeners.forEach(l -> l.onStarted(cache,
                plan.partition(),
                !plan.full(), supplier, plan.why())));
        }
        if (GridMember.LOG.isDebugEnabled())
        {
            GridMember.LOG.debug("rebalance of cache id {} partition {} {} from {}: {}",
                plan.cacheId(), plan.partition(),
                plan.full() ? "fully" : "historically (" + plan.fromExclusive() + ", " + plan.toInclusive() + "]",
                supplier, plan.why());
        }
    }
}
