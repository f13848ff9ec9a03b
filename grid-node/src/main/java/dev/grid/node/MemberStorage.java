package dev.grid.node;

import dev.grid.core.MemberConfiguration;
import dev.grid.core.WalMode;
import dev.grid.core.spi.VolatileWal;
import dev.grid.core.spi.Wal;
import dev.grid.persistence.ChronicleWal;
import dev.grid.persistence.DataDirectory;
import dev.grid.persistence.FileCheckpointStore;
import org.agrona.CloseHelper;

/**
 * Where a member's state survives: its data directory (locked), its WAL and its checkpoint store, opened together
 * and closed together. An in-memory member ({@link WalMode#NONE}) has a volatile WAL and neither of the others.
 *
 * @param dataDirectory the locked data directory, or null in memory.
 * @param wal           the WAL.
 * @param checkpoints   the checkpoint store, or null in memory.
 */
record MemberStorage(DataDirectory dataDirectory, Wal wal, FileCheckpointStore checkpoints)
{
    /**
     * @param config the member's configuration.
     * @return its storage, opened; nothing stays open if opening fails.
     */
    static MemberStorage open(final MemberConfiguration config)
    {
        if (config.walMode() == WalMode.NONE)
        {
            return new MemberStorage(null, new VolatileWal(), null);
        }
        final DataDirectory directory = DataDirectory.open(config.dataDirectory(), config.memberId(),
            config.clusterName());
        ChronicleWal opened = null;
        try
        {
            opened = new ChronicleWal(directory.walDirectory(), config.walMode(), config.walSyncIntervalNs());
            return new MemberStorage(directory, opened, new FileCheckpointStore(directory.checkpointDirectory(),
                config.walMode() != WalMode.LOG_ONLY, "grid-checkpoint-" + config.memberId()));
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietClose(opened);
            directory.close();
            throw ex;
        }
    }

    /** Close the checkpoint store, the WAL and the data directory (its lock). */
    void close()
    {
        if (checkpoints != null)
        {
            checkpoints.close();
        }
        if (wal instanceof ChronicleWal chronicle)
        {
            chronicle.close();
        }
        if (dataDirectory != null)
        {
            dataDirectory.close();
        }
    }
}
