package dev.grid.jcache;

import javax.cache.Cache;
import javax.cache.configuration.Factory;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.event.EventType;
import javax.cache.expiry.Duration;
import javax.cache.expiry.EternalExpiryPolicy;
import javax.cache.expiry.ExpiryPolicy;
import javax.cache.integration.CacheLoader;
import javax.cache.integration.CacheLoaderException;
import javax.cache.integration.CacheWriter;
import javax.cache.integration.CacheWriterException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The entries of one JCache cache as stored in its Grid cache, and the JCache rules every operation shares: keys and
 * values checked and serialized, expired entries removed when met, the expiry policy asked exactly when JCache says
 * (creation, access, update), the loader and writer called and their failures wrapped, and the listeners' events
 * built. Each write is a compare-and-set of the whole {@link StoredValue} on the key's primary, retried when another
 * writer came between the read and the write.
 * <p>
 * Thread-safe: holds no mutable state of its own; the user objects it calls must be thread-safe as JCache requires.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
final class EntryStore<K, V>
{
    /** An expiry duration of null: leave the entry's expiry as it is. */
    static final long NO_CHANGE = -1;

    private final Cache<K, V> cache;
    private final String name;
    private final MutableConfiguration<K, V> config;
    private final EntrySlots slots;
    private final Serialization serialization;
    private final ExpiryPolicy expiry;
    private final boolean eternal;
    private final CacheLoader<K, V> loader;
    private final CacheWriter<? super K, ? super V> writer;
    private final EntryListeners<K, V> listeners;

    EntryStore(final Cache<K, V> cache, final MutableConfiguration<K, V> config,
        final EntrySlots slots, final Serialization serialization,
        final EntryListeners<K, V> listeners)
    {
        this.cache = cache;
        this.name = cache.getName();
        this.config = config;
        this.slots = slots;
        this.serialization = serialization;
        this.listeners = listeners;
        final Factory<ExpiryPolicy> expiryFactory = config.getExpiryPolicyFactory();
        this.expiry = expiryFactory == null ? new EternalExpiryPolicy() : expiryFactory.create();
        this.eternal = expiry instanceof EternalExpiryPolicy;
        final Factory<CacheLoader<K, V>> loaderFactory = config.getCacheLoaderFactory();
        this.loader = loaderFactory == null ? null : loaderFactory.create();
        final Factory<CacheWriter<? super K, ? super V>> writerFactory = config.getCacheWriterFactory();
        this.writer = config.isWriteThrough() && writerFactory != null ? writerFactory.create() : null;
    }

    /** @return true if entries never expire (the expiry policy is JCache's eternal one). */
    boolean eternal()
    {
        return eternal;
    }

    /** @return the loader, or null if the cache has none. */
    CacheLoader<K, V> loader()
    {
        return loader;
    }

    /** @return the loader if the cache reads through, else null. */
    CacheLoader<K, V> readThroughLoader()
    {
        return config.isReadThrough() ? loader : null;
    }

    /** @return true if the cache writes through. */
    boolean writesThrough()
    {
        return writer != null;
    }

    /** @return the writer, or null if the cache does not write through. */
    CacheWriter<? super K, ? super V> writer()
    {
        return writer;
    }

    /** @return the user objects to close with the cache. */
    List<Object> closeables()
    {
        final List<Object> objects = new ArrayList<>(3);
        objects.add(loader);
        objects.add(writer);
        objects.add(expiry);
        return objects;
    }

    /** Add an event to an operation's events if anyone listens. */
    void emit(final List<GridCacheEntryEvent<K, V>> events, final EventType type, final K key, final V value,
        final V oldValue)
    {
        if (!listeners.isEmpty())
        {
            events.add(new GridCacheEntryEvent<>(cache, type, key, value, oldValue));
        }
    }

    /** What an operation that may write found and did: whether it stored, and the live value it found, if any. */
    record Stored<V>(boolean stored, V previous)
    {
    }

