package dev.grid.core.engine;

import dev.grid.core.BaselineTopology;
import dev.grid.core.CacheMetrics;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.GridException;
import dev.grid.core.QuorumStatus;
import dev.grid.core.RebalanceStatus;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Read-only views of a member's engine ({@link Engine#status}): whether it is settled, quiescent or ready for a
 * restart, its quorum, primaries, baseline and lost partitions, its copies, rebalance progress, pending operations,
 * the consistency check, and descriptions of what is in flight for diagnostics.
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
public interface EngineStatus
{
    /**
     * @return true if the member has installed the map of its current topology (no exchange in progress) and holds
     *         quorum.
     */
    boolean isSettled();

    /**
     * @return true if the member is active and has installed the map of its current topology, with or without quorum.
     */
    boolean hasInstalledCurrentMap();

    /**
     * @return this member's view of the quorum.
     */
    QuorumStatus quorum();

    /**
     * @return true once an {@link MemberState#EXPELLED} engine has made its WAL durable and finished its checkpoint:
     *         its host may start a new engine on the same WAL and checkpoints, which recovers and rejoins.
     */
    boolean isReadyForRestart();

    /**
     * @return true if settled and nothing is in flight: no own operation, no update waiting for backups or WAL.
     */
    boolean isQuiescent();

    /**
     * @return what the member is waiting for, for diagnostics: updates in flight, WAL durability, parked messages, the
     * exchange's progress.
     */
    String describeProgress();

    /**
     * Compare every OWNING copy of each partition of a cache at the same counter, while writes go on. The
     * callback runs once, on the engine's thread.
     *
     * @param cacheName the cache.
     * @param callback  the report, or the error (cache not found or destroyed, member not active).
     */
    void checkConsistency(String cacheName, BiConsumer<ConsistencyReport, GridException> callback);

    /**
     * @return what this member's rebalance is doing, and its totals since start.
     */
    RebalanceStatus rebalanceStatus();

    /**
     * @return the number of this member's own operations not yet completed.
     */
    int pendingOperations();

    /**
     * Inspect this member's copy of a partition (for tests, the simulator and admin views).
     *
     * @param cacheId   of the cache.
     * @param partition of the cache.
     * @return a snapshot of the copy, or null if this member holds none.
     */
    CopyView copy(int cacheId, int partition);

    /**
     * Copy out this member's copy of a partition, entries and counters, at this moment (for snapshots): one pass over
     * the copy's entries on the engine's thread.
     *
     * @param cacheId   of the cache.
     * @param partition of the cache.
     * @return the copy's contents, or null if this member holds none.
     */
    PartitionContents contents(int cacheId, int partition);

    /**
     * @param cacheName of a cache.
     * @return per partition, the index in the installed map's topology of its primary, -1 if none; null if no map
     *         is installed. Engine thread only.
     * @throws CacheNotFoundException if there is no cache of that name.
     */
    int[] primaries(String cacheName);

    /**
     * @return the baseline as this member knows it, or null before it joined. Engine thread only.
     */
    BaselineTopology baseline();

    /**
     * @param name of a cache.
     * @return its lost partitions in the installed map, ascending; empty if none or no map yet. Engine thread only.
     * @throws CacheNotFoundException if there is no cache of that name.
     */
    List<Integer> lostPartitions(String name);

    /**
     * @return tombstones dropped since start (purged in bounded work per duty cycle).
     */
    long tombstonesPurged();

    /**
     * @param cacheId a cache.
     * @return its data on this member: entries, accounted bytes, evictions and expirations.
     */
    CacheMetrics cacheMetrics(int cacheId);
}
