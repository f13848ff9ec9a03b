package dev.grid.node;

import dev.grid.core.testing.LoopbackPorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Member processes of two shards each ({@code shards = 2} in their configuration files, started by {@link Main}):
 * three persistent processes, one killed with SIGKILL (both its shards at once) while the cluster holds acknowledged
 * writes, more writes while it is away, then it starts again on its data directories; then another paused (SIGSTOP)
 * for longer than failure detection, more writes, and resumed. Every acknowledged write is there, read through every
 * process, each partition has its two copies in two processes, and the consistency check is clean.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ShardedProcessTest
{
    @Test
    void aProcessOfTwoShardsKilledRestartedOrPausedLosesNoAcknowledgedWrite() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-sharded");
        final List<MemberProcess> children = new ArrayList<>();
        MemberProcess.runAndCleanUp(dir, children, () ->
        {
            final int[] ports = new int[3];
            final List<String> seeds = new ArrayList<>();
            for (int i = 0; i < 3; i++)
            {
                ports[i] = LoopbackPorts.nextRun(2);
                seeds.add("127.0.0.1:" + ports[i]);
            }
            final List<Path> configs = new ArrayList<>();
            for (int i = 0; i < 3; i++)
            {
                final Path config = dir.resolve("m" + i + ".properties");
                Files.writeString(config, "member.id = m" + i + "\nport = " + ports[i] + "\nseeds = " +
                    String.join(",", seeds) + "\nshards = 2\nheartbeat.interval.ms = 100\n" +
                    "failure.detection.timeout.ms = 1500\njoin.timeout.ms = 20000\ndata.directory = " +
                    dir.resolve("data-m" + i) + "\nwal.mode = LOG_ONLY\n");
                configs.add(config);
            }
            MemberProcess.launchTogether(configs, dir, "", children);
            final MemberProcess m0 = children.get(0);
            assertEquals(2, m0.directories.size(), "one media driver per shard: " + m0.directories);
            MemberProcess.awaitTopologySize(m0, 6);
            assertEquals("TOPOLOGY", m0.command("topology").split(" ")[0]);
            assertTrue(m0.command("topology").endsWith(" m0.s0,m0.s1,m1.s0,m1.s1,m2.s0,m2.s1"),
                m0.command("topology"));
            assertEquals("OK", m0.command("create data 1"));
            assertEquals("OK", m0.command("put-range data 0 3000"));
            MemberProcess.awaitQuiescent(children);
            assertCopiesOnTwoProcesses(children);

            children.get(2).kill();
            assertEquals("CHECKED 3000 MISSING 0 WRONG 0", children.get(1).command("check-range data 0 3000"));
            assertEquals("OK", m0.command("put-range data 3000 4000"));

            children.add(new MemberProcess(MemberProcess.launch(configs.get(2), dir.resolve("m2-again.log"))));
            final List<MemberProcess> running = List.of(m0, children.get(1), children.get(3));
            assertAllBackTogether(running, 4000);

            // Paused (SIGSTOP) for longer than failure detection: the cluster removes both shards of m1 and goes on
            // writing; resumed, they find themselves removed, start again on their own data and catch up.
            final MemberProcess m1 = children.get(1);
            m1.pause();
            MemberProcess.awaitTopologySize(m0, 4);
            assertEquals("OK", m0.command("put-range data 4000 5000"));
            m1.resume();
            assertAllBackTogether(running, 5000);
        });
    }

    /**
     * Once all three processes are in the cluster and it settled: every one of the {@code written} keys reads back
     * through every process, each partition has its two copies in two processes, and the consistency check is clean.
     */
    private static void assertAllBackTogether(final List<MemberProcess> running, final int written) throws Exception
    {
        final MemberProcess first = running.get(0);
        MemberProcess.awaitTopologySize(first, 6);
        MemberProcess.awaitQuiescent(running);
        for (final MemberProcess member : running)
        {
            assertEquals("CHECKED " + written + " MISSING 0 WRONG 0", member.command("check-range data 0 " + written));
        }
        assertCopiesOnTwoProcesses(running);
        assertTrue(first.command("verify data").contains(" conflicts 0 "), first.command("verify data"));
    }

    /** Each partition of the cache has a copy in exactly two of the processes (one backup, never two in one). */
    private static void assertCopiesOnTwoProcesses(final List<MemberProcess> members) throws Exception
    {
        final Map<Integer, Integer> holders = new HashMap<>();
        for (final MemberProcess member : members)
        {
            final String[] copies = member.command("counters data").split(" ");
            for (int i = 1; i < copies.length; i++)
            {
                holders.merge(Integer.parseInt(copies[i].split(":")[0]), 1, Integer::sum);
            }
        }
        assertEquals(1024, holders.size(), "partitions held: " + holders.size());
        holders.forEach((partition, count) -> assertEquals(2, count, "copies of partition " + partition));
    }
}
