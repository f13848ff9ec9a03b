package dev.grid.core.internal.cluster;

import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.codec.wal.WalCacheDestroyedDecoder;
import dev.grid.core.codec.wal.WalCopyDroppedDecoder;
import dev.grid.core.codec.wal.WalDataDecoder;
import dev.grid.core.codec.wal.WalRebalanceDoneDecoder;
import dev.grid.core.codec.wal.WalRollbackDecoder;
import dev.grid.core.spi.Wal;
import org.agrona.collections.Long2ObjectHashMap;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * One read of several copies' histories from the retained WAL, in bounded steps: each {@link #step} reads at most a
 * given number of records, so a supplier with a long history to serve never holds its engine thread for the whole
 * scan (a stall longer than failure detection would get it expelled). History is pinned from the start until
 * {@link #close} (or the last step), so no record it reads is released meanwhile.
 * <p>
 * The scan ends at the WAL's last record when it started: a plan's range ends at a counter the copy had closed when
 * the map was installed, so its records were all appended by then.
 * <p>
 * <b>Threading:</b> the engine's thread only, like the engine.
 */
final class HistoryScan
{
    private final MemberContext context;
    private final Wal wal;
    /** Its own reader: a scan spans duty cycles, and recovery or another scan may hold theirs. */
    private final WalReader reader = new WalReader();
    private final WalDataDecoder dataIn = new WalDataDecoder();
    private final WalRollbackDecoder rollbackIn = new WalRollbackDecoder();
    private final WalCopyDroppedDecoder copyDroppedIn = new WalCopyDroppedDecoder();
    private final WalRebalanceDoneDecoder rebalanceDoneIn = new WalRebalanceDoneDecoder();
    private final WalCacheDestroyedDecoder cacheDestroyedIn = new WalCacheDestroyedDecoder();
    private final Map<Long, long[]> ranges;
    private final Map<Long, HistoryRead> result = new HashMap<>();
    private final Long2ObjectHashMap<long[]> scanned = new Long2ObjectHashMap<>();
    private final Long2ObjectHashMap<TreeMap<Long, HistoryRecord>> found = new Long2ObjectHashMap<>();
    private final long endPosition;
    private long position;
    private boolean pinned;
    private boolean done;

    /**
     * @param engine  whose WAL is read.
     * @param wal     the WAL.
     * @param ranges  per copy ({@code cacheId << 32 | partition}), {fromExclusive, toInclusive}.
     * @param from    a position after which every record of every range lies (the history index's start).
     * @param refused per copy whose range this member cannot serve at all, why; those copies are answered at once.
     */
    HistoryScan(final MemberContext context, final Wal wal, final Map<Long, long[]> ranges, final long from,
        final Map<Long, HistoryRead> refused)
    {
        this.context = context;
        this.wal = wal;
        this.ranges = ranges;
        result.putAll(refused);
        for (final Map.Entry<Long, long[]> range : ranges.entrySet())
        {
            if (!refused.containsKey(range.getKey()))
            {
                scanned.put(range.getKey(), range.getValue());
                found.put(range.getKey(), new TreeMap<>());
            }
        }
        position = from;
        endPosition = wal.appendedPosition();
        done = scanned.isEmpty() || position >= endPosition;
        if (done)
        {
            finish();
        }
        else
        {
            context.checkpointer().pinHistory();
            pinned = true;
        }
    }

    /**
     * Read up to {@code maxRecords} more records.
     *
     * @param maxRecords the most records this step reads.
     * @return how many were read (0 once done).
     */
    int step(final int maxRecords)
    {
        if (done)
        {
            return 0;
        }
        final int[] read = {0};
        final long last = wal.read(position, maxRecords, (recordPosition, buffer, offset, length) ->
        {
            read[0]++;
            collect(reader.open(buffer, offset, length));
        });
        position = last;
        if (read[0] < maxRecords || position >= endPosition)
        {
            done = true;
            finish();
        }
        return read[0];
    }

    /**
     * @return whether every record up to the end position was read; {@link #result} is complete then.
     */
    boolean isDone()
    {
        return done;
    }

    /**
     * @return per copy, its records in counter order and whether its range is complete; valid once done.
     */
    Map<Long, HistoryRead> result()
    {
        return result;
    }

    /**
     * @return the ranges asked for, per copy, {fromExclusive, toInclusive} (those answered at once included).
     */
    Map<Long, long[]> ranges()
    {
        return ranges;
    }

    /**
     * Abandon the scan (a topology change voids the plans it served): history is unpinned.
     */
    void close()
    {
        done = true;
        unpin();
    }

    private void unpin()
    {
        if (pinned)
        {
            pinned = false;
            context.checkpointer().unpinHistory();
        }
    }

    private void finish()
    {
        unpin();
        for (final Long2ObjectHashMap<long[]>.KeyIterator it = scanned.keySet().iterator(); it.hasNext(); )
        {
            final long packed = it.nextLong();
            final long[] range = scanned.get(packed);
            final TreeMap<Long, HistoryRecord> records = found.get(packed);
            long expected = range[0] + 1;
            for (final Long counter : records.keySet())
            {
                if (counter != expected)
                {
                    break;
                }
                expected++;
            }
            final String missing = expected <= range[1] ? "counter " + expected + " is not in the retained WAL" : null;
            result.put(packed, new HistoryRead(missing == null, new ArrayList<>(records.values()),
                missing));
        }
        found.clear();
    }

    /** One WAL record: what it adds to (or takes from) the histories being read. */
    private void collect(final int type)
    {
        switch (type)
        {
            case WalRecords.WAL_DATA ->
            {
                final WalDataDecoder in = reader.decode(dataIn);
                final long packed = PartitionCopy.pack(in.cacheId(), WalReader.checkPartition(in.partition()));
                final long[] range = scanned.get(packed);
                final long counter = in.counter();
                if (range != null && counter > range[0] && counter <= range[1])
                {
                    found.get(packed).putIfAbsent(counter, WalReader.data(in).update());
                }
            }
            case WalRecords.WAL_ROLLBACK ->
            {
                final WalRollbackDecoder in = reader.decode(rollbackIn);
                final long packed = PartitionCopy.pack(in.cacheId(), WalReader.checkPartition(in.partition()));
                final long[] range = scanned.get(packed);
                final long[] ranges = WalReader.ranges(in);
                for (int i = 0; i < ranges.length && range != null; i += 2)
                {
                    final long start = ranges[i];
                    final long length = ranges[i + 1];
                    for (long counter = Math.max(start + 1, range[0] + 1);
                        counter <= Math.min(start + length, range[1]); counter++)
                    {
                        found.get(packed).putIfAbsent(counter, new HistoryRecord(counter));
                    }
                }
            }
            case WalRecords.WAL_COPY_DROPPED ->
            {
                // Records before the copy was last dropped here belong to another lineage.
                final WalCopyDroppedDecoder in = reader.decode(copyDroppedIn);
                final TreeMap<Long, HistoryRecord> records = found.get(PartitionCopy.pack(in.cacheId(),
                    WalReader.checkPartition(in.partition())));
                if (records != null)
                {
                    records.clear();
                }
            }
            case WalRecords.WAL_REBALANCE_DONE ->
            {
                // Below the target, a full rebalance left entries, not history.
                final WalRebalanceDoneDecoder in = reader.decode(rebalanceDoneIn);
                final TreeMap<Long, HistoryRecord> records = found.get(PartitionCopy.pack(in.cacheId(),
                    WalReader.checkPartition(in.partition())));
                final long to = in.to();
                if (records != null)
                {
                    records.headMap(to, true).clear();
                }
            }
            case WalRecords.WAL_CACHE_DESTROYED ->
            {
                final int cacheId = reader.decode(cacheDestroyedIn).cacheId();
                for (final Long2ObjectHashMap<TreeMap<Long, HistoryRecord>>.EntryIterator it =
                    found.entrySet().iterator(); it.hasNext(); )
                {
                    it.next();
                    if ((int)(it.getLongKey() >>> 32) == cacheId)
                    {
                        it.getValue().clear();
                    }
                }
            }
            case WalRecords.WAL_ALL_DROPPED -> found.values().forEach(TreeMap::clear);
            default ->
            {
                // Cache, epoch, checkpoint and full-rebalance entry records carry no history.
            }
        }
    }
}
