package dev.grid.examples;

import dev.grid.admin.GridAdmin;
import dev.grid.client.ClientConfiguration;
import dev.grid.client.ClientSnapshots;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.WalMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A cluster-wide snapshot taken while a writer keeps writing, checked, and restored into a cluster of another size:
 * every write acknowledged before the snapshot began is there with its value or a later one, and a damaged file is
 * named by the check and refused by restore.
 */
class SnapshotTest
{
    private static final int KEYS = 3_000;

    @TempDir
    Path temp;

    @Test
    void aSnapshotUnderLoadRestoresIntoAClusterOfAnotherSize() throws Exception
    {
        final Map<String, List<String>> written = new ConcurrentHashMap<>();
        final Map<String, String> acked = new ConcurrentHashMap<>();
        final Map<String, String> ackedBefore;
        try (LocalMembers source = LocalMembers.start(3, config -> config.clusterName("source")
            .dataDirectory(temp.resolve("source").resolve(config.memberId())).walMode(WalMode.LOG_ONLY));
            GridClient client = GridClient.connect(new ClientConfiguration().address(source.clientAddress(0))
                .address(source.clientAddress(1))))
        {
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("orders", Codecs.STRING,
                Codecs.STRING).partitions(64).backups(1));
            final Map<String, String> initial = new HashMap<>();
            for (int i = 0; i < KEYS; i++)
            {
                initial.put("k" + i, "a");
                written.put("k" + i, new ArrayList<>(List.of("a")));
            }
            cache.putAll(initial);
            acked.putAll(initial);
            final AtomicBoolean writing = new AtomicBoolean(true);
            final AtomicReference<Throwable> writerFailure = new AtomicReference<>();
            final Thread writer = new Thread(() ->
            {
                try
                {
                    for (int n = 0; writing.get(); n++)
                    {
                        final String key = n % 2 == 0 ? "k" + (n % KEYS) : "n" + n;
                        final String value = "b" + n;
                        written.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
                        cache.put(key, value);
                        acked.put(key, value);
                    }
                }
                catch (final Throwable ex)
                {
                    writerFailure.set(ex);
                }
            }, "snapshot-test-writer");
            writer.start();
            awaitAcked(acked, KEYS + 200);
            ackedBefore = Map.copyOf(acked);
            final ClientSnapshots snapshots = client.admin().snapshots();
            final ClientSnapshots.Created created = snapshots.create("before-upgrade");
            awaitAcked(acked, ackedBefore.size() + 200);
            writing.set(false);
            writer.join(TimeUnit.SECONDS.toMillis(30));
            assertEquals(null, writerFailure.get(), "the writer's writes all succeeded");
            assertEquals(3, created.byMember().values().stream().filter(parts -> !parts.isEmpty()).count(),
                "every member wrote its primaries: " + created.byMember());
            assertEquals(64, created.byMember().values().stream().mapToInt(List::size).sum(),
                "each partition written once: " + created.byMember());

            final ClientSnapshots.Listed listed = snapshots.list("before-upgrade");
            assertTrue(listed.complete(), "every partition is held: missing " + listed.missing());
            assertEquals(64, listed.caches().get("orders"));
            assertTrue(snapshots.check("before-upgrade").isClean(), snapshots.check("before-upgrade").problems()
                .toString());
            final GridException exists = assertThrows(GridException.class, () -> snapshots.create("before-upgrade"));
            assertEquals(ErrorCode.SNAPSHOT_EXISTS, exists.errorCode());
        }

