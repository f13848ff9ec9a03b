package dev.grid.core.internal.cluster;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The WAL's history index never starts a scan after a record the scan needs (counters logged out of order, as a
 * backup logs transactions, included), and starts it close to the records needed.
 */
class HistoryIndexTest
{
    @Test
    void everyRecordAboveTheReadersCounterLiesAfterTheScanStart()
    {
        final Random random = new Random(42);
        for (int round = 0; round < 200; round++)
        {
            final HistoryIndex index = new HistoryIndex();
            final List<long[]> log = new ArrayList<>();
            long position = random.nextInt(10);
            long next = 1;
            final int records = 1 + random.nextInt(500);
            for (int i = 0; i < records; i++)
            {
                // Mostly in order; sometimes a later counter is logged before an earlier one.
                final long counter = random.nextInt(8) == 0 ? next + 1 + random.nextInt(3) : next;
                next = Math.max(next, counter) + (counter == next ? 1 : 0);
                position += 1 + random.nextInt(3);
                index.note(7L, position - 1, counter);
                log.add(new long[] {position, counter});
                if (random.nextInt(100) == 0)
                {
                    index.trim(position - 20);
                }
            }
            for (int probe = 0; probe < 50; probe++)
            {
                final long from = random.nextInt((int)next + 1);
                final long start = index.scanStart(7L, from);
                for (final long[] record : log)
                {
                    if (record[1] > from)
                    {
                        assertTrue(record[0] > start, "round " + round + ": counter " + record[1] + " at " +
                            record[0] + " is not after the scan start " + start + " for from " + from);
                    }
                }
            }
        }
    }

    /**
     * A member whose WAL keeps nothing (in memory) serves no history and never releases its WAL, so an index would keep
     * its entries for good: it notes nothing, and knows nothing of any copy.
     */
    @Test
    void anIndexOfAWalThatKeepsNothingNotesNothing()
    {
        final HistoryIndex index = new HistoryIndex();
        index.note(3L, 9, 1);
        index.noteNothing();
        for (long counter = 2; counter <= 10_000; counter++)
        {
            index.note(3L, counter * 10 - 1, counter);
        }
        assertEquals(0, index.scanStart(3L, 5_000), "it knows nothing of the copy: scan everything");
    }

    @Test
    void aReaderMissingOnlyRecentCountersScansFromJustBeforeThem()
    {
        final HistoryIndex index = new HistoryIndex();
        for (long counter = 1; counter <= 1_000; counter++)
        {
            index.note(3L, counter * 10 - 1, counter);
        }
        assertEquals(9_959, index.scanStart(3L, 995), "the record of counter 996 is the first after 9,959");
        final long older = index.scanStart(3L, 500);
        assertTrue(older <= 5_009 && older >= 5_009 - 10 * HistoryIndex.STRIDE, "older: " + older);
        assertEquals(0, index.scanStart(4L, 0), "an unknown copy scans everything");
    }
}
