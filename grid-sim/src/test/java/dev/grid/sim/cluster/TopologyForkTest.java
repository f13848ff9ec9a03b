package dev.grid.sim.cluster;

import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.codec.messages.HeartbeatEncoder;
import dev.grid.core.engine.Engine;
import dev.grid.core.spi.Transport;
import dev.grid.sim.SimNetwork;
import dev.grid.sim.Simulation;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two topologies of one version: a coordinator published one to some members and failed, and a member it never
 * reached numbered its own the same (soak seed 0x161dbe23, whole-cluster, where the two sides waited for each other
 * forever). Each lists the other's members, so neither answers "not a member"; what tells them apart is the
 * coordinator each heartbeat names for its sender's topology. A member whose topology cannot finish (its coordinator,
 * another member, silent for failure detection, or itself without quorum that long) leaves it on hearing another
 * topology of its version; one whose coordinator is heard, or that is the coordinator, or hears its own topology,
 * stays. The other side's heartbeats are forged here from a spare endpoint: the nemesis reaches the shape by seed.
 * (A member that keeps quorum while its coordinator is silent yields by the same test, but the acting coordinator's
 * next topology, which the shape needs withheld from it, is not staged here.)
 */
class TopologyForkTest
{
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long FAILURE_DETECTION_NS = 1_000 * MS;

    private final Simulation sim = new Simulation(59);
    private final SimNetwork network = new SimNetwork(sim, sim.fork(), 4).latency(100_000, 300_000);
    private final Engine[] members = RetryMemoryTest.startMembers(sim, network, FAILURE_DETECTION_NS);
    private final Transport forger = network.transport(3, () -> { });

    @Test
    void aMemberCutOffFromItsCoordinatorLeavesItsTopologyForAnotherOfItsVersion()
    {
        final long m2 = members[2].incarnation();
        final long other = members[1].incarnation();
        assertEquals(members[0].incarnation(), members[2].topology().coordinator().incarnation(), "m0 coordinates");

        forge(2, other);
        run(FAILURE_DETECTION_NS / 2);
        assertEquals(m2, members[2].incarnation(), "m2 left its topology while its coordinator was heard");

        for (int peer = 0; peer < 2; peer++)
        {
            network.blockOneWay(2, peer);
            network.blockOneWay(peer, 2);
        }
        assertTrue(sim.runUntil(sim.nowNs() + 5 * FAILURE_DETECTION_NS, () ->
            !members[2].status().quorum().held()), "m2, cut off, did not lose quorum");
        run(FAILURE_DETECTION_NS);
        assertEquals(m2, members[2].incarnation(), "m2 left before it heard another topology");
        forge(2, members[0].incarnation());
        run(FAILURE_DETECTION_NS / 2);
        assertEquals(m2, members[2].incarnation(), "m2 left on a heartbeat of its own topology");
        forge(2, other);
        assertTrue(sim.runUntil(sim.nowNs() + FAILURE_DETECTION_NS / 2, () -> members[2].incarnation() != m2),
            "m2, its coordinator silent, stayed in its topology after hearing another of the same version");
        // Healed, it joins the cluster again.
        network.heal();
        assertTrue(sim.runUntil(sim.nowNs() + 10 * FAILURE_DETECTION_NS, () ->
            members[0].topology().indexOf(members[2].incarnation()) >= 0 && members[2].status().isSettled() &&
            members[2].topology().version() == members[0].topology().version()), "m2 never joined again");
    }

    @Test
    void aCoordinatorWithoutQuorumStaysInItsTopology()
    {
        final long m0 = members[0].incarnation();
        for (int peer = 1; peer < 3; peer++)
        {
            network.blockOneWay(0, peer);
            network.blockOneWay(peer, 0);
        }
        assertTrue(sim.runUntil(sim.nowNs() + 5 * FAILURE_DETECTION_NS, () ->
            !members[0].status().quorum().held()), "m0, cut off, did not lose quorum");
        run(2 * FAILURE_DETECTION_NS);
        assertEquals(m0, members[0].incarnation(), "m0 left its topology on its own");
        forge(0, members[2].incarnation());
        run(FAILURE_DETECTION_NS / 2);
        assertEquals(m0, members[0].incarnation(), "the coordinator left its topology for another of its version");
        assertNotEquals(members[0].topology().version(), members[1].topology().version(),
            "the majority did not go on without m0");
    }

    private void run(final long ns)
    {
        sim.runUntil(sim.nowNs() + ns, () -> false);
    }

    /**
     * A heartbeat to {@code target}, as if from the next member listed in its topology, of its topology's version,
     * naming {@code coordinator} as that topology's coordinator.
     */
    private void forge(final int target, final long coordinator)
    {
        final Engine to = members[target];
        final long sender = members[(target + 1) % 3].incarnation();
        assertTrue(to.topology().indexOf(sender) >= 0, "the forged sender is listed");
        final MessageWriter writer = new MessageWriter();
        final MemberMessages messages = new MemberMessages(writer);
        messages.finish(messages.encode(new HeartbeatEncoder(), sender, to.incarnation())
            .version(to.topology().version()).sentNs(0).echoNs(Long.MIN_VALUE)
            .coordinatorVote(to.topology().coordinator().incarnation()).memoryFull((short)0).settledVersion(0)
            .coordinator(coordinator));
        forger.send(target, writer.buffer(), 0, writer.length());
    }
}
