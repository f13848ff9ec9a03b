package dev.grid.core;

import java.util.List;

/**
 * The live entries of a partition copy the cluster this member joins cannot take in: a recovered copy of a cache the
 * cluster does not have (another cluster's cache of that name, after two clusters that formed apart merged, or a
 * cache destroyed while this member was away), or an in-memory member's copy as its cluster dissolves into another.
 * The member drops such a copy, but hands it to {@code EngineListener.onCopyKept} first, so that nothing it held is
 * dropped silently: an operator decides what to write back. Immutable; the arrays are the store's and nobody changes
 * them.
 *
 * @param cacheName      the copy's cache, as this member knew it.
 * @param cacheId        that cache's id in this member's former cluster.
 * @param keyCodec       the cache's key codec name (how to decode the keys).
 * @param valueCodec     the cache's value codec name.
 * @param partition      the copy's partition.
 * @param highestCounter the highest update counter the copy applied.
 * @param reason         why the cluster cannot take it in.
 * @param keys           encoded keys of the live entries, in key order.
 * @param values         encoded values, one per key.
 */
public record KeptCopy(String cacheName, int cacheId, String keyCodec, String valueCodec, int partition,
    long highestCounter, String reason, List<byte[]> keys, List<byte[]> values)
{
    /**
     * @param keys   copied into an unmodifiable list.
     * @param values copied into an unmodifiable list, as many as keys.
     */
    public KeptCopy
    {
        keys = List.copyOf(keys);
        values = List.copyOf(values);
        if (keys.size() != values.size())
        {
            throw new IllegalArgumentException(keys.size() + " keys but " + values.size() + " values");
        }
    }
}
