package dev.grid.sim.cluster;

import dev.grid.sim.Simulation;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLongArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Clusters of member processes that run two or three shards each ({@link ClusterScenario.Options#shards}): every shard
 * is an engine of its own, and the nemesis crashes, stops, pauses, cuts off and restarts a process's shards together.
 * Besides the scenario's own checks (every acknowledged write readable, copies equal, consistency check clean), the
 * final map must keep the copies of a partition on distinct processes, each on the shard {@code partition mod
 * shards}. The normal suite runs 30 seeds of each kind; {@code -Psoak} runs 2,000, and {@code -Dgrid.sim.seed=0x...}
 * replays one.
 */
class ShardedClusterSimulationTest
{
    @Test
    void withoutFaultsEveryOperationOfTwoShardsPerProcessSucceeds()
    {
        final ScenarioResult result = ClusterScenario.run(11, new ClusterScenario.Options().nemesis(false)
            .shards(2));
        assertEquals(0, result.failed(), result.toString());
        assertEquals(0, result.lostPartitions(), result.toString());
        assertTrue(result.acknowledged() > 1000, result.toString());
    }

    @Test
    void processesOfShardsCrashStopPauseAndReturnWithoutLosingAnAcknowledgedWrite()
    {
        runSeeds(Integer.getInteger(Simulation.SEEDS_PROP_NAME, 30), false, false);
    }

    @Test
    void processesOfShardsWithABaselineThatAutoAdjusts()
    {
        runSeeds(Integer.getInteger(Simulation.SEEDS_PROP_NAME, 30), true, false);
    }

    /** Its first seed, 0xb07d863, lost every acknowledged write before joining seeds deferred to newer tables. */
    @Test
    void wholeClustersOfShardedProcessesStopAndRestartInAnyOrder()
    {
        runSeeds(Integer.getInteger(Simulation.SEEDS_PROP_NAME, 30), false, true);
    }

    @Test
    @Tag("soak")
    void manyShardedSeeds()
    {
        runSeeds(Integer.getInteger(Simulation.SEEDS_PROP_NAME, 2_000), false, false);
        runSeeds(Integer.getInteger(Simulation.SEEDS_PROP_NAME, 2_000), true, false);
        runSeeds(Integer.getInteger(Simulation.SEEDS_PROP_NAME, 2_000), false, true);
    }

    /** Persistent processes of two shards (three for every third seed) under the nemesis. */
    private static void runSeeds(final int count, final boolean baseline, final boolean wholeClusterStops)
    {
        final Long only = Simulation.seedFromSystemProperty();
        // Acknowledged operations, crashes, leaves, pauses, keys checked, whole-cluster stops.
        final AtomicLongArray totals = new AtomicLongArray(6);
        Simulation.forEachSeed(count, i -> 0x5A4DL * 7919 + i + (baseline ? 1_000_000 : 0) +
            (wholeClusterStops ? 2_000_000 : 0), seed ->
        {
            final ScenarioResult result = ClusterScenario.run(seed, new ClusterScenario.Options()
                .persistent(true).baseline(baseline).wholeClusterStops(wholeClusterStops)
                .shards(Long.remainderUnsigned(seed, 3) == 0 ? 3 : 2));
            totals.addAndGet(0, result.acknowledged());
            totals.addAndGet(1, result.crashes());
            totals.addAndGet(2, result.leaves());
            totals.addAndGet(3, result.pauses());
            totals.addAndGet(4, result.checkedKeys());
            totals.addAndGet(5, result.wholeClusterStops());
        });
        assertTrue(totals.get(4) > 0, "no key was checked");
        assertTrue(only != null || totals.get(1) > 0 && totals.get(2) > 0, "the nemesis never crashed or stopped a " +
            "process");
        assertTrue(only != null || !wholeClusterStops || totals.get(5) > 0, "the nemesis never stopped the cluster");
        System.out.printf("sharded seeds%s%s: %d acknowledged operations, %d shard crashes, %d shard leaves, " +
            "%d pauses, %d whole-cluster stops, %d keys checked%n", baseline ? " (baseline)" : "",
            wholeClusterStops ? " (whole-cluster stops)" : "", totals.get(0), totals.get(1), totals.get(2),
            totals.get(3), totals.get(5), totals.get(4));
    }
}
