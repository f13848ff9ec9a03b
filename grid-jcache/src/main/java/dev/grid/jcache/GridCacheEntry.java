package dev.grid.jcache;

import javax.cache.Cache;

/**
 * A key and value as a JCache iterator or {@code getAll} hands them out: a copy, so changing it changes nothing
 * stored. Immutable.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
public final class GridCacheEntry<K, V> implements Cache.Entry<K, V>
{
    private final K key;
    private final V value;

    GridCacheEntry(final K key, final V value)
    {
        this.key = key;
        this.value = value;
    }

    @Override
    public K getKey()
    {
        return key;
    }

    @Override
    public V getValue()
    {
        return value;
    }

    @Override
    public <T> T unwrap(final Class<T> clazz)
    {
        if (clazz.isInstance(this))
        {
            return clazz.cast(this);
        }
        throw new IllegalArgumentException("a cache entry unwraps to " + getClass().getName() + ", not " +
            clazz.getName());
    }

    @Override
    public String toString()
    {
        return key + "=" + value;
    }
}
