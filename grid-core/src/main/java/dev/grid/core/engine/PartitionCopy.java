package dev.grid.core.engine;

/**
 * This member's copy of one partition, as a transaction participant uses it: reserve update counters (HWM), apply
 * writes under their counters, read values. Its identity matters: a copy dropped and rebuilt is another object, so
 * work finishing later checks it still holds {@link TransactionContext#copy the current copy}.
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
public interface PartitionCopy
{
    /**
     * @param cacheId   the cache.
     * @param partition the partition.
     * @return the key of a copy in maps keyed by copy (cache id in the high half, partition in the low).
     */
    static long pack(final int cacheId, final int partition)
    {
        return ((long)cacheId << 32) | (partition & 0xFFFF_FFFFL);
    }

    /**
     * Reserve counters for writes to come (the high watermark moves; the low one waits for them).
     *
     * @param count how many.
     * @return the counter before the reserved range: the writes take {@code start + 1 .. start + count}.
     */
    long reserve(int count);

    /**
     * @param counter an update counter.
     * @return whether it is applied or closed here (nothing will be written under it again).
     */
    boolean isClosed(long counter);

    /**
     * Apply a write under its reserved counter.
     *
     * @param key     the encoded key.
     * @param value   the encoded value, or null to remove.
     * @param counter its counter.
     */
    void apply(byte[] key, byte[] value, long counter);

    /**
     * @param key the encoded key.
     * @return its value here, or null.
     */
    byte[] get(byte[] key);

    /**
     * A backup refused an update of this primary copy since the last installed map (it had skipped the map the
     * update was stamped with): it lacks the update, so this primary's exchange report does not vouch for it.
     *
     * @param member the backup's incarnation.
     */
    void refuseBackup(long member);
}
