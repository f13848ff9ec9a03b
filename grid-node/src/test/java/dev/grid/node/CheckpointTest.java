package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.WalMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checkpoints run in the background while writes and reads continue: no read ever misses a key's latest acknowledged
 * value while many checkpoints come and go, and a restart recovers from the newest checkpoint plus the WAL after it.
 */
class CheckpointTest
{
    private static final int KEYS = 400;
    private static final int WRITERS = 2;
    private static final int READERS = 2;

    @TempDir
    Path data;

    private MemberConfiguration config(final int port)
    {
        return TestCluster.config("c0", port, List.of("127.0.0.1:" + port))
            .dataDirectory(data)
            .walMode(WalMode.LOG_ONLY)
            .checkpointIntervalNs(TimeUnit.MILLISECONDS.toNanos(20))
            .checkpointWalRecords(300);
    }

    @Test
    void readsNeverMissTheLatestAcknowledgedValueAcrossManyCheckpointsAndRestartRecoversFromOne() throws Exception
    {
        final int port = TestCluster.freeUdpPort();
        // Latest acknowledged version per key; writers own disjoint keys (key % WRITERS).
        final AtomicLongArray acknowledged = new AtomicLongArray(KEYS);
        final AtomicReference<String> violation = new AtomicReference<>();
        final AtomicBoolean stop = new AtomicBoolean();
        final long checkpointsBefore;
        final long checkpointsAfter;
        try (GridMember member = GridMember.start(config(port)))
        {
            final Cache<Integer, Long> cache = member.createCache(
                new CacheConfiguration<>("versions", Codecs.INT, Codecs.LONG).partitions(64).backups(0));
            checkpointsBefore = member.committedCheckpointId();
            final List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++)
            {
                final int writer = w;
                threads.add(new Thread(() ->
                {
                    long version = 0;
                    while (!stop.get())
                    {
                        version++;
                        for (int key = writer; key < KEYS; key += WRITERS)
                        {
                            cache.put(key, version);
                            acknowledged.set(key, version);
                        }
                    }
                }, "writer-" + w));
            }
            for (int r = 0; r < READERS; r++)
            {
                threads.add(new Thread(() ->
                {
                    final ThreadLocalRandom random = ThreadLocalRandom.current();
                    while (!stop.get())
                    {
                        final int key = random.nextInt(KEYS);
                        final long floor = acknowledged.get(key);
                        final Long read = cache.get(key);
                        if (floor > 0 && (read == null || read < floor))
                        {
                            violation.compareAndSet(null, "key " + key + " read " + read + " after version " + floor +
                                " was acknowledged");
                        }
                    }
                }, "reader-" + r));
            }
            threads.forEach(Thread::start);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (member.committedCheckpointId() < checkpointsBefore + 20 && violation.get() == null &&
                System.nanoTime() < deadline)
            {
                Thread.onSpinWait();
            }
            stop.set(true);
            for (final Thread thread : threads)
            {
                thread.join();
            }
            checkpointsAfter = member.committedCheckpointId();
            assertNull(violation.get());
            assertTrue(checkpointsAfter >= checkpointsBefore + 20, "only " + (checkpointsAfter - checkpointsBefore) +
                " checkpoints committed under load");
        }
        try (GridMember restarted = GridMember.start(config(port)))
        {
            assertTrue(restarted.committedCheckpointId() >= checkpointsAfter, "recovered from checkpoint " +
                restarted.committedCheckpointId());
            final Cache<Integer, Long> cache = restarted.cache("versions");
            for (int key = 0; key < KEYS; key++)
            {
                assertEquals(acknowledged.get(key), cache.get(key), "key " + key + " after restart");
            }
            System.out.printf("%d checkpoints under load; restart replayed %d WAL records after checkpoint %d%n",
                checkpointsAfter - checkpointsBefore, restarted.recoveredRecords(), restarted.committedCheckpointId());
        }
    }
}
