package dev.grid.sim;

import dev.grid.core.spi.SeededRandomSource;
import dev.grid.core.spi.Transport;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SimNetworkTest
{
    private final Simulation simulation = new Simulation(9);
    private final SimNetwork network = new SimNetwork(simulation, new SeededRandomSource(10), 3);
    private final List<Integer> received = new ArrayList<>();
    private final Transport a = network.transport(0, () -> { });
    private final Transport b = network.transport(1, () -> { });

    private void sendNumbers(final Transport from, final int to, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[4]);
            buffer.putInt(0, i);
            assertEquals(Transport.OK, from.send(to, buffer, 0, 4));
        }
    }

    private void receive(final Transport at)
    {
        simulation.runUntil(simulation.nowNs() + 100_000_000, null);
        at.poll((source, buffer, offset, length) -> received.add(buffer.getInt(offset)), Integer.MAX_VALUE);
    }

    @Test
    void latencyReordersMessages()
    {
        network.latency(0, 5_000_000);
        sendNumbers(a, 1, 200);
        receive(b);
        assertEquals(200, received.size());
        final List<Integer> sorted = new ArrayList<>(received);
        sorted.sort(null);
        assertNotEquals(sorted, received, "random latency must reorder");
    }

    @Test
    void lossAndDuplicationAreCounted()
    {
        network.faults(0.3, 0.2);
        sendNumbers(a, 1, 1000);
        receive(b);
        assertTrue(network.droppedCount() > 200 && network.droppedCount() < 400, "dropped " + network.droppedCount());
        assertTrue(network.duplicatedCount() > 80, "duplicated " + network.duplicatedCount());
        assertEquals(1000 - network.droppedCount() + network.duplicatedCount(), received.size());
    }

    @Test
    void partitionsAreSymmetricOrOneWayAndHeal()
    {
        network.partition(Set.of(1));
        sendNumbers(a, 1, 5);
        sendNumbers(b, 0, 5);
        receive(b);
        receive(a);
        assertEquals(0, received.size());

        network.heal();
        network.blockOneWay(0, 1);
        sendNumbers(a, 1, 5);
        receive(b);
        assertEquals(0, received.size());
        sendNumbers(b, 0, 5);
        receive(a);
        assertEquals(5, received.size());

        network.heal();
        sendNumbers(a, 1, 5);
        receive(b);
        assertEquals(10, received.size());
    }
}
