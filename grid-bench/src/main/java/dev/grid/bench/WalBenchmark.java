package dev.grid.bench;

import dev.grid.core.WalMode;
import dev.grid.persistence.ChronicleWal;
import org.HdrHistogram.Histogram;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * WAL benchmark of issue 4, in the shape of BENCHMARKS.md: append throughput per mode, FSYNC group commit (records per
 * sync and sync latency for several group sizes), and recovery speed (replaying the WAL). Records are the size of a
 * put of a 16-byte key and a 100-byte value as the engine logs it (about 170 bytes).
 * <p>
 * Usage: {@code WalBenchmark [--records 1000000] [--record-bytes 170] [--dir /tmp]}; run it through
 * {@code scripts/bench-wal.sh}. The directory should be on the disk a member would use.
 */
public final class WalBenchmark
{
    private WalBenchmark()
    {
    }

    /**
     * @param args see the class comment.
     */
    public static void main(final String[] args) throws IOException
    {
        int records = 1_000_000;
        int recordBytes = 170;
        Path base = Path.of(System.getProperty("java.io.tmpdir"));
        for (int i = 0; i + 1 < args.length; i += 2)
        {
            switch (args[i])
            {
                case "--records" -> records = Integer.parseInt(args[i + 1]);
                case "--record-bytes" -> recordBytes = Integer.parseInt(args[i + 1]);
                case "--dir" -> base = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        final byte[] bytes = new byte[recordBytes];
        ThreadLocalRandom.current().nextBytes(bytes);
        final UnsafeBuffer record = new UnsafeBuffer(bytes);
        System.out.printf("WAL benchmark: %,d records of %d bytes in %s%n%n", records, recordBytes, base);

        appendRates(base, record, records, recordBytes);
        groupCommit(base, record, records);
        recovery(base, record, records, recordBytes);
    }

    /** Append throughput without syncs (LOG_ONLY, BACKGROUND). */
    private static void appendRates(final Path base, final UnsafeBuffer record, final int records,
        final int recordBytes) throws IOException
    {
        System.out.println("| mode | records/s | MB/s |");
        System.out.println("|---|---|---|");
        for (final WalMode mode : new WalMode[] {WalMode.LOG_ONLY, WalMode.BACKGROUND})
        {
            final Path dir = Files.createTempDirectory(base, "wal-bench");
            try (ChronicleWal wal = new ChronicleWal(dir, mode, TimeUnit.SECONDS.toNanos(1)))
            {
                append(wal, record, records / 10);
                final long start = System.nanoTime();
                append(wal, record, records);
                final double seconds = (System.nanoTime() - start) / 1e9;
                System.out.printf("| %s | %,.0f | %.0f |%n", mode, records / seconds,
                    records * (double)recordBytes / seconds / 1e6);
            }
            finally
            {
                delete(dir);
            }
        }
    }

    /** FSYNC group commit: appends between two durability requests. */
    private static void groupCommit(final Path base, final UnsafeBuffer record, final int records) throws IOException
    {
        System.out.println();
        System.out.println("FSYNC group commit: appends between two durability requests (one sync each)");
        System.out.println();
        System.out.println("| records per sync | records/s | sync p50 µs | sync p99 µs | sync max µs |");
        System.out.println("|---|---|---|---|---|");
        for (final int group : new int[] {1, 10, 100, 1000})
        {
            final Path dir = Files.createTempDirectory(base, "wal-bench");
            try (ChronicleWal wal = new ChronicleWal(dir, WalMode.FSYNC, TimeUnit.SECONDS.toNanos(1)))
            {
                final Histogram syncs = new Histogram(TimeUnit.SECONDS.toMicros(10), 3);
                final int total = Math.min(records, group * 2_000);
                final long start = System.nanoTime();
                for (int i = 0; i < total; i += group)
                {
                    append(wal, record, group);
                    final long syncStart = System.nanoTime();
                    wal.requestDurability();
                    syncs.recordValue(Math.min(syncs.getHighestTrackableValue(),
                        (System.nanoTime() - syncStart) / 1000));
                }
                final double seconds = (System.nanoTime() - start) / 1e9;
                System.out.printf("| %d | %,.0f | %d | %d | %d |%n", group, total / seconds,
                    syncs.getValueAtPercentile(50), syncs.getValueAtPercentile(99), syncs.getMaxValue());
            }
            finally
            {
                delete(dir);
            }
        }
    }

    /** Replay speed of a closed WAL, three runs. */
    private static void recovery(final Path base, final UnsafeBuffer record, final int records, final int recordBytes)
        throws IOException
    {
        System.out.println();
        final Path dir = Files.createTempDirectory(base, "wal-bench");
        try
        {
            try (ChronicleWal wal = new ChronicleWal(dir, WalMode.LOG_ONLY, TimeUnit.SECONDS.toNanos(1)))
            {
                append(wal, record, records);
            }
            System.out.println("| recovery (replay of a closed WAL, fresh process state) | records/s | MB/s |");
            System.out.println("|---|---|---|");
            for (int run = 0; run < 3; run++)
            {
                try (ChronicleWal wal = new ChronicleWal(dir, WalMode.LOG_ONLY, TimeUnit.SECONDS.toNanos(1)))
                {
                    final long[] checksum = new long[1];
                    final long start = System.nanoTime();
                    final long replayed = wal.replay(0, (position, buffer, offset, length) ->
                        checksum[0] += buffer.getByte(offset));
                    final double seconds = (System.nanoTime() - start) / 1e9;
                    System.out.printf("| run %d: %,d records | %,.0f | %.0f |%n", run + 1, replayed,
                        replayed / seconds, replayed * (double)recordBytes / seconds / 1e6);
                }
            }
        }
        finally
        {
            delete(dir);
        }
    }

    private static void append(final ChronicleWal wal, final UnsafeBuffer record, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            wal.append(record, 0, record.capacity());
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
