package dev.grid.bench;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.node.workload.Bank;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The transaction benchmark of issue 5, in the shape of BENCHMARKS.md: three members on 127.0.0.1 ({@link
 * BenchCluster}), the bank ({@link Bank}) with 10,000 accounts in a cache with 1 backup, 8 threads in member m0
 * making transfers between random accounts; per mode (pessimistic, optimistic serializable, predicate) a warm-up, then
 * a measured window. Reports committed transfers per second, latency percentiles of committed transfers (retries
 * included), aborted attempts by reason, CPU seconds per process, and checks the books balance at the end.
 * <p>
 * Usage: {@code TransferBenchmark [--warmup-s 10] [--measure-s 20] [--threads 8] [--accounts 10000]
 * [--modes pessimistic,optimistic,predicate] [--backups 1]}; run it through {@code scripts/bench-tx.sh}.
 */
public final class TransferBenchmark
{
    private TransferBenchmark()
    {
    }

    /**
     * @param args see the class comment.
     */
    public static void main(final String[] args) throws Exception
    {
        int warmupS = 10;
        int measureS = 20;
        int threads = 8;
        int accounts = 10_000;
        int backups = 1;
        List<Bank.Mode> modes = List.of(Bank.Mode.PESSIMISTIC, Bank.Mode.OPTIMISTIC, Bank.Mode.PREDICATE);
        for (int i = 0; i + 1 < args.length; i += 2)
        {
            switch (args[i])
            {
                case "--warmup-s" -> warmupS = Integer.parseInt(args[i + 1]);
                case "--measure-s" -> measureS = Integer.parseInt(args[i + 1]);
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                case "--accounts" -> accounts = Integer.parseInt(args[i + 1]);
                case "--backups" -> backups = Integer.parseInt(args[i + 1]);
                case "--modes" ->
                {
                    final List<Bank.Mode> chosen = new ArrayList<>();
                    for (final String mode : args[i + 1].split(","))
                    {
                        chosen.add(Bank.Mode.valueOf(mode.toUpperCase()));
                    }
                    modes = chosen;
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        try (BenchCluster cluster = new BenchCluster(0))
        {
            final Cache<String, String> cache = cluster.member().createCache(
                new CacheConfiguration<>("bank", Codecs.STRING, Codecs.STRING).backups(backups));
            Bank.open(cache, accounts);
            System.out.printf("%n| mode | transfers/s | p50 µs | p99 µs | p99.9 µs | aborted | retried attempts | " +
                "CPU s (m0+load, m1, m2) |%n|---|---|---|---|---|---|---|---|%n");
            for (final Bank.Mode mode : modes)
            {
                Bank.run(cluster.member(), cache, accounts, threads, TimeUnit.SECONDS.toNanos(warmupS), List.of(mode));
                final long[] before = BenchCluster.cpuTicks(cluster.pids());
                final Bank.Result result = Bank.run(cluster.member(), cache, accounts, threads,
                    TimeUnit.SECONDS.toNanos(measureS), List.of(mode));
                final long[] after = BenchCluster.cpuTicks(cluster.pids());
                final StringBuilder cpu = new StringBuilder();
                for (int i = 0; i < before.length; i++)
                {
                    cpu.append(i == 0 ? "" : " + ").append(String.format("%.1f", (after[i] - before[i]) / 100.0));
                }
                long retried = 0;
                for (final var entry : result.aborts().entrySet())
                {
                    if (entry.getKey().endsWith("(retried)"))
                    {
                        retried += entry.getValue();
                    }
                }
                System.out.printf("| %s | %,.0f | %d | %d | %d | %d | %d | %s |%n", mode.name().toLowerCase(),
                    result.perSecond(), result.latency().getValueAtPercentile(50),
                    result.latency().getValueAtPercentile(99), result.latency().getValueAtPercentile(99.9),
                    result.aborted(), retried, cpu);
            }
            final long[] audit = Bank.audit(cluster.member(), cache, accounts);
            System.out.printf("%naudit: balances sum to %,d (expected %,d)%n", audit[0], Bank.INITIAL * accounts);
            if (audit[0] != Bank.INITIAL * accounts)
            {
                throw new IllegalStateException("the books do not balance");
            }
        }
    }
}
