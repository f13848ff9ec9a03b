package dev.grid.core.engine;

/**
 * The WAL history and checkpoints of a member's engine ({@link Engine#history}): the committed checkpoint, how
 * much of a copy's history from a counter on the retained WAL holds, pins that keep history from release while a
 * rebalance reads it, and what recovery found.
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
public interface EngineHistory
{
    /**
     * @return the id of the newest checkpoint this member committed or recovered from, or 0.
     */
    long committedCheckpointId();

    /**
     * @return the id of the newest checkpoint begun (committed, failed or under way), or 0: a checkpoint with a higher
     *     id begins after this call.
     */
    long lastBegunCheckpointId();

    /** Start a checkpoint at the next duty cycle, whatever the interval, if anything was logged since the last. */
    void checkpointNow();

    /**
     * @return true if no checkpoint is under way and nothing was logged since the last one committed (or the member
     *     keeps no checkpoints): a restart now replays nothing beyond the checkpoint's marker.
     */
    boolean checkpointCurrent();

    /**
     * @param cacheId   of the cache.
     * @param partition of the cache.
     * @return the counter after which this member's WAL holds the copy's complete history (0: all of it), or -1 if
     *         this member holds no copy.
     */
    long historyFrom(int cacheId, int partition);

    /**
     * Stop WAL release until {@link #unpinHistory()}, so that a history reader never loses what it reads.
     */
    void pinHistory();

    /**
     * Undo one {@link #pinHistory()}; release resumes at the next checkpoint when no pin is left.
     */
    void unpinHistory();

    /**
     * @return how many history pins are held.
     */
    int historyPins();

    /**
     * How much of one copy's history in a counter range the retained WAL holds (what a rebalance supplier would
     * stream). Only the copy's current life counts: records before the copy was last dropped here belong to another
     * lineage. Scans the retained WAL.
     *
     * @param cacheId       of the cache.
     * @param partition     of the cache.
     * @param fromExclusive the last counter a reader has.
     * @param toInclusive   the last counter wanted.
     * @return whether every counter of the range is present, how many records were found, and if not, what is missing.
     */
    HistoryCoverage historyCoverage(int cacheId, int partition, long fromExclusive, long toInclusive);

    /**
     * @return the number of WAL records replayed when this engine started.
     */
    long recoveredRecords();
}
