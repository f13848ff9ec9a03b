package dev.grid.tx;

import dev.grid.core.engine.TxPartKey;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Parts' "committed" answers held until the map they were given under settled, that is until every member of its
 * topology installed it ({@code TransactionContext.settledVersion()}): a map installed only by members that a cut
 * isolated at once may never be known to the majority's next map, which would rebuild their copies without the commit.
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
final class HeldCommits
{
    private final List<Held> held = new ArrayList<>();

    /**
     * @param key        the part whose "committed" waits.
     * @param mapVersion the map it was given under.
     */
    void hold(final TxPartKey key, final long mapVersion)
    {
        held.add(new Held(key, mapVersion));
    }

    /**
     * @param settledVersion the newest settled map.
     * @param answer         sends one part's "committed" (it may hold it again, under a newer map not settled yet).
     */
    void release(final long settledVersion, final Consumer<TxPartKey> answer)
    {
        if (held.isEmpty())
        {
            return;
        }
        final List<Held> due = new ArrayList<>();
        held.removeIf(h -> h.mapVersion() <= settledVersion && due.add(h));
        for (final Held h : due)
        {
            answer.accept(h.key());
        }
    }

    /** Forget every held answer: the member's parts are dropped. */
    void clear()
    {
        held.clear();
    }

    private record Held(TxPartKey key, long mapVersion)
    {
    }
}
