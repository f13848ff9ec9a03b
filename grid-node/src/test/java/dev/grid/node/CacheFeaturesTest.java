package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.ScanCursor;
import dev.grid.core.ScanQuery;
import dev.grid.core.ValuePredicate;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cache features beyond put and get, embedded, on three members in this JVM: get-and-write operations, replace if
 * present, entry processors, scans (paged, filtered, during writes and a member leaving), remove-all and clear.
 */
class CacheFeaturesTest
{
    private static CacheConfiguration<String, String> strings(final String name)
    {
        return new CacheConfiguration<>(name, Codecs.STRING, Codecs.STRING).partitions(32).backups(1);
    }

    @Test
    void getAndWriteOperationsAnswerThePreviousValueAndReplaceOnlyWhatIsPresent()
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final Cache<String, String> cache = cluster.members.get(0).createCache(strings("getand"));
            final Cache<String, String> viaB = cluster.members.get(1).cache("getand");
            for (int i = 0; i < 100; i++)
            {
                assertNull(cache.getAndPut("k" + i, "a" + i));
                assertEquals("a" + i, viaB.getAndPut("k" + i, "b" + i));
                assertEquals("b" + i, cache.getAndReplace("k" + i, "c" + i));
                assertNull(cache.getAndReplace("absent" + i, "x"), "nothing to replace");
                assertFalse(viaB.replace("absent" + i, "x"));
                assertTrue(viaB.replace("k" + i, "d" + i));
                assertEquals("d" + i, cache.get("k" + i));
            }
            assertNull(cache.get("absent0"), "getAndReplace and replace wrote nothing for an absent key");
            for (int i = 0; i < 100; i++)
            {
                assertEquals("d" + i, viaB.getAndRemove("k" + i));
                assertNull(cache.getAndRemove("k" + i), "already removed");
            }
            assertEquals(0, cache.size());
            assertEquals("v", cache.getAndPutAsync("async", "v").thenCompose(old ->
                cache.getAndRemoveAsync("async")).join());
        }
    }

    @Test
    void entryProcessorsRunOnThePrimaryAndTheirValueReachesTheBackups()
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final Cache<String, String> cache = cluster.members.get(1).createCache(strings("invoke"));
            for (int i = 0; i < 200; i++)
            {
                assertNull(cache.invoke("k" + i, TestCluster.APPEND_OLD, "a"));
                assertEquals("a", cache.invoke("k" + i, TestCluster.APPEND_OLD, "b"));
            }
            assertEquals("ab", cache.get("k7"));

            final GridException unknown = assertThrows(GridException.class, () -> cache.invoke("k1", "nope", "x"));
            assertEquals(ErrorCode.ENTRY_PROCESSOR_FAILED, unknown.errorCode());
            assertTrue(unknown.getMessage().contains("'nope' is not registered"), unknown.getMessage());
            final GridException threw = assertThrows(GridException.class, () ->
                cache.invoke("k1", TestCluster.FAILING, "x"));
            assertEquals(ErrorCode.ENTRY_PROCESSOR_FAILED, threw.errorCode());
            assertTrue(threw.getMessage().contains("failing on purpose"), threw.getMessage());
            assertEquals("ab", cache.get("k1"), "a processor that threw changed nothing");

            assertNull(cache.invoke("k2", TestCluster.REMOVE_IF, "zz"), "value differs: kept");
            assertEquals("removed", cache.invoke("k2", TestCluster.REMOVE_IF, "ab"));
            assertNull(cache.get("k2"));

            // Every copy holds the processors' values: with one member gone, the other copy of each key answers.
            cluster.members.get(0).close();
            final Cache<String, String> viaC = cluster.members.get(2).cache("invoke");
            for (int i = 0; i < 200; i++)
            {
                assertEquals(i == 2 ? null : "ab", viaC.get("k" + i), "k" + i);
            }
        }
    }

    @Test
    void aScanReturnsEveryEntryOnceAcrossPagesWithFiltersOnPrimariesAndEmbeddedPredicates()
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final Cache<String, String> cache = cluster.members.get(0).createCache(strings("scan"));
            final Map<String, String> expected = new HashMap<>();
            for (int i = 0; i < 1500; i++)
            {
                final String key = (i % 3 == 0 ? "red-" : "blue-") + i;
                final String value = i % 5 == 0 ? "five" : "v" + i;
                expected.put(key, value);
            }
            cache.putAll(expected);
            final Cache<String, String> viaB = cluster.members.get(1).cache("scan");

            assertEquals(expected, collect(viaB.scan()));
            assertEquals(expected, collect(viaB.scan(ScanQuery.<String, String>all().pageEntries(7))),
                "pages of 7 entries");
            final Map<String, String> red = new HashMap<>();
            expected.forEach((k, v) ->
            {
                if (k.startsWith("red-"))
                {
                    red.put(k, v);
                }
            });
            assertEquals(red, collect(viaB.scan(ScanQuery.keyPrefix("red-"))));
            final Map<String, String> fives = new HashMap<>();
            expected.forEach((k, v) ->
            {
                if (v.equals("five"))
                {
                    fives.put(k, v);
                }
            });
            assertEquals(fives, collect(viaB.scan(ScanQuery.<String, String>value(ValuePredicate.equalTo("five"))
                .pageEntries(3))));
            final Map<String, String> redFives = new HashMap<>(red);
            redFives.keySet().retainAll(fives.keySet());
            assertEquals(redFives, collect(viaB.scan(ScanQuery.<String, String>value(ValuePredicate.equalTo("five"))
                .withKeyPrefix("red-"))));
            assertEquals(redFives, collect(viaB.scan(ScanQuery.matching((k, v) -> k.startsWith("red-") &&
                v.equals("five")))), "an embedded predicate");

            try (ScanCursor<String, String> cursor = viaB.scan(ScanQuery.<String, String>all().pageEntries(5)))
            {
                assertTrue(cursor.hasNext());
                cursor.next();
                cursor.close();
                assertFalse(cursor.hasNext(), "closed");
            }
        }
    }

    @Test
    void aScanDuringWritesAndAMemberLeavingReturnsEveryStableEntryExactlyOnce() throws Exception
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final Cache<String, String> cache = cluster.members.get(2).createCache(strings("stable"));
            final Map<String, String> stable = new HashMap<>();
            for (int i = 0; i < 3000; i++)
            {
                stable.put("s" + i, "v" + i);
            }
            cache.putAll(stable);
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicInteger written = new AtomicInteger();
            final CompletableFuture<Void> writer = CompletableFuture.runAsync(() ->
            {
                for (int i = 0; !stop.get(); i++)
                {
                    try
                    {
                        cache.put("w" + (i % 500), "x" + i);
                        written.incrementAndGet();
                    }
                    catch (final GridException ex)
                    {
                        // A write refused while the member leaves is retried by the next round; not what is checked.
                    }
                }
            });
            final Map<String, Integer> seen = new HashMap<>();
            final Map<String, String> values = new HashMap<>();
            int entries = 0;
            try (ScanCursor<String, String> cursor = cache.scan(ScanQuery.<String, String>all().pageEntries(16)))
            {
                while (cursor.hasNext())
                {
                    final Map.Entry<String, String> entry = cursor.next();
                    seen.merge(entry.getKey(), 1, Integer::sum);
                    values.put(entry.getKey(), entry.getValue());
                    if (++entries == 600)
                    {
                        // A primary of a third of the partitions leaves mid-scan: pages are asked of the new primaries.
                        cluster.members.get(0).close();
                    }
                }
            }
            stop.set(true);
            writer.get();
            assertTrue(entries > 600, "the scan went on after the member left");
            assertTrue(written.get() > 0, "writes ran during the scan");
            for (final Map.Entry<String, String> entry : stable.entrySet())
            {
                assertEquals(1, seen.getOrDefault(entry.getKey(), 0), "stable " + entry.getKey() + " seen once");
                assertEquals(entry.getValue(), values.get(entry.getKey()));
            }
            seen.forEach((key, count) -> assertEquals(1, count, key + " returned more than once"));
        }
    }

    @Test
    void removeAllAndClearRemoveWhatIsThere()
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final Cache<String, String> cache = cluster.members.get(0).createCache(strings("clear"));
            final Map<String, String> entries = new HashMap<>();
            for (int i = 0; i < 2500; i++)
            {
                entries.put("k" + i, "v" + i);
            }
            cache.putAll(entries);
            final List<String> some = new ArrayList<>();
            for (int i = 0; i < 100; i++)
            {
                some.add("k" + i);
            }
            some.add("absent");
            assertEquals(100, cluster.members.get(1).<String, String>cache("clear").removeAll(some));
            assertEquals(2400, cache.size());
            assertNull(cache.get("k5"));
            assertEquals(2400, cluster.members.get(2).<String, String>cache("clear").clear());
            assertEquals(0, cache.size());
            assertFalse(cache.scan().hasNext());
            cache.put("after", "clear");
            assertEquals("clear", cache.get("after"));
        }
    }

    private static Map<String, String> collect(final ScanCursor<String, String> cursor)
    {
        final Map<String, String> found = new HashMap<>();
        try (cursor)
        {
            while (cursor.hasNext())
            {
                final Map.Entry<String, String> entry = cursor.next();
                final String previous = found.put(entry.getKey(), entry.getValue());
                assertNull(previous, "returned twice: " + entry.getKey());
            }
        }
        return found;
    }
}
