package dev.grid.core;

import java.util.List;

/**
 * The outcome of a consistency check of one cache: for each partition, the OWNING copies were compared at the same
 * counter (the primary held the partition's writes back for the moment it took to collect every copy's state, so the
 * answer is exact while the cluster keeps writing). Immutable.
 *
 * @param cache              the cache checked.
 * @param partitionsChecked  partitions whose copies were compared.
 * @param copiesMoving       MOVING copies seen (still catching up, so not compared).
 * @param conflicts          partitions whose copies disagree.
 * @param elapsedNs          how long the check took.
 */
public record ConsistencyReport(String cache, int partitionsChecked, int copiesMoving,
    List<PartitionConflict> conflicts, long elapsedNs)
{
    /** How copies of a partition disagree. */
    public enum ConflictKind
    {
        /** Their counters differ (LWM or the ranges closed above it): one copy missed or gained updates. */
        COUNTERS,
        /** Same counters, different data (content hash or size): the worst kind, invisible to counters. */
        DATA,
        /**
         * The partition's acknowledged updates are not all here: every one of its last owners (the copies that hold
         * them, by the durable ownership record) is away, so the copies serving it stand in for them (or the cluster,
         * restarted from its data directories, waits for its last members). Reads and writes of it are refused under
         * the READ_WRITE_SAFE policy; the conflict goes once an owner returns or an operator resets the partition.
         */
        LOST
    }

    /**
     * One copy's state when the partition was held still.
     *
     * @param memberId    the member holding it.
     * @param primary     whether it is the primary.
     * @param lwm         low watermark.
     * @param hwm         high watermark.
     * @param gaps        ranges closed above LWM, as "(start, end]" text.
     * @param size        live entries.
     * @param contentHash order-independent hash of the live entries.
     */
    public record CopyState(String memberId, boolean primary, long lwm, long hwm, String gaps, long size,
        long contentHash)
    {
    }

    /**
     * @param partition the partition.
     * @param kind      how its copies disagree.
     * @param copies    every OWNING copy's state.
     */
    public record PartitionConflict(int partition, ConflictKind kind, List<CopyState> copies)
    {
    }

    /**
     * @return true if no partition's copies disagree.
     */
    public boolean isClean()
    {
        return conflicts.isEmpty();
    }
}
