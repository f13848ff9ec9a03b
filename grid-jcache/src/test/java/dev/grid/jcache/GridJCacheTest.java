package dev.grid.jcache;

import dev.grid.core.Codecs;
import dev.grid.core.Grid;
import dev.grid.core.testing.LoopbackPorts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.cache.Cache;
import javax.cache.CacheException;
import javax.cache.CacheManager;
import javax.cache.Caching;
import javax.cache.configuration.FactoryBuilder;
import javax.cache.configuration.MutableCacheEntryListenerConfiguration;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.event.CacheEntryCreatedListener;
import javax.cache.event.CacheEntryEvent;
import javax.cache.event.CacheEntryListenerException;
import javax.cache.event.CacheEntryRemovedListener;
import javax.cache.event.CacheEntryUpdatedListener;
import javax.cache.expiry.CreatedExpiryPolicy;
import javax.cache.expiry.Duration;
import javax.cache.integration.CacheLoader;
import javax.cache.integration.CacheWriter;
import javax.cache.integration.CacheWriterException;
import javax.cache.processor.EntryProcessorException;
import javax.cache.spi.CachingProvider;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.io.Serializable;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JCache provider over one member started in this JVM (the default {@code grid:member} URI): found through
 * {@code Caching}, every kind of operation, expiry, listeners, read- and write-through, statistics over JMX, the
 * errors bad input meets. The JCache TCK covers the standard's corners; these tests pin what Grid adds or chooses.
 */
class GridJCacheTest
{
    private static CachingProvider provider;
    private static CacheManager manager;

    @BeforeAll
    static void start()
    {
        provider = Caching.getCachingProvider(GridCachingProvider.class.getName());
        final Properties properties = new Properties();
        properties.setProperty("grid.member.port", Integer.toString(LoopbackPorts.next()));
        properties.setProperty("grid.jcache.partitions", "16");
        properties.setProperty("grid.jcache.backups", "0");
        properties.setProperty("grid.jcache.expiry.sweep.ms", "100");
        manager = provider.getCacheManager(provider.getDefaultURI(), provider.getDefaultClassLoader(), properties);
    }

    @AfterAll
    static void stop()
    {
        provider.close();
        assertTrue(manager.isClosed());
    }

    @AfterEach
    void destroyCaches()
    {
        for (final String name : manager.getCacheNames())
        {
            manager.destroyCache(name);
        }
    }

    @Test
    void everyOperationStoresByValueInTheGrid()
    {
        final Cache<String, Integer> cache = manager.createCache("basic / ops",
            new MutableConfiguration<String, Integer>().setTypes(String.class, Integer.class));
        assertEquals(URI.create("grid:member"), manager.getURI());
        cache.put("a", 1);
        assertEquals(1, cache.get("a"));
        assertTrue(cache.putIfAbsent("b", 2));
        assertFalse(cache.putIfAbsent("b", 3));
        assertEquals(2, cache.getAndPut("b", 4));
        assertTrue(cache.replace("b", 4, 5));
        assertFalse(cache.replace("b", 4, 6));
        assertEquals(5, cache.getAndReplace("b", 7));
        cache.putAll(Map.of("c", 3, "d", 4));
        assertEquals(Map.of("a", 1, "b", 7, "c", 3), cache.getAll(Set.of("a", "b", "c", "x")));
        assertTrue(cache.containsKey("d"));
        assertTrue(cache.remove("d", 4));
        assertFalse(cache.remove("d"));
        assertEquals(3, cache.getAndRemove("c"));
        final int invoked = cache.invoke("a", (entry, args) ->
        {
            entry.setValue(entry.getValue() + (Integer)args[0]);
            return entry.getValue();
        }, 10);
        assertEquals(11, invoked);
        final Map<String, Integer> seen = new HashMap<>();
        cache.forEach(e -> seen.put(e.getKey(), e.getValue()));
        assertEquals(Map.of("a", 11, "b", 7), seen);

        // Store by value: the grid holds the serialized form, so changing an object after put changes nothing.
        final Cache<String, ArrayList<String>> lists = manager.createCache("lists", new MutableConfiguration<>());
        final ArrayList<String> list = new ArrayList<>(List.of("x"));
        lists.put("k", list);
        list.add("y");
        assertEquals(List.of("x"), lists.get("k"));
        assertNotSame(lists.get("k"), lists.get("k"));

        // The entries are in a Grid cache, reachable through unwrap.
        @SuppressWarnings("unchecked")
        final dev.grid.core.Cache<byte[], byte[]> grid = cache.unwrap(dev.grid.core.Cache.class);
        assertEquals(2L, grid.size());
        assertNotNull(manager.unwrap(Grid.class));
        cache.removeAll();
        assertEquals(0L, grid.size());
    }

