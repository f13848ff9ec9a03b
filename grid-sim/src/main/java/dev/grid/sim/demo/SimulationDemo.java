package dev.grid.sim.demo;

import dev.grid.sim.Simulation;
import dev.grid.sim.toy.ToyClusterScenario;

/**
 * The main job for now: runs three replicating members in the simulator under message loss, duplication, reordering,
 * partitions and crashes, then heals and checks that they converged, and prints what happened. Run it with
 * {@code scripts/demo.sh}; pass {@code -Dgrid.sim.seed=0x...} (or a seed argument) to replay one run exactly.
 */
public final class SimulationDemo
{
    private SimulationDemo()
    {
    }

    /**
     * @param args optional: a seed ({@code 0x...} or decimal).
     */
    public static void main(final String[] args)
    {
        Long seed = Simulation.seedFromSystemProperty();
        if (args.length > 0)
        {
            System.setProperty(Simulation.SEED_PROP_NAME, args[0]);
            seed = Simulation.seedFromSystemProperty();
        }
        if (seed == null)
        {
            seed = System.nanoTime();
        }
        System.out.println("Grid simulation demo: 3 members replicate one partition (primary 0, backups 1 and 2)");
        System.out.println("seed 0x" + Long.toHexString(seed) + " (replay: scripts/demo.sh 0x" + Long.toHexString(seed) +
            ")");
        final ToyClusterScenario.Result result = ToyClusterScenario.run(seed, new ToyClusterScenario.Options());
        System.out.printf("virtual time %.1f ms, %d events%n", result.virtualTimeNs() / 1e6, result.eventCount());
        System.out.printf("network: %d messages sent, %d dropped, %d duplicated%n",
            result.sent(), result.dropped(), result.duplicated());
        System.out.printf("faults: %d partitions, %d crashes of backups, %d torn WAL tails truncated on recovery%n",
            result.partitions(), result.crashes(), result.tornTails());
        System.out.printf("writes acknowledged (durable on every copy): %d%n", result.acknowledged());
        System.out.printf("after healing every copy converged: LWM %d, %d live keys, content hash %016x%n",
            result.lwm(), result.size(), result.contentHash());
        System.out.println("trace hash " + result.traceHash());
    }
}
