package dev.grid.core;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What one member's rebalance is doing: the MOVING copies it catches up in the current partition map, and totals
 * since it started. A snapshot taken on the member's thread; immutable.
 *
 * @param topologyVersion      the partition map the current figures belong to.
 * @param partitionsPlanned    this member's MOVING copies in that map.
 * @param partitionsDone       of those, the ones caught up.
 * @param historicalPlanned    of those planned, how many catch up historically (the rest go full).
 * @param records              records (historical) and entries (full) applied in this map so far.
 * @param bytes                key and value bytes applied in this map so far.
 * @param elapsedNs            since this map's rebalance began here.
 * @param etaNs                estimated time left, by partitions done per elapsed time; 0 when done, -1 if unknown.
 * @param totalHistorical      partitions caught up historically since the member started.
 * @param totalFull            partitions caught up fully since the member started.
 * @param totalHistoryRecords  history records applied since the member started (one per missed update).
 * @param totalFullEntries     entries applied by full rebalances since the member started.
 * @param totalFallbacks       historical plans a supplier refused (lineage or history), which went full instead.
 * @param caches               the current figures per cache with MOVING copies here, by cache name.
 */
public record RebalanceStatus(long topologyVersion, int partitionsPlanned, int partitionsDone, int historicalPlanned,
    long records, long bytes, long elapsedNs, long etaNs, long totalHistorical, long totalFull,
    long totalHistoryRecords, long totalFullEntries, long totalFallbacks, SortedMap<String, CacheProgress> caches)
{
    /** Canonical constructor: copies the per-cache figures. */
    public RebalanceStatus
    {
        caches = Collections.unmodifiableSortedMap(new TreeMap<>(caches));
    }

    /**
     * One cache's share of the current figures.
     *
     * @param partitionsPlanned this member's MOVING copies of the cache.
     * @param partitionsDone    of those, the ones caught up.
     * @param historicalPlanned of those planned, how many catch up historically.
     * @param records           records and entries applied so far.
     * @param bytes             key and value bytes applied so far.
     * @param etaNs             estimated time left for the cache, by its partitions done per elapsed time; 0 when
     *                          done, -1 if unknown.
     */
    public record CacheProgress(int partitionsPlanned, int partitionsDone, int historicalPlanned, long records,
        long bytes, long etaNs)
    {
    }

    /**
     * @return true while some MOVING copy of this member is still catching up.
     */
    public boolean active()
    {
        return partitionsDone < partitionsPlanned;
    }

    /**
     * @return records and entries applied per second in the current map, or 0 before any.
     */
    public double recordsPerSecond()
    {
        return elapsedNs <= 0 ? 0 : records * 1e9 / elapsedNs;
    }
}
