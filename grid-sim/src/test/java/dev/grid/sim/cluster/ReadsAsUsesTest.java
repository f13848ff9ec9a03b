package dev.grid.sim.cluster;

import dev.grid.core.EvictionPolicy;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.QuorumReadPolicy;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.core.engine.PartitionMap;
import dev.grid.sim.SimNetwork;
import dev.grid.sim.Simulation;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.grid.sim.cluster.ReadNowTest.submit;
import static dev.grid.sim.cluster.RetryMemoryTest.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which reads count as a use for a least-recently-used cache's evictions: a get does, whether it is answered in the
 * call that reads it ({@link Engine#readNow}) or submitted; a containsKey does not, either way. Three members, eight
 * partitions and a bound of eight entries per member: a partition's share is three entries, so the fourth written to
 * one partition evicts the least recently used of the other three (the sample covers them all).
 */
class ReadsAsUsesTest
{
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final int PARTITIONS = 8;

    @Test
    void aContainsKeyIsNoUseAndAGetIsOneOnEitherWay()
    {
        final Simulation sim = new Simulation(53);
        final SimNetwork network = new SimNetwork(sim, sim.fork(), 3).latency(100_000, 300_000);
        final Engine[] members = RetryMemoryTest.startMembers(sim, network, 10_000 * MS);
        final OpOutcome[] created = new OpOutcome[1];
        members[0].admin().createCache(new CacheDescriptor(0, "lru", PARTITIONS, 1, "string", "string", null,
            20_000 * MS, null, 0, 0, PartitionLossPolicy.IGNORE, 0, QuorumReadPolicy.REFUSE, null,
            EvictionPolicy.lru(8)), Answers.capture(created, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> created[0] != null));
        final int cacheId = members[0].cache("lru").cacheId();
        final List<byte[]> keys = keysOfOnePartition(6);
        final PartitionMap map = members[0].installedMap();
        final Engine primary = members[RetryMemoryTest.slotOf(members,
            map.owners(cacheId, KeyPartitioner.partition(keys.get(0), PARTITIONS))[0], map)];
        for (int i = 0; i < 3; i++)
        {
            submit(sim, primary, cacheId, OpType.PUT, keys.get(i), bytes("v" + i));
        }
        // k0 is the least recently used; asking whether it is there, both ways, changes nothing.
        final byte[] present = primary.readNow(cacheId, OpType.CONTAINS_KEY, keys.get(0));
        assertNotSame(Engine.NOT_READ_NOW, present, "the primary left a containsKey to submit");
        assertTrue(present != null);
        assertTrue(submit(sim, primary, cacheId, OpType.CONTAINS_KEY, keys.get(0), null).flag());
        submit(sim, primary, cacheId, OpType.PUT, keys.get(3), bytes("v3"));
        assertEvicted(sim, primary, cacheId, keys.get(0), "k0, asked for only by containsKey");
        // Now k1 is the least recently used; a get answered at once makes it the most recent, so k2 goes.
        assertArrayEquals(bytes("v1"), primary.readNow(cacheId, OpType.GET, keys.get(1)));
        submit(sim, primary, cacheId, OpType.PUT, keys.get(4), bytes("v4"));
        assertEvicted(sim, primary, cacheId, keys.get(2), "k2, after k1 was read at once");
        // Now k3 is (then k1, k4); a submitted get makes it the most recent, so k1 goes.
        assertArrayEquals(bytes("v3"), submit(sim, primary, cacheId, OpType.GET, keys.get(3), null).value());
        submit(sim, primary, cacheId, OpType.PUT, keys.get(5), bytes("v5"));
        assertEvicted(sim, primary, cacheId, keys.get(1), "k1, after k3 was read through submit");
    }

    /**
     * The write just answered evicted {@code key} as it started (a primary evicts for a write in the same step); a
     * containsKey checks, so that the check is no use of anything.
     */
    private static void assertEvicted(final Simulation sim, final Engine primary, final int cacheId, final byte[] key,
        final String what)
    {
        assertFalse(submit(sim, primary, cacheId, OpType.CONTAINS_KEY, key, null).flag(), what + " was not evicted");
    }

    private static List<byte[]> keysOfOnePartition(final int count)
    {
        final List<byte[]> keys = new ArrayList<>();
        final int partition = KeyPartitioner.partition(bytes("k0"), PARTITIONS);
        for (int i = 0; keys.size() < count; i++)
        {
            final byte[] key = bytes("k" + i);
            if (KeyPartitioner.partition(key, PARTITIONS) == partition)
            {
                keys.add(key);
            }
        }
        return keys;
    }
}