    /**
     * What an invocation already wrote through, so that a processor run again after a lost race does not tell the
     * writer the same thing twice. Not thread-safe: one invocation's.
     */
    static final class WrittenThrough
    {
        private InvokeEntry.Effect effect;
        private Object value;

        /** @return true if this write (or delete, with a null value) was not the last one written through. */
        boolean first(final InvokeEntry.Effect newEffect, final Object newValue)
        {
            if (newEffect == effect && java.util.Objects.equals(newValue, value))
            {
                return false;
            }
            effect = newEffect;
            value = newValue;
            return true;
        }
    }

    /** What a replace found and did, and the events it caused. */
    record Replaced<K, V>(boolean replaced, V previous, List<GridCacheEntryEvent<K, V>> events)
    {
    }

    /**
     * @param key a key of the cache's type.
     * @return its slot handle: its serialized form, or the key itself in a store-by-reference cache.
     */
    Object handle(final K key)
    {
        Objects.requireNonNull(key, "key");
        final Class<K> type = config.getKeyType();
        if (type != Object.class && !type.isInstance(key))
        {
            throw new ClassCastException("cache '" + name + "' holds keys of " + type.getName() + ", not " +
                key.getClass().getName());
        }
        return slots.byReference() ? key : serialization.encode(key, "key");
    }

    /**
     * @param value a value of the cache's type.
     * @return its serialized form, or null in a store-by-reference cache, which keeps the value itself.
     */
    byte[] valueBytes(final V value)
    {
        Objects.requireNonNull(value, "value");
        final Class<V> type = config.getValueType();
        if (type != Object.class && !type.isInstance(value))
        {
            throw new ClassCastException("cache '" + name + "' holds values of " + type.getName() + ", not " +
                value.getClass().getName());
        }
        return slots.byReference() ? null : serialization.encode(value, "value");
    }

    /** @return the stored form of a value: serialized, or the value itself in a store-by-reference cache. */
    private static StoredValue stored(final byte[] valueBytes, final Object value, final long expireAtMs)
    {
        return valueBytes == null ? StoredValue.reference(value, expireAtMs) :
            StoredValue.of(valueBytes, value, expireAtMs);
    }

    static void requireNoNulls(final Collection<?> items, final String what)
    {
        Objects.requireNonNull(items, what);
        for (final Object item : items)
        {
            Objects.requireNonNull(item, what + " holds null");
        }
    }

    @SuppressWarnings("unchecked")
    V value(final StoredValue stored)
    {
        return (V)stored.value(serialization);
    }

    @SuppressWarnings("unchecked")
    K key(final Object handle)
    {
        return slots.byReference() ? (K)handle : (K)serialization.decode((byte[])handle, 0);
    }

    /**
     * Read an entry; one that has expired is removed (if no one changed it meanwhile) and reported as EXPIRED.
     *
     * @return the live stored value, or null if there is none.
     */
    StoredValue readLive(final K key, final Object handle, final List<GridCacheEntryEvent<K, V>> events)
    {
        final StoredValue stored = slots.get(handle);
        return live(key, handle, stored, events);
    }

    /** @return the stored value if it is live; null, having removed it, if it has expired. */
    StoredValue live(final K key, final Object handle, final StoredValue stored,
        final List<GridCacheEntryEvent<K, V>> events)
    {
        if (stored == null || !stored.expiredAt(System.currentTimeMillis()))
        {
            return stored;
        }
        if (slots.remove(handle, stored) && !listeners.isEmpty())
        {
            final V value = value(stored);
            emit(events, EventType.EXPIRED, key, value, value);
        }
        return null;
    }

