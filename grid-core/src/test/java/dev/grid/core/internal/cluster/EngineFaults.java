package dev.grid.core.internal.cluster;

import dev.grid.core.KeyPartitioner;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.Engine;

/**
 * Faults planted in a member engine's copies for tests of the consistency check, as a bug or a disk fault would leave
 * them. Test code only (grid-core's test jar): production classes carry no such hooks.
 */
public final class EngineFaults
{
    private EngineFaults()
    {
    }

    /**
     * Change the engine's copy of a key without any counter. Call on the engine's thread.
     *
     * @param member  the member engine.
     * @param cacheId of the cache.
     * @param key     encoded key.
     * @param value   encoded value to put in place.
     */
    public static void corruptCopy(final Engine member, final int cacheId, final byte[] key, final byte[] value)
    {
        final MemberEngine engine = (MemberEngine)member;
        final CacheDescriptor cache = engine.context().topology().cache(cacheId);
        final LocalPartition lp = engine.context().localCopy(cacheId, KeyPartitioner.partition(key, cache.partitions()));
        lp.store.apply(key, value, lp.store.counterOf(key) + 1);
    }

    /**
     * Close a counter on the engine's copy that no update carried, as a rollback lost on one copy would. Call on the
     * engine's thread.
     *
     * @param member    the member engine.
     * @param cacheId   of the cache.
     * @param partition of the cache.
     */
    public static void corruptCounter(final Engine member, final int cacheId, final int partition)
    {
        final MemberEngine engine = (MemberEngine)member;
        final LocalPartition lp = engine.context().localCopy(cacheId, partition);
        lp.counter.rollback(lp.counter.highestClosed(), 1);
    }
}