    @Test
    void entriesExpireAsTheExpiryPolicySays() throws InterruptedException
    {
        final Cache<String, String> cache = manager.createCache("expiring", new MutableConfiguration<String, String>()
            .setExpiryPolicyFactory(CreatedExpiryPolicy.factoryOf(new Duration(TimeUnit.MILLISECONDS, 300))));
        cache.put("k", "v");
        assertEquals("v", cache.get("k"));
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (cache.containsKey("k"))
        {
            assertTrue(System.nanoTime() < deadlineNs, "the entry did not expire within 10 s of a 300 ms life");
            Thread.sleep(20);
        }
        assertNull(cache.get("k"));
        // An expired entry is removed when met, so the grid no longer holds it either.
        assertEquals(0L, cache.unwrap(dev.grid.core.Cache.class).size());

        // An entry no one reads again is removed by the sweep, and its EXPIRED event delivered.
        final List<String> expired = new java.util.concurrent.CopyOnWriteArrayList<>();
        cache.registerCacheEntryListener(new MutableCacheEntryListenerConfiguration<>(FactoryBuilder.factoryOf(
            (javax.cache.event.CacheEntryExpiredListener<String, String> & Serializable)events ->
                events.forEach(e -> expired.add(e.getKey() + "=" + e.getValue()))), null, true, true));
        cache.put("unread", "u");
        final dev.grid.core.Cache<?, ?> grid = cache.unwrap(dev.grid.core.Cache.class);
        while (grid.size() > 0 || expired.isEmpty())
        {
            assertTrue(System.nanoTime() < deadlineNs + TimeUnit.SECONDS.toNanos(10),
                "an expired entry no one read was not swept: " + expired);
            Thread.sleep(20);
        }
        assertEquals(List.of("unread=u"), expired);

        final Cache<String, String> never = manager.createCache("never-created", new MutableConfiguration<String,
            String>().setExpiryPolicyFactory(CreatedExpiryPolicy.factoryOf(Duration.ZERO)));
        never.put("k", "v");
        assertFalse(never.containsKey("k"));
    }

    @Test
    void synchronousListenersSeeEveryChangeBeforeTheOperationReturns()
    {
        final Cache<String, String> cache = manager.createCache("listened", new MutableConfiguration<>());
        final Recorder recorder = new Recorder();
        cache.registerCacheEntryListener(new MutableCacheEntryListenerConfiguration<>(
            FactoryBuilder.factoryOf(recorder), null, true, true));
        cache.put("k", "v1");
        assertEquals(List.of("CREATED k v1 null"), recorder.events);
        cache.put("k", "v2");
        assertEquals("UPDATED k v2 v1", recorder.events.get(1));
        cache.remove("k");
        assertEquals("REMOVED k v2 v2", recorder.events.get(2));
        cache.get("k");
        cache.clear();
        assertEquals(3, recorder.events.size(), "reads and clear() fire no events");

        assertThrows(IllegalArgumentException.class, () -> cache.registerCacheEntryListener(
            new MutableCacheEntryListenerConfiguration<>(FactoryBuilder.factoryOf(recorder), null, true, true)));
        recorder.failNext = true;
        final CacheEntryListenerException failure =
            assertThrows(CacheEntryListenerException.class, () -> cache.put("k2", "v"));
        assertEquals("listener failed on purpose", failure.getMessage());
        assertEquals("v", cache.get("k2"), "a failing listener does not undo the change it was told of");
    }

    @Test
    void readThroughAndWriteThroughCallTheApplicationsStore()
    {
        final Map<String, String> backing = new ConcurrentHashMap<>(Map.of("stored", "from-store"));
        Store.map = backing;
        final Cache<String, String> cache = manager.createCache("through", new MutableConfiguration<String, String>()
            .setReadThrough(true).setWriteThrough(true)
            .setCacheLoaderFactory(FactoryBuilder.factoryOf(Store.class))
            .setCacheWriterFactory(FactoryBuilder.factoryOf(Store.class)));
        assertEquals("from-store", cache.get("stored"));
        assertEquals(1L, cache.unwrap(dev.grid.core.Cache.class).size(), "a loaded value is stored");
        cache.put("new", "v");
        assertEquals("v", backing.get("new"));
        cache.remove("stored");
        assertFalse(backing.containsKey("stored"));
        Store.failWrites = true;
        try
        {
            assertThrows(CacheWriterException.class, () -> cache.put("refused", "v"));
            assertFalse(cache.containsKey("refused"), "a write the writer refused is not stored");
        }
        finally
        {
            Store.failWrites = false;
        }
    }

    @Test
    void statisticsAndConfigurationAreMBeansUnderTheStandardNames() throws Exception
    {
        final Cache<String, String> cache = manager.createCache("stats", new MutableConfiguration<String, String>()
            .setTypes(String.class, String.class).setStatisticsEnabled(true).setManagementEnabled(true));
        cache.put("k", "v");
        cache.get("k");
        cache.get("missing");
        final MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        final ObjectName statistics = new ObjectName("javax.cache:type=CacheStatistics,CacheManager=grid.member," +
            "Cache=stats");
        assertEquals(1L, server.getAttribute(statistics, "CachePuts"));
        assertEquals(1L, server.getAttribute(statistics, "CacheHits"));
        assertEquals(1L, server.getAttribute(statistics, "CacheMisses"));
        assertEquals(50.0f, server.getAttribute(statistics, "CacheHitPercentage"));
        final ObjectName configuration = new ObjectName("javax.cache:type=CacheConfiguration," +
            "CacheManager=grid.member,Cache=stats");
        assertEquals("java.lang.String", server.getAttribute(configuration, "KeyType"));
        manager.destroyCache("stats");
        assertTrue(server.queryNames(new ObjectName("javax.cache:Cache=stats,*"), null).isEmpty());
    }

