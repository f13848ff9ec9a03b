package dev.grid.core;

import java.util.Objects;

/**
 * How an in-memory cache stays within its size: at most {@code maxEntries} live entries and {@code maxBytes} accounted
 * bytes (its entries by the stores' formula, tombstones included) per member, counted over the partitions a member
 * holds as primary and spread evenly over them (each partition's primary holds at most its share: the bound times the
 * members over the partitions). When a write takes a partition over its share, the primary evicts entries chosen by a
 * sampled policy (the least recently or least often used of a sample of 16), as counted removes replicated to every
 * copy, so copies stay equal. The member-wide memory bound ({@link MemberConfiguration#cacheMemoryMaxBytes}) also
 * evicts from such caches before it refuses writes.
 * <p>
 * Persistent members never evict acknowledged data: a cache with an eviction policy cannot be created on them, and
 * their caches refuse writes at the memory bound ({@link ErrorCode#MEMORY_BOUND_EXCEEDED}). Immutable.
 *
 * @param kind       how entries to evict are chosen.
 * @param maxEntries live entries per member, or 0 for no bound by count.
 * @param maxBytes   accounted bytes per member, or 0 for no bound by bytes.
 */
public record EvictionPolicy(Kind kind, long maxEntries, long maxBytes)
{
    /** How entries to evict are chosen, among a sample. */
    public enum Kind
    {
        /** The least recently used (read or written on the primary). */
        LRU,
        /** The least often used since it was last written or its primary took over. */
        LFU
    }

    /**
     * @throws InvalidConfigurationException if neither bound is set or one is negative.
     */
    public EvictionPolicy
    {
        Objects.requireNonNull(kind, "kind must not be null");
        if (maxEntries < 0 || maxBytes < 0 || maxEntries == 0 && maxBytes == 0)
        {
            throw new InvalidConfigurationException("eviction policy " + kind + " needs maxEntries or maxBytes " +
                "positive (and neither negative), got " + maxEntries + " entries and " + maxBytes + " bytes");
        }
    }

    /** @return a policy evicting the least recently used entries beyond {@code maxEntries} per member. */
    public static EvictionPolicy lru(final long maxEntries)
    {
        return new EvictionPolicy(Kind.LRU, maxEntries, 0);
    }

    /** @return a policy evicting the least often used entries beyond {@code maxEntries} per member. */
    public static EvictionPolicy lfu(final long maxEntries)
    {
        return new EvictionPolicy(Kind.LFU, maxEntries, 0);
    }

    /** @return this policy bounded by accounted bytes per member too. */
    public EvictionPolicy maxBytes(final long bytes)
    {
        return new EvictionPolicy(kind, maxEntries, bytes);
    }
}
