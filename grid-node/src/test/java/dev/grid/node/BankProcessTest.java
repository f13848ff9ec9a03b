package dev.grid.node;

import dev.grid.node.workload.Bank;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bank on three member processes: transfers in every mode through two members for a bounded time while the third
 * is killed with SIGKILL and started again; consistent reads during the run and at the end sum to the initial total,
 * and the transfers the accounts record match the acknowledged ones (none lost, none applied twice).
 */
class BankProcessTest
{
    private static final int ACCOUNTS = 100;

    @Test
    void theBooksBalanceThroughASigkillAndRestartOfAMember() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-bank");
        final List<String> addresses = MemberProcess.loopbackAddresses(3);
        final List<Path> configs = new ArrayList<>();
        final List<MemberProcess> children = new ArrayList<>();
        MemberProcess.runAndCleanUp(dir, children, () ->
        {
            final List<Process> processes = new ArrayList<>();
            for (int i = 0; i < 3; i++)
            {
                final Path config = MemberProcess.writeConfig(dir, i, addresses);
                configs.add(config);
                processes.add(MemberProcess.launch(config, dir.resolve("m" + i + ".log")));
            }
            for (final Process process : processes)
            {
                children.add(new MemberProcess(process));
            }
            final MemberProcess m0 = children.get(0);
            final MemberProcess m1 = children.get(1);
            MemberProcess.awaitTopologySize(m0, 3);
            assertEquals("OK", m0.command("create bank 2"));
            assertEquals("OK", m0.command("bank-open bank " + ACCOUNTS));

            final CompletableFuture<String> run0 = CompletableFuture.supplyAsync(() ->
                m0.commandUnchecked("bank-run bank " + ACCOUNTS + " 4 8000 PESSIMISTIC,OPTIMISTIC,PREDICATE"));
            final CompletableFuture<String> run1 = CompletableFuture.supplyAsync(() ->
                m1.commandUnchecked("bank-run bank " + ACCOUNTS + " 4 8000 PREDICATE,PESSIMISTIC,OPTIMISTIC"));

            // A consistent read while the transfers run, then the third member dies and comes back.
            assertEquals(Bank.INITIAL * ACCOUNTS, auditSum(children.get(2)));
            children.get(2).kill();
            MemberProcess.deleteRecursively(new File(children.get(2).directory));
            // The two others are busy transferring; the restarted member joins once the cluster dropped the dead one.
            final MemberProcess restarted = new MemberProcess(MemberProcess.launch(configs.get(2),
                dir.resolve("m2-restarted.log")));
            children.set(2, restarted);
            MemberProcess.awaitTopologySize(restarted, 3);
            assertEquals(Bank.INITIAL * ACCOUNTS, auditSum(restarted), "a consistent read through the restarted member");

            long committed = 0;
            long unknown = 0;
            for (final CompletableFuture<String> run : List.of(run0, run1))
            {
                final String answer = run.get(60, TimeUnit.SECONDS);
                System.out.println("bank process run: " + answer);
                final String[] words = answer.split(" ");
                assertEquals("TRANSFERS", words[0], String.join(" ", words));
                committed += Long.parseLong(words[2]);
                unknown += Long.parseLong(words[6]);
            }
            assertTrue(committed > 100, "too few transfers committed: " + committed);
            final String[] audit = m0.command("bank-audit bank " + ACCOUNTS).split(" ");
            assertEquals(Bank.INITIAL * ACCOUNTS, Long.parseLong(audit[2]), "the balances sum to the opening total");
            final long applied = Long.parseLong(audit[4]) / 2;
            assertTrue(applied >= committed && applied <= committed + unknown, "accounts record " + applied +
                " transfers; " + committed + " were acknowledged and " + unknown + " unknown");
            MemberProcess.quitAll(children);
        });
    }

    /**
     * Issue 15: a whole-cluster SIGKILL while transfers run. Three persistent members (baseline set, one backup), transfers
     * through two of them; once some are acknowledged every member is killed with SIGKILL at once, with transfers
     * prepared and committing, and all are started again. The books balance, every transfer applied is applied to both
     * of its accounts, every acknowledged one is there, and the consistency check is clean.
     */
    @Test
    void theBooksBalanceAfterEveryMemberIsKilledWithTransfersInFlight() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-bank-crash");
        final List<String> addresses = MemberProcess.loopbackAddresses(3);
        final List<Path> configs = new ArrayList<>();
        final List<MemberProcess> children = new ArrayList<>();
        MemberProcess.runAndCleanUp(dir, children, () ->
        {
            for (int i = 0; i < 3; i++)
            {
                final Path config = MemberProcess.writeConfig(dir, i, addresses);
                Files.writeString(config, "data.directory = " + dir.resolve("data-m" + i) + "\nwal.mode = LOG_ONLY\n",
                    java.nio.file.StandardOpenOption.APPEND);
                configs.add(config);
            }
            // Started together: a seed starts the cluster only once it hears a quorum of seeds starting.
            final List<Process> launched = new ArrayList<>();
            for (int i = 0; i < 3; i++)
            {
                launched.add(MemberProcess.launch(configs.get(i), dir.resolve("m" + i + ".log")));
            }
            for (final Process process : launched)
            {
                children.add(new MemberProcess(process));
            }
            for (final MemberProcess child : children)
            {
                MemberProcess.awaitTopologySize(child, 3);
            }
            final MemberProcess m0 = children.get(0);
            assertEquals("OK", m0.command("create bank 1"));
            assertEquals("OK", m0.command("baseline-set m0,m1,m2"));
            assertEquals("OK", m0.command("bank-open bank " + ACCOUNTS));
            final Path[] logs = {dir.resolve("committed-m0"), dir.resolve("committed-m1")};
            for (int i = 0; i < 2; i++)
            {
                final MemberProcess member = children.get(i);
                final String line = "bank-run bank " + ACCOUNTS + " 4 60000 PESSIMISTIC,OPTIMISTIC,PREDICATE " + logs[i];
                // Never answered: the member is killed first.
                CompletableFuture.runAsync(() -> member.commandUnchecked(line));
            }
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (MemberProcess.committed(logs) < 200)
            {
                assertTrue(System.nanoTime() < deadline, "fewer than 200 transfers committed within 60 s");
                // Polled, not spun: the members need the two cores.
                java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
            }
            for (final MemberProcess child : children)
            {
                child.kill();
            }
            final long acknowledged = MemberProcess.committed(logs);

            // Started again in another order than they started first.
            final Process[] relaunched = new Process[3];
            for (final int i : new int[] {2, 0, 1})
            {
                relaunched[i] = MemberProcess.launch(configs.get(i), dir.resolve("m" + i + "-restarted.log"));
            }
            for (final int i : new int[] {2, 0, 1})
            {
                children.set(i, new MemberProcess(relaunched[i]));
            }
            for (final MemberProcess child : children)
            {
                MemberProcess.awaitTopologySize(child, 3);
            }
            final String[] audit = awaitAudit(children.get(2)).split(" ");
            assertEquals(Bank.INITIAL * ACCOUNTS, Long.parseLong(audit[2]), "the balances sum to the opening total");
            final long counts = Long.parseLong(audit[4]);
            System.out.println("whole-cluster kill: " + acknowledged + " transfers acknowledged before it, " +
                counts / 2 + " applied");
            assertEquals(0, counts % 2, "a transfer applied to one account only: transfer counts sum to " + counts);
            // Each applied transfer counts once in each of its accounts; at most 8 were in flight at the kill.
            assertTrue(counts / 2 >= acknowledged && counts / 2 <= acknowledged + 8, "accounts record " + counts / 2 +
                " transfers; " + acknowledged + " were acknowledged before the kill");
            final String verify = children.get(1).command("verify bank");
            assertTrue(verify.matches("VERIFY checked \\d+ conflicts 0 moving 0.*"), verify);
            MemberProcess.quitAll(children);
        });
    }

    /** An audit once the restarted cluster serves every account (it may still be settling its exchange). */
    private static String awaitAudit(final MemberProcess member) throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true)
        {
            String answer;
            try
            {
                answer = member.command("bank-audit bank " + ACCOUNTS);
            }
            catch (final AssertionError refused)
            {
                answer = refused.getMessage();
            }
            if (answer.startsWith("AUDIT "))
            {
                return answer;
            }
            assertTrue(System.nanoTime() < deadline, "no consistent read within 60 s: " + answer);
            Thread.onSpinWait();
        }
    }

    private static long auditSum(final MemberProcess member) throws IOException
    {
        final String[] audit = member.command("bank-audit bank " + ACCOUNTS).split(" ");
        return Long.parseLong(audit[2]);
    }
}
