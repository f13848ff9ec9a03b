package dev.grid.jcache;

import javax.cache.Cache;
import javax.cache.CacheException;
import javax.cache.CacheManager;
import javax.cache.configuration.CacheEntryListenerConfiguration;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.Configuration;
import javax.cache.configuration.Factory;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.event.EventType;
import javax.cache.expiry.Duration;
import javax.cache.expiry.EternalExpiryPolicy;
import javax.cache.expiry.ExpiryPolicy;
import javax.cache.integration.CacheLoader;
import javax.cache.integration.CacheLoaderException;
import javax.cache.integration.CacheWriter;
import javax.cache.integration.CacheWriter;
import javax.cache.integration.CacheWriterException;
import javax.cache.integration.CompletionListener;
import javax.cache.processor.EntryProcessor;
import javax.cache.processor.EntryProcessorException;
import javax.cache.processor.EntryProcessorResult;
import javax.management.ObjectName;
import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A JCache cache over a Grid cache of byte-array keys and values. Keys and values are stored serialized
 * ({@link Serialization}, store-by-value) with the entry's expiry time ({@link StoredValue}); each JCache operation is
 * a read and a compare-and-set on the key's primary, retried if another writer came between, so it is atomic per key
 * with the grid's guarantees (synchronous backups, update counters, the WAL). A cache with the default eternal expiry
 * writes in one round trip ({@code getAndPut}) instead.
 * <p>
 * User code runs in this JVM, never on members: the {@code ExpiryPolicy}, {@code CacheLoader}, {@code CacheWriter},
 * listeners and entry processors (a processor may run again if its entry changed while it ran). Listeners and
 * statistics see the operations made through this cache manager.
 * <p>
 * Thread-safe.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
public final class GridCache<K, V> implements Cache<K, V>
{
    private final GridCacheManager manager;
    private final String name;
    private final MutableConfiguration<K, V> config;
    private final dev.grid.core.Cache<byte[], byte[]> grid;
    private final EntrySlots slots;
    private final EntryListeners<K, V> listeners;
    private final EntryStore<K, V> entries;
    private final GridCacheStatistics statistics = new GridCacheStatistics();
    private final GridCacheMXBean mxBean = new GridCacheMXBean(this);
    private volatile boolean closed;
    private java.util.concurrent.Future<?> sweep;

    GridCache(final GridCacheManager manager, final String name, final MutableConfiguration<K, V> config,
        final dev.grid.core.Cache<byte[], byte[]> grid, final Serialization serialization)
    {
        this.manager = manager;
        this.name = name;
        this.config = config;
        this.grid = grid;
        this.listeners = new EntryListeners<>(name);
        this.slots = grid == null ? EntrySlots.local() : EntrySlots.grid(grid);
        this.entries = new EntryStore<>(this, config, slots, serialization, listeners);
        for (final CacheEntryListenerConfiguration<K, V> listener : config.getCacheEntryListenerConfigurations())
        {
            listeners.register(listener);
        }
    }

    /** Register the MBeans the configuration asks for. */
    void start()
    {
        setManagementEnabled(config.isManagementEnabled());
        setStatisticsEnabled(config.isStatisticsEnabled());
        if (!entries.eternal())
        {
            sweep = manager.scheduleSweep(this::sweep);
        }
    }

    /**
     * Remove the entries that have expired, reporting each as EXPIRED. Entries are otherwise removed only when an
     * operation meets them, so without this an entry never read again after its life would stay in the grid.
     */
    void sweep()
    {
        if (isClosed())
        {
            return;
        }
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>();
        try (EntrySlots.Cursor cursor = slots.scan())
        {
            final long nowMs = System.currentTimeMillis();
            while (cursor.hasNext())
            {
                final Map.Entry<Object, StoredValue> entry = cursor.next();
                if (entry.getValue().expiredAt(nowMs))
                {
                    entries.live(entries.key(entry.getKey()), entry.getKey(), entry.getValue(), events);
                }
            }
        }
        listeners.dispatch(events);
    }

    // ---------------------------------------------------------------------------------------------- reads

