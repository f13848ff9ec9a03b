package dev.grid.tx;

import dev.grid.core.ErrorCode;
import dev.grid.core.engine.MessageTypes;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static dev.grid.tx.FakeCluster.CACHE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * grid-tx's transactions on their own: the coordinator, the primary and backup participants and the wait-die lock
 * table of three members, each given a fake engine context ({@link FakeCluster}), with no engine, network or WAL.
 */
class TransactionsWithFakesTest
{
    private static final long TIMEOUT_NS = 5_000_000_000L;

    private final FakeCluster cluster = new FakeCluster(3);
    private final FakeCluster.Member coordinator = cluster.member(0);

    private static byte[] bytes(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private FakeCluster.Outcome lock(final FakeCluster.Member member, final long txId, final byte[] key)
    {
        final FakeCluster.Outcome outcome = new FakeCluster.Outcome();
        member.tx.enlist(txId, CACHE, new byte[][] {key}, true, outcome);
        cluster.deliver();
        return outcome;
    }

    @Test
    void aTransferOverTwoPartitionsCommitsOnEveryCopyUnderTheSameCounters()
    {
        final byte[] a = FakeCluster.keyIn(1, "a");
        final byte[] b = FakeCluster.keyIn(2, "b");
        final long txId = coordinator.tx.begin(TIMEOUT_NS, 0);
        final FakeCluster.Outcome read = new FakeCluster.Outcome();
        coordinator.tx.enlist(txId, CACHE, new byte[][] {a, b}, true, read);
        cluster.deliver();
        assertTrue(read.succeeded(), "locks granted: " + read.error);
        assertArrayEquals(new byte[][] {null, null}, read.values, "nothing stored yet");

        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        coordinator.tx.commit(txId, new int[] {CACHE, CACHE}, new byte[][] {a, b},
            new byte[][] {bytes("90"), bytes("110")}, commit);
        cluster.deliver();

        assertTrue(commit.succeeded(), "committed: " + commit.error);
        for (final int partition : new int[] {1, 2})
        {
            final FakeCluster.Copy primary = cluster.member(partition % 3).copyOf(partition);
            final FakeCluster.Copy backup = cluster.member((partition + 1) % 3).copyOf(partition);
            assertEquals(primary.values.keySet(), backup.values.keySet(), "partition " + partition);
            assertEquals(primary.closed, backup.closed, "the backup applied under the primary's counters");
            assertEquals(1, primary.closed.size());
        }
        assertEquals("90", cluster.member(1).copyOf(1).value(a));
        assertEquals("110", cluster.member(0).copyOf(2).value(b), "the backup of partition 2 is member 0");
        for (final FakeCluster.Member member : cluster.members)
        {
            final long copies = java.util.stream.IntStream.of(1, 2)
                .filter(p -> member.rankHere(CACHE, p) >= 0).count();
            assertEquals(copies, member.kinds("prepare"), member.memberId() + " logged a prepare per copy it holds");
            assertEquals(copies, member.kinds("data"), member.memberId() + " logged the write of each copy");
            assertEquals(0, member.updatesInFlight(), member.memberId());
            assertTrue(member.tx.isIdle(), member.tx.describe());
        }
    }

    @Test
    void aLockOfMoreKeysOfOnePartitionThanAMessageCarriesIsRefusedClearlyAndRollsBack()
    {
        final byte[][] keys = new byte[TxCoordinator.MAX_KEYS_PER_PARTITION + 1][];
        int found = 0;
        for (int i = 0; found < keys.length; i++)
        {
            final byte[] key = ("k" + i).getBytes(StandardCharsets.UTF_8);
            if (dev.grid.core.KeyPartitioner.partition(key, FakeCluster.PARTITIONS) == 1)
            {
                keys[found++] = key;
            }
        }
        final long txId = coordinator.tx.begin(TIMEOUT_NS, 0);
        final FakeCluster.Outcome lock = new FakeCluster.Outcome();
        coordinator.tx.enlist(txId, CACHE, keys, true, lock);
        cluster.deliver();
        assertEquals(ErrorCode.CONFIGURATION_INVALID, lock.error.errorCode());
        assertTrue(lock.error.getMessage().contains("at most 65534 keys of one partition (partition 1"),
            lock.error.getMessage());
        final FakeCluster.Outcome next = lock(coordinator, txId, keys[0]);
        assertEquals(ErrorCode.CONFIGURATION_INVALID, next.error.errorCode(),
            "the transaction was rolled back, and says why to whatever comes next");
        cluster.advance(1_000_000L);
        assertTrue(cluster.member(1).tx.isIdle(), "no lock was ever taken: " + cluster.member(1).tx.describe());
    }

    @Test
    void aPrimaryAnswersPreparedOnlyOnceItsBackupHoldsThePrepare()
    {
        final byte[] a = FakeCluster.keyIn(1, "a");
        final byte[] b = FakeCluster.keyIn(2, "b");
        final long txId = coordinator.tx.begin(TIMEOUT_NS, 0);
        coordinator.tx.enlist(txId, CACHE, new byte[][] {a, b}, true, new FakeCluster.Outcome());
        cluster.deliver();
        // Partition 1's backup (member 2) does not hear from its primary (member 1) for now.
        final long member2 = cluster.member(2).incarnation;
        cluster.held = m -> m.type() == MessageTypes.TX_BACKUP && m.to() == member2 &&
            m.from() == cluster.member(1).incarnation;

        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        coordinator.tx.commit(txId, new int[] {CACHE, CACHE}, new byte[][] {a, b},
            new byte[][] {bytes("1"), bytes("2")}, commit);
        cluster.deliver();
        assertEquals(0, commit.calls, "not prepared while a backup lacks the prepare");
        assertNull(cluster.member(1).copyOf(1).value(a), "nothing applied before the decision");
        assertNull(cluster.member(0).copyOf(2).value(b), "the other partition waits for the decision too");

        cluster.held = m -> false;
        cluster.deliver();
        assertTrue(commit.succeeded(), "committed once the backup acknowledged: " + commit.error);
        assertEquals("1", cluster.member(2).copyOf(1).value(a));
    }

    @Test
    void aPrepareThatIsNotDurableIsNotAnsweredPrepared()
    {
        final byte[] a = FakeCluster.keyIn(1, "a");
        final byte[] b = FakeCluster.keyIn(2, "b");
        final long txId = coordinator.tx.begin(TIMEOUT_NS, 0);
        coordinator.tx.enlist(txId, CACHE, new byte[][] {a, b}, true, new FakeCluster.Outcome());
        cluster.deliver();
        cluster.member(2).durable = false;

        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        coordinator.tx.commit(txId, new int[] {CACHE, CACHE}, new byte[][] {a, b},
            new byte[][] {bytes("1"), bytes("2")}, commit);
        cluster.deliver();
        assertEquals(0, commit.calls, "member 2's WAL holds the prepare only once durable");

        cluster.member(2).durable = true;
        cluster.deliver();
        assertTrue(commit.succeeded(), "committed: " + commit.error);
    }

    @Test
    void waitDieAnOlderTransactionWaitsForAYoungerOneAndAYoungerOneDies()
    {
        final byte[] key = FakeCluster.keyIn(1, "k");
        final long older = coordinator.tx.begin(TIMEOUT_NS, 0);
        final long younger = coordinator.tx.begin(TIMEOUT_NS, 0);
        assertTrue(coordinator.tx.priority(older) < coordinator.tx.priority(younger), "begun first is older");

        assertTrue(lock(coordinator, younger, key).succeeded(), "the younger takes the free key");
        final FakeCluster.Outcome olderWaits = lock(coordinator, older, key);
        assertEquals(0, olderWaits.calls, "the older waits for the younger holder");

        coordinator.tx.rollback(younger, new FakeCluster.Outcome());
        cluster.deliver();
        assertTrue(olderWaits.succeeded(), "granted once the younger released it: " + olderWaits.error);

        final long youngest = coordinator.tx.begin(TIMEOUT_NS, 0);
        assertTrue(lock(coordinator, youngest, key).failedWith(ErrorCode.TX_DEADLOCK_PREVENTION),
            "a younger asking for a key an older holds dies");
        assertTrue(coordinator.tx.views().stream().noneMatch(v -> v.id() == youngest), "and is rolled back");
    }

    /**
     * Ages compare across members whatever their monotonic clocks: each process's has its own origin (on Linux the
     * time since its machine booted). Taken from it, a transaction begun first on a member whose machine booted ten
     * days earlier was younger than one begun later on another member, and lost every conflict with that member's
     * transactions, its retries too (a retry keeps its first age, which never grew older than theirs).
     */
    @Test
    void aTransactionBegunFirstIsOlderOnAMemberWhoseMonotonicClockIsDaysAhead()
    {
        final FakeCluster.Member bootedEarlier = cluster.member(1);
        bootedEarlier.clockOriginNs = java.util.concurrent.TimeUnit.DAYS.toNanos(10);
        final long first = bootedEarlier.tx.begin(TIMEOUT_NS, 0);
        cluster.advance(5_000_000L);
        final long second = coordinator.tx.begin(TIMEOUT_NS, 0);
        assertTrue(bootedEarlier.tx.priority(first) < coordinator.tx.priority(second),
            "begun 5 ms earlier on the other member, it is older");

        final byte[] key = FakeCluster.keyIn(1, "k");
        assertTrue(lock(coordinator, second, key).succeeded(), "the younger takes the free key");
        final FakeCluster.Outcome olderWaits = lock(bootedEarlier, first, key);
        assertEquals(0, olderWaits.calls, "the older waits for the younger holder instead of dying");
    }

    @Test
    void aLockWaitPastTheTransactionsTimeoutAbortsIt()
    {
        final byte[] key = FakeCluster.keyIn(3, "k");
        final long older = coordinator.tx.begin(300_000_000L, 0);
        final long younger = coordinator.tx.begin(TIMEOUT_NS, 0);
        assertTrue(lock(coordinator, younger, key).succeeded());
        final FakeCluster.Outcome olderWaits = lock(coordinator, older, key);
        assertEquals(0, olderWaits.calls);

        cluster.advance(400_000_000L);
        assertTrue(olderWaits.failedWith(ErrorCode.TX_TIMEOUT), "timed out: " + olderWaits.error);
        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        coordinator.tx.commit(younger, new int[] {CACHE}, new byte[][] {key}, new byte[][] {bytes("v")}, commit);
        cluster.deliver();
        assertTrue(commit.succeeded(), "the holder is unaffected: " + commit.error);
        assertEquals("v", cluster.member(0).copyOf(3).value(key));
    }

    @Test
    void aWriteOfAKeyNeverLockedRollsTheTransactionBack()
    {
        final byte[] locked = FakeCluster.keyIn(1, "a");
        final byte[] notLocked = FakeCluster.keyIn(2, "b");
        final long txId = coordinator.tx.begin(TIMEOUT_NS, 0);
        assertTrue(lock(coordinator, txId, locked).succeeded());

        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        coordinator.tx.commit(txId, new int[] {CACHE, CACHE}, new byte[][] {locked, notLocked},
            new byte[][] {bytes("1"), bytes("2")}, commit);
        cluster.deliver();
        assertTrue(commit.failedWith(ErrorCode.CONFIGURATION_INVALID), "refused: " + commit.error);
        assertNull(cluster.member(1).copyOf(1).value(locked), "nothing written");
        assertTrue(lock(coordinator, coordinator.tx.begin(TIMEOUT_NS, 0), locked).succeeded(),
            "its lock is released");
    }
}
