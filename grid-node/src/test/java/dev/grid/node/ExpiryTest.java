package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.ErrorCode;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.GridException;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.ScanQuery;
import dev.grid.core.Transaction;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Expiry, embedded, on three members in this JVM: per-entry times-to-live and the cache policies, an expired entry
 * never returned (by get, scan or a transaction), removed from every copy in the background so copies stay equal, and
 * honoured by a backup promoted after its primary left.
 */
class ExpiryTest
{
    /** Reads check against the wall clock with this much slack: members read it at their start, not per read. */
    private static final long CLOCK_SLACK_MS = 50;

    private static CacheConfiguration<String, String> strings(final String name, final ExpiryPolicy expiry)
    {
        return new CacheConfiguration<>(name, Codecs.STRING, Codecs.STRING).partitions(16).backups(1).expiry(expiry);
    }

    @Test
    void anEntryWithATimeToLiveIsNeverReturnedAfterItAndIsRemovedFromEveryCopy()
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final Cache<String, String> cache = cluster.members.get(0).createCache(strings("ttl",
                ExpiryPolicy.eternal()));
            final Cache<String, String> viaB = cluster.members.get(1).cache("ttl");
            final long writtenMs = System.currentTimeMillis();
            for (int i = 0; i < 200; i++)
            {
                cache.put("short" + i, "s" + i, Duration.ofMillis(800));
                cache.put("long" + i, "l" + i);
            }
            final long expiresByMs = System.currentTimeMillis() + 800;
            assertEquals("s7", viaB.get("short7"), "alive before its time-to-live");
            // Read in a loop across the expiry time: once it passed, no read returns the value.
            while (System.currentTimeMillis() < expiresByMs + 1000)
            {
                final long askedMs = System.currentTimeMillis();
                final String value = viaB.get("short" + (askedMs % 200));
                if (askedMs > expiresByMs + CLOCK_SLACK_MS)
                {
                    assertNull(value, "returned " + (askedMs - writtenMs) + " ms after an 800 ms time-to-live");
                }
            }
            awaitCondition(() -> cache.size() == 200, "expired entries removed in the background");
            assertEquals("l5", cache.get("long5"), "an entry without a time-to-live stays");
            final ConsistencyReport report = cluster.members.get(2).checkConsistency("ttl");
            assertTrue(report.isClean(), report.toString());
            assertThrows(IllegalArgumentException.class, () -> cache.put("k", "v", Duration.ofMillis(-1)));
        }
    }

    @Test
    void anEntryProcessorSetsAnExpiryTimeThatEveryCopyHonours()
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final Cache<String, String> cache = cluster.members.get(0).createCache(strings("processed",
                ExpiryPolicy.eternal()));
            cache.put("k", "before");
            assertEquals("0", cache.invoke("k", TestCluster.EXPIRE_IN, "report"), "no expiry time yet: never");
            cache.invoke("k", TestCluster.EXPIRE_IN, "600000");
            final long leftMs = Long.parseLong(cache.invoke("k", TestCluster.EXPIRE_IN, "report"));
            assertTrue(leftMs > 590_000 && leftMs <= 600_000, "left " + leftMs + " ms of 600000");
            cache.invoke("short", TestCluster.EXPIRE_IN, "300");
            assertEquals("v", cluster.members.get(1).<String, String>cache("processed").get("k"));
            awaitCondition(() -> cache.get("short") == null, "the processor's 300 ms expiry");
            awaitCondition(() -> cache.size() == 1, "the expired entry removed from every copy");
            assertTrue(cluster.members.get(2).checkConsistency("processed").isClean());
            cache.put("k", "plain");
            assertEquals("0", cache.invoke("k", TestCluster.EXPIRE_IN, "report"),
                "a write without one clears the expiry time, as the eternal policy says");

            final Cache<String, String> noPolicy = cluster.members.get(0).createCache(
                new CacheConfiguration<>("no-policy", Codecs.STRING, Codecs.STRING).partitions(4));
            final GridException refused = assertThrows(GridException.class,
                () -> noPolicy.invoke("k", TestCluster.EXPIRE_IN, "1000"));
            assertEquals(ErrorCode.CONFIGURATION_INVALID, refused.errorCode());
            assertNull(noPolicy.get("k"), "a refused processor changes nothing");
        }
    }

    @Test
    void policiesCountFromCreationWriteOrReadAndAReadExtendsAnAccessedEntry()
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final GridMember a = cluster.members.get(0);
            final Cache<String, String> created = a.createCache(strings("created", ExpiryPolicy.created(
                Duration.ofMillis(1500))));
            final Cache<String, String> modified = a.createCache(strings("modified", ExpiryPolicy.modified(
                Duration.ofMillis(1500))));
            final Cache<String, String> accessed = a.createCache(strings("accessed", ExpiryPolicy.accessed(
                Duration.ofMillis(1500))));
            final long startMs = System.currentTimeMillis();
            created.put("k", "1");
            modified.put("k", "1");
            accessed.put("k", "1");
            accessed.put("asked", "1");
            sleepUntil(startMs + 900);
            created.put("k", "2");
            modified.put("k", "2");
            // An accessed entry read often enough lives on well past its duration; asking whether a key is there is
            // not a read of it (as in JCache), so one only asked about expires on time.
            boolean askedExpired = false;
            while (System.currentTimeMillis() < startMs + 3300)
            {
                assertEquals("1", accessed.get("k"), "read within its duration: extended");
                final boolean present = accessed.containsKey("asked");
                askedExpired |= !present;
                assertTrue(present || System.currentTimeMillis() >= startMs + 1500 - CLOCK_SLACK_MS,
                    "present until its duration");
                sleepUntil(System.currentTimeMillis() + 100);
            }
            assertTrue(askedExpired, "containsKey extended the entry it asked about");
            assertNull(created.get("k"), "created: the second write did not extend it");
            awaitCondition(() -> modified.get("k") == null, "modified: expires 1.5 s after its last write");
            assertTrue(System.currentTimeMillis() >= startMs + 900 + 1500 - CLOCK_SLACK_MS,
                "modified lived 1.5 s from its second write");
            // Watched by scans, which are not reads of the entry and so do not extend it.
            awaitCondition(() -> isEmpty(accessed), "accessed: expires once reads stop");
            assertNull(accessed.get("k"));
        }
    }

    @Test
    void scansAndTransactionsSeeNoExpiredEntryAndAWriteWithoutTtlOnACacheWithoutPolicyIsRefused()
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final GridMember a = cluster.members.get(0);
            final Cache<String, String> cache = a.createCache(strings("mixed", ExpiryPolicy.modified(
                Duration.ofSeconds(60))));
            final Map<String, String> stays = new HashMap<>();
            for (int i = 0; i < 300; i++)
            {
                cache.put("gone" + i, "g", Duration.ofMillis(300));
                stays.put("stay" + i, "s" + i);
            }
            cache.putAll(stays);
            sleepUntil(System.currentTimeMillis() + 400);
            final Map<String, String> scanned = new HashMap<>();
            cache.scan(ScanQuery.<String, String>all().pageEntries(50)).forEachRemaining(e ->
                scanned.put(e.getKey(), e.getValue()));
            assertEquals(stays, scanned, "a scan skips expired entries");
            try (Transaction tx = a.transactions().begin())
            {
                assertNull(tx.get(cache, "gone1"), "a transaction does not read an expired entry");
                assertEquals("s1", tx.get(cache, "stay1"));
                tx.put(cache, "txWritten", "t");
                tx.commit();
            }
            assertEquals("t", cache.get("txWritten"));
            assertEquals(stays.get("stay2"), cluster.members.get(2).<String, String>cache("mixed").get("stay2"));
            final Cache<String, String> plain = a.createCache(new CacheConfiguration<>("plain", Codecs.STRING,
                Codecs.STRING));
            assertThrows(InvalidConfigurationException.class, () -> plain.put("k", "v", Duration.ofSeconds(1)));
        }
    }

    @Test
    void aBackupPromotedAfterItsPrimaryLeftHonoursTheExpiryTheOldPrimaryDecided()
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final Cache<String, String> cache = cluster.members.get(2).createCache(strings("promoted",
                ExpiryPolicy.eternal()));
            for (int i = 0; i < 300; i++)
            {
                cache.put("k" + i, "v" + i, Duration.ofMillis(1500));
            }
            final long expiresByMs = System.currentTimeMillis() + 1500;
            // Member 0 is primary of about a third of the partitions; their backups take over.
            cluster.members.get(0).close();
            cluster.awaitMembers(2, 15_000, cluster.members.get(1), cluster.members.get(2));
            final Cache<String, String> viaB = cluster.members.get(1).cache("promoted");
            sleepUntil(expiresByMs + CLOCK_SLACK_MS);
            for (int i = 0; i < 300; i++)
            {
                assertNull(viaB.get("k" + i), "k" + i + " returned after its time-to-live");
            }
            awaitCondition(() -> viaB.size() == 0, "the new primaries removed the expired entries");
            final ConsistencyReport report = cluster.members.get(1).checkConsistency("promoted");
            assertTrue(report.isClean(), report.toString());
        }
    }

    private static boolean isEmpty(final Cache<String, String> cache)
    {
        try (var cursor = cache.scan())
        {
            return !cursor.hasNext();
        }
    }

    private static void sleepUntil(final long wallMs)
    {
        // Waiting for time itself to pass (an expiry), not for another thread: nothing to await instead.
        long leftMs;
        while ((leftMs = wallMs - System.currentTimeMillis()) > 0)
        {
            try
            {
                TimeUnit.MILLISECONDS.sleep(leftMs);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(ex);
            }
        }
    }

    private static void awaitCondition(final BooleanSupplier condition, final String what)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("timed out waiting until " + what);
            }
            sleepUntil(System.currentTimeMillis() + 20);
        }
    }
}
