package dev.grid.jcache;

import javax.cache.Cache;
import javax.cache.event.CacheEntryEvent;
import javax.cache.event.EventType;

/**
 * One change of a JCache entry as its listeners see it. For REMOVED and EXPIRED events the value is the value the
 * entry had (JCache 1.1), and the old value is the value before an update or removal when the listener asked for
 * old values. Immutable.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
final class GridCacheEntryEvent<K, V> extends CacheEntryEvent<K, V>
{
    private static final long serialVersionUID = 1L;

    private final K key;
    private final V value;
    private final V oldValue;

    GridCacheEntryEvent(final Cache<K, V> source, final EventType type, final K key, final V value, final V oldValue)
    {
        super(source, type);
        this.key = key;
        this.value = value;
        this.oldValue = oldValue;
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
    public V getOldValue()
    {
        return oldValue;
    }

    @Override
    public boolean isOldValueAvailable()
    {
        return oldValue != null;
    }

    /**
     * @return the same event without its old value, for a listener that did not ask for old values.
     */
    GridCacheEntryEvent<K, V> withoutOldValue()
    {
        if (oldValue == null || getEventType() == EventType.REMOVED || getEventType() == EventType.EXPIRED)
        {
            return this;
        }
        return new GridCacheEntryEvent<>(getSource(), getEventType(), key, value, null);
    }

    @Override
    public <T> T unwrap(final Class<T> clazz)
    {
        if (clazz.isInstance(this))
        {
            return clazz.cast(this);
        }
        throw new IllegalArgumentException("a cache entry event unwraps to " + getClass().getName() + ", not " +
            clazz.getName());
    }
}
