package dev.grid.core.engine;

import dev.grid.core.ErrorCode;
import java.util.List;

/**
 * Cluster administration through a member's engine ({@link Engine#admin}): caches created and destroyed,
 * baseline changes, activation of a cluster that waits for members that will not return, resets of lost
 * partitions; each goes through the coordinator and completes its callback with the outcome.
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
public interface EngineAdmin
{
    /**
     * Ask the coordinator to create a cache; the callback runs once every member installed the partition map that
     * includes it, so the first request finds a primary ready.
     *
     * @param descriptor of the cache, without an id.
     * @param callback   completion (the outcome carries nothing).
     */
    void createCache(CacheDescriptor descriptor, OpCallback callback);

    /**
     * Ask the coordinator to destroy a cache; destroying a cache that does not exist succeeds. Operations on the
     * cache in flight anywhere fail with {@link ErrorCode#CACHE_DESTROYED}.
     *
     * @param name     of the cache.
     * @param callback completion.
     */
    void destroyCache(String name, OpCallback callback);

    /**
     * Reset the lost partitions of a cache: the coordinator counts one more reset in the cache's descriptor and
     * publishes a new topology version, whose map serves them again from the copies they have (a returning owner's
     * data, if it came back; empty otherwise). Engine thread only.
     *
     * @param name     of the cache.
     * @param callback completed once the map without the lost flags is installed everywhere.
     */
    void resetLostPartitions(String name, OpCallback callback);

    /**
     * Change the baseline (see {@link Baseline}) through the coordinator, which validates the change against the
     * present members and publishes a new topology version with it. Engine thread only.
     *
     * @param change    {@code Baseline.SET}, {@code ADD}, {@code REMOVE} or {@code AUTO_ADJUST}.
     * @param ids       the members the change names.
     * @param timeoutNs the auto-adjust timeout ({@code AUTO_ADJUST} only); negative disables auto-adjust.
     * @param callback  completed once the new map is installed everywhere, or failed with
     *                  {@link ErrorCode#BASELINE_INVALID} naming what is wrong.
     */
    void changeBaseline(int change, List<String> ids, long timeoutNs, OpCallback callback);

    /**
     * Activate a cluster that waits for the members of the newest ownership table after a whole-cluster stop, without
     * those still away: the coordinator decides from that table with the members present, so a partition none of whose
     * last owners is here is LOST (and stays so until one returns or {@link #resetLostPartitions} accepts the loss),
     * and the others are served from their last owners' copies. For an operator whose member will never return.
     * Completes at once, changing nothing, if the cluster is active already. Engine thread only.
     *
     * @param callback completed once the map of that decision is installed everywhere.
     */
    void activate(OpCallback callback);
}
