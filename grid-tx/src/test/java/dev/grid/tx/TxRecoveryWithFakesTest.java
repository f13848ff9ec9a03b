package dev.grid.tx;

import dev.grid.core.engine.MessageTypes;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static dev.grid.tx.FakeCluster.CACHE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * grid-tx's recovery of in-doubt transactions on its own ({@link TxRecovery}): four members' transactions over fake
 * engine contexts; the coordinator (member 0) leaves after the prepares went out, and the participants, primaries of
 * partitions 1 (member 1, backup member 2) and 2 (member 2, backup member 3), decide among themselves.
 */
class TxRecoveryWithFakesTest
{
    private static final long TIMEOUT_NS = 5_000_000_000L;

    private final FakeCluster cluster = new FakeCluster(4);
    private final FakeCluster.Member coordinator = cluster.member(0);
    private final byte[] a = FakeCluster.keyIn(1, "a");
    private final byte[] b = FakeCluster.keyIn(2, "b");

    private static byte[] bytes(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** Lock both keys, then commit, with the messages {@code held} matches not delivered. */
    private FakeCluster.Outcome commitWithheld(final java.util.function.Predicate<FakeCluster.Message> held)
    {
        final long txId = coordinator.tx.begin(TIMEOUT_NS, 0);
        final FakeCluster.Outcome locked = new FakeCluster.Outcome();
        coordinator.tx.enlist(txId, CACHE, new byte[][] {a, b}, true, locked);
        cluster.deliver();
        assertTrue(locked.succeeded(), "locked: " + locked.error);
        cluster.held = held;
        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        coordinator.tx.commit(txId, new int[] {CACHE, CACHE}, new byte[][] {a, b},
            new byte[][] {bytes("1"), bytes("2")}, commit);
        cluster.deliver();
        return commit;
    }

    /** The coordinator leaves; the others install the map again (as after the exchange its departure starts). */
    private void coordinatorLeaves()
    {
        cluster.depart(0);
        cluster.held = m -> false;
        for (int i = 1; i < 4; i++)
        {
            cluster.member(i).tx.onInstalled();
        }
        cluster.deliver();
        for (int round = 0; round < 5; round++)
        {
            cluster.advance(FakeCluster.RETRY_NS);
        }
    }

    @Test
    void everyParticipantPreparedSoTheRecoveryCommitsOnEveryCopy()
    {
        final FakeCluster.Outcome commit = commitWithheld(m -> m.type() == MessageTypes.TX_COMMIT);
        assertEquals(0, commit.calls, "prepared everywhere, the decision not yet delivered");
        assertNull(cluster.member(1).copyOf(1).value(a), "nothing applied before the decision");

        coordinatorLeaves();

        assertEquals("1", cluster.member(1).copyOf(1).value(a), "partition 1's primary committed");
        assertEquals("1", cluster.member(2).copyOf(1).value(a), "and its backup");
        assertEquals("2", cluster.member(2).copyOf(2).value(b), "partition 2's primary committed");
        assertEquals("2", cluster.member(3).copyOf(2).value(b), "and its backup");
        for (int i = 1; i < 4; i++)
        {
            assertTrue(cluster.member(i).tx.isIdle(), cluster.member(i).tx.describe());
        }
    }

    @Test
    void aParticipantThatNeverPreparedMakesTheRecoveryRollBack()
    {
        final long partition2Primary = cluster.member(2).incarnation;
        final FakeCluster.Outcome commit = commitWithheld(m -> m.type() == MessageTypes.TX_PREPARE &&
            m.to() == partition2Primary || m.type() == MessageTypes.TX_COMMIT ||
            m.type() == MessageTypes.TX_ROLLBACK);
        assertEquals(0, commit.calls, "partition 2 never prepared");

        coordinatorLeaves();

        assertNull(cluster.member(1).copyOf(1).value(a), "partition 1 rolled back");
        assertNull(cluster.member(2).copyOf(1).value(a), "on its backup too");
        assertNull(cluster.member(2).copyOf(2).value(b), "partition 2 never had it");
        final FakeCluster.Member next = cluster.member(1);
        final long txId = next.tx.begin(TIMEOUT_NS, 0);
        final FakeCluster.Outcome relock = new FakeCluster.Outcome();
        next.tx.enlist(txId, CACHE, new byte[][] {a, b}, true, relock);
        cluster.deliver();
        assertTrue(relock.succeeded(), "the recovered transaction's locks are released: " + relock.error);
    }
}
