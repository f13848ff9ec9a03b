package dev.grid.core.internal.cluster;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;

class HeldDemandsTest
{
    private static final long A = 1;
    private static final long B = 2;

    /**
     * A demand whose batch is refused is held, and so are its demander's next ones without being tried; another
     * demander's are served. A repeated demand for a held copy takes its place; held demands go in arrival order, each
     * demander's until its link refuses again.
     */
    @Test
    void refusedDemandsWaitInArrivalOrderPerDemander()
    {
        final Set<Long> noRoom = new HashSet<>();
        final HeldDemands held = new HeldDemands(demander -> !noRoom.contains(demander));
        final Set<Long> full = new HashSet<>(Set.of(A));
        final List<String> tried = new ArrayList<>();
        final Predicate<Rebalancer.SupplyDemand> serve = demand ->
        {
            tried.add(demand.sender() + ":" + demand.partition() + "@" + demand.cursor());
            return !full.contains(demand.sender());
        };
        held.serveOrHold(demand(A, 1, 0), serve);
        held.serveOrHold(demand(A, 2, 0), serve);
        held.serveOrHold(demand(B, 3, 0), serve);
        held.serveOrHold(demand(A, 1, 5), serve);
        assertEquals(List.of("1:1@0", "2:3@0"), tried, "A's link refused its first: its next were not tried");
        assertEquals(2, held.size(), "the repeated demand for partition 1 took the held one's place");

        tried.clear();
        assertEquals(0, held.retry(serve));
        assertEquals(List.of("1:1@5"), tried, "one refusal per demander and cycle");

        tried.clear();
        full.clear();
        held.serveOrHold(demand(B, 4, 0), serve);
        assertEquals(2, held.retry(serve));
        assertEquals(List.of("2:4@0", "1:1@5", "1:2@0"), tried, "B was served at once; A's in arrival order");
        assertEquals(0, held.size());

        // A link without room: its demands are held without being tried, and tried once it has room.
        noRoom.add(B);
        tried.clear();
        held.serveOrHold(demand(B, 5, 0), serve);
        assertEquals(0, held.retry(serve));
        assertEquals(List.of(), tried, "no batch built for a link without room");
        noRoom.clear();
        assertEquals(1, held.retry(serve));
        assertEquals(List.of("2:5@0"), tried);

        held.serveOrHold(demand(A, 6, 0), d -> false);
        held.clear();
        assertEquals(0, held.size());
        assertEquals(0, held.retry(serve));
    }

    private static Rebalancer.SupplyDemand demand(final long demander, final int partition, final long cursor)
    {
        return new Rebalancer.SupplyDemand(demander, 7, 0, partition, false, cursor, null, 100, 0, 0, false, 0);
    }
}
