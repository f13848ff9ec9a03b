package dev.grid.node;

import dev.grid.node.workload.Bank;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 16 from outside: three member processes (failure detection 1.5 s) paused with SIGSTOP for longer than failure
 * detection, alone or two at once, and started at different times. The cluster never forks, a member without quorum
 * refuses writes with {@code NO_QUORUM}, a paused member rejoins on its own data, and every acknowledged write is
 * there afterwards, through a whole-cluster SIGKILL too.
 */
class MembershipSafetyProcessTest
{
    private static final int ACCOUNTS = 100;
    private static final int REGISTERS = 1_000;

    /**
     * Items 1 and 4: one member of a persistent cluster (baseline set) stopped for 4 s while transfers run through the
     * two others. Nothing splits: the paused member is removed, learns it when it runs again, and rejoins on its own
     * data, caught up historically. The books balance, every acknowledged transfer and register write is there, and
     * the same holds after every member is then killed with SIGKILL and started again.
     */
    @Test
    void aPauseLongerThanFailureDetectionNeitherSplitsTheClusterNorLosesWrites() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-pause");
        final List<Path> configs = MemberProcess.persistentConfigs(dir);
        final List<MemberProcess> children = new ArrayList<>();
        MemberProcess.runAndCleanUp(dir, children, () ->
        {
            MemberProcess.launchTogether(configs, dir, "", children);
            MemberProcess.awaitOneCluster(children);
            final MemberProcess m0 = children.get(0);
            assertEquals("OK", m0.command("create bank 1"));
            assertEquals("OK", m0.command("create regs 1"));
            assertEquals("OK", m0.command("baseline-set m0,m1,m2"));
            assertEquals("OK", m0.command("bank-open bank " + ACCOUNTS));
            assertEquals("OK", m0.command("put-range regs 0 " + REGISTERS));

            final Path[] logs = {dir.resolve("committed-m0"), dir.resolve("committed-m1")};
            final List<CompletableFuture<String>> runs = new ArrayList<>();
            for (int i = 0; i < 2; i++)
            {
                final MemberProcess member = children.get(i);
                final String line = "bank-run bank " + ACCOUNTS + " 4 14000 PESSIMISTIC,OPTIMISTIC,PREDICATE " +
                    logs[i];
                runs.add(CompletableFuture.supplyAsync(() -> member.commandUnchecked(line)));
            }
            awaitCommitted(logs, 100);
            final MemberProcess paused = children.get(2);
            paused.pause();
            // The scenario's pause (longer than failure detection, 1.5 s), not synchronisation.
            TimeUnit.MILLISECONDS.sleep(4_000);
            paused.resume();
            MemberProcess.awaitOneCluster(children);
            for (final CompletableFuture<String> run : runs)
            {
                final String answer = run.get(120, TimeUnit.SECONDS);
                System.out.println("transfers around the pause: " + answer);
                assertTrue(answer.startsWith("TRANSFERS committed "), answer);
            }
            MemberProcess.awaitQuiescent(children);
            final String rebalance = paused.command("rebalance");
            System.out.println("the paused member caught up: " + rebalance);
            assertTrue(rebalance.matches(".* historical [1-9]\\d* .*"), "the paused member caught up with no " +
                "historical rebalance: " + rebalance);
            assertEverythingThere(children, MemberProcess.committed(logs));

            // Item 4: the whole cluster killed after the pause, started again in another order.
            for (final MemberProcess child : children)
            {
                child.kill();
            }
            children.clear();
            MemberProcess.launchTogether(List.of(configs.get(2), configs.get(0), configs.get(1)), dir, "-restarted", children);
            children.add(children.remove(0));
            MemberProcess.awaitOneCluster(children);
            MemberProcess.awaitQuiescent(children);
            assertEverythingThere(children, MemberProcess.committed(logs));
            MemberProcess.quitAll(children);
        });
    }

    /**
     * Item 2: two of three members stopped. The one left holds no quorum: it refuses writes with NO_QUORUM within
     * failure detection and a little more, rather than acknowledging them alone; once the others run again, the
     * cluster is one and every write acknowledged before is there.
     */
    @Test
    void theLoneMemberRefusesWritesWithNoQuorum() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-minority");
        final List<MemberProcess> children = new ArrayList<>();
        MemberProcess.runAndCleanUp(dir, children, () ->
        {
            final List<Path> configs = new ArrayList<>();
            final List<String> addresses = MemberProcess.loopbackAddresses(3);
            for (int i = 0; i < 3; i++)
            {
                configs.add(MemberProcess.writeConfig(dir, i, addresses));
            }
            MemberProcess.launchTogether(configs, dir, "", children);
            MemberProcess.awaitOneCluster(children);
            final MemberProcess m0 = children.get(0);
            assertEquals("OK", m0.command("create regs 1"));
            assertEquals("OK", m0.command("put-range regs 0 " + REGISTERS));
            children.get(1).pause();
            children.get(2).pause();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            String refusal = null;
            int attempts = 0;
            final List<String> timedOut = new ArrayList<>();
            while (refusal == null)
            {
                attempts++;
                try
                {
                    final String answered = m0.command("try-put-range regs " + (REGISTERS + attempts) + " " +
                        (REGISTERS + attempts + 1) + " minority");
                    throw new AssertionError("the lone member did not refuse a write with two of three members " +
                        "stopped (attempt " + attempts + "): " + answered);
                }
                catch (final AssertionError answer)
                {
                    if (answer.getMessage().contains("NO_QUORUM"))
                    {
                        refusal = answer.getMessage();
                    }
                    else if (!answer.getMessage().contains("OPERATION_TIMEOUT"))
                    {
                        // Before failure detection a write to a stopped member's partition times out; nothing else.
                        throw answer;
                    }
                    else
                    {
                        timedOut.add(answer.getMessage());
                    }
                }
                assertTrue(System.nanoTime() < deadline, () -> "no NO_QUORUM refusal within 30 s: " + timedOut);
            }
            System.out.println("the lone member refused: " + refusal);
            children.get(1).resume();
            children.get(2).resume();
            MemberProcess.awaitOneCluster(children);
            MemberProcess.awaitQuiescent(children);
            for (final MemberProcess child : children)
            {
                assertEquals("CHECKED " + REGISTERS + " MISSING 0 WRONG 0", child.command("check-range regs 0 " +
                    REGISTERS));
            }
            final String verify = m0.command("verify regs");
            assertTrue(verify.matches("VERIFY checked \\d+ conflicts 0 moving 0.*"), verify);
            MemberProcess.quitAll(children);
        });
    }

    /**
     * Item 3: a cache without backups, one member stopped for 6 s. Its copies are the only ones of its partitions;
     * removed from the cluster, it keeps them and brings them back when it rejoins: not one key is lost.
     */
    @Test
    void aPausedMemberKeepsTheOnlyCopiesItHolds() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-solo");
        final List<Path> configs = MemberProcess.persistentConfigs(dir);
        final List<MemberProcess> children = new ArrayList<>();
        MemberProcess.runAndCleanUp(dir, children, () ->
        {
            MemberProcess.launchTogether(configs, dir, "", children);
            MemberProcess.awaitOneCluster(children);
            final MemberProcess m0 = children.get(0);
            assertEquals("OK", m0.command("create solo 0"));
            assertEquals("OK", m0.command("baseline-set m0,m1,m2"));
            assertEquals("OK", m0.command("put-range solo 0 3000"));
            children.get(2).pause();
            // The scenario's pause, four times failure detection.
            TimeUnit.MILLISECONDS.sleep(6_000);
            children.get(2).resume();
            MemberProcess.awaitOneCluster(children);
            MemberProcess.awaitQuiescent(children);
            for (final MemberProcess child : children)
            {
                assertEquals("CHECKED 3000 MISSING 0 WRONG 0", child.command("check-range solo 0 3000"));
            }
            MemberProcess.quitAll(children);
        });
    }

    /**
     * Item 5: three seeds started 5 s apart. The first hears no quorum of seeds and does not start a cluster of its
     * own; the second completes one with it, the third joins it: one cluster.
     */
    @Test
    void seedsStartedSecondsApartFormOneCluster() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-seeds");
        final List<MemberProcess> children = new ArrayList<>();
        MemberProcess.runAndCleanUp(dir, children, () ->
        {
            final List<String> addresses = MemberProcess.loopbackAddresses(3);
            final List<Process> launched = new ArrayList<>();
            for (int i = 0; i < 3; i++)
            {
                if (i > 0)
                {
                    // The scenario: seeds started seconds apart, as an operator or a slow machine starts them.
                    TimeUnit.SECONDS.sleep(5);
                }
                launched.add(MemberProcess.launch(MemberProcess.writeConfig(dir, i, addresses),
                    dir.resolve("m" + i + ".log")));
            }
            for (final Process process : launched)
            {
                children.add(new MemberProcess(process));
            }
            MemberProcess.awaitOneCluster(children);
            MemberProcess.quitAll(children);
        });
    }

    // ------------------------------------------------------------------------------------------------------------

    /**
     * Through every member: the books balance, the accounts record every acknowledged transfer (a transfer whose
     * outcome was unknown may be there too), every register holds its value, and the consistency check is clean.
     */
    private static void assertEverythingThere(final List<MemberProcess> children, final long acknowledged)
        throws IOException
    {
        for (final MemberProcess child : children)
        {
            final String[] audit = child.command("bank-audit bank " + ACCOUNTS).split(" ");
            assertEquals(Bank.INITIAL * ACCOUNTS, Long.parseLong(audit[2]), "the balances sum to the opening total");
            final long counts = Long.parseLong(audit[4]);
            assertEquals(0, counts % 2, "a transfer applied to one account only: transfer counts sum to " + counts);
            assertTrue(counts / 2 >= acknowledged, "accounts record " + counts / 2 + " transfers; " + acknowledged +
                " were acknowledged");
            assertEquals("CHECKED " + REGISTERS + " MISSING 0 WRONG 0", child.command("check-range regs 0 " +
                REGISTERS));
        }
        for (final String cache : List.of("bank", "regs"))
        {
            final String verify = children.get(0).command("verify " + cache);
            assertTrue(verify.matches("VERIFY checked \\d+ conflicts 0 moving 0.*"), verify);
        }
    }

    private static void awaitCommitted(final Path[] logs, final long count) throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (MemberProcess.committed(logs) < count)
        {
            assertTrue(System.nanoTime() < deadline, "fewer than " + count + " transfers committed within 60 s");
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }
}
