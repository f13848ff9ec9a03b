package dev.grid.sim.cluster;

import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.OpCallback;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.core.engine.PartitionMap;
import dev.grid.sim.SimNetwork;
import dev.grid.sim.Simulation;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A member's own primary answers its operations without encoding a response (NearOps.onLocalOk): a callback that only
 * reads the value (a thin client's answer) may get the store's own array, any other one a copy of its own, so that
 * what an application does with a value it read never changes the stored one.
 */
class LocalAnswerTest
{
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void aValueReadFromTheLocalPrimaryIsACopyUnlessTheCallbackOnlyReadsIt()
    {
        final Simulation sim = new Simulation(31);
        final SimNetwork network = new SimNetwork(sim, sim.fork(), 3).latency(100_000, 300_000);
        final Engine[] members = RetryMemoryTest.startMembers(sim, network, 10_000 * MS);
        final int cacheId = RetryMemoryTest.createCache(sim, members);
        final PartitionMap map = members[0].installedMap();
        final byte[] key = RetryMemoryTest.bytes("k");
        final Engine primary = members[RetryMemoryTest.slotOf(members,
            map.owners(cacheId, KeyPartitioner.partition(key, 8))[0], map)];
        run(sim, primary, cacheId, OpType.PUT, key, RetryMemoryTest.bytes("stored"), false);

        // An application's read: its value is its own, changing it changes nothing stored.
        final byte[] read = run(sim, primary, cacheId, OpType.GET, key, null, false).value();
        Arrays.fill(read, (byte)'x');
        assertEquals("stored", text(run(sim, primary, cacheId, OpType.GET, key, null, false).value()));
        // A callback that only reads (a thin client's answer) gets the same value, without a copy.
        assertEquals("stored", text(run(sim, primary, cacheId, OpType.GET, key, null, true).value()));
        // A previous value a write answers with is a copy too.
        final byte[] previous = run(sim, primary, cacheId, OpType.GET_AND_PUT, key, RetryMemoryTest.bytes("newer"),
            false).value();
        assertEquals("stored", text(previous));
        assertEquals("newer", text(run(sim, primary, cacheId, OpType.GET, key, null, true).value()));
    }

    private static OpOutcome run(final Simulation sim, final Engine member, final int cacheId, final OpType type,
        final byte[] key, final byte[] value, final boolean readsValueOnly)
    {
        final OpOutcome[] outcome = new OpOutcome[1];
        final GridException[] error = new GridException[1];
        member.submit(cacheId, type, key, value, null, 5_000 * MS, 0, 0, 0, new OpCallback()
        {
            public void onSuccess(final OpOutcome result)
            {
                outcome[0] = result;
            }

            public void onFailure(final GridException failure)
            {
                error[0] = failure;
            }

            public boolean readsValueOnly()
            {
                return readsValueOnly;
            }
        });
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(6), () -> outcome[0] != null ||
            error[0] != null), type + " answered");
        assertNull(error[0]);
        return outcome[0];
    }

    private static String text(final byte[] value)
    {
        return new String(value, StandardCharsets.UTF_8);
    }
}
