package dev.grid.node;

import dev.grid.core.BaselineTopology;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.PartitionLostException;
import dev.grid.core.RebalanceListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The baseline, lost-partition and rebalance-event API of an embedded member, against three members in this JVM:
 * show, set, add, remove and auto-adjust with their refusals; a partition whose only owner left fails reads and writes
 * with {@link PartitionLostException} until it is reset; listeners hear copies start and finish catching up. (The data-movement behaviour is in the simulated scenarios.)
 */
class BaselineAndLostPartitionsTest
{
    private TestCluster cluster;

    @BeforeEach
    void start()
    {
        cluster = TestCluster.start(3);
    }

    @AfterEach
    void stop()
    {
        cluster.close();
    }

    @Test
    void theBaselineIsShownSetAddedToRemovedFromAndAutoAdjustedThroughTheApi()
    {
        final GridMember a = cluster.members.get(0);
        final GridMember c = cluster.members.get(2);
        final Cache<String, String> cache = a.createCache(new CacheConfiguration<>("b", Codecs.STRING, Codecs.STRING)
            .backups(1).partitions(32));
        BaselineTopology baseline = a.baseline();
        assertFalse(baseline.isSet());
        assertEquals(List.of("m0", "m1", "m2"), baseline.running());
        a.setBaseline(List.of("m0", "m1"));
        baseline = c.baseline();
        assertEquals(List.of("m0", "m1"), baseline.members());
        assertEquals(List.of("m2"), baseline.outside());
        final GridException unknown = assertThrows(GridException.class, () -> c.addToBaseline("nobody"));
        assertEquals(ErrorCode.BASELINE_INVALID, unknown.errorCode());
        assertTrue(unknown.getMessage().contains("'nobody'"), unknown.getMessage());
        c.addToBaseline("m2");
        assertEquals(List.of("m0", "m1", "m2"), a.baseline().members());
        a.removeFromBaseline("m1");
        assertEquals(List.of("m0", "m2"), c.baseline().members());
        assertEquals(ErrorCode.BASELINE_INVALID, assertThrows(GridException.class, () ->
            a.removeFromBaseline("m0", "m2")).errorCode());
        a.baselineAutoAdjust(60_000_000_000L);
        assertEquals(60_000_000_000L, c.baseline().autoAdjustTimeoutNs());
        a.baselineAutoAdjust(-1);
        assertTrue(c.baseline().autoAdjustTimeoutNs() < 0);
        // The cache works throughout, and after: every key readable through any member.
        for (int i = 0; i < 200; i++)
        {
            cache.put("k" + i, "v" + i);
        }
        final Cache<String, String> viaC = c.cache("b");
        for (int i = 0; i < 200; i++)
        {
            assertEquals("v" + i, viaC.get("k" + i));
        }
    }

    @Test
    void rebalanceListenersHearEachCopyStartAndFinishCatchingUp()
    {
        final GridMember a = cluster.members.get(0);
        final GridMember b = cluster.members.get(1);
        final Cache<String, String> cache = a.createCache(new CacheConfiguration<>("events", Codecs.STRING,
            Codecs.STRING).backups(1).partitions(32));
        for (int i = 0; i < 300; i++)
        {
            cache.put("k" + i, "v" + i);
        }
        final Map<Integer, String> started = new ConcurrentHashMap<>();
        final Map<Integer, Long> finished = new ConcurrentHashMap<>();
        final RebalanceListener listener = new RebalanceListener()
        {
            @Override
            public void onStarted(final String cacheName, final int partition, final boolean historical,
                final String supplier, final String why)
            {
                started.put(partition, cacheName + (historical ? " historical" : " full") + " from " + supplier);
            }

            @Override
            public void onFinished(final String cacheName, final int partition, final boolean historical,
                final long records, final long bytes, final long durationNs)
            {
                assertTrue(started.containsKey(partition), "finished before it started: " + partition);
                finished.put(partition, records);
            }
        };
        a.addRebalanceListener(listener);
        b.addRebalanceListener(listener);
        // The third member leaves: the copies it held are rebuilt on the other two.
        cluster.members.remove(2).close();
        cluster.awaitMembers(2, 10_000, a, b);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((started.isEmpty() || finished.size() < started.size() || !a.isQuiescent()) &&
            System.nanoTime() < deadline)
        {
            Thread.onSpinWait();
        }
        assertFalse(started.isEmpty(), "copies of the leaving member were rebuilt");
        assertEquals(started.keySet(), finished.keySet(), "every copy that started finished");
        started.values().forEach(event -> assertTrue(event.startsWith("events full from m"), event));
        assertTrue(finished.values().stream().mapToLong(Long::longValue).sum() > 0, "entries were streamed");
    }

    @Test
    void aPartitionWhoseOnlyOwnerLeftFailsReadsAndWritesUntilItIsReset()
    {
        final GridMember a = cluster.members.get(0);
        final Cache<String, String> cache = a.createCache(new CacheConfiguration<>("l", Codecs.STRING, Codecs.STRING)
            .backups(0).partitions(16));
        for (int i = 0; i < 100; i++)
        {
            cache.put("k" + i, "v" + i);
        }
        cluster.members.remove(2).close();
        cluster.awaitMembers(2, 10_000, a, cluster.members.get(1));
        final List<Integer> lost = a.lostPartitions("l");
        assertFalse(lost.isEmpty(), "the leaving member was the only owner of some partitions");
        assertEquals(lost, cluster.members.get(1).lostPartitions("l"));
        String lostKey = null;
        for (int i = 0; i < 100; i++)
        {
            final String key = "k" + i;
            final int partition = KeyPartitioner.partition(key.getBytes(StandardCharsets.UTF_8), 16);
            if (lost.contains(partition))
            {
                lostKey = key;
                final PartitionLostException read = assertThrows(PartitionLostException.class, () -> cache.get(key));
                assertTrue(read.getMessage().contains("partition " + partition), read.getMessage());
                assertThrows(PartitionLostException.class, () -> cache.put(key, "x"));
            }
            else
            {
                assertEquals("v" + i, cache.get(key));
            }
        }
        assertTrue(lostKey != null);
        a.resetLostPartitions("l");
        assertEquals(List.of(), a.lostPartitions("l"));
        // In memory, the lost data went with its owner: the partition serves again, empty.
        assertNull(cache.get(lostKey));
        cache.put(lostKey, "again");
        assertEquals("again", cluster.members.get(1).<String, String>cache("l").get(lostKey));
    }
}
