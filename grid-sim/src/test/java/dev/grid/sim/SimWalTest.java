package dev.grid.sim;

import dev.grid.core.spi.SeededRandomSource;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SimWalTest
{
    private static List<String> replay(final SimWal wal)
    {
        final List<String> records = new ArrayList<>();
        wal.replay(0, (position, buffer, offset, length) -> records.add(buffer.getStringWithoutLengthAscii(offset,
            length)));
        return records;
    }

    private static long append(final SimWal wal, final String record)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(record.getBytes());
        return wal.append(buffer, 0, buffer.capacity());
    }

    @Test
    void appendedIsNotDurableUntilTheSyncCompletesAndACrashLosesTheRest()
    {
        final Simulation simulation = new Simulation(1);
        final SimWal wal = new SimWal(simulation, new SeededRandomSource(2), "w").tornTailProbability(0);
        final long first = append(wal, "one");
        wal.requestDurability();
        assertEquals(first, wal.appendedPosition());
        assertEquals(0, wal.durablePosition());
        simulation.runUntil(10_000_000, null);
        assertEquals(first, wal.durablePosition());
        append(wal, "two");
        wal.crash();
        assertEquals(List.of("one"), replay(wal));
    }

    @Test
    void boundedReadsGoOnWhereTheLastStopped()
    {
        final SimWal wal = new SimWal(new Simulation(5), new SeededRandomSource(6), "w");
        final List<String> expected = new ArrayList<>();
        for (int i = 0; i < 7; i++)
        {
            append(wal, "r" + i);
            expected.add("r" + i);
        }
        final List<String> read = new ArrayList<>();
        long after = 0;
        int batches = 0;
        while (true)
        {
            final int before = read.size();
            after = wal.read(after, 3, (position, buffer, offset, length) ->
                read.add(buffer.getStringWithoutLengthAscii(offset, length)));
            if (read.size() == before)
            {
                break;
            }
            assertTrue(read.size() - before <= 3, "a batch holds at most 3 records");
            batches++;
        }
        assertEquals(expected, read);
        assertEquals(3, batches);
        assertEquals(wal.appendedPosition(), after);
    }

    @Test
    void aTornTailIsTruncatedAndReported()
    {
        final Simulation simulation = new Simulation(3);
        final SimWal wal = new SimWal(simulation, new SeededRandomSource(4), "w").tornTailProbability(1);
        append(wal, "durable");
        wal.requestDurability();
        simulation.runUntil(10_000_000, null);
        append(wal, "lost-in-the-crash");
        wal.crash();
        assertTrue(wal.appendedPosition() > wal.durablePosition(), "a torn prefix survived");
        assertEquals(List.of("durable"), replay(wal));
        assertEquals(1, wal.tornTailCount());
        append(wal, "after");
        assertEquals(List.of("durable", "after"), replay(wal));
    }

    @Test
    void corruptionBeforeTheEndIsRefusedWithItsPosition()
    {
        final Simulation simulation = new Simulation(5);
        final SimWal wal = new SimWal(simulation, new SeededRandomSource(6), "w");
        append(wal, "first");
        append(wal, "second");
        wal.corrupt(SimWal.FRAME_HEADER_LENGTH + 1);
        final IllegalStateException ex = assertThrows(IllegalStateException.class, () -> replay(wal));
        assertTrue(ex.getMessage().contains("corrupt record at position 0"), ex.getMessage());
    }
}
