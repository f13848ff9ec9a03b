package dev.grid.node;

import dev.grid.core.testing.ChildProcesses;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A member running as a child JVM ({@link Main} with {@code --commands}), driven line by line through its standard
 * input and output. Closing kills it (SIGKILL) if it still runs.
 */
final class MemberProcess implements AutoCloseable
{
    /** Each launched child's log (standard error), by process id. */
    private static final Map<Long, Path> LOGS = new ConcurrentHashMap<>();

    final Process process;
    final BufferedReader out;
    final PrintWriter in;
    /** The (first shard's) media driver directory. */
    final String directory;
    /** Every shard's media driver directory, the first's first. */
    final List<String> directories;

    /**
     * Wait for the child's READY line.
     */
    MemberProcess(final Process process) throws IOException
    {
        this.process = process;
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        final String ready = out.readLine();
        if (ready == null || !ready.startsWith("READY "))
        {
            throw new IllegalStateException("member process did not start: " + ready + "; " +
                ChildProcesses.howItEnded(process, LOGS.get(process.pid())));
        }
        this.directories = List.of(ready.substring("READY ".length()).split(" "));
        this.directory = directories.get(0);
    }

    /**
     * @param config the member's configuration file.
     * @param log    where its standard error goes.
     * @return the started process (not yet READY).
     */
    static Process launch(final Path config, final Path log) throws IOException
    {
        final Process process = new ProcessBuilder(Main.childCommand(config, "--commands"))
            .redirectError(log.toFile()).start();
        LOGS.put(process.pid(), log);
        return process;
    }

    /**
     * @param config the member's configuration file.
     * @param log    where its standard error goes.
     * @return a member process that runs until it is signalled, as an operator runs it (no command channel).
     */
    static Process launchUntilSignalled(final Path config, final Path log) throws IOException
    {
        final Process process = new ProcessBuilder(Main.childCommand(config)).redirectError(log.toFile()).start();
        LOGS.put(process.pid(), log);
        return process;
    }

    /**
     * @param line a command.
     * @return its one-line answer.
     * @throws AssertionError if the child answered ERROR or ended.
     */
    String command(final String line) throws IOException
    {
        in.println(line);
        final String answer = out.readLine();
        if (answer == null || answer.startsWith("ERROR"))
        {
            throw new AssertionError("'" + line + "' answered " + answer);
        }
        return answer;
    }

    /**
     * Kill with SIGKILL, wait until the process is gone, and remove the driver directory it cannot remove itself
     * (13 MB in /dev/shm each time).
     */
    void kill() throws InterruptedException
    {
        process.destroyForcibly();
        if (!process.waitFor(10, TimeUnit.SECONDS))
        {
            throw new AssertionError("killed member process did not end");
        }
        directories.forEach(driver -> deleteRecursively(new File(driver)));
    }

    /**
     * Stop the process with SIGSTOP, as a long GC pause or a debugger stops it: it neither runs nor answers until
     * {@link #resume()}, and its peers' messages wait for it.
     */
    void pause() throws IOException, InterruptedException
    {
        signal("STOP");
    }

    /** Let a paused process run on (SIGCONT) with the stale view it stopped with. */
    void resume() throws IOException, InterruptedException
    {
        signal("CONT");
    }

