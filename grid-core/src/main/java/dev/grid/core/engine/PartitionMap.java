package dev.grid.core.engine;

import java.util.List;

/**
 * A partition map as a member installed it, read-only: for one topology version, the owners of every partition of
 * every cache (primary first), the state of each copy (OWNING or MOVING), the rebalance plans of the MOVING ones,
 * and lost partitions. Made by the exchange; hosts and tests read it through {@link Engine#installedMap()}.
 * <p>
 * <b>Threading:</b> immutable once installed; read it on the engine's thread (or after a safe hand-off).
 */
public interface PartitionMap
{
    /**
     * @return the topology this map belongs to.
     */
    Topology topology();

    /**
     * @return the topology version.
     */
    long version();

    /**
     * @return the stamp members record with the owners of this map (the ownership table); 0 for a map of a
     *         cluster that is not active yet: it waits for the members of its newest ownership table, every recovered
     *         partition is LOST and no copy is changed.
     */
    long stamp();

    /**
     * @return whether the cluster is active in this map (see {@link #stamp}).
     */
    boolean isActive();

    /**
     * @return the cluster life this map belongs to (the ownership table's life id).
     */
    long lifeId();

    /**
     * @return every rebalance plan of this version.
     */
    List<RebalancePlan> plans();

    /**
     * @param cacheId   of a cache.
     * @param partition of the cache.
     * @return how many of {@link #owners} are OWNING (the rest are MOVING).
     */
    int owningCount(int cacheId, int partition);

    /**
     * @param cacheId     of a cache.
     * @param partition   of the cache.
     * @param memberIndex of a member.
     * @return true if the member holds a MOVING copy of the partition in this version.
     */
    boolean isMoving(int cacheId, int partition, int memberIndex);

    /**
     * @param cacheId     of a cache.
     * @param partition   of the cache.
     * @param memberIndex of a member.
     * @return true if the member holds an OWNING copy (primary or backup).
     */
    boolean isOwning(int cacheId, int partition, int memberIndex);

    /**
     * The partition's lineage: a new epoch starts whenever a partition's primary left, because copies that left with
     * it may hold updates above {@link #epochFloor} that the survivors never had (and the survivors number their next
     * updates from there). A copy that comes back may catch up historically only if it saw the epochs since.
     *
     * @param cacheId   of a cache.
     * @param partition of the cache.
     * @return the id of the partition's current epoch.
     */
    long epochId(int cacheId, int partition);

    /**
     * @param cacheId   of a cache.
     * @param partition of the cache.
     * @return the LWM the survivors agreed on when the current epoch began: every copy of the lineage agrees up to it.
     */
    long epochFloor(int cacheId, int partition);

    /**
     * @param cacheId   of a cache.
     * @param partition of it.
     * @return for a lost partition, the member ids of its last owners (the coordinator's durable record, carried so
     *         that every member, a joiner too, records the same); empty otherwise.
     */
    String[] lastOwners(int cacheId, int partition);

    /**
     * @param cacheId   of a cache.
     * @param partition of it.
     * @return whether the partition is lost: every owner of it left, and no operator reset it since.
     */
    boolean isLost(int cacheId, int partition);

    /**
     * @param cacheId of a cache.
     * @return how many of its partitions are lost.
     */
    int lostCount(int cacheId);

    /**
     * @param cacheId of a cache.
     * @return its lost partitions, ascending.
     */
    List<Integer> lostPartitions(int cacheId);

    /**
     * @param cacheId of a cache.
     * @return whether this map places the cache's partitions.
     */
    boolean hasCache(int cacheId);

    /**
     * @param cacheId   of a cache.
     * @param partition of the cache.
     * @return the member indices of every copy, OWNING first (primary first), then MOVING; empty if none or the cache
     *         is unknown.
     */
    int[] owners(int cacheId, int partition);

    /**
     * @param cacheId   of a cache.
     * @param partition of the cache.
     * @return the primary, or null if the partition has no owner.
     */
    MemberRecord primary(int cacheId, int partition);

    /**
     * @param cacheId     of a cache.
     * @param partition   of the cache.
     * @param memberIndex of a member.
     * @return its rank among the copies (0 for primary; MOVING copies rank after every OWNING one), or -1 if it holds
     *         no copy.
     */
    int rank(int cacheId, int partition, int memberIndex);

    /**
     * @return true if every cache of the topology is covered, every partition has an owner list, and every plan is
     *         known.
     */
    boolean isComplete();
}
