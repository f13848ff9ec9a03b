package dev.grid.core.internal.cluster;

import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongArrayList;

/**
 * A sparse index of a member's WAL by partition copy, so that reading a copy's history (for a historical rebalance)
 * scans only the tail of the WAL that can hold the counters asked for, not the whole retained WAL.
 * <p>
 * An entry is a pair (a WAL position before some record of the copy, the highest counter of the copy logged at or
 * before that position); every record of the copy with a greater counter therefore lies after the position, whatever
 * order counters were logged in. Per copy it keeps an entry for each of its last {@link #RECENT} records (a returning
 * member usually missed recent updates only) and one for every {@link #STRIDE}th record before them. Fed by every
 * WAL record carrying counters of a copy (updates and closed ranges), live and during recovery's replay; entries at or
 * behind released WAL are dropped except the last one. An index that knows nothing of a copy answers "scan the
 * whole WAL", so it is never wrong, only slow.
 * <p>
 * <b>Threading:</b> the member's engine thread only.
 */
final class HistoryIndex
{
    /** Records of a copy between two kept entries, older than its recent ones. */
    static final int STRIDE = 8;
    /** The copy's most recent records, each with an entry. */
    static final int RECENT = 64;

    private final Long2ObjectHashMap<CopyIndex> copies = new Long2ObjectHashMap<>();

    /**
     * Whether records are noted: not for a WAL that keeps nothing (an in-memory member's), which serves no history and
     * is never released, so that every entry was kept for good (two longs per {@link #STRIDE} updates of a copy).
     */
    private boolean noting = true;

    /** Note nothing from now on: the member's WAL keeps no records. */
    void noteNothing()
    {
        noting = false;
        copies.clear();
    }

    private static final class CopyIndex
    {
        long highest;
        long records;
        /** Older entries, one per {@link #STRIDE} records, oldest first: position, highest, position, ... */
        final LongArrayList sparse = new LongArrayList();
        /** The last {@link #RECENT} entries, a ring: position, highest pairs. */
        final long[] recent = new long[2 * RECENT];
        int recentCount;
        int recentNext;
    }

    /**
     * The copy's counters up to {@code counter} are logged before any position noted from now on (a checkpoint image
     * holds them at recovery).
     *
     * @param packed  the copy, {@code cacheId << 32 | partition}.
     * @param counter its highest counter so far.
     */
    void raiseHighest(final long packed, final long counter)
    {
        final CopyIndex index = copies.computeIfAbsent(packed, k -> new CopyIndex());
        index.highest = Math.max(index.highest, counter);
    }

    /**
     * A record of the copy is about to be logged (or is replayed) after a WAL position.
     *
     * @param packed         the copy.
     * @param positionBefore a WAL position before the record.
     * @param highestCounter the highest counter the record carries.
     */
    void note(final long packed, final long positionBefore, final long highestCounter)
    {
        if (!noting)
        {
            return;
        }
        final CopyIndex index = copies.computeIfAbsent(packed, k -> new CopyIndex());
        if (index.recentCount == RECENT)
        {
            // The oldest recent entry leaves the ring; every STRIDE-th one is kept.
            final int oldest = index.recentNext;
            if ((index.records - RECENT) % STRIDE == 0)
            {
                index.sparse.addLong(index.recent[2 * oldest]);
                index.sparse.addLong(index.recent[2 * oldest + 1]);
            }
        }
        else
        {
            index.recentCount++;
        }
        index.recent[2 * index.recentNext] = positionBefore;
        index.recent[2 * index.recentNext + 1] = index.highest;
        index.recentNext = (index.recentNext + 1) % RECENT;
        index.records++;
        index.highest = Math.max(index.highest, highestCounter);
    }

    /**
     * @param packed        the copy.
     * @param fromExclusive the last counter the reader has.
     * @return a WAL position after which every record of the copy with a greater counter lies; 0 (the whole WAL) if
     *         the index cannot tell.
     */
    long scanStart(final long packed, final long fromExclusive)
    {
        final CopyIndex index = copies.get(packed);
        if (index == null)
        {
            return 0;
        }
        for (int i = 1; i <= index.recentCount; i++)
        {
            final int slot = Math.floorMod(index.recentNext - i, RECENT);
            if (index.recent[2 * slot + 1] <= fromExclusive)
            {
                return index.recent[2 * slot];
            }
        }
        for (int i = index.sparse.size() - 2; i >= 0; i -= 2)
        {
            if (index.sparse.getLong(i + 1) <= fromExclusive)
            {
                return index.sparse.getLong(i);
            }
        }
        return 0;
    }

    /**
     * The WAL was released up to a position: older entries go, except the last one at or behind it.
     *
     * @param releasedPosition the released position.
     */
    void trim(final long releasedPosition)
    {
        for (final CopyIndex index : copies.values())
        {
            final LongArrayList sparse = index.sparse;
            int drop = 0;
            while (drop + 2 < sparse.size() && sparse.getLong(drop + 2) <= releasedPosition)
            {
                drop += 2;
            }
            if (drop > 0)
            {
                sparse.subList(0, drop).clear();
            }
        }
    }
}
