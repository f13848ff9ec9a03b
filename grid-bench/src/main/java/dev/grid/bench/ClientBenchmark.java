package dev.grid.bench;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.GridException;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import org.HdrHistogram.Histogram;

import java.time.Duration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Thin-client throughput and latency against a running cluster (BENCHMARKS.md shape; not a test): {@code threads}
 * client threads share one {@link GridClient}, each running one synchronous operation after another on
 * {@code keys} keys with values of {@code valueBytes} bytes in a cache with one backup. Modes: {@code put},
 * {@code get}, {@code mixed} (90% gets, 10% puts) and {@code transfer} (a pessimistic transaction moving an amount
 * between two random accounts of {@code accounts}). Each mode warms up, then measures; printed as a markdown row with
 * operations per second and the latency percentiles in microseconds, measured by the client (its CPU shares the
 * machine with the members).
 * <p>
 * Usage: {@code ClientBenchmark --hosts H:P,H:P,... [--threads 8] [--keys 100000] [--value-bytes 100]
 * [--accounts 10000] [--warmup-s 10] [--measure-s 20] [--modes put,get,mixed,transfer] [--ttl-ms 0]}. With
 * {@code --ttl-ms N} the data cache has an expiry policy (N ms from each write) and every put sets a time-to-live of
 * N ms of its own: the cost of expiry on the same workload.
 */
public final class ClientBenchmark
{
    private ClientBenchmark()
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
        final int threads = Integer.parseInt(options.getOrDefault("--threads", "8"));
        final int keys = Integer.parseInt(options.getOrDefault("--keys", "100000"));
        final int valueBytes = Integer.parseInt(options.getOrDefault("--value-bytes", "100"));
        final int accounts = Integer.parseInt(options.getOrDefault("--accounts", "10000"));
        final long warmupNs = TimeUnit.SECONDS.toNanos(Long.parseLong(options.getOrDefault("--warmup-s", "10")));
        final long measureNs = TimeUnit.SECONDS.toNanos(Long.parseLong(options.getOrDefault("--measure-s", "20")));
        final long ttlMs = Long.parseLong(options.getOrDefault("--ttl-ms", "0"));
        final ClientConfiguration config = new ClientConfiguration().clientName("client-benchmark");
        for (final String host : options.getOrDefault("--hosts", "127.0.0.1:10800").split(","))
        {
            config.address(host);
        }
        try (GridClient client = GridClient.connect(config))
        {
            final Cache<Long, byte[]> data = client.createCache(new CacheConfiguration<>("bench-data", Codecs.LONG,
                Codecs.BYTES).backups(1).expiry(ttlMs > 0 ? ExpiryPolicy.modified(Duration.ofMillis(ttlMs)) : null));
            final Cache<Long, Long> money = client.createCache(new CacheConfiguration<>("bench-accounts",
                Codecs.LONG, Codecs.LONG).backups(1));
            final byte[] value = new byte[valueBytes];
            final Map<Long, byte[]> batch = new HashMap<>();
            for (long k = 0; k < keys; k++)
            {
                batch.put(k, value);
                if (batch.size() == 1000 || k == keys - 1)
                {
                    data.putAll(batch);
                    batch.clear();
                }
            }
            final Map<Long, Long> opening = new HashMap<>();
            for (long a = 0; a < accounts; a++)
            {
                opening.put(a, 1_000L);
            }
            money.putAll(opening);
            System.out.println("| mode | threads | ops/s | p50 us | p99 us | p999 us | errors |");
            System.out.println("|---|---|---|---|---|---|---|");
            for (final String mode : options.getOrDefault("--modes", "put,get,mixed,transfer").split(","))
            {
                run(client, data, money, mode, threads, keys, accounts, value, warmupNs, measureNs,
                    ttlMs > 0 ? Duration.ofMillis(ttlMs) : null);
            }
            client.destroyCache("bench-data");
            client.destroyCache("bench-accounts");
        }
    }

    /** A put, with its own time-to-live if {@code ttl} is not null. */
    private static void put(final Cache<Long, byte[]> data, final long key, final byte[] value, final Duration ttl)
    {
        if (ttl == null)
        {
            data.put(key, value);
        }
        else
        {
            data.put(key, value, ttl);
        }
    }

    private static void run(final GridClient client, final Cache<Long, byte[]> data, final Cache<Long, Long> money,
        final String mode, final int threads, final int keys, final int accounts, final byte[] value,
        final long warmupNs, final long measureNs, final Duration ttl) throws InterruptedException
    {
        final AtomicBoolean measuring = new AtomicBoolean();
        final AtomicBoolean running = new AtomicBoolean(true);
        final List<Histogram> histograms = new ArrayList<>();
        final long[] errors = new long[threads];
        final List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++)
        {
            final Histogram histogram = new Histogram(TimeUnit.SECONDS.toMicros(30), 3);
            histograms.add(histogram);
            final int index = t;
            final SplittableRandom random = new SplittableRandom(t * 7919L + mode.hashCode());
            final Thread worker = new Thread(() ->
            {
                while (running.get())
                {
                    final long startNs = System.nanoTime();
                    try
                    {
                        switch (mode)
                        {
                            case "put" -> put(data, random.nextInt(keys), value, ttl);
                            case "get" -> data.get((long)random.nextInt(keys));
                            case "mixed" ->
                            {
                                if (random.nextInt(10) == 0)
                                {
                                    data.put((long)random.nextInt(keys), value);
                                }
                                else
                                {
                                    data.get((long)random.nextInt(keys));
                                }
                            }
                            case "transfer" -> transfer(client, money, random, accounts);
                            default -> throw new IllegalArgumentException("unknown mode " + mode);
                        }
                    }
                    catch (final GridException ex)
                    {
                        errors[index]++;
                    }
                    if (measuring.get())
                    {
                        histogram.recordValue(Math.min(TimeUnit.SECONDS.toMicros(30),
                            TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - startNs)));
                    }
                }
            }, "bench-" + mode + "-" + t);
            workers.add(worker);
            worker.start();
        }
        TimeUnit.NANOSECONDS.sleep(warmupNs);
        final long startNs = System.nanoTime();
        measuring.set(true);
        TimeUnit.NANOSECONDS.sleep(measureNs);
        measuring.set(false);
        final long elapsedNs = System.nanoTime() - startNs;
        running.set(false);
        for (final Thread worker : workers)
        {
            worker.join();
        }
        final Histogram total = new Histogram(TimeUnit.SECONDS.toMicros(30), 3);
        histograms.forEach(total::add);
        long errorCount = 0;
        for (final long e : errors)
        {
            errorCount += e;
        }
        System.out.printf("| %s | %d | %,.0f | %d | %d | %d | %d |%n", mode, threads,
            total.getTotalCount() * 1e9 / elapsedNs, total.getValueAtPercentile(50), total.getValueAtPercentile(99),
            total.getValueAtPercentile(99.9), errorCount);
    }

    private static void transfer(final GridClient client, final Cache<Long, Long> money, final SplittableRandom random,
        final int accounts)
    {
        final long from = random.nextInt(accounts);
        long to = random.nextInt(accounts - 1);
        to = to >= from ? to + 1 : to;
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(10)))
        {
            final long a = tx.get(money, Math.min(from, to));
            final long b = tx.get(money, Math.max(from, to));
            tx.put(money, Math.min(from, to), a - 1);
            tx.put(money, Math.max(from, to), b + 1);
            tx.commit();
        }
    }
}
