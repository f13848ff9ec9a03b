package dev.grid.sim.cluster;

import dev.grid.core.engine.Engine;
import dev.grid.core.engine.Topology;

/**
 * Which members (in memory) or data directories (persistent) know the scenario's cache, so that a run in which every
 * one of them went is told apart from one that lost a cache some member still knew. A member knows it from the first
 * time its topology lists the cache (from then on it can report the cache's partitions lost, even if it never installed
 * a map with the cache: soak seed 0x18217664c, where such a member coordinated and reported every partition lost) or it
 * installs a map with it, until its engine goes (an in-memory member that rejoins keeps its caches with its ownership
 * table; one that restarts knows nothing). When a crash or a leave takes the last member that knew it, the cache and
 * every copy of its data are gone: no member is left to report its partitions lost, and a cluster formed afterwards
 * never hears of it (Hazelcast and Ignite forget an in-memory cluster's data the same way). The run then checks that no
 * member knows the cache at the end, and every partition's writes are excused as lost. A persistent member's data
 * directory keeps what it knew across crashes and restarts: a persistent run forgets the cache only when the last
 * directory that knew it is wiped ({@link ClusterScenario.Options#everyFault}; soak seed 0x1d1c99a3, where every member
 * of the baseline lost its disk and the restarted ones formed a cluster that never heard of the cache).
 * <p>
 * <b>Threading:</b> the simulation's thread.
 */
final class CacheKnowledge
{
    private final ClusterScenario scenario;
    private final boolean[] knows;
    private boolean forgotten;

    CacheKnowledge(final ClusterScenario scenario, final int slots)
    {
        this.scenario = scenario;
        this.knows = new boolean[slots];
    }

    /** The member of {@code slot} installed a map of {@code topology}. */
    void installed(final int slot, final Topology topology)
    {
        if (topology.cache(scenario.cacheName()) != null)
        {
            knows[slot] = true;
        }
    }

    /** The member of {@code slot} ran: it knows the cache once its topology lists it. */
    void ran(final int slot, final Engine engine)
    {
        if (!knows[slot] && engine.cache(scenario.cacheName()) != null)
        {
            knows[slot] = true;
        }
    }

    /**
     * The member of {@code slot} crashed, left or (re)started: in memory, this engine of the slot knows nothing yet (a
     * persistent member's directory still knows what it knew).
     */
    void engineChanges(final int slot)
    {
        if (!scenario.options.persistent)
        {
            forget(slot);
        }
    }

    /** The persistent member of {@code slot} lost its data directory: what it knew went with it. */
    void wiped(final int slot)
    {
        forget(slot);
    }

    private void forget(final int slot)
    {
        final boolean knew = knows[slot];
        knows[slot] = false;
        if (!knew || forgotten || scenario.cacheId < 0)
        {
            return;
        }
        for (final boolean other : knows)
        {
            if (other)
            {
                return;
            }
        }
        forgotten = true;
        for (int p = 0; p < scenario.options.partitions; p++)
        {
            scenario.lostPartitions.add(p);
        }
        if (ClusterScenario.TRACE)
        {
            System.out.println(scenario.sim.nowNs() + " m" + slot + " was the last member that knew the cache: " +
                "it is gone with its data");
        }
    }

    /** @return whether every member or data directory that knew the cache went: the cache is gone with its data. */
    boolean forgotten()
    {
        return forgotten;
    }
}
