package dev.grid.core.internal.cluster;

import dev.grid.core.engine.Engine;
import dev.grid.core.engine.EngineHistory;
import dev.grid.core.engine.HistoryCoverage;

/**
 * The WAL history and checkpoints of a member's engine ({@link Engine#history}): the committed checkpoint, the
 * records of a copy from a counter on, pins that keep history from release while a rebalance reads it, and what
 * recovery found.
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
final class HistoryFacade implements EngineHistory
{
    private final MemberContext context;

    HistoryFacade(final MemberContext context)
    {
        this.context = context;
    }

    /**
     * @return the id of the newest checkpoint this member committed or recovered from, or 0.
     */
    public long committedCheckpointId()
    {
        return context.checkpointer().committedCheckpointId();
    }

    @Override
    public long lastBegunCheckpointId()
    {
        return context.checkpointer().lastBegunCheckpointId();
    }

    @Override
    public void checkpointNow()
    {
        context.checkpointer().checkpointNow();
    }

    @Override
    public boolean checkpointCurrent()
    {
        return context.checkpointer().checkpointCurrent();
    }

    /**
     * @param cacheId   of the cache.
     * @param partition of the cache.
     * @return the counter after which this member's WAL holds the copy's complete history (0: all of it), or -1 if
     *         this member holds no copy.
     */
    public long historyFrom(final int cacheId, final int partition)
    {
        return context.checkpointer().historyFrom(cacheId, partition);
    }

    /**
     * Stop WAL release until {@link #unpinHistory()}, so that a history reader never loses what it reads.
     */
    public void pinHistory()
    {
        context.checkpointer().pinHistory();
    }

    /**
     * Undo one {@link #pinHistory()}; release resumes at the next checkpoint when no pin is left.
     */
    public void unpinHistory()
    {
        context.checkpointer().unpinHistory();
    }

    /**
     * @return how many history pins are held.
     */
    public int historyPins()
    {
        return context.checkpointer().historyPins();
    }

    @Override
    public HistoryCoverage historyCoverage(final int cacheId, final int partition, final long fromExclusive,
        final long toInclusive)
    {
        final HistoryRead read = context.checkpointer().readHistory(cacheId, partition, fromExclusive, toInclusive);
        return new HistoryCoverage(read.complete(), read.records().size(), read.complete() ? null : read.why());
    }

    /**
     * @return the number of WAL records replayed when this engine started.
     */
    public long recoveredRecords()
    {
        return context.recovery().recoveredRecords();
    }
}
