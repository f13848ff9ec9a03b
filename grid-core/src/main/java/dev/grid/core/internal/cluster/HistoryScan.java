package dev.grid.core.internal.cluster;

import dev.grid.core.codec.MessageReader;
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
    private final MemberEngine engine;
    private final Wal wal;
    /** Its own reader: a scan spans duty cycles, and the engine's reader holds the message being handled. */
    private final MessageReader reader = new MessageReader();
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
    HistoryScan(final MemberEngine engine, final Wal wal, final Map<Long, long[]> ranges, final long from,
        final Map<Long, HistoryRead> refused)
    {
        this.engine = engine;
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
            engine.checkpointer.pinHistory();
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
            reader.wrap(buffer, offset, length);
            collect();
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
            engine.checkpointer.unpinHistory();
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
    private void collect()
    {
        final int type = reader.readByte("walRecordType");
        switch (type)
        {
            case WalRecords.WAL_DATA ->
            {
                final long packed = MemberEngine.packCopy(reader.readInt("cacheId"),
                    reader.readInt("partition", 0, 65_535));
                final long[] range = scanned.get(packed);
                final long counter = reader.readLong("counter");
                if (range != null && counter > range[0] && counter <= range[1])
                {
                    final long transaction = reader.readLong("transaction");
                    final long origin = reader.readLong("origin");
                    final long sequence = reader.readLong("sequence");
                    final byte[] key = reader.readBytes("key");
                    final byte[] value = reader.readBytes("value");
                    final boolean flag = reader.readBoolean("flag");
                    final byte[] outcome = reader.readBytes("outcome");
                    found.get(packed).putIfAbsent(counter, new HistoryRecord(counter, key, value,
                        transaction, origin, sequence, flag, outcome, LocalPartition.Predecessors.read(reader)));
                }
            }
            case WalRecords.WAL_ROLLBACK ->
            {
                final long packed = MemberEngine.packCopy(reader.readInt("cacheId"),
                    reader.readInt("partition", 0, 65_535));
                final long[] range = scanned.get(packed);
                final int count = reader.readInt("ranges", 0, 1 << 20);
                for (int i = 0; i < count && range != null; i++)
                {
                    final long start = reader.readLong("start");
                    final long length = reader.readLong("count");
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
                final TreeMap<Long, HistoryRecord> records = found.get(MemberEngine.packCopy(
                    reader.readInt("cacheId"), reader.readInt("partition", 0, 65_535)));
                if (records != null)
                {
                    records.clear();
                }
            }
            case WalRecords.WAL_REBALANCE_DONE ->
            {
                // Below the target, a full rebalance left entries, not history.
                final TreeMap<Long, HistoryRecord> records = found.get(MemberEngine.packCopy(
                    reader.readInt("cacheId"), reader.readInt("partition", 0, 65_535)));
                final long to = reader.readLong("to");
                if (records != null)
                {
                    records.headMap(to, true).clear();
                }
            }
            case WalRecords.WAL_CACHE_DESTROYED ->
            {
                final int cacheId = reader.readInt("cacheId");
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
