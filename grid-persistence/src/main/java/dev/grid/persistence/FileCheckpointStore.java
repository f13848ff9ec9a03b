package dev.grid.persistence;

import dev.grid.core.ErrorCode;
import dev.grid.core.PersistenceException;
import dev.grid.core.spi.CheckpointStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * Checkpoints as files, written by one background thread so the member's thread never waits for the disk.
 * <p>
 * Checkpoint {@code n} is written into {@code cp-n.partial/}: the partition images one after another in one file,
 * {@code images} (each image's fields, then its CRC32C), then {@code MANIFEST}; then the directory is renamed to
 * {@code cp-n}, atomically. One sequential file keeps the disk work to a stream of writes. So a checkpoint exists
 * completely or not at all: a crash while writing leaves a {@code .partial} directory, which opening removes. After a
 * commit, older checkpoints are deleted. With {@code sync} (FSYNC and BACKGROUND WAL modes) every file and the
 * directory are forced to disk before the rename, so a committed checkpoint survives power loss too.
 * <p>
 * <b>Threading:</b> {@link #begin}, {@link #write} and {@link #commit} are called by the member's thread and only
 * queue work; {@link #committedId()} and {@link #failure()} may be read by any thread.
 */
public final class FileCheckpointStore implements CheckpointStore, AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(FileCheckpointStore.class);
    private static final String PREFIX = "cp-";
    private static final String PARTIAL = ".partial";
    private static final String MANIFEST = "MANIFEST";
    private static final String IMAGES = "images";
    private static final int IMAGE_MAGIC = 0x47524931;

    private final Path root;
    private final boolean sync;
    private final ExecutorService writer;
    private volatile long committedId;
    private volatile long failedId;
    private volatile String failure;
    private long currentId;
    /** The open image file of the checkpoint being written; touched by the writer thread only. */
    private DataOutputStream images;
    /** When the current checkpoint began, on the writer thread. */
    private long beganNs;
    private final StorageMetrics metrics = new StorageMetrics();

    /**
     * Open the store, removing checkpoints that never committed.
     *
     * @param root       the checkpoint directory.
     * @param sync       whether to force files to disk before a commit.
     * @param threadName of the background writer.
     * @throws PersistenceException with {@link ErrorCode#PERSISTENCE_IO_FAILED} if the directory cannot be prepared.
     */
    public FileCheckpointStore(final Path root, final boolean sync, final String threadName)
    {
        this.root = root;
        this.sync = sync;
        try
        {
            Files.createDirectories(root);
            for (final Path partial : list(PARTIAL))
            {
                LOG.info("removing checkpoint {} that never committed", partial);
                deleteTree(partial);
            }
            final List<Path> committed = list("");
            this.committedId = committed.isEmpty() ? 0 : idOf(committed.get(committed.size() - 1));
        }
        catch (final IOException ex)
        {
            throw new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot prepare checkpoint directory " +
                root + ": " + ex, ex);
        }
        // A plain pool: Executors.newSingleThreadExecutor's wrapper has a finalizer (see MemberSnapshots).
        this.writer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r ->
        {
            final Thread thread = new Thread(r, threadName);
            thread.setDaemon(true);
            return thread;
        });
    }

    public void begin(final long id)
    {
        currentId = id;
        writer.execute(() -> run(id, () ->
        {
            try
            {
                closeImages();
            }
            catch (final IOException abandoned)
            {
                // The stream of an abandoned (perhaps failed) checkpoint: its directory stays partial and goes at open.
                LOG.debug("closing an abandoned checkpoint's images failed", abandoned);
            }
            beganNs = System.nanoTime();
            final Path partial = partial(id);
            deleteTree(partial);
            Files.createDirectories(partial);
            images = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(partial.resolve(IMAGES)),
                1 << 20));
        }));
    }

    public void write(final PartitionImage image)
    {
        final long id = currentId;
        writer.execute(() -> run(id, () -> writeImage(images, image)));
    }

    public void commit(final long id, final byte[] manifest)
    {
        writer.execute(() -> run(id, () ->
        {
            closeImages();
            final Path partial = partial(id);
            Files.write(partial.resolve(MANIFEST), manifest);
            if (sync)
            {
                force(partial.resolve(IMAGES));
                force(partial.resolve(MANIFEST));
                force(partial);
            }
            final Path done = root.resolve(PREFIX + id);
            Files.move(partial, done, StandardCopyOption.ATOMIC_MOVE);
            if (sync)
            {
                force(root);
            }
            committedId = id;
            for (final Path older : list(""))
            {
                if (idOf(older) < id)
                {
                    deleteTree(older);
                }
            }
            // Last and best-effort: a figure that cannot be read must not make a committed checkpoint look failed.
            metrics.timed(System.nanoTime() - beganNs);
            try
            {
                metrics.recorded(Files.size(done.resolve(IMAGES)) + manifest.length);
            }
            catch (final IOException ex)
            {
                metrics.recorded(manifest.length);
            }
        }));
    }

    private void closeImages() throws IOException
    {
        if (images != null)
        {
            final DataOutputStream closing = images;
            images = null;
            closing.close();
        }
    }

    /**
     * @return checkpoints committed since open, their bytes, and how long each took from begin to commit.
     */
    public StorageMetrics metrics()
    {
        return metrics;
    }

    public long committedId()
    {
        return committedId;
    }

    public String failure()
    {
        return failedId == currentId ? failure : null;
    }

    public Checkpoint loadLatest()
    {
        final List<Path> committed;
        try
        {
            committed = list("");
        }
        catch (final IOException ex)
        {
            throw new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot list checkpoints in " + root +
                ": " + ex, ex);
        }
        if (committed.isEmpty())
        {
            return null;
        }
        final Path latest = committed.get(committed.size() - 1);
        final List<PartitionImage> loaded = new ArrayList<>();
        final byte[] manifest;
        final Path imageFile = latest.resolve(IMAGES);
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(imageFile),
            1 << 20)))
        {
            manifest = Files.readAllBytes(latest.resolve(MANIFEST));
            PartitionImage image;
            while ((image = readImage(in, imageFile)) != null)
            {
                loaded.add(image);
            }
        }
        catch (final IOException ex)
        {
            throw new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot read checkpoint " + latest +
                ": " + ex, ex);
        }
        return new Checkpoint(idOf(latest), manifest, loaded);
    }

    /**
     * Finish queued work (bounded) and stop the writer thread.
     */
    public void close()
    {
        writer.execute(() -> run(currentId, this::closeImages));
        writer.shutdown();
        try
        {
            if (!writer.awaitTermination(10, TimeUnit.SECONDS))
            {
                LOG.warn("checkpoint writer for {} did not finish within 10 s", root);
                writer.shutdownNow();
            }
        }
        catch (final InterruptedException ex)
        {
            writer.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    @FunctionalInterface
    private interface IoTask
    {
        void run() throws IOException;
    }

    private void run(final long id, final IoTask task)
    {
        if (failedId == id)
        {
            return;
        }
        try
        {
            task.run();
        }
        catch (final IOException | RuntimeException ex)
        {
            LOG.warn("checkpoint {} in {} failed", id, root, ex);
            failure = ex.toString();
            failedId = id;
        }
    }

    private Path partial(final long id)
    {
        return root.resolve(PREFIX + id + PARTIAL);
    }

    private static void writeImage(final DataOutputStream target, final PartitionImage image) throws IOException
    {
        final CRC32C crc = new CRC32C();
        final DataOutputStream out = new DataOutputStream(new CheckedOutputStream(target, crc));
        out.writeInt(IMAGE_MAGIC);
        out.writeInt(image.cacheId());
        out.writeInt(image.partition());
        out.writeLong(image.replayFromPosition());
        out.writeLong(image.hwm());
        writeBytes(out, image.counterState());
        out.writeInt(image.keys().length);
        for (int i = 0; i < image.keys().length; i++)
        {
            writeBytes(out, image.keys()[i]);
            writeBytes(out, image.values()[i]);
            out.writeLong(image.counters()[i]);
        }
        out.writeInt(image.recentOrigins().length);
        for (int i = 0; i < image.recentOrigins().length; i++)
        {
            out.writeLong(image.recentOrigins()[i]);
            out.writeLong(image.recentSequences()[i]);
            out.writeBoolean(image.recentFlags()[i]);
            writeBytes(out, image.recentValues()[i]);
        }
        out.flush();
        target.writeLong(crc.getValue());
    }

    private static void writeBytes(final DataOutputStream out, final byte[] bytes) throws IOException
    {
        if (bytes == null)
        {
            out.writeInt(-1);
            return;
        }
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    /** @return the next image, or null at the end of the file. */
    private static PartitionImage readImage(final DataInputStream source, final Path file) throws IOException
    {
        final CRC32C crc = new CRC32C();
        final DataInputStream in = new DataInputStream(new CheckedInputStream(source, crc));
        final int magic;
        try
        {
            magic = in.readInt();
        }
        catch (final EOFException end)
        {
            return null;
        }
        try
        {
            if (magic != IMAGE_MAGIC)
            {
                throw corrupt(file, "bad magic");
            }
            final int cacheId = in.readInt();
            final int partition = in.readInt();
            final long replayFrom = in.readLong();
            final long hwm = in.readLong();
            final byte[] counterState = readBytes(in, file);
            final int entries = readCount(in, file);
            final byte[][] keys = new byte[entries][];
            final byte[][] values = new byte[entries][];
            final long[] counters = new long[entries];
            for (int i = 0; i < entries; i++)
            {
                keys[i] = readBytes(in, file);
                values[i] = readBytes(in, file);
                counters[i] = in.readLong();
            }
            final int outcomes = readCount(in, file);
            final long[] origins = new long[outcomes];
            final long[] sequences = new long[outcomes];
            final boolean[] flags = new boolean[outcomes];
            final byte[][] outcomeValues = new byte[outcomes][];
            for (int i = 0; i < outcomes; i++)
            {
                origins[i] = in.readLong();
                sequences[i] = in.readLong();
                flags[i] = in.readBoolean();
                outcomeValues[i] = readBytes(in, file);
            }
            final long expected = crc.getValue();
            if (source.readLong() != expected)
            {
                throw corrupt(file, "checksum mismatch in the image of cache id " + cacheId + " partition " +
                    partition);
            }
            return new PartitionImage(cacheId, partition, replayFrom, hwm, counterState, keys, values, counters,
                origins, sequences, flags, outcomeValues);
        }
        catch (final EOFException ex)
        {
            throw corrupt(file, "truncated");
        }
    }

    private static int readCount(final DataInputStream in, final Path file) throws IOException
    {
        final int count = in.readInt();
        if (count < 0 || count > 1 << 26)
        {
            throw corrupt(file, "count " + count);
        }
        return count;
    }

    private static byte[] readBytes(final DataInputStream in, final Path file) throws IOException
    {
        final int length = in.readInt();
        if (length == -1)
        {
            return null;
        }
        if (length < 0 || length > 64 << 20)
        {
            throw corrupt(file, "field length " + length);
        }
        final byte[] bytes = new byte[length];
        in.readFully(bytes);
        return bytes;
    }

    private static PersistenceException corrupt(final Path file, final String why)
    {
        return new PersistenceException(ErrorCode.CHECKPOINT_CORRUPT, "checkpoint file " + file + " is corrupt: " +
            why);
    }

    /** Committed checkpoints (suffix "") or unfinished ones (suffix PARTIAL), by ascending id. */
    private List<Path> list(final String suffix) throws IOException
    {
        try (Stream<Path> entries = Files.list(root))
        {
            return entries.filter(p ->
            {
                final String name = p.getFileName().toString();
                return name.startsWith(PREFIX) && (suffix.isEmpty() ? name.substring(PREFIX.length())
                    .matches("[0-9]+") : name.endsWith(suffix));
            }).sorted(Comparator.comparingLong(FileCheckpointStore::idOf)).toList();
        }
    }

    private static long idOf(final Path checkpoint)
    {
        final String name = checkpoint.getFileName().toString();
        final int end = name.endsWith(PARTIAL) ? name.length() - PARTIAL.length() : name.length();
        return Long.parseLong(name.substring(PREFIX.length(), end));
    }

    private static void force(final Path path) throws IOException
    {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ))
        {
            channel.force(true);
        }
    }

    private static void deleteTree(final Path path) throws IOException
    {
        if (!Files.exists(path))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(path))
        {
            for (final Path each : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.delete(each);
            }
        }
    }
}
