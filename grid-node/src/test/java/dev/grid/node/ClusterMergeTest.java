package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.KeptCopy;
import dev.grid.core.KeptCopyFiles;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.WalMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 16, healing and merge, on real members: two clusters that formed apart merge, and what the dissolved one
 * acknowledged is kept for the operator. m0 starts alone ({@code cluster.min.members = 1}) and forms a cluster of its
 * own; m1 and m2 know only each other as seeds and form another. Each creates a persistent cache "c" and writes the
 * same keys: a true conflict. m0's coordinator probes the seeds its topology does not list, learns of the larger
 * cluster, dissolves and rejoins it: the survivor's values stand, and m0 writes every entry it held in its copies of
 * its own "c" to {@code <data>/kept/} before dropping them.
 */
class ClusterMergeTest
{
    private static final int KEYS = 60;

    @TempDir
    Path data;

    @Test
    void theSmallerClusterDissolvesIntoTheLargerAndKeepsWhatItHeldForTheOperator() throws IOException
    {
        final int[] ports = {TestCluster.freeUdpPort(), TestCluster.freeUdpPort(), TestCluster.freeUdpPort()};
        final List<GridMember> members = new ArrayList<>();
        try
        {
            final GridMember m0 = GridMember.start(config(0, ports, List.of(0, 1, 2)).minMembers(1));
            members.add(m0);
            final Cache<String, String> alone = m0.createCache(cache());
            final Map<String, String> writtenAlone = new HashMap<>();
            for (int i = 0; i < KEYS; i++)
            {
                alone.put("k" + i, "alone-" + i);
                writtenAlone.put("k" + i, "alone-" + i);
                alone.put("only-m0-" + i, "x" + i);
                writtenAlone.put("only-m0-" + i, "x" + i);
            }

            final List<CompletableFuture<GridMember>> others = new ArrayList<>();
            for (final int index : new int[] {1, 2})
            {
                final MemberConfiguration config = config(index, ports, List.of(1, 2));
                others.add(CompletableFuture.supplyAsync(() -> GridMember.start(config)));
            }
            others.forEach(start -> members.add(start.join()));
            final GridMember m1 = members.get(1);
            final Cache<String, String> larger = m1.createCache(cache());
            for (int i = 0; i < KEYS; i++)
            {
                larger.put("k" + i, "larger-" + i);
            }

            awaitCondition(() -> members.stream().allMatch(m -> m.topology() != null &&
                m.topology().members().size() == 3 && m.quorum().held()), "one cluster of three", members);
            final Cache<String, String> merged = m0.cache("c");
            for (int i = 0; i < KEYS; i++)
            {
                assertEquals("larger-" + i, merged.get("k" + i), "the survivor's value of k" + i);
                assertEquals(null, merged.get("only-m0-" + i), "the dissolved cluster's key came back silently");
            }

            final Map<String, String> kept = new HashMap<>();
            try (Stream<Path> files = Files.list(data.resolve("m0").resolve("kept")))
            {
                for (final Path file : files.toList())
                {
                    assertTrue(file.toString().endsWith(KeptCopyFiles.SUFFIX), file.toString());
                    final KeptCopy copy = KeptCopyFiles.read(file);
                    assertEquals("c", copy.cacheName());
                    for (int i = 0; i < copy.keys().size(); i++)
                    {
                        kept.put(new String(copy.keys().get(i), StandardCharsets.UTF_8),
                            new String(copy.values().get(i), StandardCharsets.UTF_8));
                    }
                }
            }
            assertEquals(writtenAlone, kept, "what m0 acknowledged alone was not all kept");
            assertTrue(m0.quorum().history().stream().anyMatch(e -> e.contains("kept " )),
                () -> "m0's history does not report it: " + m0.quorum().history());
            assertFalse(Files.exists(data.resolve("m1").resolve("kept")), "the survivor kept copies");
        }
        finally
        {
            members.forEach(GridMember::close);
        }
    }

    private MemberConfiguration config(final int index, final int[] ports, final List<Integer> seeds)
    {
        final List<String> addresses = new ArrayList<>();
        seeds.forEach(s -> addresses.add("127.0.0.1:" + ports[s]));
        return TestCluster.config("m" + index, ports[index], addresses)
            .dataDirectory(data.resolve("m" + index))
            .walMode(WalMode.LOG_ONLY);
    }

    private static CacheConfiguration<String, String> cache()
    {
        return new CacheConfiguration<>("c", Codecs.STRING, Codecs.STRING).partitions(16).backups(1);
    }

    private static void awaitCondition(final BooleanSupplier condition, final String what,
        final List<GridMember> members)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
            {
                final StringBuilder seen = new StringBuilder();
                members.forEach(m -> seen.append("\n  ").append(m.configuration().memberId()).append(": ")
                    .append(m.topology() == null ? "no topology" : m.topology().members()).append(", quorum ")
                    .append(m.quorum()));
                throw new AssertionError("no " + what + " within 60 s:" + seen);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }
}
