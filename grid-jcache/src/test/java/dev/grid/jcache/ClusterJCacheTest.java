package dev.grid.jcache;

import dev.grid.core.testing.LoopbackPorts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import javax.cache.Cache;
import javax.cache.CacheManager;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.expiry.AccessedExpiryPolicy;
import javax.cache.expiry.Duration;
import javax.cache.expiry.ExpiryPolicy;
import javax.cache.processor.EntryProcessor;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * JCache over a cluster: three cache managers, each with its own member in this JVM, and one over the thin client.
 * A cache one manager creates is seen by every other with its configuration; writes from several managers at once
 * are atomic per key; and the data outlives a manager whose member leaves, because each entry has a backup.
 */
class ClusterJCacheTest
{
    private final List<CacheManager> managers = new ArrayList<>();

    @AfterEach
    void close()
    {
        managers.forEach(CacheManager::close);
    }

    /** Three members joined, each the member of one manager (each from its own provider, as separate JVMs). */
    private void startCluster(final int[] clientPorts)
    {
        final int[] ports = {LoopbackPorts.next(), LoopbackPorts.next(), LoopbackPorts.next()};
        final String seeds = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1] + ",127.0.0.1:" + ports[2];
        final List<CompletableFuture<CacheManager>> starts = new ArrayList<>();
        for (int i = 0; i < 3; i++)
        {
            final Properties properties = new Properties();
            properties.setProperty("grid.member.member.id", "j" + i);
            properties.setProperty("grid.member.port", Integer.toString(ports[i]));
            properties.setProperty("grid.member.seeds", seeds);
            properties.setProperty("grid.member.client.port", Integer.toString(clientPorts[i]));
            properties.setProperty("grid.member.heartbeat.interval.ms", "100");
            properties.setProperty("grid.member.failure.detection.timeout.ms", "1500");
            properties.setProperty("grid.jcache.partitions", "32");
            properties.setProperty("grid.jcache.backups", "1");
            final GridCachingProvider provider = new GridCachingProvider();
            starts.add(CompletableFuture.supplyAsync(() ->
                provider.getCacheManager(URI.create("grid:member"), null, properties)));
        }
        for (final CompletableFuture<CacheManager> start : starts)
        {
            managers.add(start.join());
        }
    }

    @Test
    void everyManagerSeesTheSameCachesAndWritesAreAtomicPerKey()
    {
        final int[] clientPorts = {LoopbackPorts.next(), LoopbackPorts.next(), LoopbackPorts.next()};
        startCluster(clientPorts);
        final Properties clientProperties = new Properties();
        final CacheManager client = new GridCachingProvider().getCacheManager(URI.create("grid:client://127.0.0.1:" +
            clientPorts[0] + ",127.0.0.1:" + clientPorts[1]), null, clientProperties);
        managers.add(client);

        final Cache<String, Long> created = managers.get(0).createCache("counters",
            new MutableConfiguration<String, Long>().setTypes(String.class, Long.class)
                .setExpiryPolicyFactory(AccessedExpiryPolicy.factoryOf(new Duration(TimeUnit.HOURS, 1))));
        created.put("seed", 1L);
        for (final CacheManager other : managers)
        {
            final Cache<String, Long> cache = other.getCache("counters", String.class, Long.class);
            assertNotNull(cache, "a manager does not see the cache another created");
            assertEquals(1L, cache.get("seed"));
            @SuppressWarnings("unchecked")
            final CompleteConfiguration<String, Long> config = cache.getConfiguration(CompleteConfiguration.class);
            final ExpiryPolicy expiry = config.getExpiryPolicyFactory().create();
            assertEquals(new Duration(TimeUnit.HOURS, 1), expiry.getExpiryForAccess(),
                "the configuration travels with the cache");
        }

        // Increments from every manager at once, each a read and a compare-and-set on the key's primary.
        final EntryProcessor<String, Long, Long> increment = (entry, args) ->
        {
            entry.setValue(entry.exists() ? entry.getValue() + 1 : 1);
            return entry.getValue();
        };
        final int perManager = 150;
        final List<CompletableFuture<Void>> writers = new ArrayList<>();
        for (final CacheManager manager : managers)
        {
            final Cache<String, Long> cache = manager.getCache("counters", String.class, Long.class);
            writers.add(CompletableFuture.runAsync(() ->
            {
                for (int i = 0; i < perManager; i++)
                {
                    cache.invoke("hot", increment);
                }
            }));
        }
        writers.forEach(CompletableFuture::join);
        assertEquals((long)perManager * managers.size(), client.getCache("counters", String.class, Long.class)
            .get("hot"), "an increment was lost");

        // The manager that created the cache leaves with its member; the backups keep every entry.
        managers.get(0).close();
        final Cache<String, Long> survivor = managers.get(1).getCache("counters", String.class, Long.class);
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Long hot = null;
        while (hot == null || hot != perManager * 4L)
        {
            assertTrue(System.nanoTime() < deadlineNs, "the entries were not readable after a member left: " + hot);
            try
            {
                hot = survivor.get("hot");
            }
            catch (final javax.cache.CacheException ex)
            {
                hot = null; // a read in the moment the member's partitions move is retried
            }
        }
        assertEquals(1L, client.getCache("counters", String.class, Long.class).get("seed"));
        managers.get(2).destroyCache("counters");
        assertNull(managers.get(1).getCache("counters"));
    }
}
