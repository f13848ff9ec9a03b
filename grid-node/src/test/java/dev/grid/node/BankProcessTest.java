package dev.grid.node;

import dev.grid.node.bench.Bank;
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
        try
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
                command(m0, "bank-run bank " + ACCOUNTS + " 4 8000 PESSIMISTIC,OPTIMISTIC,PREDICATE"));
            final CompletableFuture<String> run1 = CompletableFuture.supplyAsync(() ->
                command(m1, "bank-run bank " + ACCOUNTS + " 4 8000 PREDICATE,PESSIMISTIC,OPTIMISTIC"));

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
            for (final MemberProcess child : children)
            {
                assertEquals("BYE", child.command("quit"));
                assertTrue(child.process.waitFor(20, TimeUnit.SECONDS), "member did not stop");
            }
        }
        catch (final Throwable failure)
        {
            MemberProcess.printLogTails(dir);
            throw failure;
        }
        finally
        {
            for (final MemberProcess child : children)
            {
                child.close();
                child.process.waitFor(10, TimeUnit.SECONDS);
                MemberProcess.deleteRecursively(new File(child.directory));
            }
            MemberProcess.deleteRecursively(dir.toFile());
        }
    }

    private static long auditSum(final MemberProcess member) throws IOException
    {
        final String[] audit = member.command("bank-audit bank " + ACCOUNTS).split(" ");
        return Long.parseLong(audit[2]);
    }

    private static String command(final MemberProcess member, final String line)
    {
        try
        {
            return member.command(line);
        }
        catch (final IOException ex)
        {
            throw new java.io.UncheckedIOException(ex);
        }
    }
}
