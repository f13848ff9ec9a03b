package dev.grid.examples;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.CacheEvent;
import dev.grid.core.Codecs;
import dev.grid.core.GridException;
import dev.grid.core.ListenerRegistration;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 19's listener, from outside: three member processes, a thin client writing and listening through the member
 * it connected to first, and that member killed with SIGKILL in the middle of the writes (it is the primary of a third
 * of the partitions and the client's connection). The client reconnects to another member, the partitions' new
 * primaries hold the same journals, and the listener sees every acknowledged change exactly once, in each partition's
 * counter order and in the writer's order per key, compared with the writer's log.
 */
class ThinClientListenerProcessTest
{
    @Test
    void aListenerSeesEveryAcknowledgedChangeOnceAcrossASigkilledMemberAndAReconnection() throws Exception
    {
        try (MemberProcesses cluster = MemberProcesses.start(3, ""))
        {
            try
            {
                listenAcrossAKill(cluster);
            }
            catch (final Throwable failure)
            {
                cluster.printLogTails();
                throw failure;
            }
        }
    }

    private static void listenAcrossAKill(final MemberProcesses cluster) throws Exception
    {
        final ClientConfiguration config = new ClientConfiguration();
        cluster.members.forEach(m -> config.address(m.clientAddress));
        try (GridClient client = GridClient.connect(config))
        {
            // Two backups: when a member dies the other two hold every partition, with its journal.
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("listened",
                Codecs.STRING, Codecs.STRING).partitions(32).backups(2).eventJournal(100_000));
            final RecordingListener listener = new RecordingListener();
            final List<CacheEvent<String, String>> events = listener.events;
            final Set<String> seen = listener.seen;
            final List<String> problems = listener.problems;
            // The writer's log: per key, the values of its acknowledged puts in order.
            final Map<String, List<String>> acknowledged = new HashMap<>();
            final Set<String> unknown = new LinkedHashSet<>();
            try (ListenerRegistration registration = cache.listen(listener))
            {
                final String victim = client.connectedMembers().get(0);
                for (int i = 0; i < 1500; i++)
                {
                    if (i == 500)
                    {
                        cluster.kill(cluster.members.stream().filter(m -> m.id.equals(victim)).findFirst()
                            .orElseThrow());
                    }
                    final String key = "k" + (i % 100);
                    try
                    {
                        cache.put(key, "v" + i);
                        acknowledged.computeIfAbsent(key, k -> new ArrayList<>()).add("v" + i);
                    }
                    catch (final GridException ex)
                    {
                        // Outcome unknown while the member dies: neither required nor excluded.
                        unknown.add("v" + i);
                    }
                }
                final Set<String> required = new LinkedHashSet<>();
                acknowledged.values().forEach(required::addAll);
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!seen.containsAll(required) && System.nanoTime() < deadline)
                {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
                }
                assertTrue(seen.containsAll(required), "acknowledged but not seen: " +
                    required.stream().filter(v -> !seen.contains(v)).limit(10).toList());
            }
            assertTrue(problems.isEmpty(), problems.toString());
            final Map<Integer, Long> lastCounter = new HashMap<>();
            final Map<String, Integer> lastIndex = new HashMap<>();
            for (final CacheEvent<String, String> event : events)
            {
                assertTrue(event.counter() > lastCounter.getOrDefault(event.partition(), 0L),
                    "partition order: " + event);
                lastCounter.put(event.partition(), event.counter());
                assertTrue(acknowledged.getOrDefault(event.key(), List.of()).contains(event.value()) ||
                    unknown.contains(event.value()), "a change nobody made: " + event);
                final int index = Integer.parseInt(event.value().substring(1));
                assertTrue(index > lastIndex.getOrDefault(event.key(), -1), "the writer's order: " + event);
                lastIndex.put(event.key(), index);
            }
        }
    }
}
