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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two topologies of one version: a coordinator published one to some members and failed, and a member it never
 * reached numbered its own the same, admitting restarted members without quorum (soak seed 0x161dbe23, whole-cluster,
 * where the two sides waited for each other forever). Each lists the other's members, so neither answers "not a
 * member"; what tells them apart is the coordinator each heartbeat names for its sender's topology. A member without
 * quorum that hears another topology of its own version rejoins; one with quorum, or hearing its own topology, does
 * not. The other side's heartbeat is forged here from a spare endpoint: the nemesis reaches the shape only by seed.
 */
class TopologyForkTest
{
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void aMemberWithoutQuorumThatHearsAnotherTopologyOfItsVersionRejoins()
    {
        final Simulation sim = new Simulation(59);
        final SimNetwork network = new SimNetwork(sim, sim.fork(), 4).latency(100_000, 300_000);
        final Engine[] members = RetryMemoryTest.startMembers(sim, network, 1_000 * MS);
        final Transport forger = network.transport(3, () -> { });
        final long m2 = members[2].incarnation();
        final long otherCoordinator = members[1].incarnation();
        assertTrue(members[2].topology().coordinator().incarnation() != otherCoordinator, "m1 is m2's coordinator");

        forgeHeartbeat(forger, members, otherCoordinator);
        sim.runUntil(sim.nowNs() + 500 * MS, () -> false);
        assertEquals(m2, members[2].incarnation(), "m2 rejoined while it held quorum");

        network.blockOneWay(0, 2);
        network.blockOneWay(2, 0);
        network.blockOneWay(1, 2);
        network.blockOneWay(2, 1);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () ->
            !members[2].status().quorum().held()), "m2, cut off, did not lose quorum");
        forgeHeartbeat(forger, members, members[2].topology().coordinator().incarnation());
        sim.runUntil(sim.nowNs() + 500 * MS, () -> false);
        assertEquals(m2, members[2].incarnation(), "m2 rejoined on a heartbeat of its own topology");

        forgeHeartbeat(forger, members, otherCoordinator);
        assertTrue(sim.runUntil(sim.nowNs() + 500 * MS, () -> members[2].incarnation() != m2),
            "m2, without quorum, stayed in its topology after hearing another of the same version");
    }

    /** A heartbeat to m2 as if from m1 in a topology of m2's version whose coordinator is {@code coordinator}. */
    private static void forgeHeartbeat(final Transport forger, final Engine[] members, final long coordinator)
    {
        final MessageWriter writer = new MessageWriter();
        final MemberMessages messages = new MemberMessages(writer);
        messages.finish(messages.encode(new HeartbeatEncoder(), members[1].incarnation(), members[2].incarnation())
            .version(members[2].topology().version()).sentNs(0).echoNs(Long.MIN_VALUE)
            .coordinatorVote(coordinator).memoryFull((short)0).settledVersion(0).coordinator(coordinator));
        forger.send(2, writer.buffer(), 0, writer.length());
    }
}
