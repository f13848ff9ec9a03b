package dev.grid.persistence;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What one WAL or one checkpoint store has done since it opened: how many records or checkpoints, how many bytes,
 * and how long its syncs or checkpoints took, as an HdrHistogram in microseconds. {@link ChronicleWal} and
 * {@link FileCheckpointStore} each keep one; monitoring reads it through their {@code metrics()}.
 * <p>
 * <b>Threading:</b> written by the store's own thread only, read by any thread; counts are atomics (single-writer
 * ordered stores) and durations go
 * through a {@link Recorder}, so neither side takes a lock the other waits on. {@link #durationsUs} is synchronized
 * among readers.
 */
public final class StorageMetrics
{
    private static final long HIGHEST_TRACKABLE_US = TimeUnit.MINUTES.toMicros(10);

    private final AtomicLong events = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private final Recorder recorder = new Recorder(HIGHEST_TRACKABLE_US, 2);
    private final Histogram total = new Histogram(HIGHEST_TRACKABLE_US, 2);
    private Histogram interval;

    /**
     * @param eventBytes bytes one record (WAL) or one checkpoint wrote.
     */
    void recorded(final long eventBytes)
    {
        // One writer per instance (the store's own thread), on the WAL's append path: ordered stores, no atomic
        // read-modify-write.
        events.lazySet(events.get() + 1);
        bytes.lazySet(bytes.get() + eventBytes);
    }

    /**
     * @param durationNs of one sync (WAL) or one whole checkpoint.
     */
    void timed(final long durationNs)
    {
        recorder.recordValue(Math.min(HIGHEST_TRACKABLE_US, Math.max(0, durationNs / 1000)));
    }

    /**
     * @return records appended (WAL) or checkpoints committed since open.
     */
    public long events()
    {
        return events.get();
    }

    /**
     * @return bytes written by those records or checkpoints.
     */
    public long bytes()
    {
        return bytes.get();
    }

    /**
     * @return a copy of every sync's (WAL) or checkpoint's duration since open, in microseconds.
     */
    public synchronized Histogram durationsUs()
    {
        interval = recorder.getIntervalHistogram(interval);
        total.add(interval);
        return total.copy();
    }
}
