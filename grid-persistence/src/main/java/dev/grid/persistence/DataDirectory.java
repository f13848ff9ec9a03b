package dev.grid.persistence;

import dev.grid.core.ErrorCode;
import dev.grid.core.PersistenceException;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Properties;

/**
 * A member's data directory, held for the member's life: an exclusive lock on {@code member.lock} keeps a second
 * member (in this or another process) out, and {@code identity.properties} records the member id and cluster name that
 * wrote the data, so a directory is never adopted by another member or cluster. The WAL lives in {@code wal/},
 * checkpoints in {@code checkpoints/}.
 * <p>
 * <b>Threading:</b> opened and closed by one thread; immutable in between.
 */
public final class DataDirectory implements AutoCloseable
{
    private static final String LOCK_FILE = "member.lock";
    private static final String IDENTITY_FILE = "identity.properties";

    private final Path root;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private DataDirectory(final Path root, final FileChannel lockChannel, final FileLock lock)
    {
        this.root = root;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Lock the directory (creating it if needed) and check or record its identity.
     *
     * @param root        the data directory.
     * @param memberId    of the member opening it.
     * @param clusterName of that member's cluster.
     * @return the held directory.
     * @throws PersistenceException {@link ErrorCode#DATA_DIRECTORY_LOCKED} if another running member holds it,
     *                              {@link ErrorCode#DATA_DIRECTORY_MISMATCH} if another member or cluster wrote it,
     *                              {@link ErrorCode#PERSISTENCE_IO_FAILED} on an I/O error.
     */
    public static DataDirectory open(final Path root, final String memberId, final String clusterName)
    {
        final FileChannel channel;
        final FileLock lock;
        try
        {
            Files.createDirectories(root);
            channel = FileChannel.open(root.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        }
        catch (final IOException ex)
        {
            throw new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot open data directory " + root +
                ": " + ex, ex);
        }
        try
        {
            lock = channel.tryLock();
        }
        catch (final OverlappingFileLockException | IOException ex)
        {
            closeQuietly(channel);
            throw locked(root);
        }
        if (lock == null)
        {
            closeQuietly(channel);
            throw locked(root);
        }
        final DataDirectory directory = new DataDirectory(root, channel, lock);
        try
        {
            directory.checkIdentity(memberId, clusterName);
            Files.createDirectories(directory.walDirectory());
            return directory;
        }
        catch (final IOException ex)
        {
            directory.close();
            throw new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot prepare data directory " + root +
                ": " + ex, ex);
        }
        catch (final RuntimeException ex)
        {
            directory.close();
            throw ex;
        }
    }

    private static PersistenceException locked(final Path root)
    {
        return new PersistenceException(ErrorCode.DATA_DIRECTORY_LOCKED, "data directory " + root +
            " is in use by another running member (" + root.resolve(LOCK_FILE) + " is locked)");
    }

    private void checkIdentity(final String memberId, final String clusterName) throws IOException
    {
        final Path file = root.resolve(IDENTITY_FILE);
        if (Files.exists(file))
        {
            final Properties identity = new Properties();
            try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8))
            {
                identity.load(reader);
            }
            final String writtenBy = identity.getProperty("member.id");
            final String cluster = identity.getProperty("cluster.name");
            if (!memberId.equals(writtenBy) || !clusterName.equals(cluster))
            {
                throw new PersistenceException(ErrorCode.DATA_DIRECTORY_MISMATCH, "data directory " + root +
                    " belongs to member '" + writtenBy + "' of cluster '" + cluster + "', not to member '" + memberId +
                    "' of cluster '" + clusterName + "'");
            }
            return;
        }
        final Properties identity = new Properties();
        identity.setProperty("member.id", memberId);
        identity.setProperty("cluster.name", clusterName);
        final Path temporary = root.resolve(IDENTITY_FILE + ".tmp");
        try (Writer writer = Files.newBufferedWriter(temporary, StandardCharsets.UTF_8))
        {
            identity.store(writer, "Grid member data directory: do not copy to another member");
        }
        Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * @return the directory itself.
     */
    public Path root()
    {
        return root;
    }

    /**
     * @return where the WAL's queue files live.
     */
    public Path walDirectory()
    {
        return root.resolve("wal");
    }

    /**
     * @return where checkpoints live.
     */
    public Path checkpointDirectory()
    {
        return root.resolve("checkpoints");
    }

    /**
     * @return where copies the member dropped are kept for the operator ({@link KeptCopyFiles}).
     */
    public Path keptDirectory()
    {
        return root.resolve("kept");
    }

    /**
     * Release the lock.
     */
    public void close()
    {
        try
        {
            lock.release();
        }
        catch (final IOException ignore)
        {
            // Closing the channel releases it too.
        }
        closeQuietly(lockChannel);
    }

    private static void closeQuietly(final FileChannel channel)
    {
        try
        {
            channel.close();
        }
        catch (final IOException ignore)
        {
            // Nothing to do: the process is letting go of the file.
        }
    }
}
