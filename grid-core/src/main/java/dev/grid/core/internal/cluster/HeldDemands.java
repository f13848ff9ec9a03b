package dev.grid.core.internal.cluster;

import org.agrona.collections.LongHashSet;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongPredicate;
import java.util.function.Predicate;

/**
 * A supplier's rebalance demands whose batch the transport refused for back pressure (the link to their demander was
 * full), kept in arrival order and served again on later duty cycles. Before, such a batch was lost like any dropped
 * message, and its demander asked again only after the retry interval (500 ms by default): a full catch-up of a
 * million keys lost over a hundred batches so, and more partitions streaming at once lost more (benchmarks.md).
 * <p>
 * A demand its demander repeats while one for the same copy is held replaces it, keeping its place, so a copy has at
 * most one held; a held demand of an older map is dropped when it is served (serving checks the map version), and
 * {@link #clear()} drops them all at a topology change. Once a link refused a batch, later demands from that demander
 * wait behind the held ones until the next duty cycle instead of being refused one by one; and a demand is served
 * only while its link has room for a batch ({@code hasRoom}), so a full link costs neither a batch built to be refused
 * nor the transport's wait for room. Retrying every duty cycle without that check made a full catch-up of a million
 * keys slower than losing the batches had (the suppliers built and offered batches that could not go, on cores the
 * demander needed).
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
final class HeldDemands
{
    /** Which copy a demand is for, and who asked. */
    private record Key(long demander, int cacheId, int partition)
    {
    }

    private final LinkedHashMap<Key, Rebalancer.SupplyDemand> held = new LinkedHashMap<>();
    /** Demanders whose link refused a batch, or had no room for one, since the last {@link #retry}. */
    private final LongHashSet refused = new LongHashSet();
    /** Whether the link to a demander has room for a batch now. */
    private final LongPredicate hasRoom;

    /** @param hasRoom whether the link to a demander (its incarnation) has room for a batch now. */
    HeldDemands(final LongPredicate hasRoom)
    {
        this.hasRoom = hasRoom;
    }

    /**
     * Serve a demand now, or hold it: if its link refused a batch since the last duty cycle, if a demand for its copy
     * is held already (it takes that one's place), if its link has no room for a batch, or if serving it is refused
     * now.
     *
     * @param demand as it arrived.
     * @param serve  answers a demand; false if the transport refused the batch for back pressure.
     */
    void serveOrHold(final Rebalancer.SupplyDemand demand, final Predicate<Rebalancer.SupplyDemand> serve)
    {
        final Key key = new Key(demand.sender(), demand.cacheId(), demand.partition());
        // Served only if nothing of its demander waits and its link has room.
        if (refused.contains(demand.sender()) || held.containsKey(key) || !hasRoom.test(demand.sender()) ||
            !serve.test(demand))
        {
            refused.add(demand.sender());
            held.put(key, demand);
        }
    }

    /**
     * Once per duty cycle: serve the held demands in arrival order, each demander's while its link has room and
     * takes them.
     *
     * @param serve answers a demand; false if the transport refused the batch for back pressure.
     * @return the demands served.
     */
    int retry(final Predicate<Rebalancer.SupplyDemand> serve)
    {
        if (!refused.isEmpty())
        {
            refused.clear();
        }
        if (held.isEmpty())
        {
            return 0;
        }
        int served = 0;
        for (final Iterator<Map.Entry<Key, Rebalancer.SupplyDemand>> it = held.entrySet().iterator(); it.hasNext(); )
        {
            final Map.Entry<Key, Rebalancer.SupplyDemand> entry = it.next();
            final long demander = entry.getKey().demander();
            if (refused.contains(demander))
            {
                continue;
            }
            if (hasRoom.test(demander) && serve.test(entry.getValue()))
            {
                it.remove();
                served++;
            }
            else
            {
                refused.add(demander);
            }
        }
        return served;
    }

    /** @return the demands held now. */
    int size()
    {
        return held.size();
    }

    /** Drop every held demand: a new topology ends every session. */
    void clear()
    {
        held.clear();
        refused.clear();
    }
}
