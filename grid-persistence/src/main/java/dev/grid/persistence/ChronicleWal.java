package dev.grid.persistence;

import dev.grid.core.ErrorCode;
import dev.grid.core.PersistenceException;
import dev.grid.core.WalMode;
import dev.grid.core.spi.Wal;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueStore;
import net.openhft.chronicle.wire.DocumentContext;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The write-ahead log of one shard on a Chronicle Queue: every record is one queue document holding a CRC32C of the
 * record, its length and its bytes. Positions are the queue's indexes (positive and increasing in append order).
 * <p>
 * <b>Durability by mode</b> ({@link WalMode}): the queue is memory-mapped, so an appended record is in the page cache
 * at once and survives a process crash: under {@link WalMode#LOG_ONLY} and {@link WalMode#BACKGROUND} it is durable
 * on append. Under {@link WalMode#FSYNC} it is durable once a sync covered it: {@link #requestDurability()} syncs
 * everything appended so far, so every record appended between two requests shares one sync (group commit; the engine
 * asks once per duty cycle). {@link WalMode#BACKGROUND} also syncs from {@link #requestDurability()}, at most once per
 * sync interval. {@link WalMode#NONE} has no WAL at all ({@link dev.grid.core.spi.VolatileWal}).
 * <p>
 * <b>Damage on replay.</b> A record whose checksum or length is wrong and that is the last one in the log is a torn
 * write: it is skipped, reported in the log, and a marker naming it is appended so that later replays skip it too
 * (Chronicle cannot cut a file). A damaged record followed by other records is corruption: replay fails with
 * {@link ErrorCode#WAL_CORRUPT} naming the file and the index.
 * <p>
 * <b>Threading:</b> not thread-safe; used by one thread at a time (the starting thread recovers, then the shard's
 * thread owns it). Opening starts Chronicle's two daemon threads; {@link #close()} releases the queue.
 */
public final class ChronicleWal implements Wal, AutoCloseable
{
    /** Roll cycle of the queue files: retention deletes whole files, so a cycle is the unit of release. */
    public static final RollCycles ROLL_CYCLE = RollCycles.FAST_HOURLY;
    /**
     * Block size of the queue files. Chronicle takes a record of at most a quarter of a block, and a record holds a
     * whole update, a key with up to two values: 256 MiB blocks take records of 64 MiB, room for three times the
     * largest entry a member accepts ({@code MemberConfiguration.MAX_ENTRY_BYTES_LIMIT}). The files are sparse: an
     * idle member's hold little on disk.
     */
    public static final long BLOCK_SIZE = 256L << 20;
    /** The longest record {@link #append} takes: a quarter of a block, less Chronicle's header. */
    public static final int MAX_RECORD_BYTES = (int)(BLOCK_SIZE / 4) - 64;

    private static final Logger LOG = LoggerFactory.getLogger(ChronicleWal.class);
    private static final int TORN_MARKER = -1;

    private final Path directory;
    private final WalMode mode;
    private final long syncIntervalNs;
    private final SingleChronicleQueue queue;
    private final ExcerptAppender appender;
    private Thread appenderThread;
    /**
     * The tailer of {@link #read}, kept between reads: creating one took 1 to 29 ms (the first in a process the most),
     * and a catch-up's history scan paid it on every step, which then read and handled its thousand records in 1 to
     * 20 ms. Created on first use; closed when {@link #release} deletes files, so that it never keeps a deleted file's
     * space.
     */
    private ExcerptTailer readTailer;
    private Thread readTailerThread;
    private boolean reading;
    private final CRC32C crc = new CRC32C();
    private byte[] scratch = new byte[1024];
    private long appendedPosition;
    private long durablePosition;
    private long lastSyncNs;
    private final StorageMetrics metrics = new StorageMetrics();

    /**
     * Open (or create) the WAL in a directory.
     *
     * @param directory      of the queue files.
     * @param mode           durability mode; not {@link WalMode#NONE}.
     * @param syncIntervalNs between syncs in {@link WalMode#BACKGROUND}.
     * @throws PersistenceException with {@link ErrorCode#PERSISTENCE_IO_FAILED} if the queue cannot be opened.
     */
    public ChronicleWal(final Path directory, final WalMode mode, final long syncIntervalNs)
    {
        this(directory, mode, syncIntervalNs, ROLL_CYCLE);
    }

    /**
     * @param directory      of the queue files.
     * @param mode           durability mode; not {@link WalMode#NONE}.
     * @param syncIntervalNs between syncs in {@link WalMode#BACKGROUND}.
     * @param rollCycle      how long one queue file covers: the unit of release (tests use seconds).
     */
    ChronicleWal(final Path directory, final WalMode mode, final long syncIntervalNs, final RollCycle rollCycle)
    {
        if (mode == WalMode.NONE)
        {
            throw new IllegalArgumentException("WalMode.NONE keeps no WAL; use VolatileWal");
        }
        this.directory = directory;
        this.mode = mode;
        this.syncIntervalNs = syncIntervalNs;
        try
        {
            this.queue = SingleChronicleQueueBuilder.single(directory.toFile())
                .rollCycle(rollCycle)
                .blockSize(BLOCK_SIZE)
                .syncMode(mode == WalMode.LOG_ONLY ? SyncMode.NONE : SyncMode.SYNC)
                // After a crash inside a write, reopening waits this long for the dead writer's lock
                // (research/stack.md: the default 10 s stalls every restart).
                .timeoutMS(1500)
                .build();
            this.appender = queue.createAppender();
            this.appenderThread = Thread.currentThread();
        }
        catch (final RuntimeException ex)
        {
            throw new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot open the WAL in " + directory +
                ": " + ex, ex);
        }
        final long last = queue.lastIndex();
        this.appendedPosition = Math.max(0, last);
        this.durablePosition = appendedPosition;
        this.lastSyncNs = System.nanoTime();
    }

    /**
     * @return the directory of the queue files.
     */
    public Path directory()
    {
        return directory;
    }

    /**
     * @return the durability mode.
     */
    public WalMode mode()
    {
        return mode;
    }

    public long append(final DirectBuffer buffer, final int offset, final int length)
    {
        if (scratch.length < length)
        {
            scratch = new byte[Math.max(length, scratch.length * 2)];
        }
        buffer.getBytes(offset, scratch, 0, length);
        crc.reset();
        crc.update(scratch, 0, length);
        return write((int)crc.getValue(), length, scratch);
    }

    long write(final int checksum, final int length, final byte[] bytes)
    {
        try (DocumentContext dc = appender().writingDocument())
        {
            final Bytes<?> out = dc.wire().bytes();
            out.writeInt(checksum);
            out.writeInt(length);
            if (length > 0)
            {
                out.write(bytes, 0, length);
            }
        }
        catch (final RuntimeException ex)
        {
            throw new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot append to the WAL in " +
                directory + ": " + ex, ex);
        }
        appendedPosition = appender().lastIndexAppended();
        metrics.recorded(8L + length);
        if (mode != WalMode.FSYNC)
        {
            durablePosition = appendedPosition;
        }
        return appendedPosition;
    }

    public void requestDurability()
    {
        if (appendedPosition == 0)
        {
            return;
        }
        if (mode == WalMode.FSYNC)
        {
            if (durablePosition != appendedPosition)
            {
                sync();
                durablePosition = appendedPosition;
            }
        }
        else if (mode == WalMode.BACKGROUND)
        {
            final long nowNs = System.nanoTime();
            if (nowNs - lastSyncNs >= syncIntervalNs)
            {
                lastSyncNs = nowNs;
                sync();
            }
        }
    }

    private void sync()
    {
        final long startNs = System.nanoTime();
        appender().sync();
        metrics.timed(System.nanoTime() - startNs);
    }

    /**
     * @return records and bytes appended since open, and the durations of syncs.
     */
    public StorageMetrics metrics()
    {
        return metrics;
    }

    public long appendedPosition()
    {
        return appendedPosition;
    }

    public long durablePosition()
    {
        return durablePosition;
    }

    public long replay(final long afterPosition, final RecordHandler handler)
    {
        Scan scan = null;
        try (ExcerptTailer tailer = createTailer())
        {
            scan = scan(tailer, afterPosition, Integer.MAX_VALUE, handler);
        }
        catch (final RuntimeException ex)
        {
            // The scan's own failures come as they are (the handler's unchanged); only closing the tailer is left.
            throw scan == null ? ex : readFailure(ex);
        }
        if (scan.damage != null)
        {
            LOG.warn("WAL in {}: the last record (index {} in {}) is torn ({}); it is skipped and marked", directory,
                Long.toHexString(scan.damagedIndex), scan.damagedFile, scan.damage);
            appendMarker(scan.damagedIndex);
        }
        return scan.count;
    }

    /**
     * A bounded read of the live queue from an index: the tailer seeks there, so a scan in batches costs what it
     * reads. Unlike {@link #replay} it marks nothing: a torn record from an earlier crash was marked by that recovery.
     */
    @Override
    public long read(final long afterPosition, final int maxRecords, final RecordHandler handler)
    {
        if (reading)
        {
            throw new IllegalStateException("a WAL read's handler read the WAL again: both would move one tailer");
        }
        reading = true;
        try
        {
            return scan(readTailer(), afterPosition, maxRecords, handler).last;
        }
        finally
        {
            reading = false;
        }
    }

    /** @return whether a tailer is kept for reads (for tests: a release that deletes files closes it). */
    boolean holdsReadTailer()
    {
        return readTailer != null;
    }

    /** The kept tailer, for the calling thread: bound to one thread at a time, like the appender. */
    private ExcerptTailer readTailer()
    {
        if (readTailer == null)
        {
            readTailer = createTailer();
            readTailerThread = Thread.currentThread();
        }
        else if (readTailerThread != Thread.currentThread())
        {
            readTailer.singleThreadedCheckReset();
            readTailerThread = Thread.currentThread();
        }
        return readTailer;
    }

    private ExcerptTailer createTailer()
    {
        try
        {
            return queue.createTailer();
        }
        catch (final RuntimeException ex)
        {
            throw readFailure(ex);
        }
    }

    /** What one {@link #scan} found: records handed over, the last one's index, and a damaged record at the end. */
    private static final class Scan
    {
        long count;
        long last;
        long damagedIndex = -1;
        String damage;
        File damagedFile;
        /** The buffer records are read into, grown as needed. */
        byte[] record = new byte[1024];
    }

    /**
     * Hand over at most {@code maxRecords} sound records after an index. A damaged record is skipped only when the
     * next one is recovery's marker naming it, or when it is the last (then the scan reports it); anything else
     * following it is corruption.
     */
    private Scan scan(final ExcerptTailer tailer, final long afterPosition, final int maxRecords,
        final RecordHandler handler)
    {
        final Scan scan = new Scan();
        scan.last = afterPosition;
        final UnsafeBuffer view = new UnsafeBuffer(new byte[0]);
        try
        {
            // A kept tailer is wherever the last read left it: every read positions it.
            if (afterPosition <= 0 || !tailer.moveToIndex(afterPosition))
            {
                tailer.toStart();
            }
            while (scan.count < maxRecords)
            {
                try (DocumentContext dc = tailer.readingDocument())
                {
                    if (!dc.isPresent())
                    {
                        break;
                    }
                    final long index = dc.index();
                    if (index <= afterPosition)
                    {
                        continue;
                    }
                    final Bytes<?> in = dc.wire().bytes();
                    if (scan.damage != null)
                    {
                        // Something follows a damaged record: only a marker naming it makes that a healed torn tail.
                        if (in.readRemaining() >= 16 && readMarker(in) == scan.damagedIndex)
                        {
                            scan.damage = null;
                            continue;
                        }
                        throw new PersistenceException(ErrorCode.WAL_CORRUPT, "WAL record at index " +
                            Long.toHexString(scan.damagedIndex) + " in " + scan.damagedFile + " is corrupt (" +
                            scan.damage + ") and records follow it; refusing to recover past it");
                    }
                    final String damage = deliver(in, index, scan, view, handler);
                    if (damage != null)
                    {
                        scan.damage = damage;
                        scan.damagedIndex = index;
                        scan.damagedFile = tailer.currentFile();
                    }
                }
            }
        }
        catch (final RuntimeException ex)
        {
            if (!(ex instanceof HandlerFailure) && tailer == readTailer)
            {
                // The queue failed under the kept tailer: the next read starts with a fresh one.
                try
                {
                    closeReadTailer();
                }
                catch (final RuntimeException closing)
                {
                    ex.addSuppressed(closing);
                }
            }
            throw readFailure(ex);
        }
        return scan;
    }

    /**
     * Check one record (its checksum and length) and hand it to the handler.
     *
     * @return why the record is damaged, or null if it was handed over (or is a marker to ignore: its torn record was
     *         read before it, and handled there, or never).
     */
    private String deliver(final Bytes<?> in, final long index, final Scan scan, final UnsafeBuffer view,
        final RecordHandler handler)
    {
        if (in.readRemaining() < 8)
        {
            return "only " + in.readRemaining() + " bytes";
        }
        final int checksum = in.readInt();
        final int length = in.readInt();
        if (length == TORN_MARKER)
        {
            return null;
        }
        if (length < 0 || length > in.readRemaining())
        {
            return "length " + length + " with " + in.readRemaining() + " bytes present";
        }
        if (scan.record.length < length)
        {
            scan.record = new byte[Math.max(length, scan.record.length * 2)];
        }
        in.read(scan.record, 0, length);
        crc.reset();
        crc.update(scan.record, 0, length);
        if ((int)crc.getValue() != checksum)
        {
            return "checksum mismatch";
        }
        view.wrap(scan.record, 0, length);
        try
        {
            handler.onRecord(index, view, 0, length);
        }
        catch (final RuntimeException ex)
        {
            throw new HandlerFailure(ex);
        }
        scan.count++;
        scan.last = index;
        return null;
    }

    /**
     * What a read that failed throws: the caller's own failure on a sound record goes back unchanged (not a WAL
     * problem), a WAL problem as it was found, anything else from the queue as an I/O failure naming the directory.
     */
    private RuntimeException readFailure(final RuntimeException ex)
    {
        if (ex instanceof HandlerFailure)
        {
            return (RuntimeException)ex.getCause();
        }
        if (ex instanceof PersistenceException)
        {
            return ex;
        }
        return new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot read the WAL in " + directory + ": " +
            ex, ex);
    }

    /** Carries a record handler's exception through the queue's resource handling. */
    private static final class HandlerFailure extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        HandlerFailure(final RuntimeException cause)
        {
            super(cause);
        }
    }

    private static long readMarker(final Bytes<?> in)
    {
        in.readInt();
        return in.readInt() == TORN_MARKER ? in.readLong() : -1;
    }

    private void appendMarker(final long tornIndex)
    {
        try (DocumentContext dc = appender().writingDocument())
        {
            final Bytes<?> out = dc.wire().bytes();
            out.writeInt(0);
            out.writeInt(TORN_MARKER);
            out.writeLong(tornIndex);
        }
        appendedPosition = appender().lastIndexAppended();
        appender().sync();
        durablePosition = appendedPosition;
    }

    /**
     * Delete the queue files (one per roll cycle) whose every record is at or below the position; never the file
     * being appended to, nor the one holding the position.
     */
    @Override
    public long release(final long upToPosition)
    {
        final RollCycle rollCycle = queue.rollCycle();
        final int releaseCycle = rollCycle.toCycle(upToPosition);
        final int appendingCycle = appendedPosition == 0 ? Integer.MAX_VALUE : rollCycle.toCycle(appendedPosition);
        final int firstCycle = queue.firstCycle();
        if (firstCycle == Integer.MAX_VALUE || firstCycle >= releaseCycle)
        {
            return firstRetainedPosition();
        }
        int deleted = 0;
        for (final Long cycle : queue.listCyclesBetween(firstCycle, releaseCycle - 1))
        {
            if (cycle >= appendingCycle || cycle >= releaseCycle)
            {
                continue;
            }
            final SingleChronicleQueueStore store = queue.storeForCycle(cycle.intValue(), queue.epoch(), false, null);
            if (store == null)
            {
                continue;
            }
            final File file = store.file();
            store.close();
            try
            {
                Files.deleteIfExists(file.toPath());
                deleted++;
            }
            catch (final IOException ex)
            {
                LOG.warn("WAL in {}: could not delete released file {}: {}", directory, file, ex.toString());
            }
        }
        if (deleted > 0)
        {
            closeReadTailer();
            queue.refreshDirectoryListing();
        }
        return firstRetainedPosition();
    }

    @Override
    public long firstRetainedPosition()
    {
        final long first = queue.firstIndex();
        // The replay convention is "after a position": the oldest readable record is just after this.
        return first == Long.MAX_VALUE || first <= 0 ? 0 : first - 1;
    }

    /**
     * The appender, for the calling thread: Chronicle binds it to one thread, and a member opens and recovers its WAL
     * on the starting thread, then hands it to its own thread (one at a time, never concurrently).
     */
    private ExcerptAppender appender()
    {
        final Thread current = Thread.currentThread();
        if (current != appenderThread)
        {
            appender.singleThreadedCheckReset();
            appenderThread = current;
        }
        return appender;
    }

    /**
     * Release the queue; appended records stay on disk.
     */
    public void close()
    {
        if (mode != WalMode.LOG_ONLY && appendedPosition != 0)
        {
            appender().sync();
        }
        appender().close();
        closeReadTailer();
        queue.close();
    }

    private void closeReadTailer()
    {
        final ExcerptTailer tailer = readTailer;
        if (tailer != null)
        {
            readTailer = null;
            // By whichever thread releases or closes the WAL, like the appender.
            tailer.singleThreadedCheckReset();
            tailer.close();
        }
    }
}
