package dev.grid.bench;

import dev.grid.core.MemberConfiguration;
import dev.grid.node.GridMember;
import dev.grid.node.Main;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The three-member cluster of the benchmarks: two member processes started here plus this process as member m0,
 * which embeds the load generator; all on 127.0.0.1. Closing stops the member and the processes and deletes the data
 * directories (logs stay in {@link #directory()}).
 */
final class BenchCluster implements AutoCloseable
{
    private final Path dir;
    private final List<Process> children = new ArrayList<>();
    private GridMember member;

    /**
     * @param checkpointMs 0 for in-memory members; otherwise a LOG_ONLY WAL under the bench directory and a
     *                     checkpoint every N ms (-1: never).
     */
    BenchCluster(final int checkpointMs) throws IOException
    {
        dir = Files.createTempDirectory("grid-bench");
        final long checkpointIntervalMs = checkpointMs < 0 ? TimeUnit.DAYS.toMillis(365) : checkpointMs;
        final List<String> addresses = new ArrayList<>();
        for (int i = 0; i < 3; i++)
        {
            try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
            {
                addresses.add("127.0.0.1:" + socket.getLocalPort());
            }
        }
        try
        {
            for (int i = 1; i < 3; i++)
            {
                final Path config = dir.resolve("m" + i + ".properties");
                Files.writeString(config, "member.id = m" + i + "\nport = " + addresses.get(i).split(":")[1] +
                    "\nseeds = " + String.join(",", addresses) + "\n" + (checkpointMs == 0 ? "" :
                    "data.directory = " + dir.resolve("data-m" + i) + "\ncheckpoint.interval.ms = " +
                    checkpointIntervalMs + "\ncheckpoint.wal.records = " + Long.MAX_VALUE + "\n"));
                children.add(new ProcessBuilder(Main.childCommand(config))
                    .redirectError(dir.resolve("m" + i + ".log").toFile()).start());
            }
            for (final Process child : children)
            {
                final String ready = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8)).readLine();
                if (ready == null || !ready.startsWith("READY"))
                {
                    throw new IllegalStateException("member process failed to start; see " + dir);
                }
            }
            final MemberConfiguration config = new MemberConfiguration("m0").port(
                Integer.parseInt(addresses.get(0).split(":")[1]));
            addresses.forEach(config::addSeed);
            if (checkpointMs != 0)
            {
                config.dataDirectory(dir.resolve("data-m0")).checkpointIntervalNs(
                    TimeUnit.MILLISECONDS.toNanos(checkpointIntervalMs)).checkpointWalRecords(Long.MAX_VALUE);
            }
            member = GridMember.start(config);
        }
        catch (final IOException | RuntimeException ex)
        {
            close();
            throw ex;
        }
    }

    GridMember member()
    {
        return member;
    }

    Path directory()
    {
        return dir;
    }

    /**
     * @return this process's pid, then the children's.
     */
    List<Long> pids()
    {
        final List<Long> pids = new ArrayList<>();
        pids.add(ProcessHandle.current().pid());
        children.forEach(c -> pids.add(c.pid()));
        return pids;
    }

    /** utime + stime in clock ticks (100 per second on Linux) per process, or 0 where /proc is missing. */
    static long[] cpuTicks(final List<Long> pids)
    {
        final long[] ticks = new long[pids.size()];
        for (int i = 0; i < pids.size(); i++)
        {
            try
            {
                ticks[i] = statTicks(Files.readString(Path.of("/proc/" + pids.get(i) + "/stat")));
            }
            catch (final IOException | RuntimeException ex)
            {
                ticks[i] = 0;
            }
        }
        return ticks;
    }

    /** @return utime + stime, in clock ticks, of a process's or thread's {@code stat} line (proc(5)). */
    private static long statTicks(final String stat)
    {
        // The fields after the command name, which is in parentheses and may hold spaces.
        final String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }

    /**
     * utime + stime in clock ticks of this process's threads, summed by what they do: {@code engine} (the members'
     * agent threads, with their embedded media drivers), {@code load} (the benchmark's workers), {@code user} (the
     * members' user executors, completing futures) and {@code other} (GC, JIT, the rest). Threads that ended are not
     * counted, so read it while the workers run.
     */
    static Map<String, Long> threadTicks()
    {
        final Map<String, Long> ticks = new TreeMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task")))
        {
            for (final Path task : tasks)
            {
                try
                {
                    final String stat = Files.readString(task.resolve("stat"));
                    final String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                    final String group = name.startsWith("grid-member") ? "engine" : name.startsWith("bench-") ?
                        "load" : name.startsWith("grid-user") ? "user" : "other";
                    ticks.merge(group, statTicks(stat), Long::sum);
                }
                catch (final IOException | RuntimeException ended)
                {
                    // The thread ended while the directory was read.
                }
            }
        }
        catch (final IOException ex)
        {
            return Map.of();
        }
        return ticks;
    }

    public void close()
    {
        if (member != null)
        {
            member.close();
        }
        for (final Process child : children)
        {
            child.destroy();
            try
            {
                if (!child.waitFor(10, TimeUnit.SECONDS))
                {
                    child.destroyForcibly();
                }
            }
            catch (final InterruptedException ex)
            {
                child.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        for (int i = 0; i < 3; i++)
        {
            final Path data = dir.resolve("data-m" + i);
            if (Files.exists(data))
            {
                try (Stream<Path> paths = Files.walk(data))
                {
                    for (final Path each : paths.sorted(Comparator.reverseOrder()).toList())
                    {
                        Files.delete(each);
                    }
                }
                catch (final IOException ex)
                {
                    System.err.println("could not delete " + data + ": " + ex);
                }
            }
        }
    }
}
