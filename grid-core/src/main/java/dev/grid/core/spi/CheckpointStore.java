package dev.grid.core.spi;

import java.util.List;

/**
 * Where a member's checkpoints go, as protocol code sees it: the engine hands over immutable images of its partition
 * copies one at a time while it keeps serving, then asks for a commit; the store writes them in the background and
 * makes a checkpoint visible only once all of it is written (its manifest last, atomically). A crash before the commit
 * leaves the previous committed checkpoint in force.
 * <p>
 * <b>Threading:</b> every method is called by the engine's thread; implementations do their I/O elsewhere and report
 * progress through {@link #committedId()} and {@link #failure()}.
 */
public interface CheckpointStore
{
    /**
     * One partition copy at one moment: contents (tombstones included), counter state, recent operation outcomes, and
     * where in the WAL replay must start for this copy. Immutable: the arrays are never changed by anyone.
     *
     * @param cacheId            of the cache.
     * @param partition          of the cache.
     * @param replayFromPosition WAL records of this copy at or below this position are reflected in the image.
     * @param hwm                the copy's HWM at the image: every counter above it is in the WAL after the image.
     * @param counterState       the copy's counter, as the partition update counter encodes it.
     * @param keys               key bytes, in the store's key order.
     * @param values             value bytes per key, null for a tombstone.
     * @param counters           counter of each key's last update.
     * @param recentOrigins      origin incarnation of each recent operation (outcomes kept for exactly-once retries).
     * @param recentSequences    its sequence at the origin.
     * @param recentFlags        its outcome's flag.
     * @param recentValues       its outcome's value, or null.
     */
    record PartitionImage(
        int cacheId,
        int partition,
        long replayFromPosition,
        long hwm,
        byte[] counterState,
        byte[][] keys,
        byte[][] values,
        long[] counters,
        long[] recentOrigins,
        long[] recentSequences,
        boolean[] recentFlags,
        byte[][] recentValues)
    {
    }

    /**
     * A committed checkpoint as read back at start.
     *
     * @param id       of the checkpoint.
     * @param manifest the engine's manifest, as committed.
     * @param images   every image of the checkpoint.
     */
    record Checkpoint(long id, byte[] manifest, List<PartitionImage> images)
    {
    }

    /**
     * Start writing a checkpoint; an unfinished earlier one is abandoned.
     *
     * @param id greater than every id begun before.
     */
    void begin(long id);

    /**
     * Add an image to the checkpoint begun last.
     *
     * @param image of one partition copy.
     */
    void write(PartitionImage image);

    /**
     * Commit the checkpoint begun last once every image given is written: the manifest goes last, atomically.
     *
     * @param id       of the checkpoint begun last.
     * @param manifest the engine's description of the checkpoint.
     */
    void commit(long id, byte[] manifest);

    /**
     * @return the id of the newest committed checkpoint, or 0.
     */
    long committedId();

    /**
     * @return why the checkpoint begun last failed (it will never commit), or null.
     */
    String failure();

    /**
     * @return the newest committed checkpoint, or null if there is none.
     */
    Checkpoint loadLatest();
}
