package dev.grid.core.internal.cluster;

import dev.grid.core.ErrorCode;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.EngineAdmin;
import dev.grid.core.engine.OpCallback;

import java.util.List;

/**
 * Cluster administration through a member's engine ({@link Engine#admin}): caches created and destroyed,
 * baseline changes, activation of a cluster that waits for members that will not return, resets of lost
 * partitions; each goes through the coordinator and completes its callback with the outcome.
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
final class AdminFacade implements EngineAdmin
{
    private final MemberContext context;

    AdminFacade(final MemberContext context)
    {
        this.context = context;
    }

    /**
     * Ask the coordinator to create a cache; the callback runs once every member installed the partition map that
     * includes it, so the first request finds a primary ready.
     *
     * @param descriptor of the cache, without an id.
     * @param callback   completion (the outcome carries nothing).
     */
    public void createCache(final CacheDescriptor descriptor, final OpCallback callback)
    {
        context.cacheAdmin().createCache(descriptor, callback);
    }

    /**
     * Ask the coordinator to destroy a cache; destroying a cache that does not exist succeeds. Operations on the
     * cache in flight anywhere fail with {@link ErrorCode#CACHE_DESTROYED}.
     *
     * @param name     of the cache.
     * @param callback completion.
     */
    public void destroyCache(final String name, final OpCallback callback)
    {
        context.cacheAdmin().destroyCache(name, callback);
    }

    /**
     * Reset the lost partitions of a cache: the coordinator counts one more reset in the cache's descriptor and
     * publishes a new topology version, whose map serves them again from the copies they have (a returning owner's
     * data, if it came back; empty otherwise). Engine thread only.
     *
     * @param name     of the cache.
     * @param callback completed once the map without the lost flags is installed everywhere.
     */
    public void resetLostPartitions(final String name, final OpCallback callback)
    {
        context.cacheAdmin().resetLostPartitions(name, callback);
    }

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
    public void changeBaseline(final int change, final List<String> ids, final long timeoutNs,
        final OpCallback callback)
    {
        context.cacheAdmin().changeBaseline(change, ids, timeoutNs, callback);
    }

    /**
     * Activate a cluster that waits for the members of the newest ownership table after a whole-cluster stop, without
     * those still away: the coordinator decides from that table with the members present, so a partition none of whose
     * last owners is here is LOST (and stays so until one returns or {@link #resetLostPartitions} accepts the loss),
     * and the others are served from their last owners' copies. For an operator whose member will never return.
     * Completes at once, changing nothing, if the cluster is active already. Engine thread only.
     *
     * @param callback completed once the map of that decision is installed everywhere.
     */
    public void activate(final OpCallback callback)
    {
        context.cacheAdmin().activate(callback);
    }
}
