package dev.grid.bench;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.WalMode;
import dev.grid.node.GridMember;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * The recovery benchmark of issue 4, in the shape of BENCHMARKS.md: one member with a LOG_ONLY WAL writes N puts of
 * distinct 16-byte keys with 100-byte values, stops, and starts again twice on the same data directory; each start
 * replays the whole WAL into copies, counters and recent outcomes. Reports replayed records per second and MB/s of
 * WAL (the engine's records as written).
 * <p>
 * Usage: {@code RecoveryBenchmark [--records 1000000] [--value-bytes 100] [--dir /tmp]}; run it through
 * {@code scripts/bench-recovery.sh}.
 */
public final class RecoveryBenchmark
{
    private RecoveryBenchmark()
    {
    }

    /**
     * @param args see the class comment.
     */
    public static void main(final String[] args) throws Exception
    {
        int records = 1_000_000;
        int valueBytes = 100;
        Path base = Path.of(System.getProperty("java.io.tmpdir"));
        for (int i = 0; i + 1 < args.length; i += 2)
        {
            switch (args[i])
            {
                case "--records" -> records = Integer.parseInt(args[i + 1]);
                case "--value-bytes" -> valueBytes = Integer.parseInt(args[i + 1]);
                case "--dir" -> base = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        final Path data = Files.createTempDirectory(base, "grid-recovery");
        try
        {
            final int port;
            try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
            {
                port = socket.getLocalPort();
            }
            final byte[] value = new byte[valueBytes];
            ThreadLocalRandom.current().nextBytes(value);
            final long loadStart = System.nanoTime();
            try (GridMember member = GridMember.start(config(port, data)))
            {
                final Cache<String, byte[]> cache = member.createCache(
                    new CacheConfiguration<>("recovery", Codecs.STRING, Codecs.BYTES).backups(0));
                final Map<String, byte[]> batch = new HashMap<>();
                for (int i = 0; i < records; i++)
                {
                    batch.put(String.format("key-%012d", i), value);
                    if (batch.size() == 512 || i == records - 1)
                    {
                        cache.putAll(batch);
                        batch.clear();
                    }
                }
            }
            final long walBytes = size(data.resolve("wal"));
            System.out.printf("loaded %,d puts in %.1f s; WAL %,d bytes%n%n", records,
                (System.nanoTime() - loadStart) / 1e9, walBytes);
            System.out.println("| start | records replayed | replay s | records/s | MB/s of WAL |");
            System.out.println("|---|---|---|---|---|");
            for (int run = 1; run <= 2; run++)
            {
                try (GridMember member = GridMember.start(config(port, data)))
                {
                    final double seconds = member.recoveryNs() / 1e9;
                    System.out.printf("| %d | %,d | %.2f | %,.0f | %.0f |%n", run, member.recoveredRecords(), seconds,
                        member.recoveredRecords() / seconds, walBytes / seconds / 1e6);
                }
            }
        }
        finally
        {
            delete(data);
        }
    }

    private static MemberConfiguration config(final int port, final Path data)
    {
        // No checkpoint during the load: every start replays the whole WAL, which is what this measures.
        return new MemberConfiguration("r0").port(port).addSeed("127.0.0.1:" + port).dataDirectory(data)
            .walMode(WalMode.LOG_ONLY).checkpointWalRecords(Long.MAX_VALUE).checkpointIntervalNs(Long.MAX_VALUE / 4);
    }

    private static long size(final Path directory) throws IOException
    {
        try (Stream<Path> paths = Files.walk(directory))
        {
            long total = 0;
            for (final Path each : paths.filter(Files::isRegularFile).toList())
            {
                total += Files.size(each);
            }
            return total;
        }
    }

    private static void delete(final Path path) throws IOException
    {
        try (Stream<Path> paths = Files.walk(path))
        {
            for (final Path each : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.delete(each);
            }
        }
    }
}
