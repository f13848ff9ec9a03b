package dev.grid.sim.cluster;

import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.Topology;
import dev.grid.core.engine.RebalancePlan;

/**
 * What a simulated member's engine tells {@link ClusterScenario}: writes acknowledged (checked against the epoch that
 * acknowledged them), partitions lost and copies dropped (counted), and with {@code -Dgrid.sim.trace=true} its events,
 * rebalances and installed maps, stamped with the simulated time and the member's slot.
 * <p>
 * <b>Threading:</b> the simulation's thread.
 */
final class ScenarioListener implements EngineListener
{
    private static final boolean TRACE = ClusterScenario.TRACE;

    private final ClusterScenario scenario;
    private final int slot;

    ScenarioListener(final ClusterScenario scenario, final int slot)
    {
        this.scenario = scenario;
        this.slot = slot;
    }

        @Override
        public void onEvent(final String message)
        {
            if (TRACE)
            {
                System.out.println(scenario.sim.nowNs() + " m" + slot + " " + message);
            }
        }

        @Override
        public void onRebalanceStarted(final RebalancePlan plan, final String supplier)
        {
            if (TRACE)
            {
                System.out.println(scenario.sim.nowNs() + " m" + slot + " rebalances partition " + plan.partition() +
                    (plan.full() ? " fully" : " historically (" + plan.fromExclusive() + ", " +
                    plan.toInclusive() + "]") + " from " + supplier + ": " + plan.why());
            }
        }

        @Override
        public void onMapInstalled(final Topology topology)
        {
            scenario.cacheKnowledge.installed(slot, topology);
            if (TRACE)
            {
                System.out.println(scenario.sim.nowNs() + " m" + slot + " installed " + topology.version() + " " +
                    topology.members());
            }
        }

        @Override
        public void onWriteAcknowledged(final int cacheId, final int partition, final long lifeId,
            final long mapVersion, final long incarnation)
        {
            scenario.acknowledgingEpochs.acknowledged(slot, cacheId, partition, lifeId, mapVersion, incarnation);
        }

        @Override
        public void onPartitionLost(final int cacheId, final int partition, final long version)
        {
            if (TRACE)
            {
                System.out.println(scenario.sim.nowNs() + " m" + slot + " partition " +
                    partition + " lost at " + version);
            }
            scenario.lostEvents++;
            if (!scenario.options.wholeClusterStops)
            {
                scenario.lostPartitions.add(partition);
            }
        }

        @Override
        public void onCopyDropped(final int cacheId, final int partition, final long incarnation,
            final String why)
        {
            if (TRACE)
            {
                System.out.println(scenario.sim.nowNs() + " m" + slot + " copy of partition " + partition + " on " +
                    Long.toHexString(incarnation) + " dropped: " + why);
            }
            scenario.droppedCopies++;
        }
}
