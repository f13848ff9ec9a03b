package dev.grid.tx;

import dev.grid.core.GridException;
import dev.grid.core.engine.TxPartKey;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a member that stops, fails or rejoins does with its participant state ({@link TxManager#abandon}): drops it
 * with its copies, or, where it keeps its copies across a rejoin (an in-memory member whose cluster dissolves into
 * another), keeps every part prepared here, as a restart would recover it from the WAL's prepare records
 * (held like a backup's prepare and marked replayed, see {@link TxManager#replayPrepare}), so that once the member is
 * active again the partition's primary finishes it as the transaction's other participants did. Dropped with the rest,
 * a prepare whose transaction committed elsewhere left it half applied, its reserved counters closed as holes.
 * <p>
 * <b>Threading:</b> the engine's thread only, as {@link TxManager}.
 */
final class TxAbandon
{
    private TxAbandon()
    {
    }

    /** Drop every part, prepare, lock and held answer of {@code tx}'s participant side. */
    static void clearParticipants(final TxManager tx)
    {
        tx.parts.clear();
        tx.prepared.clear();
        tx.participant.answeredCommitted.clear();
        tx.participant.clearedSinceInstall.clear();
        tx.participant.applying.clear();
        tx.lockTable.locks.clear();
        tx.lockTable.heldReads.clear();
        tx.heldCommits.clear();
    }

    /** The work of {@link TxManager#abandonKeepingPrepares}. */
    static void abandonKeepingPrepares(final TxManager tx, final GridException error)
    {
        tx.abandon(error, false);
        final List<TxPrepared> kept = preparesAsRecovered(tx);
        clearParticipants(tx);
        holdAsReplayed(tx, kept);
    }

    /**
     * @return the prepares of {@code tx}'s participant state as recovery would hold them: parts whose prepare was
     *         logged here, neither rolling back nor committing, and the prepares held for other primaries (parts
     *         committing or applying are recorded as finished instead).
     */
    private static List<TxPrepared> preparesAsRecovered(final TxManager tx)
    {
        final long nowNs = tx.context.nowNs();
        final List<TxPrepared> kept = new ArrayList<>();
        // A part committing here, or a backup's commit still applying, has applied its writes: it is finished, as a
        // restart's replay of its writes would find (a prepare kept instead could be rolled back over them).
        for (final Map.Entry<TxPartKey, Boolean> applying : tx.participant.applying.entrySet())
        {
            tx.finished.put(applying.getKey(), applying.getValue());
        }
        for (final TxPart part : tx.parts.values())
        {
            if (part.state == TxParticipantState.COMMITTING)
            {
                tx.finished.put(part.key, Boolean.TRUE);
            }
            else if (part.prepareLogged && part.writeKeys != null && part.participants != null &&
                part.state != TxParticipantState.ROLLING_BACK)
            {
                kept.add(new TxPrepared(part.key, part.priority, part.writeKeys, part.writeValues, part.participants,
                    nowNs, true));
            }
        }
        for (final TxPrepared held : tx.prepared.values())
        {
            kept.add(new TxPrepared(held.key(), held.priority(), held.keys(), held.values(), held.participants(),
                nowNs, true));
        }
        return kept;
    }

    /** Hold {@code kept} in {@code tx}, whose participant state was cleared, unless their parts finished here. */
    private static void holdAsReplayed(final TxManager tx, final List<TxPrepared> kept)
    {
        for (final TxPrepared prepare : kept)
        {
            if (!tx.finished.containsKey(prepare.key()))
            {
                tx.prepared.put(prepare.key(), prepare);
            }
        }
    }
}
