package dev.grid.core.internal.cluster;

import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.PartitionState;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;
import dev.grid.core.internal.partition.CounterRange;
import dev.grid.core.internal.partition.PartitionUpdateCounter;

import java.util.ArrayList;
import java.util.List;

/**
 * What a rebalance does to a local copy: adopting the supplier's lineage epoch, clearing a copy for a full rebalance,
 * applying historical records and streamed entries (each logged before it counts), closing the counters a full
 * rebalance covered, and taking over the supplier's memory of outcomes and finished transactions. {@link Rebalancer}
 * drives the protocol; this class owns the effects on copies.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class RebalancedCopies
{
    /** The identity of records a historical rebalance wrote: no operation of this life, so no retry memory. */
    private static final OpKey REBALANCED_OP = new OpKey(0, 0);

    private final MemberContext context;

    RebalancedCopies(final MemberContext context)
    {
        this.context = context;
    }

    /**
     * The copy follows the epoch from now on; logged so that a restart remembers which lineage it holds.
     */
    void adoptEpoch(final LocalPartition lp, final long id, final long floor)
    {
        if (lp.adoptEpoch(id, floor))
        {
            context.walRecords().appendEpoch(lp.cacheId, lp.partition, id, floor);
        }
    }

    /**
     * Clear a MOVING copy for a full rebalance: a new, empty copy of the partition's current epoch replaces it (logged
     * as dropped, so a restart never mixes the two).
     *
     * @return the new copy.
     */
    LocalPartition resetForFullRebalance(final LocalPartition old)
    {
        final LocalPartition lp = new LocalPartition(old.cacheId, old.partition);
        lp.state = PartitionState.MOVING;
        context.copies().get(old.cacheId)[old.partition] = lp;
        old.state = old.state.moveTo(PartitionState.RENTING).moveTo(PartitionState.EVICTED);
        context.checkpointer().logCopyDropped(old.cacheId, old.partition);
        context.tx().relogPrepared(old.cacheId, old.partition);
        adoptEpoch(lp, context.installedMap().epochId(old.cacheId, old.partition),
            context.installedMap().epochFloor(old.cacheId, old.partition));
        return lp;
    }

    /**
     * Apply one record of a supplier's history: logged like a replicated update (so this copy's own history goes on)
     * and closed once durable; a hole closes at once.
     */
    void applyRebalancedRecord(final LocalPartition lp, final HistoryRecord record)
    {
        final long counter = record.counter();
        if (record.key() == null)
        {
            context.replication().closeRange(lp, counter - 1, 1);
            return;
        }
        if (lp.counter.isClosed(counter))
        {
            return;
        }
        // The operation's identity travels with its record: once primary, this copy answers a retry of it instead
        // of applying it again, and a late commit of its transaction finds the part finished.
        final OpKey opKey = record.origin() == 0 ? REBALANCED_OP : new OpKey(record.origin(), record.sequence());
        final OpOutcome outcome = new OpOutcome(record.flag(), record.outcome(), 0);
        final long position = context.walRecords().appendWal(lp, counter, record.transaction(),
            opKey, outcome, record.key(),
            record.value(), record.predecessors());
        lp.store.apply(record.key(), record.value(), counter);
        lp.unjournaled(counter);
        // The value carries the effect of the predecessors too, which the supplier may hold only as a hole (it missed
        // them as a backup and finalized the gap): without their identities, a retry of one after failover to this
        // copy would apply it a second time (persistent seed 0x17662a18e).
        context.origins().rememberPredecessors(lp, record.predecessors());
        if (opKey != REBALANCED_OP)
        {
            lp.recent.put(opKey, outcome);
            context.origins().noteClientSeen(opKey.originIncarnation());
        }
        if (record.transaction() != WalRecords.NO_TRANSACTION)
        {
            context.tx().rememberFinished(record.origin(), record.transaction(), lp.cacheId, lp.partition, true);
        }
        context.durability().awaitDurable(position, lp, counter, null);
    }

    /**
     * Apply one entry of a full rebalance if it is newer than what the key holds (a live update or remove that
     * arrived first wins; a remove left a tombstone with its counter).
     */
    void applyRebalancedEntry(final LocalPartition lp, final long counter, final byte[] key, final byte[] value)
    {
        if (lp.store.counterOf(key) >= counter)
        {
            return;
        }
        context.walRecords().appendRebalanceEntry(lp.cacheId, lp.partition, counter, key, value);
        lp.store.apply(key, value, counter);
        lp.unjournaled(counter);
    }

    /**
     * Every entry of a full rebalance arrived: once the closing record is durable (and with it every entry before
     * it), the counters up to {@code to} close and the copy's history starts at {@code to}.
     */
    void finishFullRebalance(final LocalPartition lp, final long to)
    {
        // Counters up to it close without events here (removes whose tombstones were purged, overwritten updates).
        lp.unjournaled(to);
        final long position = context.walRecords().appendRebalanceDone(lp.cacheId, lp.partition, to);
        context.durability().awaitDurable(position, lp, 0, () -> closeRebalanced(lp, to));
    }

    /**
     * Remember what the supplier remembered about the partition's recent operations and transactions (logged, so a
     * restart remembers it too).
     */
    void applyRebalancedMemory(final LocalPartition lp, final List<Rebalancer.MemoryItem> items)
    {
        context.walRecords().appendRebalanceMemory(lp.cacheId, lp.partition, items);
        final List<OpKey> keys = new ArrayList<>();
        final List<OpOutcome> outcomes = new ArrayList<>();
        for (final Rebalancer.MemoryItem item : items)
        {
            if (item.transaction())
            {
                context.tx().rememberFinished(item.origin(), item.sequence(), lp.cacheId, lp.partition, item.flag());
            }
            else
            {
                keys.add(new OpKey(item.origin(), item.sequence()));
                outcomes.add(new OpOutcome(item.flag(), item.value(), 0));
            }
        }
        lp.rememberOlder(keys, outcomes);
    }

    private void closeRebalanced(final LocalPartition lp, final long to)
    {
        for (final CounterRange open : openRanges(lp.counter, to))
        {
            lp.counter.rollback(open.start(), open.count());
        }
        // Records below the target are not in this copy's WAL: its history starts there, whatever a checkpoint
        // boundary taken during the rebalance recorded.
        final long packed = PartitionCopy.pack(lp.cacheId, lp.partition);
        context.checkpointer().rebalancedTo(packed, to);
    }

    /**
     * @return the counters of {@code (0, to]} not yet closed, as ranges.
     */
    static List<CounterRange> openRanges(final PartitionUpdateCounter counter, final long to)
    {
        final List<CounterRange> open = new ArrayList<>();
        long next = counter.lwm();
        for (final CounterRange closed : counter.gaps())
        {
            if (next >= to)
            {
                break;
            }
            if (closed.start() > next)
            {
                open.add(new CounterRange(next, Math.min(closed.start(), to) - next));
            }
            next = Math.max(next, closed.start() + closed.count());
        }
        if (next < to)
        {
            open.add(new CounterRange(next, to - next));
        }
        return open;
    }
}
