package dev.grid.persistence;

import dev.grid.core.ErrorCode;
import dev.grid.core.PersistenceException;
import dev.grid.core.WalMode;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChronicleWalTest
{
    @TempDir
    Path dir;

    private static long append(final ChronicleWal wal, final String text)
    {
        final byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return wal.append(new UnsafeBuffer(bytes), 0, bytes.length);
    }

    private static List<String> replay(final ChronicleWal wal, final long after)
    {
        final List<String> records = new ArrayList<>();
        wal.replay(after, (position, buffer, offset, length) ->
            records.add(buffer.getStringWithoutLengthUtf8(offset, length)));
        return records;
    }

    private ChronicleWal open(final WalMode mode)
    {
        return new ChronicleWal(dir, mode, TimeUnit.SECONDS.toNanos(1));
    }

    @Test
    void recordsSurviveReopeningInAppendOrderAndReplayCanStartAfterAPosition()
    {
        final long middle;
        try (ChronicleWal wal = open(WalMode.LOG_ONLY))
        {
            long previous = 0;
            for (int i = 0; i < 100; i++)
            {
                final long position = append(wal, "record-" + i);
                assertTrue(position > previous, "positions increase");
                previous = position;
            }
            middle = wal.appendedPosition() - 10;
        }
        try (ChronicleWal wal = open(WalMode.LOG_ONLY))
        {
            final List<String> all = replay(wal, 0);
            assertEquals(100, all.size());
            assertEquals("record-0", all.get(0));
            assertEquals("record-99", all.get(99));
            assertEquals(List.of("record-90", "record-91", "record-92", "record-93", "record-94", "record-95",
                "record-96", "record-97", "record-98", "record-99"), replay(wal, middle));
            assertEquals(wal.appendedPosition(), wal.durablePosition(), "all on disk at open is durable");
            final long next = append(wal, "after-reopen");
            assertEquals(next, wal.durablePosition(), "LOG_ONLY: durable on append");
        }
    }

    /** Issue 17, item 2: records of a 16 MiB value (and more) are logged and replayed whole. */
    @Test
    void largeRecordsSurviveReopening()
    {
        final byte[][] records = {new byte[1 << 20], new byte[16 << 20], new byte[40], new byte[(16 << 20) + 4096]};
        final java.util.Random random = new java.util.Random(2);
        for (final byte[] record : records)
        {
            random.nextBytes(record);
        }
        try (ChronicleWal wal = open(WalMode.LOG_ONLY))
        {
            for (final byte[] record : records)
            {
                wal.append(new UnsafeBuffer(record), 0, record.length);
            }
        }
        try (ChronicleWal wal = open(WalMode.LOG_ONLY))
        {
            final List<byte[]> replayed = new ArrayList<>();
            wal.replay(0, (position, buffer, offset, length) ->
            {
                final byte[] copy = new byte[length];
                buffer.getBytes(offset, copy);
                replayed.add(copy);
            });
            assertEquals(records.length, replayed.size());
            for (int i = 0; i < records.length; i++)
            {
                org.junit.jupiter.api.Assertions.assertArrayEquals(records[i], replayed.get(i), "record " + i);
            }
        }
    }

    @Test
    void fsyncIsDurableOnlyAfterTheRequestedSyncWhichCoversEveryRecordAppendedBeforeIt()
    {
        try (ChronicleWal wal = open(WalMode.FSYNC))
        {
            final long first = append(wal, "a");
            final long second = append(wal, "b");
            assertTrue(wal.durablePosition() < first, "not durable before a sync");
            wal.requestDurability();
            assertEquals(second, wal.durablePosition(), "one sync covered both records");
        }
    }

    @Test
    void aTornLastRecordIsSkippedAndMarkedSoTheNextReplaySkipsItToo()
    {
        try (ChronicleWal wal = open(WalMode.LOG_ONLY))
        {
            append(wal, "one");
            append(wal, "two");
            TornRecords.appendTorn(wal, 40);
        }
        try (ChronicleWal wal = open(WalMode.LOG_ONLY))
        {
            assertEquals(List.of("one", "two"), replay(wal, 0));
            append(wal, "three");
        }
        try (ChronicleWal wal = open(WalMode.LOG_ONLY))
        {
            assertEquals(List.of("one", "two", "three"), replay(wal, 0), "marked torn record stays skipped");
        }
    }

    @Test
    void boundedReadsGoOnWhereTheLastStoppedAndSkipATornRecordRecoveryMarked()
    {
        try (ChronicleWal wal = open(WalMode.LOG_ONLY))
        {
            append(wal, "a");
            append(wal, "b");
            TornRecords.appendTorn(wal, 40);
        }
        try (ChronicleWal wal = open(WalMode.LOG_ONLY))
        {
            assertEquals(List.of("a", "b"), replay(wal, 0), "recovery skips and marks the torn record");
            for (int i = 0; i < 10; i++)
            {
                append(wal, "r" + i);
            }
            final List<String> read = new ArrayList<>();
            long after = 0;
            int batches = 0;
            while (true)
            {
                final int before = read.size();
                after = wal.read(after, 3, (position, buffer, offset, length) ->
                    read.add(buffer.getStringWithoutLengthUtf8(offset, length)));
                assertTrue(read.size() - before <= 3, "a batch holds at most 3 records");
                if (read.size() == before)
                {
                    break;
                }
                batches++;
            }
            assertEquals(List.of("a", "b", "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"), read);
            assertEquals(4, batches);
            assertEquals(wal.appendedPosition(), after, "the last read ends at the last record");
            assertEquals(after, wal.read(after, 3, (position, buffer, offset, length) -> read.add("more")),
                "nothing after the end");
        }
    }

    @Test
    void aCorruptRecordInTheMiddleFailsReplayNamingFileAndIndex()
    {
        final long corrupt;
        try (ChronicleWal wal = open(WalMode.LOG_ONLY))
        {
            append(wal, "one");
            corrupt = TornRecords.appendTorn(wal, 40);
            append(wal, "after the damage");
        }
        try (ChronicleWal wal = open(WalMode.LOG_ONLY))
        {
            final PersistenceException error = assertThrows(PersistenceException.class, () -> replay(wal, 0));
            assertEquals(ErrorCode.WAL_CORRUPT, error.errorCode());
            assertTrue(error.getMessage().contains(Long.toHexString(corrupt)) &&
                error.getMessage().contains(".cq4") && error.getMessage().contains("checksum"), error.getMessage());
        }
    }

    @Test
    void aHandlerFailureReachesTheCallerUnchanged()
    {
        try (ChronicleWal wal = open(WalMode.LOG_ONLY))
        {
            append(wal, "one");
            final IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> wal.replay(0,
                (position, buffer, offset, length) ->
                {
                    throw new IllegalStateException("handler refused");
                }));
            assertEquals("handler refused", thrown.getMessage());
        }
    }

    @Test
    void noneIsNotAChronicleMode()
    {
        assertThrows(IllegalArgumentException.class, () -> open(WalMode.NONE));
    }

    @Test
    void releaseDeletesWholeFilesBelowThePositionAndReplayStillSeesEverythingAfterIt() throws Exception
    {
        try (ChronicleWal wal = new ChronicleWal(dir, WalMode.LOG_ONLY, TimeUnit.SECONDS.toNanos(1),
            net.openhft.chronicle.queue.rollcycles.TestRollCycles.TEST_SECONDLY))
        {
            final long old = append(wal, "old");
            final long firstAtStart = wal.firstRetainedPosition();
            assertTrue(firstAtStart < old, "the first record is readable");
            awaitNextSecond();
            final long kept = append(wal, "kept");
            final long newer = append(wal, "newer");
            assertEquals(2, countFiles(), "one file per second");

            assertEquals(firstAtStart, wal.release(old), "the file holding the position stays");
            assertEquals(2, countFiles());
            final long firstRetained = wal.release(kept);
            assertEquals(1, countFiles(), "the older file was deleted");
            assertTrue(firstRetained >= old && firstRetained < kept, "first retained " + firstRetained);
            assertEquals(List.of("kept", "newer"), replay(wal, firstRetained));
            assertTrue(newer > kept);
        }
    }

    @Test
    void boundedReadsKeepTheirTailerYetFollowAppendsEarlierPositionsReleasedFilesAndAnotherThread() throws Exception
    {
        try (ChronicleWal wal = new ChronicleWal(dir, WalMode.LOG_ONLY, TimeUnit.SECONDS.toNanos(1),
            net.openhft.chronicle.queue.rollcycles.TestRollCycles.TEST_SECONDLY))
        {
            final long old = append(wal, "old");
            assertEquals(List.of("old"), read(wal, 0), "the first read creates the tailer, in the first file");
            awaitNextSecond();
            final long kept = append(wal, "kept");
            append(wal, "newer");
            assertEquals(List.of("kept", "newer"), read(wal, old), "appends after the last read are read");
            assertEquals(List.of("old", "kept", "newer"), read(wal, 0), "a read can start before the last one");
            assertEquals(List.of("newer"), read(wal, kept));
            // Leave the tailer in the first file, then delete that file: the tailer is closed, the next read makes one.
            assertEquals(List.of("old"), read(wal, 0, 1));
            assertTrue(wal.holdsReadTailer());
            final long firstRetained = wal.release(kept);
            assertEquals(1, countFiles(), "the older file was deleted");
            assertFalse(wal.holdsReadTailer(), "a tailer in a deleted file would keep its space");
            assertEquals(List.of("kept", "newer"), read(wal, firstRetained), "the tailer left the deleted file");
            assertEquals(List.of("kept", "newer"), read(wal, 0), "from the start is from the first retained record");
            final List<String> elsewhere = new ArrayList<>();
            final Thread other = new Thread(() -> elsewhere.addAll(read(wal, firstRetained)));
            other.start();
            other.join(TimeUnit.SECONDS.toMillis(30));
            assertEquals(List.of("kept", "newer"), elsewhere, "another thread (one at a time) reads with it too");
            append(wal, "last");
            assertEquals(List.of("kept", "newer", "last"), read(wal, firstRetained), "and this one again after it");
            assertThrows(IllegalStateException.class, () -> wal.read(0, 1, (position, buffer, offset, length) ->
                wal.read(0, 1, (p, b, o, l) -> { })), "a read's handler may not read again");
            assertEquals(List.of("kept"), read(wal, 0, 1), "reads go on after that refusal");
        }
    }

    private static List<String> read(final ChronicleWal wal, final long after)
    {
        return read(wal, after, 100);
    }

    private static List<String> read(final ChronicleWal wal, final long after, final int maxRecords)
    {
        final List<String> records = new ArrayList<>();
        wal.read(after, maxRecords, (position, buffer, offset, length) ->
            records.add(buffer.getStringWithoutLengthUtf8(offset, length)));
        return records;
    }

    /** Roll cycles of one second: wait for the next second, so the next record starts a new file. */
    private static void awaitNextSecond()
    {
        final long second = System.currentTimeMillis() / 1000;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.currentTimeMillis() / 1000 == second)
        {
            assertTrue(System.nanoTime() < deadline, "the clock did not move");
            Thread.onSpinWait();
        }
    }

    private long countFiles() throws java.io.IOException
    {
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(dir))
        {
            return files.filter(p -> p.toString().endsWith(".cq4")).count();
        }
    }
}
