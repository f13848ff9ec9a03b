package dev.grid.core.internal.cluster;

import dev.grid.core.client.ClientProtocol;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;
import dev.grid.core.internal.cluster.LocalPartition.Predecessors;
import org.agrona.collections.Long2LongHashMap;

/**
 * What this member knows of every origin of operations (members and thin clients): the lowest sequence each may
 * still resend (its watermark), when each thin client was last heard of, and so which remembered outcomes may be
 * retired. Outcomes an origin may still resend are kept, so that a retry is answered with the original outcome and
 * never applied twice.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class Origins
{
    private final MemberContext context;

    /**
     * Per origin incarnation, the lowest sequence it may still resend (every operation of it below was answered or
     * given up), as its requests and the primaries' replicates carry it: outcomes below it are retired.
     */
    private final Long2LongHashMap originWatermarks = new Long2LongHashMap(Long.MIN_VALUE);

    /**
     * Per thin client this member heard of (a request, a replicate or a record carrying its identity), when it last
     * did. A client is no member, so its outcomes cannot be retired when it leaves: they go below its watermark, or
     * {@link ClientProtocol#CLIENT_OUTCOME_RETENTION_NS} after it was last heard of (it resends only within its request
     * timeout, which is shorter). Pruned with the client's watermark once expired.
     */
    private final Long2LongHashMap clientSeenNs = new Long2LongHashMap(Long.MIN_VALUE);

    private long nextClientPruneNs;

    /** {@link #originMayResend}, made once: every remembered outcome passes it to the retirement sweep. */
    private final java.util.function.LongPredicate originMayResend = this::originMayResend;

    Origins(final MemberContext context)
    {
        this.context = context;
    }

    /** @return whether an origin may still resend (a member of the topology, or a client heard of lately). */
    java.util.function.LongPredicate originMayResend()
    {
        return originMayResend;
    }

    /** @return per origin incarnation, the lowest sequence it may still resend (see the field). */
    Long2LongHashMap originWatermarks()
    {
        return originWatermarks;
    }

    void noteWatermark(final long origin, final long watermark)
    {
        if (watermark > originWatermarks.get(origin))
        {
            originWatermarks.put(origin, watermark);
        }
        noteClientSeen(origin);
    }

    void rememberPredecessors(final LocalPartition lp, final Predecessors predecessors)
    {
        predecessors.rememberIn(lp);
        for (final OpKey key : predecessors.keys())
        {
            noteClientSeen(key.originIncarnation());
        }
    }

    void noteClientSeen(final long origin)
    {
        if (ClientProtocol.isClientId(origin))
        {
            clientSeenNs.put(origin, context.nowNs());
        }
    }

    /**
     * @return whether an operation's origin may still resend operations: a member still in the cluster, or a thin
     *         client heard of within {@link ClientProtocol#CLIENT_OUTCOME_RETENTION_NS}.
     */
    boolean originMayResend(final long origin)
    {
        if (context.topology() != null && context.topology().member(origin) != null)
        {
            return true;
        }
        final long seenNs = clientSeenNs.get(origin);
        return seenNs != Long.MIN_VALUE && context.nowNs() - seenNs < ClientProtocol.CLIENT_OUTCOME_RETENTION_NS;
    }

    /** Forget the thin clients not heard of for longer than their outcomes are kept, with their watermarks. */
    void pruneClients()
    {
        if (context.nowNs() < nextClientPruneNs || clientSeenNs.isEmpty())
        {
            return;
        }
        nextClientPruneNs = context.nowNs() + ClientProtocol.CLIENT_OUTCOME_RETENTION_NS / 8;
        for (final Long2LongHashMap.EntryIterator it = clientSeenNs.entrySet().iterator(); it.hasNext(); )
        {
            it.next();
            if (context.nowNs() - it.getLongValue() >= ClientProtocol.CLIENT_OUTCOME_RETENTION_NS)
            {
                originWatermarks.remove(it.getLongKey());
                it.remove();
            }
        }
    }
}
