package dev.grid.persistence;

import dev.grid.core.ErrorCode;
import dev.grid.core.PersistenceException;
import dev.grid.core.spi.CheckpointStore;
import dev.grid.core.spi.CheckpointStore.PartitionImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FileCheckpointStoreTest
{
    @TempDir
    Path dir;

    private static PartitionImage image(final int partition, final String value)
    {
        return new PartitionImage(7, partition, 100 + partition, 5, new byte[] {1, 2, 3},
            new byte[][] {{'a'}, {'b'}}, new byte[][] {value.getBytes(), null}, new long[] {4, 5},
            new long[] {11}, new long[] {12}, new boolean[] {true}, new byte[][] {value.getBytes()});
    }

    /** Write a checkpoint of these images and wait until it committed. */
    private static void commit(final FileCheckpointStore store, final long id, final PartitionImage... images)
    {
        store.begin(id);
        for (final PartitionImage image : images)
        {
            store.write(image);
        }
        store.commit(id, new byte[] {(byte)id});
        awaitCommitted(store, id);
    }

    private static void awaitCommitted(final FileCheckpointStore store, final long id)
    {
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (store.committedId() < id)
        {
            assertNull(store.failure(), "checkpoint failed");
            assertTrue(System.nanoTime() < deadline, "checkpoint " + id + " did not commit");
            Thread.onSpinWait();
        }
    }

    @Test
    void aCommittedCheckpointReadsBackExactlyAndReplacesTheOlderOne()
    {
        try (FileCheckpointStore store = new FileCheckpointStore(dir, true, "test-writer"))
        {
            assertNull(store.loadLatest());
            commit(store, 1, image(0, "old"));
            commit(store, 2, image(0, "new"), image(1, "new"));
        }
        try (FileCheckpointStore reopened = new FileCheckpointStore(dir, true, "test-writer"))
        {
            assertEquals(2, reopened.committedId());
            final CheckpointStore.Checkpoint latest = reopened.loadLatest();
            assertEquals(2, latest.id());
            assertArrayEquals(new byte[] {2}, latest.manifest());
            assertEquals(2, latest.images().size());
            final PartitionImage first = latest.images().get(0);
            final PartitionImage expected = image(0, "new");
            assertEquals(expected.replayFromPosition(), first.replayFromPosition());
            assertEquals(expected.hwm(), first.hwm());
            assertArrayEquals(expected.counterState(), first.counterState());
            assertArrayEquals(expected.keys()[0], first.keys()[0]);
            assertArrayEquals("new".getBytes(), first.values()[0]);
            assertNull(first.values()[1], "tombstone");
            assertArrayEquals(expected.counters(), first.counters());
            assertArrayEquals(expected.recentOrigins(), first.recentOrigins());
            assertArrayEquals(expected.recentSequences(), first.recentSequences());
            assertArrayEquals("new".getBytes(), first.recentValues()[0]);
            assertFalse(Files.exists(dir.resolve("cp-1")), "older checkpoint deleted after the newer committed");
        }
    }

    @Test
    void aCheckpointThatNeverCommittedIsInvisibleAndRemovedAtOpen() throws Exception
    {
        try (FileCheckpointStore store = new FileCheckpointStore(dir, false, "test-writer"))
        {
            commit(store, 1, image(0, "kept"));
            store.begin(2);
            store.write(image(0, "lost"));
        }
        assertTrue(Files.exists(dir.resolve("cp-2.partial")), "the unfinished checkpoint is on disk");
        try (FileCheckpointStore reopened = new FileCheckpointStore(dir, false, "test-writer"))
        {
            assertEquals(1, reopened.loadLatest().id());
            assertArrayEquals("kept".getBytes(), reopened.loadLatest().images().get(0).values()[0]);
            assertFalse(Files.exists(dir.resolve("cp-2.partial")), "unfinished checkpoint removed");
        }
    }

    @Test
    void aDamagedImageOfTheCommittedCheckpointIsRefusedNamingTheFile() throws Exception
    {
        try (FileCheckpointStore store = new FileCheckpointStore(dir, false, "test-writer"))
        {
            commit(store, 1, image(3, "value"));
        }
        final Path file = dir.resolve("cp-1").resolve("images");
        try (RandomAccessFile raw = new RandomAccessFile(file.toFile(), "rw"))
        {
            raw.seek(20);
            raw.write(raw.read() ^ 0x40);
        }
        try (FileCheckpointStore reopened = new FileCheckpointStore(dir, false, "test-writer"))
        {
            final PersistenceException error = assertThrows(PersistenceException.class, reopened::loadLatest);
            assertEquals(ErrorCode.CHECKPOINT_CORRUPT, error.errorCode());
            assertTrue(error.getMessage().contains(file.getFileName().toString()), error.getMessage());
        }
    }
}