    /**
     * Apply the access expiry to an entry just read; a lost race with a writer leaves the writer's expiry. An access
     * that would move the expiry time later by less than a tenth of the duration (at most a second) writes nothing:
     * entries read all the time would otherwise be rewritten on every read, and make every writer of them retry.
     */
    void touch(final Object handle, final StoredValue stored)
    {
        final Duration duration = access();
        final long expireAtMs = expireAt(duration, System.currentTimeMillis());
        if (expireAtMs != NO_CHANGE && expireAtMs != stored.expireAtMs() && !duration.isZero() &&
            expireAtMs != StoredValue.ETERNAL && stored.expireAtMs() != StoredValue.ETERNAL &&
            expireAtMs > stored.expireAtMs() && expireAtMs - stored.expireAtMs() <
            Math.min(1_000, duration.getTimeUnit().toMillis(duration.getDurationAmount()) / 10))
        {
            return;
        }
        if (expireAtMs != NO_CHANGE && expireAtMs != stored.expireAtMs())
        {
            slots.replace(handle, stored, stored.withExpiry(expireAtMs));
        }
    }

    /**
     * Store a value whatever the entry holds, with the creation or update expiry.
     *
     * @return whether it was stored (not if the creation expiry is zero) and the live value it replaced.
     */
    Stored<V> store(final K key, final Object handle, final V value, final byte[] valueBytes,
        final List<GridCacheEntryEvent<K, V>> events)
    {
        if (eternal)
        {
            final StoredValue previous = slots.getAndPut(handle, stored(valueBytes, value, StoredValue.ETERNAL));
            final V old = previous == null ? null : value(previous);
            emit(events, old == null ? EventType.CREATED : EventType.UPDATED, key, value, old);
            return new Stored<>(true, old);
        }
        while (true)
        {
            final long nowMs = System.currentTimeMillis();
            final StoredValue stored = readLive(key, handle, events);
            if (stored == null)
            {
                final long expireAtMs = expireAt(creation(), nowMs);
                if (expireAtMs <= nowMs)
                {
                    return new Stored<>(false, null);
                }
                if (slots.putIfAbsent(handle, stored(valueBytes, value, expireAtMs)))
                {
                    emit(events, EventType.CREATED, key, value, null);
                    return new Stored<>(true, null);
                }
            }
            else
            {
                final long expireAtMs = updatedExpireAt(stored, nowMs);
                if (slots.replace(handle, stored, stored(valueBytes, value, expireAtMs)))
                {
                    final V old = value(stored);
                    emit(events, EventType.UPDATED, key, value, old);
                    return new Stored<>(true, old);
                }
            }
        }
    }

    /**
     * Store a value where the entry has none, written through first.
     *
     * @return whether it was stored (not if the creation expiry is zero) and the live value found instead, if any.
     */
    Stored<V> storeIfAbsent(final K key, final Object handle, final V value, final byte[] valueBytes,
        final List<GridCacheEntryEvent<K, V>> events)
    {
        boolean written = false;
        while (true)
        {
            final long nowMs = System.currentTimeMillis();
            final StoredValue stored = readLive(key, handle, events);
            if (stored != null)
            {
                return new Stored<>(false, value(stored));
            }
            if (!written)
            {
                write(key, value);
                written = true;
            }
            final long expireAtMs = expireAt(creation(), nowMs);
            if (expireAtMs <= nowMs)
            {
                return new Stored<>(false, null);
            }
            if (slots.putIfAbsent(handle, stored(valueBytes, value, expireAtMs)))
            {
                emit(events, EventType.CREATED, key, value, null);
                return new Stored<>(true, null);
            }
        }
    }

