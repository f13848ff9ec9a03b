package dev.grid.sim.cluster;

import dev.grid.core.ExpiryPolicy;
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

import java.util.Set;
import java.util.concurrent.TimeUnit;

import static dev.grid.sim.cluster.RetryMemoryTest.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Engine#readNow}: a read answered in the call, without an operation, only where a submitted read would have
 * been answered from the member's own primary copy at once; everywhere else it is left to {@link Engine#submit}.
 */
class ReadNowTest
{
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void thePrimaryAnswersAtOnceAndEveryOtherMemberLeavesTheReadToSubmit()
    {
        final Simulation sim = new Simulation(41);
        final SimNetwork network = new SimNetwork(sim, sim.fork(), 3).latency(100_000, 300_000);
        final Engine[] members = RetryMemoryTest.startMembers(sim, network, 10_000 * MS);
        final int cacheId = RetryMemoryTest.createCache(sim, members);
        final byte[] key = bytes("k1");
        final byte[] other = bytes("k2");
        final PartitionMap map = members[0].installedMap();
        final int primary = RetryMemoryTest.slotOf(members, map.owners(cacheId, KeyPartitioner.partition(key, 8))[0],
            map);
        submit(sim, members[primary], cacheId, OpType.PUT, key, bytes("v1"));
        final Engine otherPrimary = members[RetryMemoryTest.slotOf(members,
            map.owners(cacheId, KeyPartitioner.partition(other, 8))[0], map)];
        submit(sim, otherPrimary, cacheId, OpType.PUT, other, bytes("v2"));

        final byte[] value = members[primary].readNow(cacheId, OpType.GET, key);
        assertArrayEquals(bytes("v1"), value);
        assertSame(members[primary].readLocal(cacheId, key), value, "the stored array, not a copy");
        assertTrue(members[primary].readNow(cacheId, OpType.CONTAINS_KEY, key) != null);
        assertNull(members[primary].readNow(cacheId, OpType.GET, absentKeyOfPartitionOf(key)));
        // The engine keeps nothing of the key: the caller's array, changed, reads another key.
        final byte[] reused = bytes("k1");
        assertArrayEquals(bytes("v1"), members[primary].readNow(cacheId, OpType.GET, reused));
        reused[1] = '2';
        assertArrayEquals(other, reused);
        final byte[] second = otherPrimary.readNow(cacheId, OpType.GET, reused);
        assertArrayEquals(bytes("v2"), second);
        for (int i = 0; i < members.length; i++)
        {
            if (i != primary)
            {
                assertSame(Engine.NOT_READ_NOW, members[i].readNow(cacheId, OpType.GET, key), "member " + i);
                // Submitted, the read reaches the primary and finds the same value.
                assertArrayEquals(bytes("v1"), submit(sim, members[i], cacheId, OpType.GET, key, null).value());
            }
        }
        assertEquals("readNow answers a GET or CONTAINS_KEY, not a PUT", assertThrows(IllegalArgumentException.class,
            () -> members[primary].readNow(cacheId, OpType.PUT, key)).getMessage());
    }

    @Test
    void aPrimaryCutOffFromItsQuorumLeavesReadsToSubmitAndItsSuccessorAnswers()
    {
        final Simulation sim = new Simulation(43);
        final SimNetwork network = new SimNetwork(sim, sim.fork(), 3).latency(100_000, 300_000);
        final Engine[] members = RetryMemoryTest.startMembers(sim, network, 1_000 * MS);
        final int cacheId = RetryMemoryTest.createCache(sim, members);
        final byte[] key = bytes("k1");
        final PartitionMap map = members[0].installedMap();
        final int primary = RetryMemoryTest.slotOf(members, map.owners(cacheId, KeyPartitioner.partition(key, 8))[0],
            map);
        submit(sim, members[primary], cacheId, OpType.PUT, key, bytes("v1"));
        assertArrayEquals(bytes("v1"), members[primary].readNow(cacheId, OpType.GET, key));

        network.partition(Set.of(primary));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () ->
            !members[primary].status().quorum().held()), "the cut-off primary loses quorum");
        assertSame(Engine.NOT_READ_NOW, members[primary].readNow(cacheId, OpType.GET, key));
        final int successor = (primary + 1) % 3;
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () ->
        {
            final byte[] read = members[successor].readNow(cacheId, OpType.GET, key);
            final byte[] atTheThird = members[(primary + 2) % 3].readNow(cacheId, OpType.GET, key);
            return read != Engine.NOT_READ_NOW || atTheThird != Engine.NOT_READ_NOW;
        }), "a member of the majority becomes the key's primary and answers at once");
        final byte[] read = members[successor].readNow(cacheId, OpType.GET, key);
        assertArrayEquals(bytes("v1"), read != Engine.NOT_READ_NOW ? read :
            members[(primary + 2) % 3].readNow(cacheId, OpType.GET, key));
        assertSame(Engine.NOT_READ_NOW, members[primary].readNow(cacheId, OpType.GET, key));
    }

    @Test
    void aCacheWithAnExpiryPolicyLeavesReadsToSubmit()
    {
        final Simulation sim = new Simulation(47);
        final SimNetwork network = new SimNetwork(sim, sim.fork(), 3).latency(100_000, 300_000);
        final Engine[] members = RetryMemoryTest.startMembers(sim, network, 10_000 * MS);
        final OpOutcome[] created = new OpOutcome[1];
        members[0].admin().createCache(new CacheDescriptor(0, "expiring", 8, 1, "string", "string", null,
            20_000 * MS, null, 0, 0, PartitionLossPolicy.IGNORE, 0, QuorumReadPolicy.REFUSE,
            new ExpiryPolicy(ExpiryPolicy.Kind.CREATED, 60_000), null, 0),
            Answers.capture(created, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> created[0] != null));
        final int cacheId = members[0].cache("expiring").cacheId();
        final byte[] key = bytes("k1");
        final PartitionMap map = members[0].installedMap();
        final Engine primary = members[RetryMemoryTest.slotOf(members,
            map.owners(cacheId, KeyPartitioner.partition(key, 8))[0], map)];
        submit(sim, primary, cacheId, OpType.PUT, key, bytes("v1"));

        assertSame(Engine.NOT_READ_NOW, primary.readNow(cacheId, OpType.GET, key));
        assertArrayEquals(bytes("v1"), submit(sim, primary, cacheId, OpType.GET, key, null).value());
    }

    /** @return a key never written, of {@code key}'s partition. */
    private static byte[] absentKeyOfPartitionOf(final byte[] key)
    {
        for (int i = 0; ; i++)
        {
            final byte[] absent = bytes("absent" + i);
            if (KeyPartitioner.partition(absent, 8) == KeyPartitioner.partition(key, 8))
            {
                return absent;
            }
        }
    }

    /** Submit an operation and await its answer, which must be a success. */
    static OpOutcome submit(final Simulation sim, final Engine member, final int cacheId, final OpType type,
        final byte[] key, final byte[] value)
    {
        final OpOutcome[] outcome = new OpOutcome[1];
        final GridException[] error = new GridException[1];
        member.submit(cacheId, type, key, value, null, 5_000 * MS, 0, 0, 0, Answers.capture(outcome, error));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(6), () -> outcome[0] != null ||
            error[0] != null), type + " answered");
        assertNull(error[0]);
        assertNotSame(Engine.NOT_READ_NOW, outcome[0].value());
        return outcome[0];
    }
}
