package dev.grid.sim.cluster;

import dev.grid.tx.TxManager;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.Engine;
import dev.grid.core.member.Members;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.core.engine.PartitionMap;
import dev.grid.core.spi.VolatileWal;
import dev.grid.sim.SimNetwork;
import dev.grid.sim.Simulation;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An operation whose backup never answers fails with the documented timeout error, naming what it waited for, and
 * the primary keeps serving.
 */
class OperationTimeoutTest
{
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void aPutWhoseBackupNeverAnswersTimesOutNamingThePrimary()
    {
        final Simulation sim = new Simulation(42);
        final SimNetwork network = new SimNetwork(sim, sim.fork(), 2).latency(100_000, 200_000);
        final Engine[] members = new Engine[2];
        for (int i = 0; i < 2; i++)
        {
            final int slot = i;
            final MemberConfiguration config = new MemberConfiguration("m" + i).port(10_000 + i)
                .heartbeatIntervalNs(100 * MS).failureDetectionTimeoutNs(5_000 * MS).joinTimeoutNs(10_000 * MS)
                .addSeed(SimNetwork.address(0)).addSeed(SimNetwork.address(1));
            members[i] = Members.newEngine(config, network.transport(i, () -> { }), new VolatileWal(), null, sim.fork(),
                cache -> null, TxManager::new, EngineListener.NONE, 200 * MS, sim.nowNs());
            tick(sim, members[slot]);
        }
        assertTrue(sim.runUntil(TimeUnit.SECONDS.toNanos(10), () -> members[0].status().isSettled() &&
            members[1].status().isSettled() &&
            members[0].topology().members().size() == 2 && members[1].topology().members().size() == 2));

        final OpOutcome[] created = new OpOutcome[1];
        members[0].admin().createCache(new CacheDescriptor(0, "c", 8, 1, "string", "string",
            null, 300 * MS, null, 0, 0),
            Answers.capture(created, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> created[0] != null));
        final int cacheId = members[0].cache("c").cacheId();

        // A key whose primary is m0, so m1 is its backup; then m1 stops answering m0.
        final PartitionMap map = members[0].installedMap();
        String key = null;
        for (int i = 0; key == null; i++)
        {
            final int partition = KeyPartitioner.partition(("k" + i).getBytes(StandardCharsets.UTF_8), 8);
            if (map.primary(cacheId, partition).incarnation() == members[0].incarnation())
            {
                key = "k" + i;
            }
        }
        network.blockOneWay(1, 0);
        final OpOutcome[] outcome = new OpOutcome[1];
        final GridException[] error = new GridException[1];
        final long submittedNs = sim.nowNs();
        members[0].submit(cacheId, OpType.PUT, key.getBytes(StandardCharsets.UTF_8), new byte[] {1}, null, 300 * MS,
            Answers.capture(outcome, error));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2),
            () -> error[0] != null || outcome[0] != null));
        assertNotNull(error[0], "the put succeeded although its backup never answered");
        assertEquals(ErrorCode.OPERATION_TIMEOUT, error[0].errorCode());
        assertTrue(error[0].getMessage().contains("put on cache 'c'") &&
            error[0].getMessage().contains("primary m0"), error[0].getMessage());
        assertTrue(sim.nowNs() - submittedNs >= 300 * MS);

        // A huge timeout means no limit, not a deadline that wrapped around into the past (issue 15, item 5).
        final OpOutcome[] patient = new OpOutcome[1];
        final GridException[] patientError = new GridException[1];
        members[0].submit(cacheId, OpType.PUT, key.getBytes(StandardCharsets.UTF_8), new byte[] {2}, null,
            Long.MAX_VALUE, Answers.capture(patient, patientError));
        sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () -> patientError[0] != null || patient[0] != null);
        assertNull(patientError[0], () -> "a put without limit failed: " + patientError[0]);
        assertNull(patient[0], "the put cannot complete while its backup does not answer");
        network.heal();
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> patient[0] != null),
            "the put completes once its backup answers again");

        // A read is answered by the primary alone.
        final OpOutcome[] read = new OpOutcome[1];
        members[0].submit(cacheId, OpType.GET, key.getBytes(StandardCharsets.UTF_8), null, null, 300 * MS,
            Answers.capture(read, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(1), () -> read[0] != null));
    }

    private static void tick(final Simulation sim, final Engine engine)
    {
        engine.doWork(sim.nowNs());
        sim.schedule(MS, "tick", () -> tick(sim, engine));
    }
}
