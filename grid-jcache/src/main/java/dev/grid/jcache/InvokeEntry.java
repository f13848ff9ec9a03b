package dev.grid.jcache;

import javax.cache.integration.CacheLoader;
import javax.cache.processor.MutableEntry;
import java.util.Objects;

/**
 * The entry an {@code EntryProcessor} works on: it starts from the value read from the grid and records what the
 * processor did to it, so the cache can apply the net effect in one compare-and-set afterwards. Not thread-safe: one
 * processor uses it on one thread.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
final class InvokeEntry<K, V> implements MutableEntry<K, V>
{
    /** What the processor's calls amount to, as far as the store is concerned. */
    enum Effect
    {
        /** Nothing read or written. */
        NONE,
        /** The existing value was read. */
        ACCESSED,
        /** An absent value was read through the loader and should be stored as loaded. */
        LOADED,
        /** A value was set where there was none. */
        CREATED,
        /** An existing value was replaced. */
        UPDATED,
        /** The existing value was removed. */
        REMOVED,
        /** An absent value was removed: nothing to store, but the writer is told to delete. */
        DELETED_ABSENT
    }

    private final K key;
    private final V original;
    private final CacheLoader<K, V> loader;
    private V value;
    private Effect effect = Effect.NONE;
    private boolean loadTried;

    /**
     * @param key      of the entry.
     * @param original its value in the grid, or null if absent.
     * @param loader   to read an absent value through, or null when the cache does not read through.
     */
    InvokeEntry(final K key, final V original, final CacheLoader<K, V> loader)
    {
        this.key = key;
        this.original = original;
        this.loader = loader;
        this.value = original;
    }

    @Override
    public K getKey()
    {
        return key;
    }

    @Override
    public V getValue()
    {
        if (value == null && effect == Effect.NONE && loader != null && !loadTried)
        {
            loadTried = true;
            value = EntryStore.load(loader, key);
            if (value != null)
            {
                effect = Effect.LOADED;
            }
        }
        else if (value != null && effect == Effect.NONE)
        {
            effect = Effect.ACCESSED;
        }
        return value;
    }

    @Override
    public boolean exists()
    {
        return value != null;
    }

    @Override
    public void remove()
    {
        final boolean createdHere = effect == Effect.CREATED;
        value = null;
        effect = original != null ? Effect.REMOVED : createdHere ? Effect.NONE : Effect.DELETED_ABSENT;
    }

    @Override
    public void setValue(final V newValue)
    {
        value = Objects.requireNonNull(newValue, "value");
        effect = original != null ? Effect.UPDATED : Effect.CREATED;
    }

    @Override
    public <T> T unwrap(final Class<T> clazz)
    {
        if (clazz.isInstance(this))
        {
            return clazz.cast(this);
        }
        throw new IllegalArgumentException("an invoked entry unwraps to " + getClass().getName() + ", not " +
            clazz.getName());
    }

    /**
     * @return what the processor did.
     */
    Effect effect()
    {
        return effect;
    }

    /**
     * @return the value the processor left, or null if it left none.
     */
    V value()
    {
        return value;
    }

    /**
     * @return the value the entry had in the grid before the processor ran, or null.
     */
    V original()
    {
        return original;
    }
}
