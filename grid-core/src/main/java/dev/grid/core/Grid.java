package dev.grid.core;

import java.util.Collection;

/**
 * An embedded cluster member as the application sees it: the entry point to caches.
 * <p>
 * Implementations are thread-safe; any user thread may call any method. {@link #close()} leaves the cluster cleanly,
 * fails in-flight operations with {@link NodeStoppingException} and refuses new ones. The member itself is started
 * by {@code dev.grid.node.GridMember}, the composition root.
 */
public interface Grid extends AutoCloseable
{
    /**
     * Start a cluster member in this process and join (or, as a seed that finds no cluster, start) the cluster.
     * Returns once the member is in the cluster and has installed its partition map. The implementation comes from
     * the {@code grid-node} module, found through {@link java.util.ServiceLoader} as a
     * {@link GridFactory}.
     *
     * @param configuration of the member.
     * @return the running member.
     * @throws InvalidConfigurationException naming the invalid field.
     * @throws JoinFailedException           if no seed answered within the join timeout, or the cluster refused.
     * @throws IllegalStateException         if no {@code grid-node} is on the class path.
     */
    static Grid start(final MemberConfiguration configuration)
    {
        for (final GridFactory factory : java.util.ServiceLoader.load(GridFactory.class))
        {
            return factory.start(configuration);
        }
        throw new IllegalStateException("no Grid implementation on the class path: add the grid-node module");
    }

    /**
     * Transactions coordinated by this member.
     *
     * @return the entry point for beginning transactions.
     */
    Transactions transactions();

    /**
     * This member's operation metrics since start.
     *
     * @return a snapshot.
     */
    MemberMetrics metrics();

    /**
     * Create a cache, or return the existing one if its configuration is equal. Returns only when every partition has
     * an owning primary ready to serve.
     *
     * @param configuration of the cache; concluded by this call.
     * @param <K>           the key type.
     * @param <V>           the value type.
     * @return the cache.
     * @throws InvalidConfigurationException if the configuration is invalid.
     * @throws GridException with {@link ErrorCode#CACHE_ALREADY_EXISTS} if it exists with another configuration.
     */
    <K, V> Cache<K, V> createCache(CacheConfiguration<K, V> configuration);

    /**
     * Get an existing cache.
     *
     * @param name of the cache.
     * @param <K>  the key type.
     * @param <V>  the value type.
     * @return the cache.
     * @throws CacheNotFoundException if there is none of that name.
     */
    <K, V> Cache<K, V> cache(String name);

    /**
     * Destroy a cache and its data on every member. Operations in flight on it fail with
     * {@link CacheDestroyedException}.
     *
     * @param name of the cache.
     * @throws CacheNotFoundException if there is none of that name.
     */
    void destroyCache(String name);

    /**
     * The names of the caches that exist.
     *
     * @return a snapshot of the cache names.
     */
    Collection<String> caches();

    /**
     * What this member's rebalance is doing: the copies it catches up (historically or fully), progress, rate and ETA,
     * and its totals since start.
     *
     * @return a snapshot.
     */
    RebalanceStatus rebalanceStatus();

    /**
     * Be told when this member's copies start and finish catching up.
     *
     * @param listener called on the member's user pool, in order.
     */
    void addRebalanceListener(RebalanceListener listener);

    /**
     * Compare every owning copy of each partition of a cache at the same counter while the cluster keeps writing:
     * counter conflicts (LWM or closed ranges differ) and data conflicts (same counters, different content).
     *
     * @param cacheName of the cache.
     * @return the report.
     * @throws CacheNotFoundException if there is none of that name.
     */
    ConsistencyReport checkConsistency(String cacheName);

    /**
     * The baseline topology: the members that own data, which of them run, and auto-adjust.
     *
     * @return a snapshot as this member knows it.
     */
    BaselineTopology baseline();

    /**
     * Set the baseline to exactly these members. Members leaving it have their data moved to the others (they keep
     * owning until the new owners caught up); members entering it catch up. Returns once the new partition map is
     * installed everywhere (rebalance may go on after).
     *
     * @param memberIds running members, or members already in the baseline (an offline one keeps its place).
     * @throws GridException with {@link ErrorCode#BASELINE_INVALID} naming a member that is neither, or if empty.
     */
    void setBaseline(java.util.Collection<String> memberIds);

    /**
     * Add running members to the baseline (setting it to the running members first if none is set).
     *
     * @param memberIds running members.
     * @throws GridException with {@link ErrorCode#BASELINE_INVALID} naming a member that is not running.
     */
    void addToBaseline(String... memberIds);

    /**
     * Remove members from the baseline, for example ones that will not come back: their data is copied to the
     * remaining members.
     *
     * @param memberIds baseline members, running or not.
     * @throws GridException with {@link ErrorCode#BASELINE_INVALID} naming one that is not in the baseline, or if the
     *                       baseline would be empty.
     */
    void removeFromBaseline(String... memberIds);

    /**
     * Turn baseline auto-adjust on or off: once membership stayed different from the baseline for the timeout (each
     * change restarts the wait), the coordinator sets the baseline to the running members. Turning it on without a
     * baseline sets the baseline to the running members.
     *
     * @param timeoutNs the wait, 0 or more; negative turns auto-adjust off.
     */
    void baselineAutoAdjust(long timeoutNs);

    /**
     * The partitions of a cache that are lost: every member that owned them left, and nobody reset them since. What
     * operations on them do follows the cache's {@link PartitionLossPolicy}.
     *
     * @param cacheName of the cache.
     * @return the lost partitions, ascending; empty if none.
     * @throws CacheNotFoundException if there is none of that name.
     */
    java.util.List<Integer> lostPartitions(String cacheName);

    /**
     * Serve the lost partitions of caches again, from the copies they have now: a returning owner's data if one came
     * back (bring back every member that held them first), empty otherwise. Returns once the cluster's new partition
     * map is installed everywhere.
     *
     * @param cacheNames of the caches.
     * @throws CacheNotFoundException if one of them does not exist (caches named before it are reset).
     */
    void resetLostPartitions(String... cacheNames);

    /**
     * Activate a cluster that, restarted from its data directories, waits for members that held partitions last and
     * will never return: partitions some member present owned last are served with their data, the others become
     * lost (see {@link #lostPartitions}; {@link #resetLostPartitions} accepts the loss). Returns once the new
     * partition map is installed everywhere; does nothing if the cluster is active already.
     */
    void activate();

    /**
     * Leave the cluster and release every resource. Idempotent.
     */
    void close();
}
