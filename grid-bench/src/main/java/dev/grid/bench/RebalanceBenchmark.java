package dev.grid.bench;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.RebalanceListener;
import dev.grid.core.RebalanceStatus;
import dev.grid.node.GridMember;
import dev.grid.node.Main;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/**
 * Catch-up time of a returning member (BENCHMARKS.md shape; not a test): three persistent members on 127.0.0.1 (two
 * processes plus this one, m0, which is the one that leaves), every partition on every member (two backups); m0 loads
 * the keys, stops, the others take {@code updates} puts of existing keys, and m0 starts again on its data directory.
 * Measured: from m0's start to joined (WAL recovery and join), and from joined to every MOVING copy caught up and the
 * cluster quiescent (the first of the three 1 ms polls that see it so, in a row); of that, streaming: until m0's last
 * copy caught up (the rest is the switch to the ideal owners; from the rebalance listener, registered once m0 joined,
 * so 0 if every copy caught up before that). Keys are loaded with values of about 100 bytes. Historical cases keep
 * WAL history; full cases release it behind checkpoints every 100 WAL records.
 * <p>
 * Usage: {@code RebalanceBenchmark [--keys N] [--missed-percent P,...] [--full-keys N,...] [--concurrency N]
 * [--runs N] [--warm-cycles N]} ({@code --concurrency}: the returning member's {@code rebalance.concurrency};
 * {@code --runs}: each case runs that many times, 3 by default, and the run with the median catch-up time is printed,
 * with every catch-up time in the last column, since one run on a shared 2-core machine varies by a factor of two;
 * {@code --warm-cycles}: before the measured one, m0 leaves and returns that many times in the same way, 0 by default,
 * so that the measured cycle runs compiled code in every process: in the first cycle of fresh processes, the JIT
 * compilers take most of the 2 cores; {@code --logs DIR}: the two processes' logs of each run are copied to DIR as
 * {@code run<N>-m1.log} and {@code run<N>-m2.log} before the run's directory is deleted, for timing phases from
 * their events with {@code -Dorg.slf4j.simpleLogger.showDateTime=true}).
 */
public final class RebalanceBenchmark
{
    /** Values of about 100 bytes. */
    private static final String VALUE_PREFIX = "v".repeat(94);

    /** Where each run's process logs are copied ({@code --logs}), or null. */
    private static Path logsDir;

    /** Runs so far, numbering the copied logs. */
    private static int runsStarted;

    private RebalanceBenchmark()
    {
    }