    private void signal(final String name) throws IOException, InterruptedException
    {
        final Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(process.pid())).inheritIO().start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0)
        {
            throw new AssertionError("kill -" + name + " " + process.pid() + " failed");
        }
    }

    public void close()
    {
        if (process.isAlive())
        {
            try
            {
                // A stopped process dies of SIGKILL too; resumed first so that nothing of it lingers stopped.
                resume();
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
            catch (final IOException | AssertionError ignored)
            {
                // Killed below regardless.
            }
        }
        process.destroyForcibly();
        try
        {
            if (process.waitFor(10, TimeUnit.SECONDS))
            {
                directories.forEach(driver -> deleteRecursively(new File(driver)));
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * @param count how many.
     * @return free loopback addresses ({@code 127.0.0.1:port}).
     */
    static List<String> loopbackAddresses(final int count)
    {
        final List<String> addresses = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            addresses.add("127.0.0.1:" + TestCluster.freeUdpPort());
        }
        return addresses;
    }

    /**
     * Write the configuration of member {@code m<index>} of a test cluster: every address a seed, fast failure
     * detection.
     *
     * @return the file.
     */
    static Path writeConfig(final Path dir, final int index, final List<String> addresses) throws IOException
    {
        final Path config = dir.resolve("m" + index + ".properties");
        Files.writeString(config, "member.id = m" + index + "\nport = " + addresses.get(index).split(":")[1] +
            "\nseeds = " + String.join(",", addresses) + "\nheartbeat.interval.ms = 100\n" +
            "failure.detection.timeout.ms = 1500\njoin.timeout.ms = 20000\n");
        return config;
    }

    /**
     * Ask for the topology until it has {@code size} members (60 s at most: on 2 cores busy with the other members'
     * load, a restarted member took more than 30 s to join once).
     */
    static void awaitTopologySize(final MemberProcess child, final int size) throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true)
        {
            final String[] topology = child.command("topology").split(" ");
            if (Integer.parseInt(topology[2]) == size)
            {
                return;
            }
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("topology still has " + topology[2] + " members, expected " + size);
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Print the last lines of every member log in {@code dir}: a process test that fails shows what its members said
     * before the directory is deleted.
     */
    static void printLogTails(final Path dir)
    {
        ChildProcesses.printLogTails(dir);
    }

    /** A test body that drives member processes. */
    @FunctionalInterface
    interface ClusterBody
    {
        void run() throws Exception;
    }

    /**
     * Run a process test's body: if it fails, print the members' log tails first; in every case stop every process
     * it started (SIGKILL where one still runs) and delete their directories and {@code dir}.
     */
    static void runAndCleanUp(final Path dir, final List<MemberProcess> children, final ClusterBody body)
        throws Exception
    {
        try
        {
            body.run();
        }
        catch (final Throwable failure)
        {
            printLogTails(dir);
            throw failure;
        }
        finally
        {
            for (final MemberProcess child : children)
            {
                child.close();
                child.process.waitFor(10, TimeUnit.SECONDS);
                child.directories.forEach(driver -> deleteRecursively(new File(driver)));
            }
            deleteRecursively(dir.toFile());
        }
    }

    /** Ask every member to quit and wait until each process ended. */
    static void quitAll(final List<MemberProcess> children) throws IOException, InterruptedException
    {
        for (final MemberProcess child : children)
        {
            if (!"BYE".equals(child.command("quit")) || !child.process.waitFor(20, TimeUnit.SECONDS))
            {
                throw new AssertionError("member did not stop");
            }
        }
    }

    /** Until every member says it is quiescent three times running (60 s at most). */
    static void awaitQuiescent(final List<MemberProcess> children) throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        int quiet = 0;
        while (quiet < 3)
        {
            boolean all = true;
            for (final MemberProcess child : children)
            {
                all &= child.command("quiescent").equals("QUIESCENT true");
            }
            quiet = all ? quiet + 1 : 0;
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("the cluster did not settle within 60 s");
            }
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    /** The transfers bank runs acknowledged so far: one byte each in their commit logs. */
    static long committed(final Path[] logs) throws IOException
    {
        long sum = 0;
        for (final Path log : logs)
        {
            sum += Files.exists(log) ? Files.size(log) : 0;
        }
        return sum;
    }

    /** {@link #command} for lambdas: an I/O failure is unchecked. */
    String commandUnchecked(final String line)
    {
        try
        {
            return command(line);
        }
        catch (final IOException ex)
        {
            throw new java.io.UncheckedIOException(ex);
        }
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

    /** Configurations of three persistent members (LOG_ONLY WAL, data under {@code dir}), every one a seed. */
    static List<Path> persistentConfigs(final Path dir) throws IOException
    {
        final List<String> addresses = loopbackAddresses(3);
        final List<Path> configs = new ArrayList<>();
        for (int i = 0; i < 3; i++)
        {
            final Path config = MemberProcess.writeConfig(dir, i, addresses);
            Files.writeString(config, "data.directory = " + dir.resolve("data-m" + i) + "\nwal.mode = LOG_ONLY\n",
                StandardOpenOption.APPEND);
            configs.add(config);
        }
        return configs;
    }

    /** Launch every member before waiting for any: a seed starts a cluster only with a quorum of seeds. */
    static void launchTogether(final List<Path> configs, final Path dir, final String logSuffix,
        final List<MemberProcess> children) throws IOException
    {
        final List<Process> launched = new ArrayList<>();
        for (final Path config : configs)
        {
            final String name = config.getFileName().toString().replace(".properties", "");
            launched.add(MemberProcess.launch(config, dir.resolve(name + logSuffix + ".log")));
        }
        for (final Process process : launched)
        {
            children.add(new MemberProcess(process));
        }
    }

    /** Every member lists all of them in the same topology version: one cluster, not several. */
    static void awaitOneCluster(final List<MemberProcess> children) throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true)
        {
            final List<String> answers = new ArrayList<>();
            for (final MemberProcess child : children)
            {
                answers.add(child.command("topology"));
            }
            if (answers.stream().distinct().count() == 1 && answers.get(0).endsWith(" 3 m0,m1,m2"))
            {
                return;
            }
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("not one cluster of three within 60 s: " + answers);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
    }
}
