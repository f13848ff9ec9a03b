package dev.grid.examples;

import dev.grid.core.testing.ChildProcesses;
import dev.grid.core.testing.LoopbackPorts;
import dev.grid.node.Main;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Member processes on loopback for the end-to-end tests of the thin client and the admin tool: each runs
 * {@link Main} with a command channel and serves clients on a free TCP port. {@link #close} quits every member still
 * running (so each removes its Aeron directory) and removes the directories of killed ones.
 */
final class MemberProcesses implements AutoCloseable
{
    /** One member process. */
    static final class Member
    {
        final String id;
        final Process process;
        final BufferedReader out;
        final PrintWriter in;
        final String aeronDirectory;
        final String clientAddress;

        Member(final String id, final Process process, final String clientAddress, final Path log) throws IOException
        {
            this.id = id;
            this.process = process;
            this.clientAddress = clientAddress;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            this.in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
            final String ready = readyLine(process, out);
            if (ready == null || !ready.startsWith("READY "))
            {
                throw new IllegalStateException("member " + id + " did not start: " + ready + "; " +
                    ChildProcesses.howItEnded(process, log));
            }
            this.aeronDirectory = ready.substring("READY ".length());
        }

        /**
         * @return the member's first output line, or null if it gave none within the join timeout and a margin (the
         *     process is then destroyed, so a member that hangs without exiting fails its test instead of blocking it).
         */
        private static String readyLine(final Process process, final BufferedReader out) throws IOException
        {
            final java.util.concurrent.CompletableFuture<String> line = new java.util.concurrent.CompletableFuture<>();
            final Thread reader = new Thread(() ->
            {
                try
                {
                    line.complete(out.readLine());
                }
                catch (final IOException ex)
                {
                    line.completeExceptionally(ex);
                }
            }, "ready-reader");
            reader.setDaemon(true);
            reader.start();
            try
            {
                return line.get(90, TimeUnit.SECONDS);
            }
            catch (final java.util.concurrent.TimeoutException ex)
            {
                process.destroyForcibly();
                return null;
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for READY", ex);
            }
            catch (final java.util.concurrent.ExecutionException ex)
            {
                throw new IOException("reading READY failed", ex.getCause());
            }
        }

        String command(final String line) throws IOException
        {
            in.println(line);
            return out.readLine();
        }
    }

    final Path dir;
    final List<Member> members = new ArrayList<>();

    private MemberProcesses(final Path dir)
    {
        this.dir = dir;
    }

    /**
     * Start {@code n} members (m0, m1, ...) and wait until each is READY (joined).
     *
     * @param extra more configuration lines for every member.
     */
    static MemberProcesses start(final int n, final String extra) throws IOException
    {
        return start(n, i -> extra);
    }

    /**
     * Start {@code n} members (m0, m1, ...) and wait until each is READY (joined).
     *
     * @param extra more configuration lines for each member, by its index.
     */
    static MemberProcesses start(final int n, final java.util.function.IntFunction<String> extra) throws IOException
    {
        final MemberProcesses cluster = new MemberProcesses(Files.createTempDirectory("grid-processes"));
        final List<String> seeds = new ArrayList<>();
        final List<Integer> clientPorts = new ArrayList<>();
        for (int i = 0; i < n; i++)
        {
            seeds.add("127.0.0.1:" + LoopbackPorts.next());
            clientPorts.add(LoopbackPorts.next());
        }
        final List<Process> processes = new ArrayList<>();
        try
        {
            for (int i = 0; i < n; i++)
            {
                final Path config = cluster.dir.resolve("m" + i + ".properties");
                Files.writeString(config, "member.id = m" + i + "\nport = " + seeds.get(i).split(":")[1] +
                    "\nseeds = " + String.join(",", seeds) + "\nheartbeat.interval.ms = 100\n" +
                    "failure.detection.timeout.ms = 1500\njoin.timeout.ms = 20000\nclient.port = " +
                    clientPorts.get(i) + "\n" + extra.apply(i));
                processes.add(new ProcessBuilder(Main.childCommand(config, "--commands"))
                    .redirectError(cluster.dir.resolve("m" + i + ".log").toFile()).start());
            }
            for (int i = 0; i < n; i++)
            {
                cluster.members.add(new Member("m" + i, processes.get(i), "127.0.0.1:" + clientPorts.get(i),
                    cluster.dir.resolve("m" + i + ".log")));
            }
            // READY means a member joined; the others may install that topology a moment later.
            for (final Member member : cluster.members)
            {
                awaitTopologySize(member, n);
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            processes.forEach(Process::destroyForcibly);
            throw ex;
        }
        return cluster;
    }

    private static void awaitTopologySize(final Member member, final int size) throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String answer = null;
        while (System.nanoTime() < deadline)
        {
            answer = member.command("topology");
            if (answer != null && answer.startsWith("TOPOLOGY ") && answer.split(" ")[2].equals(String.valueOf(size)))
            {
                return;
            }
        }
        throw new IllegalStateException("member " + member.id + " still answers '" + answer + "', expected " + size +
            " members");
    }

    /** Print the last 40 lines of each member's log, for a test that failed. */
    void printLogTails()
    {
        ChildProcesses.printLogTails(dir);
    }

    /**
     * Kill a member with SIGKILL and remove the Aeron directory it cannot remove itself.
     */
    void kill(final Member member) throws InterruptedException
    {
        member.process.destroyForcibly();
        member.process.waitFor(10, TimeUnit.SECONDS);
        deleteRecursively(new File(member.aeronDirectory));
    }

    /**
     * Start a member that was killed again, on its configuration file (and so its data directory, if it has one), and
     * wait until it is READY; it takes the killed member's place in {@link #members}.
     *
     * @param index of the member (m{@code index}).
     * @return the new process's member.
     */
    Member restart(final int index) throws IOException
    {
        final Member old = members.get(index);
        if (old.process.isAlive())
        {
            throw new IllegalStateException("member " + old.id + " still runs");
        }
        final Path config = dir.resolve(old.id + ".properties");
        final Path log = dir.resolve(old.id + "-restarted-" + System.nanoTime() + ".log");
        final Process process = new ProcessBuilder(Main.childCommand(config, "--commands"))
            .redirectError(log.toFile()).start();
        final Member restarted = new Member(old.id, process, old.clientAddress, log);
        members.set(index, restarted);
        return restarted;
    }

    @Override
    public void close()
    {
        for (final Member member : members)
        {
            if (member.process.isAlive())
            {
                member.in.println("quit");
            }
        }
        for (final Member member : members)
        {
            try
            {
                if (!member.process.waitFor(20, TimeUnit.SECONDS))
                {
                    member.process.destroyForcibly();
                    member.process.waitFor(10, TimeUnit.SECONDS);
                    deleteRecursively(new File(member.aeronDirectory));
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        deleteRecursively(dir.toFile());
    }

    static void deleteRecursively(final File file)
    {
        final File[] children = file.listFiles();
        if (children != null)
        {
            for (final File child : children)
            {
                deleteRecursively(child);
            }
        }
        file.delete();
    }
}