        // A cluster of two members, on the snapshot directories of the three copied (merged) under theirs.
        final Path target = temp.resolve("target");
        copyTree(snapshotDir("source", "m0"), target.resolve("m0/snapshots/before-upgrade"));
        copyTree(snapshotDir("source", "m1"), target.resolve("m0/snapshots/before-upgrade"));
        copyTree(snapshotDir("source", "m2"), target.resolve("m1/snapshots/before-upgrade"));
        try (LocalMembers restored = LocalMembers.start(2, config -> config.clusterName("target")
            .dataDirectory(target.resolve(config.memberId())).walMode(WalMode.LOG_ONLY));
            GridClient client = GridClient.connect(new ClientConfiguration().address(restored.clientAddress(0))))
        {
            final ClientSnapshots snapshots = client.admin().snapshots();
            assertTrue(snapshots.check("before-upgrade").isClean());
            final StringWriter listed = new StringWriter();
            assertEquals(0, GridAdmin.run(new String[] {"--host", restored.clientAddress(1), "snapshot", "list"},
                new PrintWriter(listed, true), new PrintWriter(new StringWriter(), true)));
            assertTrue(listed.toString().contains("before-upgrade") && listed.toString().contains(" yes"),
                listed.toString());
            assertEquals(2, GridAdmin.run(new String[] {"--host", restored.clientAddress(0), "snapshot", "restore",
                "before-upgrade"}, new PrintWriter(new StringWriter(), true), new PrintWriter(new StringWriter(), true)),
                "restore destroys the caches first: it needs --yes");
            final long loaded = snapshots.restore("before-upgrade");
            assertTrue(loaded >= ackedBefore.size(), "loaded " + loaded);
            final Cache<String, String> cache = client.cache("orders");
            int checked = 0;
            for (final Map.Entry<String, String> before : ackedBefore.entrySet())
            {
                final String value = cache.get(before.getKey());
                assertNotNull(value, before.getKey() + " was acknowledged before the snapshot and is missing");
                final List<String> history = written.get(before.getKey());
                assertTrue(history.indexOf(value) >= history.indexOf(before.getValue()), before.getKey() + " = " +
                    value + ", older than " + before.getValue() + ", acknowledged before the snapshot began");
                checked++;
            }
            assertEquals(ackedBefore.size(), checked);
            assertTrue(cache.size() >= ackedBefore.size());

            // A damaged file: the check names it, restore refuses the snapshot.
            final Path damaged;
            try (Stream<Path> files = Files.walk(target.resolve("m1/snapshots/before-upgrade/orders")))
            {
                damaged = files.filter(f -> f.toString().endsWith(".part")).findFirst().orElseThrow();
            }
            try (RandomAccessFile file = new RandomAccessFile(damaged.toFile(), "rw"))
            {
                file.seek(file.length() - 3);
                final int b = file.read();
                file.seek(file.length() - 3);
                file.write(b ^ 0xFF);
            }
            final ClientSnapshots.Checked checkedAfter = snapshots.check("before-upgrade");
            assertFalse(checkedAfter.isClean());
            assertTrue(checkedAfter.problems().toString().contains(damaged.getFileName().toString()
                .replace(".part", "")), checkedAfter.problems().toString());
            final StringWriter problems = new StringWriter();
            assertEquals(3, GridAdmin.run(new String[] {"--host", restored.clientAddress(0), "snapshot", "check",
                "before-upgrade"}, new PrintWriter(problems, true), new PrintWriter(new StringWriter(), true)),
                "the admin tool's check exits 3 on a damaged file");
            assertTrue(problems.toString().contains("SHA-256"), problems.toString());
            final GridException refused = assertThrows(GridException.class, () -> snapshots.restore("before-upgrade"));
            assertEquals(ErrorCode.SNAPSHOT_CORRUPT, refused.errorCode());
            assertEquals(ackedBefore.size(), ackedBefore.keySet().stream().filter(key -> cache.get(key) != null)
                .count(), "a refused restore destroyed nothing");

            // One member's directory copied under both new members: its partitions are held twice.
            copyTree(snapshotDir("source", "m2"), target.resolve("m0/snapshots/before-upgrade"));
            assertTrue(snapshots.check("before-upgrade").problems().toString().contains("more than one member holds"),
                snapshots.check("before-upgrade").problems().toString());
            assertFalse(snapshots.list("before-upgrade").complete());
        }
    }

    private Path snapshotDir(final String cluster, final String member)
    {
        return temp.resolve(cluster).resolve(member).resolve("snapshots/before-upgrade");
    }

    private static void awaitAcked(final Map<String, String> acked, final int size)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (acked.size() < size)
        {
            assertTrue(System.nanoTime() < deadline, "the writer did not get to " + size + " keys within 60 s");
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }

    private static void copyTree(final Path from, final Path to) throws IOException
    {
        try (Stream<Path> files = Files.walk(from))
        {
            for (final Path file : files.toList())
            {
                final Path copy = to.resolve(from.relativize(file).toString());
                if (Files.isDirectory(file))
                {
                    Files.createDirectories(copy);
                }
                else
                {
                    Files.copy(file, copy, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
