package dev.grid.bench;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * The cluster throughput benchmark of issue 3, in the shape of BENCHMARKS.md: 2 member processes started here plus
 * this process as the third member, embedding the load generator (8 threads by default); one cache with 1 backup and
 * the default partition count; 100,000 keys with 100-byte values, preloaded; workloads put, get and mixed (90% get,
 * 10% put), each warmed up then measured. Reports ops/s, latency percentiles from HdrHistogram, errors, and the CPU
 * seconds of every process read from /proc over the measured window.
 * <p>
 * Usage: {@code ClusterBenchmark [--warmup-s 20] [--measure-s 20] [--threads 8] [--keys 100000]
 * [--value-bytes 100] [--workloads put,get,mixed] [--checkpoint-ms 0]}; {@code --checkpoint-ms} 0 runs in-memory
 * members, N gives every member a LOG_ONLY WAL and a checkpoint every N ms, -1 a WAL without checkpoints; run it
 * through {@code scripts/bench-cluster.sh}.
 */
public final class ClusterBenchmark
{
    private ClusterBenchmark()
    {
    }

    /**
     * @param args see the class comment.
     */
    public static void main(final String[] args) throws Exception
    {
        int warmupS = 20;
        int measureS = 20;
        int threads = 8;
        int keys = 100_000;
        int valueBytes = 100;
        List<String> workloads = List.of("put", "get", "mixed");
        int checkpointMs = 0;
        for (int i = 0; i + 1 < args.length; i += 2)
        {
            if (args[i].equals("--workloads"))
            {
                workloads = List.of(args[i + 1].split(","));
                continue;
            }
            final int value = Integer.parseInt(args[i + 1]);
            switch (args[i])
            {
                case "--warmup-s" -> warmupS = value;
                case "--measure-s" -> measureS = value;
                case "--threads" -> threads = value;
                case "--keys" -> keys = value;
                case "--value-bytes" -> valueBytes = value;
                case "--checkpoint-ms" -> checkpointMs = value;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        try (BenchCluster cluster = new BenchCluster(checkpointMs))
        {
            final Cache<Long, byte[]> cache = cluster.member().createCache(
                new CacheConfiguration<>("bench", Codecs.LONG, Codecs.BYTES).backups(1));
            final byte[] value = new byte[valueBytes];
            ThreadLocalRandom.current().nextBytes(value);
            final long preloadStart = System.nanoTime();
            preload(cache, keys, value);
            System.out.printf("preloaded %,d keys in %.1f s%n", keys,
                (System.nanoTime() - preloadStart) / 1e9);
            System.out.println();
            System.out.printf("| workload | ops/s | p50 µs | p99 µs | p99.9 µs | max µs | errors | " +
                "CPU s (m0+load, m1, " +
                "m2) | CPU µs/op |%n|---|---|---|---|---|---|---|---|---|%n");
            for (final String workload : workloads)
            {
                run(cache, workload, threads, keys, value, warmupS, measureS, cluster.pids());
            }
        }
    }

    static void preload(final Cache<Long, byte[]> cache, final int keys, final byte[] value)
    {
        final Map<Long, byte[]> batch = new HashMap<>();
        for (long k = 0; k < keys; k++)
        {
            batch.put(k, value);
            if (batch.size() == 512 || k == keys - 1)
            {
                cache.putAll(batch);
                batch.clear();
            }
        }
    }

    static void run(final Cache<Long, byte[]> cache, final String workload, final int threads,
        final int keys, final byte[] value, final int warmupS, final int measureS, final List<Long> pids)
        throws Exception
    {
        final Recorder recorder = new Recorder(TimeUnit.SECONDS.toMicros(60), 3);
        final LongAdder ops = new LongAdder();
        final LongAdder errors = new LongAdder();
        final AtomicBoolean measuring = new AtomicBoolean();
        final AtomicBoolean stop = new AtomicBoolean();
        final List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            final Thread worker = new Thread(() ->
            {
                final ThreadLocalRandom random = ThreadLocalRandom.current();
                while (!stop.get())
                {
                    final long key = random.nextInt(keys);
                    final boolean put = workload.equals("put") || (workload.equals("mixed") && random.nextInt(10) == 0);
                    final long start = System.nanoTime();
                    try
                    {
                        if (put)
                        {
                            cache.put(key, value);
                        }
                        else
                        {
                            cache.get(key);
                        }
                    }
                    catch (final RuntimeException ex)
                    {
                        errors.increment();
                    }
                    if (measuring.get())
                    {
                        recorder.recordValue(Math.min(TimeUnit.SECONDS.toMicros(60),
                            (System.nanoTime() - start) / 1000));
                        ops.increment();
                    }
                }
            }, "bench-" + workload + "-" + t);
            worker.start();
            workers.add(worker);
        }
        final long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmupS);
        awaitUntil(warmupEnd);
        errors.reset();
        recorder.reset();
        final long[] cpuBefore = BenchCluster.cpuTicks(pids);
        final Map<String, Long> threadsBefore = BenchCluster.threadTicks();
        final long start = System.nanoTime();
        measuring.set(true);
        awaitUntil(start + TimeUnit.SECONDS.toNanos(measureS));
        measuring.set(false);
        final long elapsedNs = System.nanoTime() - start;
        final long[] cpuAfter = BenchCluster.cpuTicks(pids);
        final Map<String, Long> threadsAfter = BenchCluster.threadTicks();
        stop.set(true);
        for (final Thread worker : workers)
        {
            worker.join();
        }
        final Histogram histogram = recorder.getIntervalHistogram();
        final long count = ops.sum();
        double cpuTotal = 0;
        final StringBuilder cpu = new StringBuilder();
        for (int i = 0; i < pids.size(); i++)
        {
            final double seconds = (cpuAfter[i] - cpuBefore[i]) / 100.0;
            cpuTotal += seconds;
            cpu.append(i == 0 ? "" : " + ").append(String.format("%.1f", seconds));
        }
        System.out.printf("| %s | %,.0f | %d | %d | %d | %d | %d | %s | %.0f |%n", workload,
            count / (elapsedNs / 1e9), histogram.getValueAtPercentile(50), histogram.getValueAtPercentile(99),
            histogram.getValueAtPercentile(99.9), histogram.getMaxValue(), errors.sum(), cpu,
            count == 0 ? 0 : cpuTotal * 1e6 / count);
        final StringBuilder byThread = new StringBuilder("  CPU µs/op of this process's threads:");
        threadsAfter.forEach((group, ticks) -> byThread.append(String.format(" %s %.1f", group,
            count == 0 ? 0 : (ticks - threadsBefore.getOrDefault(group, 0L)) * 1e4 / count)));
        System.out.println(byThread);
    }

    private static void awaitUntil(final long deadlineNs) throws InterruptedException
    {
        // The benchmark's own pacing, not test synchronisation: the main thread idles while workers run.
        while (System.nanoTime() < deadlineNs)
        {
            TimeUnit.MILLISECONDS.sleep(Math.min(100, Math.max(1, (deadlineNs - System.nanoTime()) / 1_000_000)));
        }
    }
}
