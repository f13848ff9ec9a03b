package dev.grid.examples;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheEvent;
import dev.grid.core.CacheEventListener;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.GridException;
import dev.grid.core.ListenerRegistration;
import dev.grid.core.ScanCursor;
import dev.grid.core.ScanQuery;
import dev.grid.core.ValuePredicate;
import dev.grid.core.testing.ListenedEvents;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cache features beyond put and get through the thin client, against three members in this JVM: get-and-write,
 * replace if present, entry processors by name, scans with filters that run on the primaries (also while a member
 * leaves), remove-all and clear.
 */
class ThinClientCacheFeaturesTest
{
    @Test
    void entryOperationsProcessorsScansRemoveAllAndClearWorkThroughTheThinClient()
    {
        try (LocalMembers cluster = LocalMembers.start(3, config -> { });
             GridClient client = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(1))))
        {
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("features", Codecs.STRING,
                Codecs.STRING).partitions(16).backups(1));
            assertNull(cache.getAndPut("a", "1"));
            assertEquals("1", cache.getAndPut("a", "2"));
            assertEquals("2", cache.getAndReplace("a", "3"));
            assertNull(cache.getAndReplace("b", "x"));
            assertFalse(cache.replace("b", "x"));
            assertTrue(cache.replace("a", "4"));
            assertEquals("4", cache.getAndRemove("a"));
            assertNull(cache.getAndRemove("a"));
            assertNull(cache.get("b"));

            assertNull(cache.invoke("p", LocalMembers.APPEND_OLD, "x"));
            assertEquals("x", cache.invoke("p", LocalMembers.APPEND_OLD, "y"));
            assertEquals("xy", cluster.members.get(2).<String, String>cache("features").get("p"));
            final GridException unknown = assertThrows(GridException.class, () -> cache.invoke("p", "nope", null));
            assertEquals(ErrorCode.ENTRY_PROCESSOR_FAILED, unknown.errorCode(), unknown.getMessage());

            final Map<String, String> entries = new HashMap<>();
            for (int i = 0; i < 1200; i++)
            {
                entries.put((i % 2 == 0 ? "even-" : "odd-") + i, i % 7 == 0 ? "seven" : "v" + i);
            }
            cache.remove("p");
            cache.putAll(entries);
            assertEquals(entries, collect(cache.scan(ScanQuery.<String, String>all().pageEntries(11))));
            final Map<String, String> evenSevens = new HashMap<>();
            entries.forEach((k, v) ->
            {
                if (k.startsWith("even-") && v.equals("seven"))
                {
                    evenSevens.put(k, v);
                }
            });
            assertEquals(evenSevens, collect(cache.scan(ScanQuery.<String, String>value(ValuePredicate.equalTo(
                "seven")).withKeyPrefix("even-").pageEntries(4))));
            assertThrows(IllegalArgumentException.class, () -> cache.scan(ScanQuery.matching((k, v) -> true)),
                "an arbitrary predicate cannot run on the members");

            final List<String> some = new ArrayList<>(List.of("even-0", "odd-1", "missing"));
            assertEquals(2, cache.removeAll(some));
            assertEquals(1198, cache.size());
            assertEquals(1198, cache.clear());
            assertEquals(0, cache.size());
            assertFalse(cache.scan().hasNext());
        }
    }

    @Test
    void aThinClientScanDuringWritesAndAMemberLeavingReturnsEveryStableEntryOnce() throws Exception
    {
        try (LocalMembers cluster = LocalMembers.start(3, config -> { });
             GridClient client = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(2))))
        {
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("stable", Codecs.STRING,
                Codecs.STRING).partitions(32).backups(1));
            final Map<String, String> stable = new HashMap<>();
            for (int i = 0; i < 2000; i++)
            {
                stable.put("s" + i, "v" + i);
            }
            cache.putAll(stable);
            final AtomicBoolean stop = new AtomicBoolean();
            final CompletableFuture<Void> writer = CompletableFuture.runAsync(() ->
            {
                for (int i = 0; !stop.get(); i++)
                {
                    try
                    {
                        cache.put("w" + (i % 300), "x" + i);
                    }
                    catch (final GridException ex)
                    {
                        // Refused while the member leaves; the scan is what is checked.
                    }
                }
            });
            final Map<String, Integer> seen = new HashMap<>();
            int entries = 0;
            try (ScanCursor<String, String> cursor = cache.scan(ScanQuery.<String, String>all().pageEntries(16)))
            {
                while (cursor.hasNext())
                {
                    final Map.Entry<String, String> entry = cursor.next();
                    seen.merge(entry.getKey(), 1, Integer::sum);
                    if (entry.getKey().startsWith("s"))
                    {
                        assertEquals(stable.get(entry.getKey()), entry.getValue());
                    }
                    if (++entries == 500)
                    {
                        cluster.members.get(0).close();
                    }
                }
            }
            stop.set(true);
            writer.get();
            for (final String key : stable.keySet())
            {
                assertEquals(1, seen.getOrDefault(key, 0), key);
            }
            seen.forEach((key, count) -> assertEquals(1, count, key + " returned more than once"));
        }
    }

    @Test
    void expiryThroughTheThinClientPoliciesAndTimesToLive() throws Exception
    {
        try (LocalMembers cluster = LocalMembers.start(3, config -> { });
             GridClient client = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0))))
        {
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("expiring", Codecs.STRING,
                Codecs.STRING).partitions(16).backups(1).expiry(ExpiryPolicy.modified(Duration.ofSeconds(60))));
            assertEquals(ExpiryPolicy.modified(Duration.ofSeconds(60)),
                cluster.members.get(2).<String, String>cache("expiring").configuration().expiry(),
                "the policy reached the members");
            for (int i = 0; i < 100; i++)
            {
                cache.put("policy" + i, "p");
            }
            // A longer time to live for one entry read at once (200 writes on 2 busy cores can take longer than the
            // short one), then the short ones.
            cache.put("read", "s", Duration.ofSeconds(5));
            assertEquals("s", cache.get("read"));
            for (int i = 0; i < 100; i++)
            {
                cache.put("short" + i, "s", Duration.ofMillis(500));
            }
            final long expiresByMs = System.currentTimeMillis() + 500;
            // Waiting for time itself to pass (the entries' expiry), not for another thread.
            long leftMs;
            while ((leftMs = expiresByMs + 100 - System.currentTimeMillis()) > 0)
            {
                java.util.concurrent.TimeUnit.MILLISECONDS.sleep(leftMs);
            }
            for (int i = 0; i < 100; i++)
            {
                assertNull(cache.get("short" + i), "short" + i);
                assertEquals("p", cache.get("policy" + i));
            }
            final Cache<String, String> plain = client.createCache(new CacheConfiguration<>("plain", Codecs.STRING,
                Codecs.STRING));
            final GridException refused = assertThrows(GridException.class, () -> plain.put("k", "v",
                Duration.ofSeconds(1)));
            assertEquals(ErrorCode.CONFIGURATION_INVALID, refused.errorCode(), refused.getMessage());
        }
    }

    /**
     * A listener through the thin client sees every acknowledged change exactly once, in each partition's counter
     * order, while the member it is connected to (a primary of some partitions) stops: the client reconnects to
     * another member and reads each journal again from its position.
     */
    @Test
    void aThinClientListenerSeesEveryChangeOnceAcrossItsMemberStopping() throws Exception
    {
        try (LocalMembers cluster = LocalMembers.start(3, config -> { });
             GridClient client = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0))
                 .address(cluster.clientAddress(1)).address(cluster.clientAddress(2))))
        {
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("listened", Codecs.STRING,
                Codecs.STRING).partitions(16).backups(2).eventJournal(100_000));
            final RecordingListener listener = new RecordingListener();
            final List<CacheEvent<String, String>> events = listener.events;
            final java.util.Set<String> seen = listener.seen;
            final List<String> problems = listener.problems;
            final java.util.Set<String> acknowledged = new java.util.HashSet<>();
            try (ListenerRegistration registration = cache.listen(listener))
            {
                // A member this client is connected to (and a primary of some partitions): its reads move elsewhere.
                final String connectedTo = client.connectedMembers().get(0);
                for (int i = 0; i < 1500; i++)
                {
                    if (i == 500)
                    {
                        cluster.members.stream().filter(m -> m.configuration().memberId().equals(connectedTo))
                            .findFirst().orElseThrow().close();
                    }
                    try
                    {
                        cache.put("k" + (i % 100), "v" + i);
                        acknowledged.add("v" + i);
                    }
                    catch (final GridException ex)
                    {
                        // Outcome unknown while the member stops: neither required nor excluded.
                    }
                }
                final long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
                while (!seen.containsAll(acknowledged) && System.nanoTime() < deadline)
                {
                    java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
                }
                assertTrue(seen.containsAll(acknowledged), "acknowledged but not seen: " +
                    acknowledged.stream().filter(v -> !seen.contains(v)).limit(10).toList());
            }
            assertTrue(problems.isEmpty(), problems.toString());
            final Map<Integer, Long> last = new HashMap<>();
            final Map<String, Integer> lastIndexOf = new HashMap<>();
            for (final CacheEvent<String, String> event : events)
            {
                assertTrue(event.counter() > last.getOrDefault(event.partition(), 0L), "order: " + event);
                last.put(event.partition(), event.counter());
                final int index = Integer.parseInt(event.value().substring(1));
                assertTrue(index > lastIndexOf.getOrDefault(event.key(), -1), "per key in write order: " + event);
                lastIndexOf.put(event.key(), index);
            }
        }
    }

    /**
     * A thin client's listener with an initial scan: the entries present first (INITIAL), in pages of 4 so that
     * partitions take several reads, then the changes; applied in order they give the cache's content.
     */
    @Test
    void aThinClientListenerWithAnInitialScanSeesTheContentThenTheChanges() throws Exception
    {
        try (LocalMembers cluster = LocalMembers.start(3, config -> { });
             GridClient client = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0))))
        {
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("scanned", Codecs.STRING,
                Codecs.STRING).partitions(8).backups(1).eventJournal(10_000));
            for (int i = 0; i < 100; i++)
            {
                cache.put("k" + i, "before" + i);
            }
            final RecordingListener listener = new RecordingListener();
            final List<CacheEvent<String, String>> events = listener.events;
            final List<String> problems = listener.problems;
            try (ListenerRegistration registration = cache.listenWithInitialScan(listener,
                ScanQuery.<String, String>all().pageEntries(4)))
            {
                for (int i = 0; i < 20; i++)
                {
                    cache.put("k" + i, "after" + i);
                }
                cache.remove("k99");
                cache.put("new", "after");
                // Partitions deliver independently: wait until the events applied in order give the content.
                final Map<String, String> content = collect(cache.scan());
                final long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
                while (!ListenedEvents.applied(events).equals(content) && System.nanoTime() < deadline)
                {
                    java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
                }
            }
            assertTrue(problems.isEmpty(), problems + " " + events);
            final Map<String, String> applied = ListenedEvents.applied(events);
            final Map<String, String> initial = new HashMap<>();
            for (final CacheEvent<String, String> event : events)
            {
                if (event.kind() == CacheEvent.Kind.INITIAL)
                {
                    assertNull(initial.put(event.key(), event.value()), "scanned twice: " + event);
                }
            }
            // The scan runs on the registration's thread after listen returned, so the writes after it may be in it;
            // the entries nothing wrote since are there in any case, once.
            for (int i = 20; i < 99; i++)
            {
                assertEquals("before" + i, initial.get("k" + i), "k" + i + " in the initial scan");
            }
            assertEquals(collect(cache.scan()), applied);
            assertEquals("after", applied.get("new"));
            assertFalse(applied.containsKey("k99"));
        }
    }

    /**
     * A thin client listening to a cache of 1,024 partitions keeps a read per partition held by the primaries: the
     * connection still serves the application's requests (journal reads have a limit of their own), an idle second
     * costs about one read per partition per wait, not a stream of them, and a write's event arrives at once.
     */
    @Test
    void aThinClientListenersHeldReadsLeaveItsConnectionFreeAndCostLittleWhenIdle() throws Exception
    {
        try (LocalMembers cluster = LocalMembers.start(3, config -> { });
             GridClient client = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0))
                 .partitionAware(false)))
        {
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("wide", Codecs.STRING,
                Codecs.STRING).partitions(1024).backups(1).eventJournal(1_000));
            final List<CacheEvent<String, String>> events = new java.util.concurrent.CopyOnWriteArrayList<>();
            final CacheEventListener<String, String> listener = events::add;
            try (ListenerRegistration registration = cache.listen(listener))
            {
                cache.put("first", "1");
                awaitEvent(events, "first");
                final long before = journalReads(cluster);
                final long idleStartNs = System.nanoTime();
                java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.SECONDS.toNanos(1));
                final long idleMs = (System.nanoTime() - idleStartNs) / 1_000_000;
                final long idleReads = journalReads(cluster) - before;
                // Held up to 2 s each (resends of held reads between members aside, counted where they started).
                assertTrue(idleReads <= 1024L * (1 + idleMs / 1000) + 1024, idleReads + " journal reads in " + idleMs +
                    " ms of an idle registration over 1,024 partitions");
                for (int i = 0; i < 200; i++)
                {
                    cache.put("k" + i, "v" + i);
                    assertEquals("v" + i, cache.get("k" + i));
                }
                final long putNs = System.nanoTime();
                cache.put("last", "x");
                awaitEvent(events, "last");
                final long latencyMs = (System.nanoTime() - putNs) / 1_000_000;
                assertTrue(latencyMs < 1000, "the event came after " + latencyMs + " ms");
            }
        }
    }

    private static void awaitEvent(final List<CacheEvent<String, String>> events, final String key)
    {
        final long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (events.stream().noneMatch(e -> e.key().equals(key)))
        {
            assertTrue(System.nanoTime() < deadline, "no event of " + key + " within 30 s");
            java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
        }
    }

    private static long journalReads(final LocalMembers cluster)
    {
        long reads = 0;
        for (final dev.grid.node.GridMember member : cluster.members)
        {
            final dev.grid.core.MemberMetrics.Latency latency = member.metrics().latencies().get("journal_read");
            reads += latency == null ? 0 : latency.count();
        }
        return reads;
    }

    private static Map<String, String> collect(final ScanCursor<String, String> cursor)
    {
        final Map<String, String> found = new HashMap<>();
        try (cursor)
        {
            while (cursor.hasNext())
            {
                final Map.Entry<String, String> entry = cursor.next();
                assertNull(found.put(entry.getKey(), entry.getValue()), "returned twice: " + entry.getKey());
            }
        }
        return found;
    }
}
