package dev.grid.core.internal.cluster;

import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.RebalancePlan;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The supplier's side of historical rebalance's reads: per installed map, one scan of the retained WAL reads the
 * history of every historical plan this member supplies. The scan starts when the map is installed, while the
 * demanders install the same map, so their first demands usually find it read; it runs in bounded steps on the duty
 * cycle ({@link Rebalancer#HISTORY_RECORDS_PER_STEP} records each), and demands that arrive while it runs wait here and
 * are handed back once it is done. A demand the planned read does not cover (a demander that fell back, or a range
 * reaching further back than the merged plan) gets a scan of its own.
 * <p>
 * <b>Threading:</b> the engine's thread only, like the {@link Rebalancer} that owns it.
 */
final class SuppliedHistory
{
    private final MemberContext context;
    /** The map version whose plans {@link #reads} answer; -1 before the first map or after a topology change. */
    private long version = -1;
    private final Map<Long, HistoryRead> reads = new HashMap<>();
    private final Map<Long, long[]> ranges = new HashMap<>();
    private HistoryScan scan;
    private final List<Rebalancer.SupplyDemand> waiting = new ArrayList<>();

    SuppliedHistory(final MemberContext context)
    {
        this.context = context;
    }

    /** A new topology: every read and waiting demand belongs to the old one; history is unpinned. */
    void clear()
    {
        reads.clear();
        ranges.clear();
        close();
        waiting.clear();
        version = -1;
    }

    /**
     * Once per installed map version: start the one scan for every historical plan this member supplies (called when
     * the map is installed, and again, to no effect, by each demand).
     */
    void readPlanned()
    {
        final PartitionTable map = context.installedMap();
        if (map == null || version == map.version())
        {
            return;
        }
        version = map.version();
        reads.clear();
        ranges.clear();
        close();
        final int myIndex = map.topology().indexOf(context.incarnation());
        final Map<Long, long[]> planned = new HashMap<>();
        for (final RebalancePlan plan : map.plans())
        {
            if (!plan.full() && plan.supplier() == myIndex)
            {
                planned.merge(PartitionCopy.pack(plan.cacheId(), plan.partition()),
                    new long[] {plan.fromExclusive(), plan.toInclusive()},
                    (a, b) -> new long[] {Math.min(a[0], b[0]), Math.max(a[1], b[1])});
            }
        }
        start(planned);
    }

    /**
     * The history a historical demand streams: {@code (cursor, to]} of one copy.
     *
     * @return the read, or null while the scan that reads it is under way (then {@link #await} the demand).
     */
    HistoryRead read(final int cacheId, final int partition, final long cursor, final long to)
    {
        readPlanned();
        if (scan != null)
        {
            return null;
        }
        final long packed = PartitionCopy.pack(cacheId, partition);
        final HistoryRead read = reads.get(packed);
        final long[] range = ranges.get(packed);
        final boolean covers = range != null && range[0] <= cursor && range[1] >= to;
        final boolean exactly = range != null && range[0] == cursor && range[1] == to;
        if (read == null || !covers || (!read.complete() && !exactly))
        {
            // Not planned here (a demander that fell back, or a plan from another supplier), or the planned range
            // (merged over demanders) reaches further back than this one: read it alone.
            start(Map.of(packed, new long[] {cursor, to}));
            return scan == null ? reads.get(packed) : null;
        }
        return read;
    }

    /** Keep a demand until the scan under way is done; a demand resent while it waits replaces the one before. */
    void await(final Rebalancer.SupplyDemand demand)
    {
        waiting.removeIf(d -> d.sender() == demand.sender() && d.cacheId() == demand.cacheId() &&
            d.partition() == demand.partition());
        waiting.add(demand);
    }

    /**
     * One bounded step of the scan under way; once it is done, the demands that waited for it go to {@code serve}.
     *
     * @return the records read (at least 1 while a scan runs), 0 if none runs.
     */
    int step(final Consumer<Rebalancer.SupplyDemand> serve)
    {
        if (scan == null)
        {
            return 0;
        }
        final int read = scan.step(Rebalancer.HISTORY_RECORDS_PER_STEP);
        if (scan.isDone())
        {
            absorb();
            final List<Rebalancer.SupplyDemand> served = new ArrayList<>(waiting);
            waiting.clear();
            served.forEach(serve);
        }
        return Math.max(1, read);
    }

    private void start(final Map<Long, long[]> wanted)
    {
        if (wanted.isEmpty())
        {
            return;
        }
        scan = context.checkpointer().startHistoryScan(wanted);
        if (scan.isDone())
        {
            absorb();
        }
    }

    private void absorb()
    {
        reads.putAll(scan.result());
        ranges.putAll(scan.ranges());
        scan = null;
    }

    private void close()
    {
        if (scan != null)
        {
            scan.close();
            scan = null;
        }
    }
}