    @Override
    public V get(final K key)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        final Object handle = entries.handle(key);
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>(0);
        final V value = getLive(key, handle, events);
        countGet(startNs);
        listeners.dispatch(events);
        return value;
    }

    /** A get: counts a hit or a miss, applies the access expiry, reads through on a miss. */
    private V getLive(final K key, final Object handle, final List<GridCacheEntryEvent<K, V>> events)
    {
        final StoredValue stored = entries.readLive(key, handle, events);
        if (stored == null)
        {
            countMisses(1);
            return entries.readThroughLoader() != null ? entries.loadAndStore(key, handle, events) : null;
        }
        countHits(1);
        entries.touch(handle, stored);
        return entries.value(stored);
    }

    @Override
    public Map<K, V> getAll(final Set<? extends K> keys)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        EntryStore.requireNoNulls(keys, "keys");
        final Map<K, V> result = new LinkedHashMap<>();
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>(0);
        final Set<K> missing = new LinkedHashSet<>();
        for (final K key : keys)
        {
            final Object handle = entries.handle(key);
            final StoredValue stored = entries.readLive(key, handle, events);
            if (stored == null)
            {
                missing.add(key);
                countMisses(1);
            }
            else
            {
                countHits(1);
                entries.touch(handle, stored);
                result.put(key, entries.value(stored));
            }
        }
        if (!missing.isEmpty() && entries.readThroughLoader() != null)
        {
            for (final Map.Entry<K, V> loaded : EntryStore.loadAll(entries.loader(), missing).entrySet())
            {
                if (loaded.getKey() != null && loaded.getValue() != null)
                {
                    entries.storeLoaded(loaded.getKey(), loaded.getValue(), false, events);
                    result.put(loaded.getKey(), loaded.getValue());
                }
            }
        }
        if (statisticsEnabled())
        {
            statistics.getTime((System.nanoTime() - startNs) / Math.max(1, keys.size()) * keys.size());
        }
        listeners.dispatch(events);
        return result;
    }

    @Override
    public boolean containsKey(final K key)
    {
        checkOpen();
        final StoredValue stored = slots.get(entries.handle(key));
        return stored != null && !stored.expiredAt(System.currentTimeMillis());
    }

    @Override
    public void loadAll(final Set<? extends K> keys, final boolean replaceExistingValues,
        final CompletionListener completionListener)
    {
        checkOpen();
        EntryStore.requireNoNulls(keys, "keys");
        if (entries.loader() == null)
        {
            if (completionListener != null)
            {
                completionListener.onCompletion();
            }
            return;
        }
        CompletableFuture.runAsync(() ->
        {
            try
            {
                final Set<K> toLoad = new LinkedHashSet<>();
                for (final K key : keys)
                {
                    if (replaceExistingValues || !containsKey(key))
                    {
                        toLoad.add(key);
                    }
                }
                final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>();
                for (final Map.Entry<K, V> loaded : EntryStore.loadAll(entries.loader(), toLoad).entrySet())
                {
                    if (loaded.getKey() != null && loaded.getValue() != null)
                    {
                        entries.storeLoaded(loaded.getKey(), loaded.getValue(), replaceExistingValues, events);
                    }
                }
                listeners.dispatch(events);
                if (completionListener != null)
                {
                    completionListener.onCompletion();
                }
            }
            catch (final Exception ex)
            {
                if (completionListener != null)
                {
                    completionListener.onException(ex);
                }
            }
        });
    }

    // ---------------------------------------------------------------------------------------------- writes

    @Override
    public void put(final K key, final V value)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        final Object handle = entries.handle(key);
        final byte[] valueBytes = entries.valueBytes(value);
        entries.write(key, value);
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>(1);
        if (entries.store(key, handle, value, valueBytes, events).stored())
        {
            countPut(startNs);
        }
        listeners.dispatch(events);
    }

    @Override
    public V getAndPut(final K key, final V value)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        final Object handle = entries.handle(key);
        final byte[] valueBytes = entries.valueBytes(value);
        entries.write(key, value);
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>(1);
        final EntryStore.Stored<V> stored = entries.store(key, handle, value, valueBytes, events);
        if (stored.previous() == null)
        {
            countMisses(1);
        }
        else
        {
            countHits(1);
        }
        countGet(startNs);
        if (stored .stored())
        {
            countPut(startNs);
        }
        listeners.dispatch(events);
        return stored.previous();
    }

    @Override
    public void putAll(final Map<? extends K, ? extends V> map)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        Objects.requireNonNull(map, "map");
        final Map<K, byte[]> valueBytes = new LinkedHashMap<>();
        final Map<K, Object> handles = new HashMap<>();
        for (final Map.Entry<? extends K, ? extends V> entry : map.entrySet())
        {
            handles.put(entry.getKey(), entries.handle(entry.getKey()));
            valueBytes.put(entry.getKey(), entries.valueBytes(entry.getValue()));
        }
        CacheWriterException failure = null;
        Collection<? extends K> written = map.keySet();
        if (this.entries.writesThrough())
        {
            final List<Cache.Entry<? extends K, ? extends V>> entries = new ArrayList<>(map.size());
            map.forEach((k, v) -> entries.add(new GridCacheEntry<>(k, v)));
            try
            {
                writeAll(this.entries.writer(), entries);
            }
            catch (final Exception ex)
            {
                failure = EntryStore.writerException(ex);
                final Set<K> unwritten = new java.util.HashSet<>();
                entries.forEach(e -> unwritten.add(e.getKey()));
                final List<K> done = new ArrayList<>(map.keySet());
                done.removeAll(unwritten);
                written = done;
            }
        }
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>(map.size());
        int puts = 0;
        for (final K key : written)
        {
            if (entries.store(key, handles.get(key), map.get(key), valueBytes.get(key), events).stored())
            {
                puts++;
            }
        }
        if (statisticsEnabled())
        {
            statistics.puts(puts);
            statistics.putTime(System.nanoTime() - startNs);
        }
        listeners.dispatch(events);
        if (failure != null)
        {
            throw failure;
        }
    }

    @Override
    public boolean putIfAbsent(final K key, final V value)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        final Object handle = entries.handle(key);
        final byte[] valueBytes = entries.valueBytes(value);
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>(1);
        final EntryStore.Stored<V> stored = entries.storeIfAbsent(key, handle, value, valueBytes, events);
        if (stored.previous() == null)
        {
            countMisses(1);
        }
        else
        {
            countHits(1);
        }
        if (stored.stored())
        {
            countPut(startNs);
        }
        listeners.dispatch(events);
        return stored.stored();
    }

    @Override
    public boolean remove(final K key)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        final Object handle = entries.handle(key);
        entries.delete(key);
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>(1);
        final boolean removed = entries.removeStored(key, handle, events) != null;
        if (removed)
        {
            countRemove(startNs);
        }
        listeners.dispatch(events);
        return removed;
    }

    @Override
    public boolean remove(final K key, final V oldValue)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        final Object handle = entries.handle(key);
        entries.valueBytes(oldValue);
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>(1);
        boolean deleted = false;
        while (true)
        {
            final StoredValue stored = entries.readLive(key, handle, events);
            if (stored == null)
            {
                countMisses(1);
                listeners.dispatch(events);
                return false;
            }
            final V current = entries.value(stored);
            if (!current.equals(oldValue))
            {
                countHits(1);
                entries.touch(handle, stored);
                listeners.dispatch(events);
                return false;
            }
            if (!deleted)
            {
                entries.delete(key);
                deleted = true;
            }
            if (slots.remove(handle, stored))
            {
                entries.emit(events, EventType.REMOVED, key, current, current);
                break;
            }
        }
        countHits(1);
        countRemove(startNs);
        listeners.dispatch(events);
        return true;
    }

    @Override
    public V getAndRemove(final K key)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        final Object handle = entries.handle(key);
        entries.delete(key);
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>(1);
        final V removed = entries.removeStored(key, handle, events);
        if (removed != null)
        {
            countHits(1);
            countRemove(startNs);
        }
        else
        {
            countMisses(1);
        }
        countGet(startNs);
        listeners.dispatch(events);
        return removed;
    }

    @Override
    public boolean replace(final K key, final V oldValue, final V newValue)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        final Object handle = entries.handle(key);
        entries.valueBytes(oldValue);
        final byte[] newBytes = entries.valueBytes(newValue);
        final EntryStore.Replaced<K, V> replaced = entries.replaceLive(key, handle, oldValue, newValue, newBytes);
        if (replaced.previous() == null)
        {
            countMisses(1);
        }
        else
        {
            countHits(1);
        }
        if (replaced.replaced())
        {
            countPut(startNs);
        }
        listeners.dispatch(replaced.events());
        return replaced.replaced();
    }

    @Override
    public boolean replace(final K key, final V value)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        return replaceCounted(key, value, startNs).replaced();
    }

    @Override
    public V getAndReplace(final K key, final V value)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        final EntryStore.Replaced<K, V> replaced = replaceCounted(key, value, startNs);
        countGet(startNs);
        return replaced.previous();
    }

    /** Replace a live entry's value whatever it is: counted (a hit and a put, or a miss) and its events delivered. */
    private EntryStore.Replaced<K, V> replaceCounted(final K key, final V value, final long startNs)
    {
        final Object handle = entries.handle(key);
        final byte[] valueBytes = entries.valueBytes(value);
        final EntryStore.Replaced<K, V> replaced = entries.replaceLive(key, handle, null, value, valueBytes);
        if (replaced.replaced())
        {
            countHits(1);
            countPut(startNs);
        }
        else
        {
            countMisses(1);
        }
        listeners.dispatch(replaced.events());
        return replaced;
    }

    @Override
    public void removeAll(final Set<? extends K> keys)
    {
        final long startNs = System.nanoTime();
        checkOpen();
        EntryStore.requireNoNulls(keys, "keys");
        final Map<K, Object> handles = new LinkedHashMap<>();
        for (final K key : keys)
        {
            handles.put(key, entries.handle(key));
        }
        removeKeys(handles, startNs);
    }

    @Override
    public void removeAll()
    {
        final long startNs = System.nanoTime();
        checkOpen();
        final Map<K, Object> handles = new LinkedHashMap<>();
        try (EntrySlots.Cursor cursor = slots.scan())
        {
            while (cursor.hasNext())
            {
                final Map.Entry<Object, StoredValue> entry = cursor.next();
                if (!entry.getValue().expiredAt(System.currentTimeMillis()))
                {
                    handles.put(entries.key(entry.getKey()), entry.getKey());
                }
            }
        }
        removeKeys(handles, startNs);
    }

    private void removeKeys(final Map<K, Object> handles, final long startNs)
    {
        CacheWriterException failure = null;
        Collection<K> deleted = handles.keySet();
        if (entries.writesThrough() && !handles.isEmpty())
        {
            final Collection<Object> toDelete = new ArrayList<>(handles.keySet());
            try
            {
                entries.writer().deleteAll(toDelete);
            }
            catch (final Exception ex)
            {
                failure = EntryStore.writerException(ex);
                final List<K> done = new ArrayList<>(handles.keySet());
                done.removeAll(toDelete);
                deleted = done;
            }
        }
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>();
        int removals = 0;
        for (final K key : deleted)
        {
            if (entries.removeStored(key, handles.get(key), events) != null)
            {
                removals++;
            }
        }
        if (statisticsEnabled())
        {
            statistics.removals(removals);
            statistics.removeTime(System.nanoTime() - startNs);
        }
        listeners.dispatch(events);
        if (failure != null)
        {
            throw failure;
        }
    }

    @Override
    public void clear()
    {
        checkOpen();
        slots.clear();
    }

    // ---------------------------------------------------------------------------------------------- processors

    @Override
    public <T> T invoke(final K key, final EntryProcessor<K, V, T> entryProcessor, final Object... arguments)
    {
        checkOpen();
        final Object handle = entries.handle(key);
        Objects.requireNonNull(entryProcessor, "entryProcessor");
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>(1);
        final EntryStore.WrittenThrough writtenThrough = new EntryStore.WrittenThrough();
        while (true)
        {
            final long startNs = System.nanoTime();
            final StoredValue stored = entries.readLive(key, handle, events);
            final InvokeEntry<K, V> entry = new InvokeEntry<>(key, stored == null ? null : entries.value(stored),
                entries.readThroughLoader());
            final T result;
            try
            {
                result = entryProcessor.process(entry, arguments);
            }
            catch (final CacheException ex)
            {
                throw ex;
            }
            catch (final Exception ex)
            {
                throw new EntryProcessorException(ex);
            }
            final InvokeEntry.Effect applied = entries.apply(handle, stored, entry, events, writtenThrough);
            if (applied != null)
            {
                if (stored == null)
                {
                    countMisses(1);
                }
                else
                {
                    countHits(1);
                }
                if (applied == InvokeEntry.Effect.CREATED || applied == InvokeEntry.Effect.UPDATED)
                {
                    countPut(startNs);
                }
                else if (applied == InvokeEntry.Effect.REMOVED)
                {
                    countRemove(startNs);
                }
                listeners.dispatch(events);
                return result;
            }
        }
    }

    @Override
    public <T> Map<K, EntryProcessorResult<T>> invokeAll(final Set<? extends K> keys,
        final EntryProcessor<K, V, T> entryProcessor, final Object... arguments)
    {
        checkOpen();
        EntryStore.requireNoNulls(keys, "keys");
        Objects.requireNonNull(entryProcessor, "entryProcessor");
        final Map<K, EntryProcessorResult<T>> results = new LinkedHashMap<>();
        for (final K key : keys)
        {
            try
            {
                final T result = invoke(key, entryProcessor, arguments);
                if (result != null)
                {
                    results.put(key, () -> result);
                }
            }
            catch (final CacheException ex)
            {
                // One key's failure (its processor, its writer) is that key's result; the other keys still run.
                final EntryProcessorException failure = ex instanceof EntryProcessorException epe ? epe :
                    new EntryProcessorException(ex);
                results.put(key, () ->
                {
                    throw failure;
                });
            }
        }
        return results;
    }

    // ---------------------------------------------------------------------------------------------- the rest

    @Override
    public String getName()
    {
        return name;
    }

    @Override
    public CacheManager getCacheManager()
    {
        return manager;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <C extends Configuration<K, V>> C getConfiguration(final Class<C> clazz)
    {
        synchronized (config)
        {
            if (clazz.isInstance(config))
            {
                return clazz.cast(new MutableConfiguration<>(config));
            }
        }
        throw new IllegalArgumentException("a Grid JCache configuration is a " + MutableConfiguration.class.getName() +
            ", not a " + clazz.getName());
    }

    @Override
    public void registerCacheEntryListener(final CacheEntryListenerConfiguration<K, V> listenerConfiguration)
    {
        checkOpen();
        Objects.requireNonNull(listenerConfiguration, "cacheEntryListenerConfiguration");
        synchronized (config)
        {
            config.addCacheEntryListenerConfiguration(listenerConfiguration);
            try
            {
                listeners.register(listenerConfiguration);
            }
            catch (final RuntimeException ex)
            {
                config.removeCacheEntryListenerConfiguration(listenerConfiguration);
                throw ex;
            }
        }
    }

    @Override
    public void deregisterCacheEntryListener(final CacheEntryListenerConfiguration<K, V> listenerConfiguration)
    {
        checkOpen();
        Objects.requireNonNull(listenerConfiguration, "cacheEntryListenerConfiguration");
        synchronized (config)
        {
            config.removeCacheEntryListenerConfiguration(listenerConfiguration);
            listeners.deregister(listenerConfiguration);
        }
    }

    @Override
    public Iterator<Entry<K, V>> iterator()
    {
        checkOpen();
        return new EntryIterator<>(this, slots.scan());
    }

    @Override
    public void close()
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            closed = true;
        }
        if (sweep != null)
        {
            sweep.cancel(false);
        }
        MBeans.unregister(MBeans.name(MBeans.CONFIGURATION, manager, name));
        MBeans.unregister(MBeans.name(MBeans.STATISTICS, manager, name));
        listeners.close();
        entries.closeables().forEach(GridCache::closeQuietly);
        manager.closed(this);
    }

    @Override
    public boolean isClosed()
    {
        return closed || manager.isClosed();
    }

    @Override
    public <T> T unwrap(final Class<T> clazz)
    {
        if (clazz.isAssignableFrom(getClass()))
        {
            return clazz.cast(this);
        }
        if (grid != null && clazz.isInstance(grid))
        {
            return clazz.cast(grid);
        }
        throw new IllegalArgumentException("a Grid JCache cache unwraps to " + getClass().getName() + " or " +
            dev.grid.core.Cache.class.getName() + ", not " + clazz.getName());
    }

    /**
     * @return true for a store-by-reference cache, whose entries are in this JVM only.
     */
    boolean isLocal()
    {
        return grid == null;
    }

    /**
     * An entry the iterator met: counted as a hit and accessed, unless it has expired.
     *
     * @return the entry, or null if it has expired.
     */
    Entry<K, V> iterated(final Object handle, final StoredValue storedValue)
    {
        final K key = entries.key(handle);
        final List<GridCacheEntryEvent<K, V>> events = new ArrayList<>(0);
        final StoredValue stored = entries.live(key, handle, storedValue, events);
        listeners.dispatch(events);
        if (stored == null)
        {
            return null;
        }
        countHits(1);
        entries.touch(handle, stored);
        return new GridCacheEntry<>(key, entries.value(stored));
    }

    /**
     * Remove the entry the iterator returned last, as {@link #remove(Object)} does.
     *
     * @param key of the entry.
     */
    void removeIterated(final K key)
    {
        remove(key);
    }

    /**
     * @return this cache's statistics, counted while statistics are enabled.
     */
    public GridCacheStatistics statistics()
    {
        return statistics;
    }

    void setStatisticsEnabled(final boolean enabled)
    {
        synchronized (config)
        {
            config.setStatisticsEnabled(enabled);
        }
        final ObjectName mbean = MBeans.name(MBeans.STATISTICS, manager, name);
        if (enabled)
        {
            MBeans.register(statistics, mbean);
        }
        else
        {
            MBeans.unregister(mbean);
        }
    }

    void setManagementEnabled(final boolean enabled)
    {
        synchronized (config)
        {
            config.setManagementEnabled(enabled);
        }
        final ObjectName mbean = MBeans.name(MBeans.CONFIGURATION, manager, name);
        if (enabled)
        {
            MBeans.register(mxBean, mbean);
        }
        else
        {
            MBeans.unregister(mbean);
        }
    }

    // ---------------------------------------------------------------------------------------------- internals

    private void checkOpen()
    {
        if (isClosed())
        {
            throw new IllegalStateException("cache '" + name + "' is closed");
        }
    }

    private boolean statisticsEnabled()
    {
        return config.isStatisticsEnabled();
    }

    void countHits(final int count)
    {
        if (statisticsEnabled())
        {
            statistics.hits(count);
        }
    }

    private void countMisses(final int count)
    {
        if (statisticsEnabled())
        {
            statistics.misses(count);
        }
    }

    private void countGet(final long startNs)
    {
        if (statisticsEnabled())
        {
            statistics.getTime(System.nanoTime() - startNs);
        }
    }

    private void countPut(final long startNs)
    {
        if (statisticsEnabled())
        {
            statistics.puts(1);
            statistics.putTime(System.nanoTime() - startNs);
        }
    }

    void countRemove(final long startNs)
    {
        if (statisticsEnabled())
        {
            statistics.removals(1);
            statistics.removeTime(System.nanoTime() - startNs);
        }
    }

    void dispatch(final List<GridCacheEntryEvent<K, V>> events)
    {
        listeners.dispatch(events);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void writeAll(final CacheWriter writer, final Collection entries)
    {
        writer.writeAll(entries);
    }

    /** Close a user object if it is {@link Closeable}; closing is best effort, the cache goes away either way. */
    static void closeQuietly(final Object object)
    {
        if (object instanceof Closeable closeable)
        {
            try
            {
                closeable.close();
            }
            catch (final IOException | RuntimeException ex)
            {
                // Closing user objects is best effort: the cache is closed either way.
            }
        }
    }
}
