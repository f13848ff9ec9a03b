package dev.grid.jcache;

import javax.cache.configuration.CacheEntryListenerConfiguration;
import javax.cache.configuration.Factory;
import javax.cache.event.CacheEntryCreatedListener;
import javax.cache.event.CacheEntryEventFilter;
import javax.cache.event.CacheEntryExpiredListener;
import javax.cache.event.CacheEntryListener;
import javax.cache.event.CacheEntryListenerException;
import javax.cache.event.CacheEntryRemovedListener;
import javax.cache.event.CacheEntryUpdatedListener;
import javax.cache.event.EventType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The listeners registered on one JCache cache, and their delivery. The cache hands over the events of each operation
 * once the operation has taken effect in the grid: synchronous listeners get them on the calling thread before the
 * operation returns (an exception a listener throws reaches the caller as a {@link CacheEntryListenerException});
 * asynchronous ones on this cache's one delivery thread, in the order the operations took effect here.
 * <p>
 * Thread-safe: registrations are a copy-on-write list.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
final class EntryListeners<K, V>
{
    private final String cacheName;
    private final List<Registration<K, V>> registrations = new CopyOnWriteArrayList<>();
    private ExecutorService asynchronous;

    EntryListeners(final String cacheName)
    {
        this.cacheName = cacheName;
    }

    /**
     * @param config of the listener to add.
     * @throws IllegalArgumentException if an equal configuration is registered already.
     */
    synchronized void register(final CacheEntryListenerConfiguration<K, V> config)
    {
        for (final Registration<K, V> registration : registrations)
        {
            if (registration.config.equals(config))
            {
                throw new IllegalArgumentException("this listener configuration is registered on cache '" +
                    cacheName + "' already");
            }
        }
        registrations.add(new Registration<>(config));
    }

    /**
     * @param config of the listener to remove; not registered is not an error.
     */
    synchronized void deregister(final CacheEntryListenerConfiguration<K, V> config)
    {
        for (final Registration<K, V> registration : registrations)
        {
            if (registration.config.equals(config))
            {
                registrations.remove(registration);
                registration.close();
            }
        }
    }

    /**
     * @return true if no listener is registered, so operations need not build events.
     */
    boolean isEmpty()
    {
        return registrations.isEmpty();
    }

    /**
     * @param events of one operation, in the order they happened.
     * @throws CacheEntryListenerException if a synchronous listener threw.
     */
    void dispatch(final List<GridCacheEntryEvent<K, V>> events)
    {
        if (events.isEmpty())
        {
            return;
        }
        RuntimeException failure = null;
        for (final Registration<K, V> registration : registrations)
        {
            if (registration.config.isSynchronous())
            {
                try
                {
                    registration.deliver(events);
                }
                catch (final RuntimeException ex)
                {
                    failure = failure == null ? ex : failure;
                }
            }
            else
            {
                asynchronous().execute(() -> deliverQuietly(registration, events));
            }
        }
        if (failure != null)
        {
            throw failure instanceof CacheEntryListenerException ? (CacheEntryListenerException)failure :
                new CacheEntryListenerException("a listener of cache '" + cacheName + "' failed: " + failure,
                    failure);
        }
    }

    /** Stop delivering: close every listener and filter that is {@link Closeable}. */
    synchronized void close()
    {
        registrations.forEach(Registration::close);
        registrations.clear();
        if (asynchronous != null)
        {
            asynchronous.shutdown();
        }
    }

    /** How long the asynchronous listeners' thread waits for more events before it ends (a new one starts later). */
    private static final long IDLE_THREAD_SECONDS = 30;

    private synchronized ExecutorService asynchronous()
    {
        if (asynchronous == null)
        {
            // A plain pool (Executors.newSingleThreadExecutor's wrapper has a finalizer, which keeps whatever the pool
            // reaches alive one collection past its end) whose one thread ends when idle: then a cache its
            // application never closes leaves no thread behind, and the factory, which captures only the name,
            // reaches nothing of it.
            final String threadName = "jcache-listeners-" + cacheName;
            final ThreadPoolExecutor pool = new ThreadPoolExecutor(1, 1, IDLE_THREAD_SECONDS, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), task ->
                {
                    final Thread thread = new Thread(task, threadName);
                    thread.setDaemon(true);
                    return thread;
                });
            pool.allowCoreThreadTimeOut(true);
            asynchronous = pool;
        }
        return asynchronous;
    }

    private static <K, V> void deliverQuietly(final Registration<K, V> registration,
        final List<GridCacheEntryEvent<K, V>> events)
    {
        try
        {
            registration.deliver(events);
        }
        catch (final RuntimeException ex)
        {
            // An asynchronous listener has no caller to tell; it must not stop the others' delivery.
        }
    }

    /** One registered listener, its filter and what it asked for. */
    private static final class Registration<K, V>
    {
        private final CacheEntryListenerConfiguration<K, V> config;
        private final CacheEntryListener<? super K, ? super V> listener;
        private final CacheEntryEventFilter<? super K, ? super V> filter;

        Registration(final CacheEntryListenerConfiguration<K, V> config)
        {
            this.config = config;
            this.listener = config.getCacheEntryListenerFactory().create();
            final Factory<CacheEntryEventFilter<? super K, ? super V>> filterFactory =
                config.getCacheEntryEventFilterFactory();
            this.filter = filterFactory == null ? null : filterFactory.create();
        }

        @SuppressWarnings("unchecked")
        void deliver(final List<GridCacheEntryEvent<K, V>> events)
        {
            final List<GridCacheEntryEvent<K, V>> chosen = new ArrayList<>(events.size());
            for (final GridCacheEntryEvent<K, V> event : events)
            {
                if (listens(event.getEventType()) && (filter == null || filter.evaluate(event)))
                {
                    chosen.add(config.isOldValueRequired() ? event : event.withoutOldValue());
                }
            }
            int from = 0;
            while (from < chosen.size())
            {
                final EventType type = chosen.get(from).getEventType();
                int to = from + 1;
                while (to < chosen.size() && chosen.get(to).getEventType() == type)
                {
                    to++;
                }
                final List<GridCacheEntryEvent<K, V>> run = chosen.subList(from, to);
                final Iterable batch = run;
                switch (type)
                {
                case CREATED -> ((CacheEntryCreatedListener<K, V>)listener).onCreated(batch);
                case UPDATED -> ((CacheEntryUpdatedListener<K, V>)listener).onUpdated(batch);
                case REMOVED -> ((CacheEntryRemovedListener<K, V>)listener).onRemoved(batch);
                case EXPIRED -> ((CacheEntryExpiredListener<K, V>)listener).onExpired(batch);
                default -> throw new IllegalStateException("unknown event type " + type);
                }
                from = to;
            }
        }

        private boolean listens(final EventType type)
        {
            return switch (type)
            {
                case CREATED -> listener instanceof CacheEntryCreatedListener;
                case UPDATED -> listener instanceof CacheEntryUpdatedListener;
                case REMOVED -> listener instanceof CacheEntryRemovedListener;
                case EXPIRED -> listener instanceof CacheEntryExpiredListener;
            };
        }

        void close()
        {
            GridCache.closeQuietly(listener);
            GridCache.closeQuietly(filter);
        }
    }
}
