package dev.grid.bench;

import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * Bytes allocated per operation, from JFR recordings of every process of a benchmark run (see
 * {@code scripts/bench-alloc.sh}): per recording, each thread's allocated bytes from the first and last
 * {@code jdk.ThreadAllocationStatistics} event, summed over threads, divided by the operations the recording's span
 * saw at the measured rate. Recordings whose file name starts with {@code driver} are the load generator's; the others
 * are members'.
 * <p>
 * Usage: {@code AllocationPerOp <ops per second> <recording.jfr>...}; prints one markdown row.
 */
public final class AllocationPerOp
{
    private AllocationPerOp()
    {
    }

    /**
     * @param args see the class comment.
     * @throws IOException if a recording cannot be read.
     */
    public static void main(final String[] args) throws IOException
    {
        if (args.length < 2)
        {
            throw new IllegalArgumentException("usage: AllocationPerOp <ops per second> <recording.jfr>...");
        }
        final double opsPerSecond = Double.parseDouble(args[0]);
        double members = 0;
        double driver = 0;
        for (int i = 1; i < args.length; i++)
        {
            final Path file = Path.of(args[i]);
            final double bytesPerOp = bytesPerOp(file, opsPerSecond);
            if (file.getFileName().toString().startsWith("driver"))
            {
                driver += bytesPerOp;
            }
            else
            {
                members += bytesPerOp;
            }
        }
        System.out.printf("| %,.0f ops/s | members %,.0f B/op | load generator %,.0f B/op |%n", opsPerSecond, members,
            driver);
    }

    private static double bytesPerOp(final Path file, final double opsPerSecond) throws IOException
    {
        // Per thread id: the first and the last reading of its allocated bytes.
        final Map<Long, long[]> bytes = new HashMap<>();
        Instant first = null;
        Instant last = null;
        for (final RecordedEvent event : RecordingFile.readAllEvents(file))
        {
            if (!event.getEventType().getName().equals("jdk.ThreadAllocationStatistics"))
            {
                continue;
            }
            final RecordedThread thread = event.getThread("thread");
            if (thread == null)
            {
                continue;
            }
            final long allocated = event.getLong("allocated");
            bytes.computeIfAbsent(thread.getId(), id -> new long[] {allocated, allocated})[1] = allocated;
            first = first == null || event.getStartTime().isBefore(first) ? event.getStartTime() : first;
            last = last == null || event.getStartTime().isAfter(last) ? event.getStartTime() : last;
        }
        if (first == null || !last.isAfter(first))
        {
            throw new IllegalStateException(file + " holds fewer than two allocation readings: record longer");
        }
        long total = 0;
        for (final long[] reading : bytes.values())
        {
            total += reading[1] - reading[0];
        }
        final double seconds = Duration.between(first, last).toNanos() / 1e9;
        return total / (opsPerSecond * seconds);
    }
}