    /**
     * @param args see the class comment.
     */
    public static void main(final String[] args) throws Exception
    {
        final Map<String, String> options = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2)
        {
            options.put(args[i], args[i + 1]);
        }
        final int keys = Integer.parseInt(options.getOrDefault("--keys", "100000"));
        final int concurrency = Integer.parseInt(options.getOrDefault("--concurrency",
            String.valueOf(MemberConfiguration.REBALANCE_CONCURRENCY_DEFAULT)));
        final int runs = Integer.parseInt(options.getOrDefault("--runs", "3"));
        final int warmCycles = Integer.parseInt(options.getOrDefault("--warm-cycles", "0"));
        if (options.containsKey("--logs"))
        {
            logsDir = Files.createDirectories(Path.of(options.get("--logs")));
        }
        System.out.println("| mode | keys | updates missed | recovery + join ms | catch-up ms | " +
            "of which streaming ms | partitions historical " +
            "| partitions full | records or entries streamed | catch-up ms of each run |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|");
        for (final String percent : options.getOrDefault("--missed-percent", "1,5,10,20").split(","))
        {
            median(runs, () -> run(false, keys, (int)(keys * Double.parseDouble(percent) / 100), concurrency,
                warmCycles));
        }
        for (final String full : options.getOrDefault("--full-keys", "25000,50000,100000").split(","))
        {
            final int n = Integer.parseInt(full);
            median(runs, () -> run(true, n, n / 100, concurrency, warmCycles));
        }
    }

    /** One run's table row without its last column, and its catch-up time. */
    private record Run(String row, long catchUpMs)
    {
    }

    private interface RunCase
    {
        Run run() throws Exception;
    }

    private static void median(final int runs, final RunCase runCase) throws Exception
    {
        final List<Run> results = new ArrayList<>();
        for (int i = 0; i < runs; i++)
        {
            results.add(runCase.run());
        }
        final List<Long> times = results.stream().map(Run::catchUpMs).toList();
        results.sort(Comparator.comparingLong(Run::catchUpMs));
        System.out.println(results.get(results.size() / 2).row() + " " + times.stream().map(String::valueOf)
            .collect(Collectors.joining(", ")) + " |");
    }

    private static Run run(final boolean full, final int keys, final int updates, final int concurrency,
        final int warmCycles) throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-bench-rebalance");
        final int runNumber = ++runsStarted;
        final List<String> addresses = new ArrayList<>();
        for (int i = 0; i < 3; i++)
        {
            try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
            {
                addresses.add("127.0.0.1:" + socket.getLocalPort());
            }
        }
        final String history = full ?
            "wal.history.records = 0\nwal.history.age.ms = 0\ncheckpoint.wal.records = 100\n" : "";
        final List<Process> children = new ArrayList<>();
        GridMember member = null;
        try
        {
            final List<BufferedReader> outs = startMembers(dir, addresses, history, children);
            final MemberConfiguration config = config(addresses, dir, full, concurrency);
            member = GridMember.start(config);
            final Cache<String, String> cache = member.createCache(new CacheConfiguration<>("data", Codecs.STRING,
                Codecs.STRING).backups(2));
            load(cache, keys);
            awaitQuiescent(member);
            final PrintWriter in = new PrintWriter(children.get(0).getOutputStream(), true, StandardCharsets.UTF_8);
            Run last = null;
            // Warm-up cycles leave and return exactly like the measured one, so every process has run (and the JIT
            // has compiled) the code of recovery, supply and catch-up before the last cycle is timed.
            for (int cycle = 0; cycle <= warmCycles; cycle++)
            {
                member.close();
                member = null;
                awaitTopology(in, outs.get(0), 2);
                in.println("put-range data 0 " + updates);
                final String answer = outs.get(0).readLine();
                if (!"OK".equals(answer))
                {
                    throw new IllegalStateException("updates failed: " + answer);
                }
                final long startNs = System.nanoTime();
                member = GridMember.start(config(addresses, dir, full, concurrency));
                final long joinedNs = System.nanoTime();
                final AtomicLong streamingNs = slowestCopy(member);
                final long caughtUpNs = awaitQuiescent(member);
                final RebalanceStatus status = member.rebalanceStatus();
                final long catchUpMs = TimeUnit.NANOSECONDS.toMillis(caughtUpNs - joinedNs);
                last = new Run(String.format("| %s | %,d | %,d | %d | %d | %d | %d | %d | %,d |",
                    full ? "full" : "historical", keys, updates, TimeUnit.NANOSECONDS.toMillis(joinedNs - startNs),
                    catchUpMs, TimeUnit.NANOSECONDS.toMillis(streamingNs.get()), status.totalHistorical(),
                    status.totalFull(),
                    status.totalHistoryRecords() + status.totalFullEntries()), catchUpMs);
            }
            return last;
        }
        finally
        {
            if (member != null)
            {
                member.close();
            }
            for (final Process child : children)
            {
                // quit on the command channel: the member leaves and removes its Aeron directory.
                final PrintWriter quit = new PrintWriter(child.getOutputStream(), true, StandardCharsets.UTF_8);
                quit.println("quit");
                if (!child.waitFor(20, TimeUnit.SECONDS))
                {
                    child.destroy();
                    child.waitFor(10, TimeUnit.SECONDS);
                }
            }
            copyLogs(dir, runNumber);
            deleteRecursively(dir);
        }
    }

    /**
     * How long the member's slowest copy took from the map's installation to caught up, as its rebalance listener
     * hears (events arrive on another thread, so their own duration, not their arrival, is taken): the rest of a
     * catch-up is the switch to the ideal owners.
     */
    private static AtomicLong slowestCopy(final GridMember member)
    {
        final AtomicLong slowestNs = new AtomicLong();
        member.addRebalanceListener(new RebalanceListener()
        {
            @Override
            public void onFinished(final String cache, final int partition, final boolean historical,
                final long records, final long bytes, final long durationNs)
            {
                slowestNs.accumulateAndGet(durationNs, Math::max);
            }
        });
        return slowestNs;
    }

    /** With {@code --logs}: the run's process logs, copied before its directory is deleted. */
    private static void copyLogs(final Path dir, final int runNumber) throws IOException
    {
        if (logsDir == null)
        {
            return;
        }
        for (int i = 1; i < 3; i++)
        {
            final Path log = dir.resolve("m" + i + ".log");
            if (Files.exists(log))
            {
                Files.copy(log, logsDir.resolve("run" + runNumber + "-m" + i + ".log"),
                    StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** Start members m1 and m2 as processes with the command channel; their outputs, once each said READY. */
    private static List<BufferedReader> startMembers(final Path dir, final List<String> addresses, final String history,
        final List<Process> children) throws IOException
    {
        for (int i = 1; i < 3; i++)
        {
            final Path config = dir.resolve("m" + i + ".properties");
            Files.writeString(config, "member.id = m" + i + "\nport = " + addresses.get(i).split(":")[1] +
                "\nseeds = " + String.join(",", addresses) + "\ndata.directory = " + dir.resolve("data-m" + i) +
                "\n" + history);
            children.add(new ProcessBuilder(Main.childCommand(config, "--commands"))
                .redirectError(dir.resolve("m" + i + ".log").toFile()).start());
        }
        final List<BufferedReader> outs = new ArrayList<>();
        for (final Process child : children)
        {
            final BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8));
            final String ready = out.readLine();
            if (ready == null || !ready.startsWith("READY"))
            {
                throw new IllegalStateException("member process failed to start; see " + dir);
            }
            outs.add(out);
        }
        return outs;
    }

    /** Put keys {@code k0..k(keys-1)} in batches of 256. */
    private static void load(final Cache<String, String> cache, final int keys)
    {
        final Map<String, String> batch = new HashMap<>();
        for (int i = 0; i < keys; i++)
        {
            batch.put("k" + i, VALUE_PREFIX + i);
            if (batch.size() == 256 || i == keys - 1)
            {
                cache.putAll(batch);
                batch.clear();
            }
        }
    }

    private static MemberConfiguration config(final List<String> addresses, final Path dir, final boolean full,
        final int concurrency)
    {
        final MemberConfiguration config = new MemberConfiguration("m0").port(
            Integer.parseInt(addresses.get(0).split(":")[1])).dataDirectory(dir.resolve("data-m0"))
            .rebalanceConcurrency(concurrency);
        addresses.forEach(config::addSeed);
        if (full)
        {
            config.walHistoryRecords(0).walHistoryAgeNs(0).checkpointWalRecords(100);
        }
        return config;
    }

    /**
     * @return when the cluster was first seen quiescent in the run of three polls that ended the wait (the two
     *     confirming polls, 2 ms, are not catch-up time).
     */
    private static long awaitQuiescent(final GridMember member)
    {
        final long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        int quiet = 0;
        long firstQuietNs = 0;
        while (quiet < 3)
        {
            quiet = member.isQuiescent() && !member.rebalanceStatus().active() ? quiet + 1 : 0;
            if (quiet == 1)
            {
                // Once the poll answered: the cluster was quiescent at some point before.
                firstQuietNs = System.nanoTime();
            }
            if (System.nanoTime() > deadline)
            {
                throw new IllegalStateException("the cluster did not settle within 5 minutes");
            }
            // Each poll is a command on the member's thread: a tight loop would compete with the rebalance it
            // measures. 1 ms is the measurement's resolution.
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        return firstQuietNs;
    }

    private static void awaitTopology(final PrintWriter in, final BufferedReader out, final int size)
        throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true)
        {
            in.println("topology");
            final String[] words = out.readLine().split(" ");
            if (Integer.parseInt(words[2]) == size)
            {
                return;
            }
            if (System.nanoTime() > deadline)
            {
                throw new IllegalStateException("topology still has " + words[2] + " members");
            }
        }
    }

    private static void deleteRecursively(final Path path) throws IOException
    {
        if (Files.isDirectory(path))
        {
            try (var children = Files.list(path))
            {
                for (final Path child : children.toList())
                {
                    deleteRecursively(child);
                }
            }
        }
        Files.deleteIfExists(path);
    }
}