    /**
     * Apply what an entry processor did, unless the entry changed since it was read.
     *
     * @return the effect applied, or null if the entry changed and the processor must run again.
     */
    InvokeEntry.Effect apply(final Object handle, final StoredValue stored, final InvokeEntry<K, V> entry,
        final List<GridCacheEntryEvent<K, V>> events, final WrittenThrough writtenThrough)
    {
        final K key = entry.getKey();
        switch (entry.effect())
        {
        case NONE -> { }
        case ACCESSED -> touch(handle, stored);
        case LOADED -> storeLoaded(key, entry.value(), false, events);
        case DELETED_ABSENT ->
        {
            if (writtenThrough.first(InvokeEntry.Effect.REMOVED, null))
            {
                delete(key);
            }
        }
        case CREATED, UPDATED ->
        {
            final V value = entry.value();
            final byte[] valueBytes = valueBytes(value);
            if (writtenThrough.first(InvokeEntry.Effect.UPDATED, value))
            {
                write(key, value);
            }
            final long nowMs = System.currentTimeMillis();
            final long expireAtMs = stored == null ? expireAt(creation(), nowMs) : expireAt(update(), nowMs);
            final StoredValue next = stored(valueBytes, value,
                expireAtMs == NO_CHANGE ? stored.expireAtMs() : expireAtMs);
            if (stored == null && expireAtMs <= nowMs)
            {
                return InvokeEntry.Effect.NONE;
            }
            if (!(stored == null ? slots.putIfAbsent(handle, next) :
                slots.replace(handle, stored, next)))
            {
                return null;
            }
            emit(events, stored == null ? EventType.CREATED : EventType.UPDATED, key, value,
                stored == null ? null : entry.original());
        }
        case REMOVED ->
        {
            if (writtenThrough.first(InvokeEntry.Effect.REMOVED, null))
            {
                delete(key);
            }
            if (!slots.remove(handle, stored))
            {
                return null;
            }
            emit(events, EventType.REMOVED, key, entry.original(), entry.original());
        }
        default -> throw new IllegalStateException("unknown effect " + entry.effect());
        }
        return entry.effect();
    }

    /**
     * Store a value a loader returned: where there is none, or replacing the existing one if asked; never written
     * through.
     */
    void storeLoaded(final K key, final V value, final boolean replaceExisting,
        final List<GridCacheEntryEvent<K, V>> events)
    {
        final Object handle = handle(key);
        final byte[] valueBytes = valueBytes(value);
        while (true)
        {
            final long nowMs = System.currentTimeMillis();
            final StoredValue stored = readLive(key, handle, events);
            if (stored == null)
            {
                final long expireAtMs = expireAt(creation(), nowMs);
                if (expireAtMs <= nowMs ||
                    slots.putIfAbsent(handle, stored(valueBytes, value, expireAtMs)))
                {
                    if (expireAtMs > nowMs)
                    {
                        emit(events, EventType.CREATED, key, value, null);
                    }
                    return;
                }
            }
            else if (!replaceExisting)
            {
                return;
            }
            else
            {
                final long expireAtMs = updatedExpireAt(stored, nowMs);
                if (slots.replace(handle, stored, stored(valueBytes, value, expireAtMs)))
                {
                    emit(events, EventType.UPDATED, key, value, value(stored));
                    return;
                }
            }
        }
    }

    V loadAndStore(final K key, final Object handle, final List<GridCacheEntryEvent<K, V>> events)
    {
        final V value = load(loader, key);
        if (value != null)
        {
            storeLoaded(key, value, false, events);
        }
        return value;
    }

    /**
     * @return the live value removed, or null if there was none (an expired one removed is reported EXPIRED).
     */
    V removeStored(final K key, final Object handle, final List<GridCacheEntryEvent<K, V>> events)
    {
        final StoredValue removed = slots.getAndRemove(handle);
        if (removed == null)
        {
            return null;
        }
        final V value = value(removed);
        if (removed.expiredAt(System.currentTimeMillis()))
        {
            emit(events, EventType.EXPIRED, key, value, value);
            return null;
        }
        emit(events, EventType.REMOVED, key, value, value);
        return value;
    }

