package dev.grid.sim.cluster;

import dev.grid.tx.TxManager;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.Engine;
import dev.grid.core.member.Members;
import dev.grid.core.engine.OpCallback;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.core.engine.PartitionMap;
import dev.grid.core.spi.VolatileWal;
import dev.grid.sim.SimNetwork;
import dev.grid.sim.Simulation;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Retries apply once. Issue 15, item 3: exactly-once under a stalled backup. The primary cannot answer while its backup does not
 * acknowledge, so the origin resends every operation each retry interval; the primary must recognise every resend
 * however many operations wait (the memory of operations in flight held 256 per partition, and with 300 merges waiting
 * the oldest were forgotten and applied again when resent).
 */
class RetryMemoryTest
{
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final int MERGES = 300;

    @Test
    void hundredsOfResentMergesWaitingForAStalledBackupApplyOnceEach()
    {
        final Simulation sim = new Simulation(15);
        final SimNetwork network = new SimNetwork(sim, sim.fork(), 3).latency(100_000, 300_000);
        final Engine[] members = startMembers(sim, network, 10_000 * MS);
        final int cacheId = createCache(sim, members);

        // A key, its primary and backup, and the third member as the origin of every merge.
        final PartitionMap map = members[0].installedMap();
        final int partition = KeyPartitioner.partition(bytes("k0"), 8);
        // Distinct keys of one partition: the memory is per partition.
        final String[] keys = new String[MERGES];
        for (int i = 0, n = 0; n < MERGES; i++)
        {
            if (KeyPartitioner.partition(bytes("k" + i), 8) == partition)
            {
                keys[n++] = "k" + i;
            }
        }
        final int primary = slotOf(members, map.owners(cacheId, partition)[0], map);
        final int backup = slotOf(members, map.owners(cacheId, partition)[1], map);
        final int origin = 3 - primary - backup;

        // The backup stalls for 2 s: nothing between it and the primary gets through.
        network.blockOneWay(primary, backup);
        network.blockOneWay(backup, primary);
        final Map<Integer, Object> answers = new HashMap<>();
        for (int i = 0; i < MERGES; i++)
        {
            final int token = i;
            members[origin].submit(cacheId, OpType.MERGE, bytes(keys[i]), bytes("t" + i + ";"), null, 20_000 * MS,
                new OpCallback()
                {
                    public void onSuccess(final OpOutcome outcome)
                    {
                        answers.put(token, outcome);
                    }

                    public void onFailure(final GridException error)
                    {
                        answers.put(token, error);
                    }
                });
        }
        sim.runUntil(sim.nowNs() + 2_000 * MS, null);
        assertTrue(answers.isEmpty(), "no merge can be acknowledged while the backup stalls");
        network.heal();
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () -> answers.size() == MERGES),
            () -> answers.size() + " of " + MERGES + " merges answered");
        for (final Object answer : answers.values())
        {
            assertTrue(answer instanceof OpOutcome, () -> "a merge failed: " + answer);
        }

        for (int i = 0; i < MERGES; i++)
        {
            final OpOutcome[] read = new OpOutcome[1];
            final GridException[] error = new GridException[1];
            members[origin].submit(cacheId, OpType.GET, bytes(keys[i]), null, null, 5_000 * MS,
                Answers.capture(read, error));
            assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> read[0] != null ||
                error[0] != null));
            assertNull(error[0]);
            assertEquals("t" + i + ";", new String(read[0].value(), StandardCharsets.UTF_8),
                "merge t" + i + " of " + keys[i] + " applied once");
        }
    }

    /**
     * Issue 15, item 5: a thin client's write resent under a new identity after a broken connection was applied again,
     * after a later write of another client (ABA). Now the client's identity and number are the write's identity: a
     * resend through another member, or after the primary failed, gets the first application's outcome and changes
     * nothing. A merge makes a second application visible in the value.
     */
    @Test
    void aThinClientsWriteResentThroughOtherMembersAppliesOnceAcrossAPrimaryFailure()
    {
        final Simulation sim = new Simulation(16);
        final SimNetwork network = new SimNetwork(sim, sim.fork(), 3).latency(100_000, 300_000);
        final Engine[] members = startMembers(sim, network, 1_000 * MS);
        final int cacheId = createCache(sim, members);
        final PartitionMap map = members[0].installedMap();
        final int partition = KeyPartitioner.partition(bytes("k"), 8);
        final int primary = slotOf(members, map.owners(cacheId, partition)[0], map);
        final int backup = slotOf(members, map.owners(cacheId, partition)[1], map);
        final int other = 3 - primary - backup;
        final long client = ClientProtocol.newClientId(new Random(7)::nextLong);

        assertEquals("a;", merge(sim, members[other], cacheId, "a;", client, 41), "the client's first attempt");
        assertEquals("a;b;", merge(sim, members[other], cacheId, "b;", 0, 0), "another writer's merge after it");
        // The connection broke before the answer came: the client resends through the primary's member.
        assertEquals("a;", merge(sim, members[primary], cacheId, "a;", client, 41),
            "the resend is answered with the first application's outcome");
        assertEquals("a;b;", read(sim, members[other], cacheId), "the resend applied nothing");

        // The primary fails; the backup takes over, and the client resends once more, through it.
        network.down(primary, true);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () ->
            members[other].status().isSettled() && members[other].topology().members().size() == 2 &&
            members[backup].status().isSettled() && members[backup].topology().members().size() == 2));
        assertEquals("a;", merge(sim, members[backup], cacheId, "a;", client, 41),
            "the new primary knows the write from its replicate");
        assertEquals("a;b;", read(sim, members[other], cacheId), "the resend after failover applied nothing");

        // A write of the client's under a new number is a new write, and so is a member's own resubmission: the
        // memory is by identity, not by content.
        assertEquals("a;b;a;", merge(sim, members[other], cacheId, "a;", client, 42));
        assertEquals("a;b;a;a;", merge(sim, members[backup], cacheId, "a;", 0, 0));
    }

    /** Merge {@code operand} into key "k" under a client's identity (client 0: the member's own); the merged value. */
    private static String merge(final Simulation sim, final Engine member, final int cacheId,
        final String operand, final long client, final long sequence)
    {
        return awaitValue(sim, member, cacheId, OpType.MERGE, bytes(operand), client, sequence);
    }

    private static String read(final Simulation sim, final Engine member, final int cacheId)
    {
        return awaitValue(sim, member, cacheId, OpType.GET, null, 0, 0);
    }

    private static String awaitValue(final Simulation sim, final Engine member, final int cacheId,
        final OpType type, final byte[] operand, final long client, final long sequence)
    {
        final OpOutcome[] outcome = new OpOutcome[1];
        final GridException[] error = new GridException[1];
        member.submit(cacheId, type, bytes("k"), operand, null, 5_000 * MS, client, sequence, sequence,
            Answers.capture(outcome, error));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(6), () -> outcome[0] != null ||
            error[0] != null), type + " answered");
        assertNull(error[0]);
        return new String(outcome[0].value(), StandardCharsets.UTF_8);
    }

    static Engine[] startMembers(final Simulation sim, final SimNetwork network,
        final long failureDetectionNs)
    {
        final Engine[] members = new Engine[3];
        for (int i = 0; i < 3; i++)
        {
            final MemberConfiguration config = new MemberConfiguration("m" + i).port(10_000 + i)
                .heartbeatIntervalNs(100 * MS).failureDetectionTimeoutNs(failureDetectionNs)
                .joinTimeoutNs(10_000 * MS);
            for (int s = 0; s < 3; s++)
            {
                config.addSeed(SimNetwork.address(s));
            }
            members[i] = Members.newEngine(config, network.transport(i, () -> { }), new VolatileWal(), null, sim.fork(),
                cache -> "concat".equals(cache.mergeOperator()) ? KeyMerge::concat : null, TxManager::new,
                EngineListener.NONE,
                100 * MS, sim.nowNs());
            tick(sim, members[i]);
        }
        assertTrue(sim.runUntil(TimeUnit.SECONDS.toNanos(10), () ->
        {
            for (final Engine member : members)
            {
                if (!member.status().isSettled() || member.topology().members().size() != 3)
                {
                    return false;
                }
            }
            return true;
        }));
        return members;
    }

    /** @return the id of cache "c": 8 partitions, 1 backup, the "concat" merge operator. */
    static int createCache(final Simulation sim, final Engine[] members)
    {
        final OpOutcome[] created = new OpOutcome[1];
        members[0].admin().createCache(new CacheDescriptor(0, "c", 8, 1, "string", "string", null,
            20_000 * MS, "concat", 0,
            0), Answers.capture(created, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> created[0] != null));
        return members[0].cache("c").cacheId();
    }

    static byte[] bytes(final String value)
    {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    static int slotOf(final Engine[] members, final int memberIndex, final PartitionMap map)
    {
        final long incarnation = map.topology().members().get(memberIndex).incarnation();
        for (int i = 0; i < members.length; i++)
        {
            if (members[i].incarnation() == incarnation)
            {
                return i;
            }
        }
        throw new AssertionError("no member with incarnation " + incarnation);
    }

    private static void tick(final Simulation sim, final Engine engine)
    {
        engine.doWork(sim.nowNs());
        sim.schedule(MS, "tick", () -> tick(sim, engine));
    }
}
