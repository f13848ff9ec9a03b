package dev.grid.tx;

import dev.grid.core.engine.MessageTypes;
import dev.grid.core.engine.TxPartKey;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static dev.grid.tx.FakeCluster.CACHE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The prepares a backup holds, which decide what a copy does once it becomes primary: three members over fake engine
 * contexts ({@link FakeCluster}); partition 1 has member 1 as primary and member 2 as backup, and member 0
 * coordinates. Each case was found by the simulator as a transfer applied to one account only.
 */
class BackupPreparesWithFakesTest
{
    private static final long TIMEOUT_NS = 5_000_000_000L;

    private final FakeCluster cluster = new FakeCluster(3);
    private final FakeCluster.Member coordinator = cluster.member(0);
    private final FakeCluster.Member backup = cluster.member(2);
    private final byte[] a = FakeCluster.keyIn(1, "a");

    private static byte[] bytes(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Lock {@code keys}, then commit them with one value, with the messages {@code held} matches not delivered.
     *
     * @return the transaction's id.
     */
    private long commitWithheld(final byte[][] keys, final String value,
        final java.util.function.Predicate<FakeCluster.Message> held)
    {
        final long txId = coordinator.tx.begin(TIMEOUT_NS, 0);
        final FakeCluster.Outcome locked = new FakeCluster.Outcome();
        coordinator.tx.enlist(txId, CACHE, keys, true, locked);
        cluster.deliver();
        assertTrue(locked.succeeded(), "locked: " + locked.error);
        cluster.held = held;
        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        final int[] caches = new int[keys.length];
        final byte[][] values = new byte[keys.length][];
        java.util.Arrays.fill(caches, CACHE);
        java.util.Arrays.fill(values, bytes(value));
        coordinator.tx.commit(txId, caches, keys, values, commit);
        cluster.deliver();
        cluster.held = m -> false;
        return txId;
    }

    /**
     * A prepare the backup holds that its primary does not (the backup's WAL kept it, or a primary failed mid-prepare
     * with only this backup holding it): once the primary commits another transaction over its keys, it is voided,
     * durably, so that no restart brings it back to be committed over those writes (whole-cluster bank seed
     * 0x16acc367).
     */
    @Test
    void aBackupVoidsAPrepareItsPrimaryCommitsAnotherTransactionOver()
    {
        final TxPartKey stale = new TxPartKey(coordinator.incarnation, 999, CACHE, 1);
        backup.tx.replayPrepare(stale, 0, new long[] {dev.grid.core.engine.PartitionCopy.pack(CACHE, 1)},
            new byte[][] {a}, new byte[][] {bytes("stale")});
        assertTrue(backup.tx.prepared.containsKey(stale));

        commitWithheld(new byte[][] {a}, "fresh", m -> false);

        assertEquals("fresh", backup.copyOf(1).value(a), "the later transaction committed on the backup");
        assertFalse(backup.tx.prepared.containsKey(stale), "the stale prepare is no longer held");
        assertEquals(1, backup.kinds("void"), "and its void is logged, so a restart does not bring it back");
        assertTrue(backup.events.stream().anyMatch(e -> e.contains("voids the prepare of transaction 999")),
            String.join("\n", backup.events));
    }

    /**
     * A commit delivered a second time, after a later transaction locked and prepared its keys, is a repeat: the
     * backup keeps the later prepare, which its primary holds.
     */
    @Test
    void aRepeatedCommitDoesNotVoidALaterPrepare()
    {
        final long member2 = backup.incarnation;
        final java.util.function.Predicate<FakeCluster.Message> toBackup = m ->
            m.type() == MessageTypes.TX_BACKUP && m.to() == member2;
        final long first = coordinator.tx.begin(TIMEOUT_NS, 0);
        coordinator.tx.enlist(first, CACHE, new byte[][] {a}, true, new FakeCluster.Outcome());
        cluster.deliver();
        // The first (one-phase) transaction's commit to the backup is held, then copied, as a network may deliver it
        // twice.
        cluster.held = toBackup;
        final FakeCluster.Outcome firstCommit = new FakeCluster.Outcome();
        coordinator.tx.commit(first, new int[] {CACHE}, new byte[][] {a}, new byte[][] {bytes("first")},
            firstCommit);
        cluster.deliver();
        final FakeCluster.Message repeat = cluster.inFlight.stream().filter(toBackup).findFirst().orElseThrow();
        cluster.held = m -> false;
        cluster.deliver();
        assertTrue(firstCommit.succeeded(), "committed: " + firstCommit.error);

        // A second transaction locks the key and is prepared on both copies; its decision is held.
        final long second = commitWithheld(new byte[][] {a, FakeCluster.keyIn(2, "b")}, "second",
            m -> m.type() == MessageTypes.TX_COMMIT);
        final TxPartKey prepared = new TxPartKey(coordinator.incarnation, second, CACHE, 1);
        assertTrue(backup.tx.prepared.containsKey(prepared), "the backup holds the second prepare");
        // Its decision does not come now.
        cluster.inFlight.removeIf(m -> m.type() == MessageTypes.TX_COMMIT);

        cluster.inFlight.add(repeat);
        cluster.deliver();

        assertTrue(backup.tx.prepared.containsKey(prepared), "a repeat of the first commit voids nothing");
        assertEquals(0, backup.kinds("void"));
        assertEquals("first", backup.copyOf(1).value(a));
    }

    /**
     * A copy cleared for a full rebalance no longer knows which commits it applied, so a late repeat would look like
     * a first application: until the next map install, no commit voids a prepare there. After it, one does again.
     */
    @Test
    void aCopyClearedForAFullRebalanceVoidsNothingUntilTheNextInstall()
    {
        final TxPartKey held = new TxPartKey(coordinator.incarnation, 999, CACHE, 1);
        backup.tx.replayPrepare(held, 0, new long[] {dev.grid.core.engine.PartitionCopy.pack(CACHE, 1)},
            new byte[][] {a}, new byte[][] {bytes("pending")});
        // What clearing the copy for a full rebalance does (RebalancedCopies.resetForFullRebalance).
        backup.tx.forgetCommitted(CACHE, 1);
        backup.tx.relogPrepared(CACHE, 1);

        commitWithheld(new byte[][] {a}, "first", m -> false);
        assertTrue(backup.tx.prepared.containsKey(held), "kept while the copy may take repeats for first commits");
        assertEquals(0, backup.kinds("void"));

        backup.tx.onInstalled();
        commitWithheld(new byte[][] {a}, "second", m -> false);
        assertFalse(backup.tx.prepared.containsKey(held), "voided by a commit after the next install");
        assertEquals(1, backup.kinds("void"));
    }

    /** A prepare over other keys of the partition is left alone. */
    @Test
    void aBackupKeepsAPrepareOverOtherKeys()
    {
        final byte[] other = FakeCluster.keyIn(1, "other");
        final TxPartKey held = new TxPartKey(coordinator.incarnation, 999, CACHE, 1);
        backup.tx.replayPrepare(held, 0, new long[] {dev.grid.core.engine.PartitionCopy.pack(CACHE, 1)},
            new byte[][] {other}, new byte[][] {bytes("pending")});

        commitWithheld(new byte[][] {a}, "fresh", m -> false);

        assertTrue(backup.tx.prepared.containsKey(held));
        assertEquals(0, backup.kinds("void"));
    }

    /**
     * A backup that had applied a transaction's commit answers its primary's prepare "committed" without holding it.
     * If its copy is then cleared for a full rebalance, the writes that answer stood on are gone: it holds the
     * prepare again, logged after the copy's drop, so that as primary it would lock the keys until the commit comes
     * (persistent bank seed 0x168e3f7e).
     */
    @Test
    void aPrepareAnsweredCommittedIsHeldAgainWhenTheCopyIsClearedForAFullRebalance()
    {
        // The backup remembers the transaction's commit (as if its WAL had replayed the commit's writes).
        final long nextTx = 1;
        final TxPartKey part = new TxPartKey(coordinator.incarnation, nextTx, CACHE, 1);
        backup.tx.replayCommitted(part.coordinator(), part.seq(), CACHE, 1);

        // Two partitions, so that the commit takes two phases.
        final long txId = commitWithheld(new byte[][] {a, FakeCluster.keyIn(2, "b")}, "1",
            m -> m.type() == MessageTypes.TX_COMMIT);
        assertEquals(nextTx, txId, "the transaction is the one the backup remembers");
        assertFalse(backup.tx.prepared.containsKey(part), "answered committed, not held");
        assertTrue(cluster.member(1).tx.parts.containsKey(part), "prepared on the primary, the commit on its way");

        // What clearing the copy for a full rebalance does (RebalancedCopies.resetForFullRebalance).
        backup.tx.forgetCommitted(CACHE, 1);
        final long before = backup.kinds("prepare");
        backup.tx.relogPrepared(CACHE, 1);

        assertTrue(backup.tx.prepared.containsKey(part), "the prepare is held again");
        assertEquals(before + 1, backup.kinds("prepare"), "and logged again");
        assertTrue(backup.tx.prepared.get(part).replayed(),
            "held as possibly stale, so the rebalance voids it if its supplier no longer holds it open");
    }

    /**
     * A prepare its primary ships in a map the backup is still installing (the primary installed it first, and sends
     * the prepares it holds to every copy at install) waits for that install instead of being dropped. Dropped, the
     * copy could later become primary without it, if the primary stopped before sending it again, and answer the
     * other partitions' recovery "never prepared" (whole-cluster bank seed 0x16acc94e).
     */
    @Test
    void aPrepareSentInAMapTheBackupIsStillInstallingIsHeldOnceItHasInstalledIt()
    {
        for (final FakeCluster.Member member : cluster.members)
        {
            member.topologyVersion = 2;
            member.mapVersion = 2;
        }
        backup.mapVersion = 1;

        // Two partitions, so that the commit takes two phases; partition 0's copies are on members 0 and 1.
        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        final long txId = coordinator.tx.begin(TIMEOUT_NS, 0);
        final byte[][] keys = {a, FakeCluster.keyIn(0, "b")};
        final FakeCluster.Outcome locked = new FakeCluster.Outcome();
        coordinator.tx.enlist(txId, CACHE, keys, true, locked);
        cluster.deliver();
        assertTrue(locked.succeeded(), "locked: " + locked.error);
        coordinator.tx.commit(txId, new int[] {CACHE, CACHE}, keys, new byte[][] {bytes("v"), bytes("v")}, commit);
        cluster.deliver();

        final TxPartKey part = new TxPartKey(coordinator.incarnation, txId, CACHE, 1);
        assertEquals(1, backup.parked.size(), "the prepare waits for the backup's install");
        assertFalse(backup.tx.prepared.containsKey(part));
        assertEquals(0, commit.calls, "not prepared while the backup has not acknowledged");

        backup.install();
        cluster.deliver();

        assertTrue(commit.succeeded(), "committed: " + commit.error);
        assertEquals("v", backup.copyOf(1).value(a), "the backup applied the commit after holding the prepare");
        assertEquals(1, backup.kinds("prepare"), "the prepare was logged on the backup");
    }
}
