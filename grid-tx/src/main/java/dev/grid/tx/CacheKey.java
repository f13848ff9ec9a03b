package dev.grid.tx;

import java.util.Arrays;

/**
 * An encoded key of a cache, compared by content: the key of lock tables and of a transaction's read and write sets.
 * Immutable as long as nobody changes the array it wraps (its holders never do).
 */
public final class CacheKey
{
    private final int cacheId;
    private final byte[] key;
    private final int hash;

    /**
     * @param cacheId the cache.
     * @param key     the encoded key; not copied.
     */
    public CacheKey(final int cacheId, final byte[] key)
    {
        this.cacheId = cacheId;
        this.key = key;
        this.hash = 31 * cacheId + Arrays.hashCode(key);
    }

    /**
     * @return the cache.
     */
    public int cacheId()
    {
        return cacheId;
    }

    /**
     * @return the encoded key (not a copy).
     */
    public byte[] key()
    {
        return key;
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof CacheKey other && other.cacheId == cacheId && Arrays.equals(other.key, key);
    }

    @Override
    public int hashCode()
    {
        return hash;
    }
}