    @Test
    void badInputMeetsAnErrorThatNamesIt()
    {
        final Cache<Object, Object> cache = manager.createCache("bad", new MutableConfiguration<>());
        final IllegalArgumentException notSerializable =
            assertThrows(IllegalArgumentException.class, () -> cache.put("k", new Object()));
        assertTrue(notSerializable.getMessage().contains("java.lang.Object is not Serializable"),
            notSerializable.getMessage());
        assertThrows(NullPointerException.class, () -> cache.put(null, "v"));
        final Cache<String, Integer> typed = manager.createCache("typed",
            new MutableConfiguration<String, Integer>().setTypes(String.class, Integer.class));
        @SuppressWarnings({"unchecked", "rawtypes"})
        final Cache<Object, Object> raw = (Cache)typed;
        assertThrows(ClassCastException.class, () -> raw.put("k", "not an integer"));
        assertThrows(ClassCastException.class, () -> manager.getCache("typed", String.class, String.class));
        assertThrows(CacheException.class, () -> manager.createCache("typed", new MutableConfiguration<>()));
        final EntryProcessorException wrapped = assertThrows(EntryProcessorException.class, () ->
            typed.invoke("k", (entry, args) ->
            {
                throw new IllegalStateException("processor failed");
            }));
        assertEquals("processor failed", wrapped.getCause().getMessage());

        // Bytes written through Grid's own API are not in the JCache form: reading them says so.
        @SuppressWarnings("unchecked")
        final dev.grid.core.Cache<byte[], byte[]> grid = typed.unwrap(dev.grid.core.Cache.class);
        grid.put(Codecs.BYTES.encode(new byte[] {1}), new byte[] {1, 2, 3});
        assertThrows(CacheException.class, () -> typed.forEach(e -> { }));
    }

    @Test
    void aStoreByReferenceCacheReturnsTheObjectsItWasGiven()
    {
        final Cache<String, Object> cache = manager.createCache("by-reference",
            new MutableConfiguration<String, Object>().setStoreByValue(false));
        final Object notSerializable = new Object();
        cache.put("k", notSerializable);
        assertSame(notSerializable, cache.get("k"));
        assertThrows(IllegalArgumentException.class, () -> cache.unwrap(dev.grid.core.Cache.class),
            "a store-by-reference cache is not in the grid");
    }

    /** Records events as text; fails once when told to. Shared through a singleton factory. */
    static final class Recorder implements CacheEntryCreatedListener<String, String>,
        CacheEntryUpdatedListener<String, String>, CacheEntryRemovedListener<String, String>, Serializable
    {
        private static final long serialVersionUID = 1L;
        final List<String> events = new ArrayList<>();
        volatile boolean failNext;

        @Override
        public void onCreated(final Iterable<CacheEntryEvent<? extends String, ? extends String>> batch)
        {
            record(batch);
        }

        @Override
        public void onUpdated(final Iterable<CacheEntryEvent<? extends String, ? extends String>> batch)
        {
            record(batch);
        }

        @Override
        public void onRemoved(final Iterable<CacheEntryEvent<? extends String, ? extends String>> batch)
        {
            record(batch);
        }

        private void record(final Iterable<CacheEntryEvent<? extends String, ? extends String>> batch)
        {
            if (failNext)
            {
                failNext = false;
                throw new CacheEntryListenerException("listener failed on purpose");
            }
            batch.forEach(e -> events.add(e.getEventType() + " " + e.getKey() + " " + e.getValue() + " " +
                e.getOldValue()));
        }
    }

    /** A loader and writer over a map, as an application's database would be. */
    public static final class Store implements CacheLoader<String, String>, CacheWriter<String, String>
    {
        static volatile Map<String, String> map = new ConcurrentHashMap<>();
        static volatile boolean failWrites;

        @Override
        public String load(final String key)
        {
            return map.get(key);
        }

        @Override
        public Map<String, String> loadAll(final Iterable<? extends String> keys)
        {
            final Map<String, String> loaded = new HashMap<>();
            keys.forEach(k -> loaded.put(k, map.get(k)));
            return loaded;
        }

        @Override
        public void write(final Cache.Entry<? extends String, ? extends String> entry)
        {
            if (failWrites)
            {
                throw new IllegalStateException("the store refuses writes");
            }
            map.put(entry.getKey(), entry.getValue());
        }

        @Override
        public void writeAll(final Collection<Cache.Entry<? extends String, ? extends String>> entries)
        {
            entries.forEach(this::write);
            entries.clear();
        }

        @Override
        public void delete(final Object key)
        {
            map.remove(key);
        }

        @Override
        public void deleteAll(final Collection<?> keys)
        {
            keys.forEach(map::remove);
            keys.clear();
        }
    }
}
