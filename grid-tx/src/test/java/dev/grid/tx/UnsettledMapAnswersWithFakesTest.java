package dev.grid.tx;

import dev.grid.core.ErrorCode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static dev.grid.tx.FakeCluster.CACHE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A primary's answers under a map that has not settled (not every member of its topology is known to have installed
 * it): the store may hold an update applied under that map which the next exchange rebuilds away, so a transaction's
 * read or lock is answered, and a part's "committed" given, only once the map settles. Three members over fakes
 * ({@link FakeCluster}); partition 1's primary is member 1.
 */
class UnsettledMapAnswersWithFakesTest
{
    private static final long TIMEOUT_NS = 5_000_000_000L;

    private final FakeCluster cluster = new FakeCluster(3);
    private final FakeCluster.Member coordinator = cluster.member(0);
    private final FakeCluster.Member primary = cluster.member(1);
    private final byte[] key = FakeCluster.keyIn(1, "k");

    /**
     * The lock is granted while the map is unsettled, but its answer waits; meanwhile the held update is rebuilt away
     * (here: the store changes under it), and the answer, given once the map settles, reads the key again.
     */
    @Test
    void aLockGrantedUnderAnUnsettledMapIsAnsweredOnceItSettlesWithTheValueThen()
    {
        primary.copyOf(1).apply(key, bytes("held"), 1);
        primary.settledVersion = primary.mapVersion - 1;
        final FakeCluster.Outcome locked = new FakeCluster.Outcome();
        enlist(true, locked);
        cluster.advance(3 * FakeCluster.RETRY_NS);
        cluster.deliver();
        assertFalse(locked.succeeded() || locked.error != null, "answered under an unsettled map");

        primary.copyOf(1).apply(key, bytes("kept"), 2);
        primary.settledVersion = null;
        primary.tx.onMapSettled();
        cluster.deliver();
        assertTrue(locked.succeeded(), "locked once settled: " + locked.error);
        assertEquals("kept", new String(locked.values[0], StandardCharsets.UTF_8));
    }

    /** A read without a lock waits the same way. */
    @Test
    void aReadUnderAnUnsettledMapIsAnsweredOnceItSettles()
    {
        primary.copyOf(1).apply(key, bytes("v"), 1);
        primary.settledVersion = primary.mapVersion - 1;
        final FakeCluster.Outcome read = new FakeCluster.Outcome();
        enlist(false, read);
        assertFalse(read.succeeded() || read.error != null, "answered under an unsettled map");
        primary.settledVersion = null;
        primary.tx.onMapSettled();
        cluster.deliver();
        assertTrue(read.succeeded(), "read once settled: " + read.error);
        assertEquals("v", new String(read.values[0], StandardCharsets.UTF_8));
    }

    /** Locked under a settled map, committed while the next is not settled: "committed" waits for it. */
    @Test
    void aCommitUnderAnUnsettledMapIsAnsweredOnceItSettles()
    {
        final FakeCluster.Outcome locked = new FakeCluster.Outcome();
        final long tx = enlist(true, locked);
        assertTrue(locked.succeeded(), "locked: " + locked.error);
        primary.settledVersion = primary.mapVersion - 1;
        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        coordinator.tx.commit(tx, new int[] {CACHE}, new byte[][] {key}, new byte[][] {bytes("c")}, commit);
        cluster.deliver();
        assertFalse(commit.succeeded() || commit.error != null, "committed under an unsettled map");
        primary.settledVersion = null;
        primary.tx.onMapSettled();
        cluster.deliver();
        assertTrue(commit.succeeded(), "committed once settled: " + commit.error);
        assertEquals("c", primary.copyOf(1).value(key));
    }

    /** Without quorum a lock is refused, as a single read is: the primary may be one the majority replaced. */
    @Test
    void aLockWithoutQuorumIsRefused()
    {
        primary.quorum = false;
        final FakeCluster.Outcome locked = new FakeCluster.Outcome();
        enlist(true, locked);
        assertTrue(locked.failedWith(ErrorCode.NO_QUORUM), "refused for quorum: " + locked.error);
    }

    /** A read held for the map is refused once the primary loses quorum: its map may never settle now. */
    @Test
    void aHeldReadIsRefusedOnceThePrimaryLosesQuorum()
    {
        primary.settledVersion = primary.mapVersion - 1;
        final FakeCluster.Outcome read = new FakeCluster.Outcome();
        enlist(false, read);
        cluster.advance(1);
        assertFalse(read.succeeded() || read.error != null, "answered under an unsettled map");
        primary.quorum = false;
        cluster.advance(1);
        assertTrue(read.failedWith(ErrorCode.NO_QUORUM), "refused for quorum: " + read.error);
    }

    /** Begin a transaction at the coordinator and read or lock the key through it; deliver what it sends. */
    private long enlist(final boolean lock, final FakeCluster.Outcome outcome)
    {
        final long tx = coordinator.tx.begin(TIMEOUT_NS, 0);
        coordinator.tx.enlist(tx, CACHE, new byte[][] {key}, lock, outcome);
        cluster.deliver();
        return tx;
    }

    private static byte[] bytes(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
