package dev.grid.sim.cluster;

import dev.grid.sim.Simulation;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The simulator's split-brain invariant: in one map (cluster life and version) only one member acknowledges writes of
 * a partition. A late acknowledgement under an older map is not a fork by itself (its backups of that map applied the
 * write before they moved on); whether the write survived is what the write history checks.
 * <p>
 * <b>Threading:</b> the simulation's thread only.
 */
final class AcknowledgingEpochs
{
    private final Simulation sim;

    /** Per cache, partition and map (cluster life and version): the member that acknowledged writes in it. */
    private final Map<List<Long>, Long> acknowledgers = new HashMap<>();

    AcknowledgingEpochs(final Simulation sim)
    {
        this.sim = sim;
    }

    /** A member acknowledged a write of a partition as primary of a map: fails the run if another one did too. */
    void acknowledged(final int slot, final int cache, final int partition, final long lifeId, final long mapVersion,
        final long incarnation)
    {
        final Long first = acknowledgers.putIfAbsent(List.of((long)cache, (long)partition, lifeId, mapVersion),
            incarnation);
        if (first != null && first != incarnation)
        {
            throw sim.fail("m" + slot + " (" + Long.toHexString(incarnation) + ") acknowledged a write of partition " +
                partition + " as primary of map " + mapVersion + " in which " + Long.toHexString(first) +
                " acknowledged writes of it too");
        }
    }
}
