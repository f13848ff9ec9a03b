package dev.grid.bench;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.MemberConfiguration;
import dev.grid.node.ShardedMember;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Scale-up of one member with its shards (issue 22): a member of 1 shard, then of 2, then again (alternating, so that
 * the machine's drift touches both), each in this process with an embedded load of 8 threads; one cache of the default
 * partition count, 100,000 keys of 100-byte values preloaded; put, then get, each warmed up then measured. In-memory
 * members, so what is measured is the engines' work. Reports ops/s, latency percentiles and this process's CPU per
 * operation, as {@link ClusterBenchmark} does.
 * <p>
 * Usage: {@code ShardBenchmark [--warmup-s 20] [--measure-s 20] [--threads 8] [--keys 100000] [--value-bytes 100]
 * [--rounds 2] [--max-shards 2]}; run it through {@code scripts/bench-shards.sh}.
 */
public final class ShardBenchmark
{
    private ShardBenchmark()
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
        int rounds = 2;
        int maxShards = 2;
        for (int i = 0; i + 1 < args.length; i += 2)
        {
            final int value = Integer.parseInt(args[i + 1]);
            switch (args[i])
            {
                case "--warmup-s" -> warmupS = value;
                case "--measure-s" -> measureS = value;
                case "--threads" -> threads = value;
                case "--keys" -> keys = value;
                case "--value-bytes" -> valueBytes = value;
                case "--rounds" -> rounds = value;
                case "--max-shards" -> maxShards = value;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        final byte[] value = new byte[valueBytes];
        ThreadLocalRandom.current().nextBytes(value);
        final List<Long> self = List.of(ProcessHandle.current().pid());
        for (int round = 1; round <= rounds; round++)
        {
            for (int shards = 1; shards <= maxShards; shards++)
            {
                try (ShardedMember member = start(shards))
                {
                    final Cache<Long, byte[]> cache = member.createCache(new CacheConfiguration<>("bench",
                        Codecs.LONG, Codecs.BYTES).backups(1));
                    ClusterBenchmark.preload(cache, keys, value);
                    System.out.printf("%nround %d, %d shard%s:%n%n| workload | ops/s | p50 µs | p99 µs | p99.9 µs | " +
                        "max µs | errors | CPU s | CPU µs/op |%n|---|---|---|---|---|---|---|---|---|%n", round, shards,
                        shards == 1 ? "" : "s");
                    for (final String workload : List.of("put", "get"))
                    {
                        ClusterBenchmark.run(cache, workload, threads, keys, value, warmupS, measureS, self);
                    }
                }
            }
        }
    }

    private static ShardedMember start(final int shards)
    {
        final int first = freePortRun(shards);
        return ShardedMember.start("bench", shards, i -> new MemberConfiguration(ShardedMember.shardId("bench", i))
            .bindAddress("127.0.0.1").port(first + i));
    }

    /** The first of {@code count} consecutive free UDP ports on the loopback address (a member's shards use them). */
    private static int freePortRun(final int count)
    {
        for (int attempt = 0; attempt < 1_000; attempt++)
        {
            final int first = ThreadLocalRandom.current().nextInt(20_000, 32_000);
            boolean free = true;
            for (int i = 0; i < count && free; i++)
            {
                try (DatagramSocket socket = new DatagramSocket(first + i, InetAddress.getLoopbackAddress()))
                {
                    free = socket.getLocalPort() == first + i;
                }
                catch (final IOException taken)
                {
                    free = false;
                }
            }
            if (free)
            {
                return first;
            }
        }
        throw new IllegalStateException("no " + count + " consecutive free loopback ports");
    }
}
