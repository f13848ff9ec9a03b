package dev.grid.tx;

import dev.grid.core.engine.TxPartKey;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
    /** By part, the map its "committed" was given under: once per part, however often its coordinator asks. */
    private final LinkedHashMap<TxPartKey, Long> held = new LinkedHashMap<>();

    /**
     * @param key        the part whose "committed" waits.
     * @param mapVersion the map it was given under.
     */
    void hold(final TxPartKey key, final long mapVersion)
    {
        held.put(key, mapVersion);
    }

    /**
     * @param settledVersion the newest settled map.
     * @param quorumHeld     whether this member holds quorum: without, nothing goes (it may be on a minority side).
     * @param answer         sends one part's "committed" (it may hold it again, under a newer map not settled yet).
     */
    void release(final long settledVersion, final boolean quorumHeld, final Consumer<TxPartKey> answer)
    {
        if (held.isEmpty() || !quorumHeld)
        {
            return;
        }
        final List<TxPartKey> due = new ArrayList<>();
        for (final Iterator<Map.Entry<TxPartKey, Long>> it = held.entrySet().iterator(); it.hasNext(); )
        {
            final Map.Entry<TxPartKey, Long> entry = it.next();
            if (entry.getValue() <= settledVersion)
            {
                due.add(entry.getKey());
                it.remove();
            }
        }
        for (final TxPartKey key : due)
        {
            answer.accept(key);
        }
    }

    /** Forget every held answer: the member's parts are dropped. */
    void clear()
    {
        held.clear();
    }
}
