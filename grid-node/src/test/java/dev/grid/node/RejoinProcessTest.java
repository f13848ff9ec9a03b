package dev.grid.node;

import org.junit.jupiter.api.Test;

import java.io.IOException;
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
 * A member that was away catches up by counters, with real processes: three persistent members (every partition on
 * every member), 100,000 keys, one member stops, {@value #UPDATES} keys are updated, and it starts again on its data
 * directory. With WAL history retained every lagging partition rebalances historically and the records streamed equal
 * the updates missed; with history released behind frequent checkpoints the lagging partitions go full. The
 * consistency check is clean afterwards either way.
 */
class RejoinProcessTest
{
    private static final int KEYS = 100_000;
    private static final int UPDATES = 5_000;

    @Test
    void aReturningMemberCatchesUpHistoricallyWithExactlyTheRecordsItMissed() throws Exception
    {
        final Map<String, Long> rebalance = rejoin("", KEYS);
        assertEquals(0, rebalance.get("full"), "no partition should need a full rebalance: " + rebalance);
        assertEquals(0, rebalance.get("fallbacks"), "no supplier should refuse history: " + rebalance);
        assertTrue(rebalance.get("historical") > 0, "lagging partitions rebalance historically: " + rebalance);
        assertEquals(UPDATES, rebalance.get("records"), "records streamed must equal the updates missed: " +
            rebalance);
    }

    @Test
    void withHistoryReleasedTheLaggingPartitionsGoFull() throws Exception
    {
        // History kept for nothing beyond the newest checkpoint, and checkpoints every 2,000 WAL records.
        final Map<String, Long> rebalance = rejoin("wal.history.records = 0\nwal.history.age.ms = 0\n" +
            "checkpoint.wal.records = 2000\n", 20_000);
        assertTrue(rebalance.get("full") > 0, "lagging partitions beyond history go full: " + rebalance);
        assertTrue(rebalance.get("entries") > 0, "a full rebalance streams entries: " + rebalance);
    }

    /**
     * @return the returning member's rebalance totals (historical, full, records, entries, fallbacks).
     */
    private static Map<String, Long> rejoin(final String extraConfig, final int keys) throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-rejoin");
        final List<String> addresses = MemberProcess.loopbackAddresses(3);
        final List<Path> configs = new ArrayList<>();
        final List<MemberProcess> children = new ArrayList<>();
        boolean passed = false;
        try
        {
            final List<Process> processes = new ArrayList<>();
            for (int i = 0; i < 3; i++)
            {
                final Path config = MemberProcess.writeConfig(dir, i, addresses);
                Files.writeString(config, Files.readString(config) + "data.directory = " + dir.resolve("data" + i) +
                    "\nwal.mode = LOG_ONLY\n" + extraConfig);
                configs.add(config);
                processes.add(MemberProcess.launch(config, dir.resolve("m" + i + ".log")));
            }
            for (final Process process : processes)
            {
                children.add(new MemberProcess(process));
            }
            final MemberProcess m0 = children.get(0);
            MemberProcess.awaitTopologySize(m0, 3);
            assertEquals("OK", m0.command("create data 2"));
            assertEquals("OK", m0.command("put-range data 0 " + keys));
            MemberProcess.awaitQuiescent(children);

            // The third member stops cleanly; the others take writes it misses.
            assertEquals("BYE", children.get(2).command("quit"));
            assertTrue(children.get(2).process.waitFor(30, TimeUnit.SECONDS), "the member did not stop");
            children.get(2).close();
            MemberProcess.awaitTopologySize(m0, 2);
            assertEquals("OK", m0.command("put-range data 0 " + UPDATES));

            children.set(2, new MemberProcess(MemberProcess.launch(configs.get(2), dir.resolve("m2-again.log"))));
            MemberProcess.awaitTopologySize(m0, 3);
            MemberProcess.awaitQuiescent(children);

            final String[] words = children.get(2).command("rebalance").split(" ");
            final Map<String, Long> totals = new HashMap<>();
            for (int i = 3; i + 1 < words.length && !words[i].equals("cache"); i += 2)
            {
                totals.put(words[i], Long.parseLong(words[i + 1]));
            }
            final String verify = m0.command("verify data");
            assertTrue(verify.contains(" conflicts 0 "), "the consistency check found conflicts: " + verify);
            assertEquals("CHECKED " + keys + " MISSING 0 WRONG 0", children.get(2).command("check-range data 0 " +
                keys));
            System.out.println("rejoin: " + totals + "; " + verify);
            passed = true;
            return totals;
        }
        catch (final Throwable failure)
        {
            MemberProcess.printLogTails(dir);
            throw failure;
        }
        finally
        {
            // Members quit cleanly where they still answer (a killed member leaves its Aeron directory behind); the
            // directory (logs and data) stays when the test failed.
            for (final MemberProcess child : children)
            {
                try
                {
                    if (child.process.isAlive() && "BYE".equals(child.command("quit")))
                    {
                        child.process.waitFor(30, TimeUnit.SECONDS);
                    }
                }
                catch (final IOException | AssertionError ex)
                {
                    // It no longer answers: closing kills it.
                }
                child.close();
            }
            if (passed)
            {
                // Only once every member stopped: a member still running wrote its data directory again behind a
                // delete that ran before the members quit, and left it in the temporary directory.
                MemberProcess.deleteRecursively(dir.toFile());
            }
        }
    }
}
