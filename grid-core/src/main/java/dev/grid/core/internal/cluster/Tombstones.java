package dev.grid.core.internal.cluster;

import dev.grid.core.engine.PartitionState;

import java.util.ArrayDeque;

/**
 * Background purge of tombstones (removed entries kept for a while so that copies and history agree): a few copies
 * per sweep, so that the work per duty cycle stays bounded.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class Tombstones
{
    private static final int TOMBSTONE_COPIES_PER_SWEEP = 4;

    private final MemberContext context;

    /** Copies whose tombstones the next sweeps look at, a few per sweep. */
    private final ArrayDeque<LocalPartition> purgeQueue = new ArrayDeque<>();

    private long tombstonesPurged;

    Tombstones(final MemberContext context)
    {
        this.context = context;
    }

    /**
     * Drop the tombstones no update can need any more, a few copies per sweep. A tombstone stops an older update of
     * its key from resurrecting it: one arriving out of order (above LWM, not closed yet) or streamed by a full
     * rebalance into a MOVING copy. At or below an OWNING copy's LWM every older update is closed, so a late one is
     * acknowledged without being applied, and such a copy is not streamed into: its tombstones up to LWM can go.
     * History is read from the WAL, not from the store, and checkpoint images that still hold a tombstone stay valid.
     */
    int purgeTombstones()
    {
        if (context.isExchanging())
        {
            return 0;
        }
        if (purgeQueue.isEmpty())
        {
            for (final LocalPartition[] local : context.copies().values())
            {
                for (final LocalPartition lp : local)
                {
                    if (lp != null && lp.store.tombstoneCount() > 0)
                    {
                        purgeQueue.add(lp);
                    }
                }
            }
        }
        int work = 0;
        for (int i = 0; i < TOMBSTONE_COPIES_PER_SWEEP && !purgeQueue.isEmpty(); i++)
        {
            final LocalPartition lp = purgeQueue.poll();
            if (context.localCopy(lp.cacheId, lp.partition) == lp &&
                lp.state == PartitionState.OWNING && lp.pausedBy == 0)
            {
                final int purged = lp.store.purgeTombstones(lp.counter.lwm());
                tombstonesPurged += purged;
                work += purged > 0 ? 1 : 0;
            }
        }
        return work;
    }

    /** The work of {@link dev.grid.core.engine.EngineStatus#tombstonesPurged}. */
    long tombstonesPurged()
    {
        return tombstonesPurged;
    }
}
