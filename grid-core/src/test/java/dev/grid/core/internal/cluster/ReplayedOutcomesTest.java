package dev.grid.core.internal.cluster;

import dev.grid.core.engine.OpOutcome;
import org.agrona.collections.Long2LongHashMap;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class ReplayedOutcomesTest
{
    private static final long NONE = Long.MIN_VALUE;

    /**
     * Outcomes keep their flag, their value (the first one with a value arriving after the columns grew) and their
     * order through drops and the move into the memory; one added "if absent" keeps an outcome the memory knew.
     */
    @Test
    void outcomesKeepTheirFlagValueAndOrderThroughDropsAndTheMove()
    {
        final ReplayedOutcomes replayed = new ReplayedOutcomes();
        final Long2LongHashMap watermarks = new Long2LongHashMap(NONE);
        for (long sequence = 1; sequence <= 40; sequence++)
        {
            // Origin 1's outcomes alternate their flag; every fifth of origin 2's carries a value, from sequence 25.
            replayed.add(1, sequence, sequence % 2 == 0, null, false);
            final byte[] value = sequence >= 25 && sequence % 5 == 0 ? new byte[] {(byte)sequence} : null;
            replayed.add(2, sequence, true, value, false);
        }
        watermarks.put(1, 31);
        replayed.dropBelow(watermarks);
        assertEquals(10 + 40, replayed.size(), "origin 1 from 31 on, all of origin 2 (no watermark)");
        watermarks.put(2, 20);
        replayed.dropBelow(watermarks);
        assertEquals(10 + 21, replayed.size());
        // A predecessor's identity carried by a later update ("if absent") keeps what was replayed or known before.
        replayed.add(2, 40, false, null, true);
        replayed.add(3, 1, false, new byte[] {9}, true);

        final Map<LocalPartition.OpKey, OpOutcome> recent = new LinkedHashMap<>();
        final OpOutcome known = new OpOutcome(true, new byte[] {7}, 0);
        recent.put(new LocalPartition.OpKey(3, 1), known);
        replayed.moveInto(recent);

        final List<LocalPartition.OpKey> expectedOrder = new ArrayList<>();
        expectedOrder.add(new LocalPartition.OpKey(3, 1));
        for (long sequence = 20; sequence <= 40; sequence++)
        {
            if (sequence >= 31)
            {
                expectedOrder.add(new LocalPartition.OpKey(1, sequence));
            }
            expectedOrder.add(new LocalPartition.OpKey(2, sequence));
        }
        assertEquals(expectedOrder, new ArrayList<>(recent.keySet()));
        assertEquals(false, recent.get(new LocalPartition.OpKey(1, 31)).flag());
        assertEquals(true, recent.get(new LocalPartition.OpKey(1, 32)).flag());
        assertNull(recent.get(new LocalPartition.OpKey(2, 24)).value());
        assertArrayEquals(new byte[] {30}, recent.get(new LocalPartition.OpKey(2, 30)).value());
        assertNull(recent.get(new LocalPartition.OpKey(2, 31)).value());
        assertEquals(true, recent.get(new LocalPartition.OpKey(2, 40)).flag(), "the outcome replayed first, kept");
        assertArrayEquals(new byte[] {40}, recent.get(new LocalPartition.OpKey(2, 40)).value());
        assertEquals(known, recent.get(new LocalPartition.OpKey(3, 1)), "the known outcome, kept");
        assertEquals(0, replayed.size());
    }

    /** A drop that keeps nothing, then outcomes added again, with values from the start. */
    @Test
    void outcomesAddedAfterADropOfEverythingAreKept()
    {
        final ReplayedOutcomes replayed = new ReplayedOutcomes();
        final Long2LongHashMap watermarks = new Long2LongHashMap(NONE);
        for (long sequence = 1; sequence <= 20; sequence++)
        {
            replayed.add(5, sequence, true, new byte[] {(byte)sequence}, false);
        }
        watermarks.put(5, 100);
        replayed.dropBelow(watermarks);
        assertEquals(0, replayed.size());
        replayed.add(5, 100, true, null, false);
        replayed.add(5, 101, false, new byte[] {1}, false);
        final Map<LocalPartition.OpKey, OpOutcome> recent = new LinkedHashMap<>();
        replayed.moveInto(recent);
        assertEquals(List.of(new LocalPartition.OpKey(5, 100), new LocalPartition.OpKey(5, 101)),
            new ArrayList<>(recent.keySet()));
        assertNull(recent.get(new LocalPartition.OpKey(5, 100)).value(), "not a dropped outcome's value");
        assertArrayEquals(new byte[] {1}, recent.get(new LocalPartition.OpKey(5, 101)).value());
    }
}