    /**
     * Replace a live entry's value, if it equals {@code expected} when that is not null.
     */
    Replaced<K, V> replaceLive(final K key, final Object handle, final V expected, final V value,
        final byte[] valueBytes)
    {
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>(1);
        boolean written = false;
        while (true)
        {
            final long nowMs = System.currentTimeMillis();
            final StoredValue stored = readLive(key, handle, events);
            if (stored == null)
            {
                return new Replaced<>(false, null, events);
            }
            final V current = value(stored);
            if (expected != null && !current.equals(expected))
            {
                touch(handle, stored);
                return new Replaced<>(false, current, events);
            }
            if (!written)
            {
                write(key, value);
                written = true;
            }
            final long expireAtMs = updatedExpireAt(stored, nowMs);
            if (slots.replace(handle, stored, stored(valueBytes, value, expireAtMs)))
            {
                emit(events, EventType.UPDATED, key, value, current);
                return new Replaced<>(true, current, events);
            }
        }
    }

    /**
     * @param loader to call.
     * @param key    to load.
     * @param <K>    the key type.
     * @param <V>    the value type.
     * @return the loaded value, or null.
     * @throws CacheLoaderException wrapping whatever the loader threw.
     */
    static <K, V> V load(final CacheLoader<K, V> loader, final K key)
    {
        try
        {
            return loader.load(key);
        }
        catch (final CacheLoaderException ex)
        {
            throw ex;
        }
        catch (final Exception ex)
        {
            throw new CacheLoaderException("loading key " + key + " failed: " + ex, ex);
        }
    }

    static <K, V> Map<K, V> loadAll(final CacheLoader<K, V> loader, final Set<K> keys)
    {
        if (keys.isEmpty())
        {
            return Map.of();
        }
        try
        {
            final Map<K, V> loaded = loader.loadAll(keys);
            return loaded == null ? Map.of() : loaded;
        }
        catch (final CacheLoaderException ex)
        {
            throw ex;
        }
        catch (final Exception ex)
        {
            throw new CacheLoaderException("loading " + keys.size() + " keys failed: " + ex, ex);
        }
    }

    /** Write through, if the cache does. */
    void write(final K key, final V value)
    {
        if (writer != null)
        {
            try
            {
                writer.write(new GridCacheEntry<>(key, value));
            }
            catch (final Exception ex)
            {
                throw writerException(ex);
            }
        }
    }

    /** Delete through, if the cache writes through. */
    void delete(final K key)
    {
        if (writer != null)
        {
            try
            {
                writer.delete(key);
            }
            catch (final Exception ex)
            {
                throw writerException(ex);
            }
        }
    }

    static CacheWriterException writerException(final Exception ex)
    {
        return ex instanceof CacheWriterException cwe ? cwe :
            new CacheWriterException("the cache writer failed: " + ex, ex);
    }

    /** @return when an entry updated now expires: the update duration from now, or its expiry as it stands. */
    private long updatedExpireAt(final StoredValue stored, final long nowMs)
    {
        final long update = expireAt(update(), nowMs);
        return update == NO_CHANGE ? stored.expireAtMs() : update;
    }

    Duration creation()
    {
        try
        {
            final Duration duration = expiry.getExpiryForCreation();
            return duration == null ? Duration.ETERNAL : duration;
        }
        catch (final RuntimeException ex)
        {
            return Duration.ETERNAL;
        }
    }

    Duration update()
    {
        try
        {
            return expiry.getExpiryForUpdate();
        }
        catch (final RuntimeException ex)
        {
            return null;
        }
    }

    Duration access()
    {
        try
        {
            return expiry.getExpiryForAccess();
        }
        catch (final RuntimeException ex)
        {
            return null;
        }
    }

    /** @return epoch milliseconds a duration from now ends at, {@link StoredValue#ETERNAL}, or NO_CHANGE for null. */
    static long expireAt(final Duration duration, final long nowMs)
    {
        if (duration == null)
        {
            return NO_CHANGE;
        }
        if (duration.isEternal())
        {
            return StoredValue.ETERNAL;
        }
        return duration.isZero() ? nowMs : duration.getAdjustedTime(nowMs);
    }
}
