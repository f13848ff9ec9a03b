package dev.grid.tx;

import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.MessageTypes;
import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.TxPartKey;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static dev.grid.tx.FakeCluster.CACHE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Prepares that outlived their transaction (a member that left before its rollback was logged brings the prepare back
 * from its WAL): what keeps them from being committed over later writes. Three members over fake engine contexts
 * ({@link FakeCluster}); member 0 coordinates.
 */
class StalePreparesWithFakesTest
{
    private static final long TIMEOUT_NS = 5_000_000_000L;

    private final FakeCluster cluster = new FakeCluster(3);
    private final FakeCluster.Member coordinator = cluster.member(0);
    private final FakeCluster.Member member2 = cluster.member(2);
    private final byte[] a = FakeCluster.keyIn(1, "a");

    private static byte[] bytes(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A checkpoint's manifest keeps the rollbacks a member remembers, so that after a restart from it a stale prepare
     * of a rolled-back transaction, sent again by a member that left before its rollback was logged, is answered
     * "rolled back" instead of held as a fresh prepare (whole-cluster bank seed 0x16acc5f4: held, it was committed by
     * recovery). A manifest written before rollbacks were listed still loads.
     */
    @Test
    void aCheckpointRemembersRollbacks()
    {
        final TxPartKey rolledBack = new TxPartKey(coordinator.incarnation, 7, CACHE, 1);
        final TxPartKey committed = new TxPartKey(coordinator.incarnation, 8, CACHE, 1);
        coordinator.tx.finished.put(rolledBack, Boolean.FALSE);
        coordinator.tx.finished.put(committed, Boolean.TRUE);
        final MessageWriter writer = new MessageWriter();
        coordinator.tx.encodePrepared(writer);
        coordinator.tx.encodeCommitted(writer);

        final FakeCluster.Member restarted = new FakeCluster(3).member(0);
        restarted.tx.decodePrepared(new MessageReader().wrap(writer.buffer(), 0, writer.length()));
        assertEquals(Boolean.FALSE, restarted.tx.finished.get(rolledBack), "the rollback is remembered");
        assertEquals(Boolean.TRUE, restarted.tx.finished.get(committed), "and the commit");

        // An older manifest ends after the commits.
        final FakeCluster.Member older = new FakeCluster(3).member(0);
        older.tx.decodePrepared(new MessageReader().wrap(writer.buffer(), 0, writer.length() - 4 - 24));
        assertEquals(Boolean.TRUE, older.tx.finished.get(committed));
        assertFalse(older.tx.finished.containsKey(rolledBack));
    }

    /**
     * Member 2 is partition 1's primary in every map here; a transaction prepares "a" there, its decision held, and
     * stale prepares over "a" with the given sequences come back from member 2's WAL (their coordinator is gone, they
     * have no other participant). At the next install member 2 takes them over while the first transaction holds "a".
     *
     * @return the first transaction's commit callback.
     */
    private FakeCluster.Outcome takeOverStalePreparesWhileAKeyIsHeld(final long... staleSeqs)
    {
        for (final FakeCluster.Member member : cluster.members)
        {
            member.owners.put(1, new long[] {member2.incarnation, cluster.member(1).incarnation});
        }
        final long first = coordinator.tx.begin(TIMEOUT_NS, 0);
        final FakeCluster.Outcome locked = new FakeCluster.Outcome();
        coordinator.tx.enlist(first, CACHE, new byte[][] {a, FakeCluster.keyIn(0, "b")}, true, locked);
        cluster.deliver();
        assertTrue(locked.succeeded(), "locked: " + locked.error);
        cluster.held = m -> m.type() == MessageTypes.TX_COMMIT;
        final FakeCluster.Outcome firstCommit = new FakeCluster.Outcome();
        coordinator.tx.commit(first, new int[] {CACHE, CACHE}, new byte[][] {a, FakeCluster.keyIn(0, "b")},
            new byte[][] {bytes("first"), bytes("first")}, firstCommit);
        cluster.deliver();
        for (final long seq : staleSeqs)
        {
            member2.tx.replayPrepare(new TxPartKey(999, seq, CACHE, 1), 0, new long[] {PartitionCopy.pack(CACHE, 1)},
                new byte[][] {a}, new byte[][] {bytes("stale" + seq)});
        }
        member2.tx.onInstalled();
        cluster.advance(FakeCluster.RETRY_NS * 2);
        return firstCommit;
    }

    /**
     * A prepare taken over at an install while another part holds one of its keys does not write that key before it
     * holds it: it is next for the key once the holder releases it, before any waiter, and commits then. Committed at
     * once, without the lock, its old values went over a transfer that locked the key in between (whole-cluster bank
     * seed 0x16acc51a).
     */
    @Test
    void aPrepareTakenOverWithoutAKeysLockCommitsOnlyOnceItHoldsIt()
    {
        final FakeCluster.Outcome firstCommit = takeOverStalePreparesWhileAKeyIsHeld(1);

        assertNull(member2.copyOf(1).value(a), "the stale prepare wrote a key another part holds");
        assertEquals(TxParticipantState.PREPARED, member2.tx.parts.get(new TxPartKey(999, 1, CACHE, 1)).state);

        // The first transaction commits and releases "a": the stale prepare holds it next, and commits.
        cluster.held = m -> false;
        cluster.advance(FakeCluster.RETRY_NS * 2);
        cluster.advance(FakeCluster.RETRY_NS * 2);
        assertTrue(firstCommit.succeeded(), "committed: " + firstCommit.error);
        assertTrue(member2.events.stream().anyMatch(e -> e.contains("commits recovered transaction 1")),
            String.join("\n", member2.events));
        assertEquals("stale1", member2.copyOf(1).value(a), "committed after the first, holding the key");
    }

    /**
     * A prepared part whose coordinator, asked after a long silence (its primary was paused, say), says the transaction
     * rolled back closes the counter it reserved at prepare, on its backup and here. It used to drop the reservation as
     * if an exchange had (only an exchange does), and the copy kept that counter open for good: bank seed 0x21e5f9f0
     * ended with HWM 102 and LWM 45 on a primary after quiescence.
     */
    @Test
    void aStalePreparedPartItsCoordinatorRolledBackClosesWhatItReserved()
    {
        final FakeCluster.Member backup = cluster.member(1);
        for (final FakeCluster.Member member : cluster.members)
        {
            member.owners.put(1, new long[] {member2.incarnation, backup.incarnation});
        }
        final byte[] b = FakeCluster.keyIn(0, "b");
        final long seq = coordinator.tx.begin(TIMEOUT_NS, 0);
        final FakeCluster.Outcome locked = new FakeCluster.Outcome();
        coordinator.tx.enlist(seq, CACHE, new byte[][] {a, b}, true, locked);
        cluster.deliver();
        assertTrue(locked.succeeded(), "locked: " + locked.error);
        cluster.held = m -> m.type() == MessageTypes.TX_COMMIT;
        coordinator.tx.commit(seq, new int[] {CACHE, CACHE}, new byte[][] {a, b},
            new byte[][] {bytes("x"), bytes("y")}, new FakeCluster.Outcome());
        cluster.deliver();
        final TxPart part = member2.tx.parts.get(new TxPartKey(coordinator.incarnation, seq, CACHE, 1));
        assertEquals(TxParticipantState.PREPARED, part.state);
        assertEquals(1, member2.copyOf(1).reserved, "the prepare reserved one counter");
        // Its commit never comes; the coordinator remembers the transaction as rolled back (its rollback, say, was
        // lost with a pause of this primary).
        cluster.inFlight.clear();
        cluster.held = m -> false;
        coordinator.tx.coordinator.nearTxs.remove(seq);
        coordinator.tx.outcomes.put(seq, Boolean.FALSE);
        for (int i = 0; i < 12 && member2.tx.parts.containsKey(part.key); i++)
        {
            cluster.advance(FakeCluster.RETRY_NS);
        }
        assertFalse(member2.tx.parts.containsKey(part.key), "the stale part never ended: " +
            String.join("\n", member2.events));
        assertTrue(member2.events.stream().anyMatch(e -> e.contains("as its coordinator did: rolled back")),
            String.join("\n", member2.events));
        assertTrue(member2.copyOf(1).isClosed(1), "the primary left the counter it reserved open");
        assertTrue(backup.copyOf(1).isClosed(1), "the backup left the counter reserved for it open");
        assertNull(member2.copyOf(1).value(a), "a rolled-back part wrote");
    }

    /** Two prepares owed one key hold it one after the other: neither is forgotten (each commits, holding it). */
    @Test
    void twoPreparesOwedOneKeyEachHoldItInTurn()
    {
        takeOverStalePreparesWhileAKeyIsHeld(1, 2);
        cluster.held = m -> false;
        for (int i = 0; i < 4; i++)
        {
            cluster.advance(FakeCluster.RETRY_NS * 2);
        }
        for (final long seq : new long[] {1, 2})
        {
            assertTrue(member2.events.stream().anyMatch(e -> e.contains("commits recovered transaction " + seq)),
                "transaction " + seq + " never committed: " + String.join("\n", member2.events));
        }
        assertTrue(member2.tx.parts.isEmpty(), "every part ended: " + member2.tx.parts.keySet());
    }
}
