package dev.grid.tx;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static dev.grid.tx.FakeCluster.CACHE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a copy that applied a one-phase commit as a backup answers when the coordinator, its map changed, asks it for
 * that commit as the partition's new primary: three members over fake engine contexts ({@link FakeCluster});
 * partition 1 has member 1 as primary and member 2 as backup, and member 0 coordinates. The primary applies the
 * commit, ships it to the backup and fails before its own copy holds it or its answer goes out: a one-phase commit
 * leaves no prepare behind, so the backup's copy is the only one with the writes.
 * <p>
 * Found by the simulator (whole-cluster bank seed 0x16acc8fe): the backup, not yet past the map change and then a
 * stand-in for the lost partition, answered "committed"; when the failed primary came back its copy, without the
 * writes, replaced the backup's, and the acknowledged transfer was gone.
 */
class OnePhaseAnswersWithFakesTest
{
    private static final long TIMEOUT_NS = 5_000_000_000L;

    private final FakeCluster cluster = new FakeCluster(3);
    private final FakeCluster.Member coordinator = cluster.member(0);
    private final FakeCluster.Member primary = cluster.member(1);
    private final FakeCluster.Member backup = cluster.member(2);
    private final byte[] a = FakeCluster.keyIn(1, "a");

    /**
     * Commit {@code a} in one phase; the primary fails before its copy holds it. Then the coordinator's map names the
     * backup primary (and the backup's map is what {@code backupMap} makes it), and the coordinator asks the backup.
     *
     * @return the user's callback of the commit.
     */
    private FakeCluster.Outcome commitAndLoseThePrimary(final Runnable backupMap)
    {
        final long txId = coordinator.tx.begin(TIMEOUT_NS, 0);
        final FakeCluster.Outcome locked = new FakeCluster.Outcome();
        coordinator.tx.enlist(txId, CACHE, new byte[][] {a}, true, locked);
        cluster.deliver();
        assertTrue(locked.succeeded(), "locked: " + locked.error);
        primary.durable = false;
        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        coordinator.tx.commit(txId, new int[] {CACHE}, new byte[][] {a},
            new byte[][] {"v".getBytes(StandardCharsets.UTF_8)}, commit);
        cluster.deliver();
        assertEquals("v", backup.copyOf(1).value(a), "the backup applied the commit");
        assertEquals(0, commit.calls, "the primary's copy does not hold it yet, so it has not answered");
        cluster.depart(1);
        coordinator.owners.put(1, new long[] {backup.incarnation});
        backupMap.run();
        cluster.advance(FakeCluster.RETRY_NS * 2);
        return commit;
    }

    /** A backup whose map does not name it primary yet does not answer "committed" for the part it applied. */
    @Test
    void aBackupNotYetPrimaryInItsMapDoesNotAnswerCommitted()
    {
        final FakeCluster.Outcome commit = commitAndLoseThePrimary(() -> { });

        assertEquals(0, commit.calls, "answered by a copy that is no primary in its own map: " + commit.error);

        // Once its map names it primary (and the partition is not lost), its copy is the partition's: it answers.
        backup.owners.put(1, new long[] {backup.incarnation});
        cluster.advance(FakeCluster.RETRY_NS * 2);
        assertTrue(commit.succeeded(), "committed: " + commit.error);
    }

    /** A copy standing in for a lost partition's owners does not answer "committed" either, primary or not. */
    @Test
    void aCopyOfALostPartitionDoesNotAnswerCommitted()
    {
        final FakeCluster.Outcome commit = commitAndLoseThePrimary(() ->
        {
            backup.owners.put(1, new long[] {backup.incarnation});
            backup.lost = true;
        });

        assertEquals(0, commit.calls, "answered by a stand-in copy of a lost partition: " + commit.error);
        assertEquals("v", backup.copyOf(1).value(a), "its copy keeps the writes meanwhile");
    }

    /**
     * A backup still applying the commit (not durable yet) when its map names it primary answers nothing until it is
     * done, then "committed": not "nothing was applied", which left the user with an unknown outcome.
     */
    @Test
    void aNewPrimaryStillApplyingTheCommitAnswersCommittedOnceDone()
    {
        backup.durable = false;

        final FakeCluster.Outcome commit = commitAndLoseThePrimary(() ->
            backup.owners.put(1, new long[] {backup.incarnation}));

        assertEquals(0, commit.calls, "answered while the commit was still being applied: " + commit.error);
        backup.durable = true;
        cluster.advance(FakeCluster.RETRY_NS * 2);
        cluster.advance(FakeCluster.RETRY_NS * 2);
        assertTrue(commit.succeeded(), "committed: " + commit.error);
    }
}
