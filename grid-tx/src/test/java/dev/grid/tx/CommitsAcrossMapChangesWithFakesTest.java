package dev.grid.tx;

import dev.grid.core.engine.MessageTypes;
import dev.grid.core.engine.TxPartKey;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static dev.grid.tx.FakeCluster.CACHE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A commit that a map change overtakes: three members over fake engine contexts ({@link FakeCluster}); partition 1 has
 * member 1 as primary and member 2 as backup, partition 2 member 2 as primary and member 0 as backup, and member 0
 * coordinates. Both cases come from whole-cluster bank seed 0x16acca08: first the cluster never settled, a commit
 * waiting for a member that no longer owned a copy; with that mended, a transfer was applied to one account only.
 */
class CommitsAcrossMapChangesWithFakesTest
{
    private static final long TIMEOUT_NS = 5_000_000_000L;

    private final FakeCluster cluster = new FakeCluster(3);
    private final FakeCluster.Member coordinator = cluster.member(0);
    private final FakeCluster.Member primary = cluster.member(1);
    private final FakeCluster.Member member2 = cluster.member(2);
    private final byte[] a = FakeCluster.keyIn(1, "a");
    private final byte[] b = FakeCluster.keyIn(2, "b");

    private static byte[] bytes(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private long lock(final byte[][] keys)
    {
        final long txId = coordinator.tx.begin(TIMEOUT_NS, 0);
        final FakeCluster.Outcome locked = new FakeCluster.Outcome();
        coordinator.tx.enlist(txId, CACHE, keys, true, locked);
        cluster.deliver();
        assertTrue(locked.succeeded(), "locked: " + locked.error);
        return txId;
    }

    /**
     * Lock and commit {@code a} and {@code b}, the user's callback {@code commit}: both partitions prepare, and the
     * decision to commit is held.
     *
     * @return the transaction's id.
     */
    private long decideWithCommitsHeld(final FakeCluster.Outcome commit)
    {
        final long txId = lock(new byte[][] {a, b});
        cluster.held = m -> m.type() == MessageTypes.TX_COMMIT;
        coordinator.tx.commit(txId, new int[] {CACHE, CACHE}, new byte[][] {a, b},
            new byte[][] {bytes("v"), bytes("v")}, commit);
        cluster.deliver();
        return txId;
    }

    /**
     * A primary's commit waits for a backup that, by the next map, owns no copy of the partition any more, and that
     * never got the commit in a map it could apply it in: at that install the primary stops waiting for it, so that
     * the commit ends and its locks go.
     */
    @Test
    void aCommitStopsWaitingForAMemberThatOwnsNoCopyAfterTheMapChange()
    {
        final long txId = lock(new byte[][] {a});
        cluster.held = m -> m.type() == MessageTypes.TX_BACKUP && m.to() == member2.incarnation;
        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        coordinator.tx.commit(txId, new int[] {CACHE}, new byte[][] {a}, new byte[][] {bytes("v")}, commit);
        cluster.deliver();
        assertEquals(0, commit.calls, "the primary waits for its backup");

        // The next map gives partition 1 to members 1 and 0; member 2 installed it before the commit reached it.
        cluster.inFlight.removeIf(m -> m.to() == member2.incarnation);
        cluster.held = m -> false;
        for (final FakeCluster.Member member : cluster.members)
        {
            member.owners.put(1, new long[] {primary.incarnation, coordinator.incarnation});
        }
        primary.tx.onInstalled();
        cluster.advance(FakeCluster.RETRY_NS * 2);

        assertTrue(commit.succeeded(), "committed: " + commit.error);
        assertFalse(primary.tx.parts.containsKey(new TxPartKey(coordinator.incarnation, txId, CACHE, 1)),
            "the part ended, and its locks with it");
    }

    /**
     * A backup applying a commit its primary shipped (not durable yet) becomes the partition's primary, and the
     * recovery of the transaction's other partition asks it: not "never prepared", which rolled the transaction back
     * there while the first partition's copies committed it, but nothing until the commit is done here; then
     * "committed".
     */
    @Test
    void aCommitBeingAppliedIsNotTakenForANeverPreparedPart()
    {
        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        final long txId = decideWithCommitsHeld(commit);
        // Decided: the commit goes to partition 1 only (partition 2's is lost with the coordinator), and member 2
        // applies partition 1's commit as its backup, not yet durable.
        cluster.inFlight.removeIf(m -> m.type() == MessageTypes.TX_COMMIT && m.to() == member2.incarnation);
        member2.durable = false;
        cluster.held = m -> false;
        cluster.deliver();
        assertEquals("v", member2.copyOf(1).value(a), "member 2 applied partition 1's commit");
        assertEquals(0, commit.calls);

        // The coordinator and partition 1's primary leave; member 2 is the primary of both partitions now, and
        // recovers the transaction it holds prepared on partition 2, asking partition 1's primary: itself.
        cluster.depart(0);
        cluster.depart(1);
        member2.owners.put(1, new long[] {member2.incarnation});
        member2.owners.put(2, new long[] {member2.incarnation});
        member2.tx.onInstalled();
        cluster.deliver();

        final TxPartKey part2 = new TxPartKey(coordinator.incarnation, txId, CACHE, 2);
        assertTrue(member2.events.stream().noneMatch(e -> e.contains("rolls back recovered")),
            String.join("\n", member2.events));
        assertNotEquals(Boolean.FALSE, member2.tx.finished.get(part2), "partition 2 was not rolled back");

        member2.durable = true;
        cluster.advance(FakeCluster.RETRY_NS * 2);
        cluster.advance(FakeCluster.RETRY_NS * 2);

        assertEquals("v", member2.copyOf(2).value(b), "partition 2 committed too: " + String.join("\n",
            member2.events));
        assertEquals("v", member2.copyOf(1).value(a));
    }

    /**
     * The same backup, still applying partition 1's commit, becomes its primary, and the coordinator, alive, sends it
     * the commit: it does not apply the writes a second time (with new counters, and no lock held, over whatever a
     * later transaction wrote meanwhile), but answers "committed" once its own application is done.
     */
    @Test
    void aCommitBeingAppliedIsNotAppliedAgainWhenTheCoordinatorSendsIt()
    {
        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        decideWithCommitsHeld(commit);
        member2.durable = false;
        cluster.held = m -> m.type() == MessageTypes.TX_COMMIT && m.to() == member2.incarnation;
        cluster.deliver();
        assertEquals("v", member2.copyOf(1).value(a), "member 2 applied partition 1's commit as its backup");
        assertEquals(1, member2.writesLogged(1));

        // Partition 1's primary leaves; in the coordinator's map and member 2's, member 2 is its primary now.
        cluster.depart(1);
        for (final FakeCluster.Member member : java.util.List.of(coordinator, member2))
        {
            member.owners.put(1, new long[] {member2.incarnation, coordinator.incarnation});
        }
        member2.tx.onInstalled();
        coordinator.tx.onInstalled();
        cluster.held = m -> false;
        cluster.advance(FakeCluster.RETRY_NS * 2);

        assertEquals(1, member2.writesLogged(1), "the writes were not applied again");

        member2.durable = true;
        cluster.advance(FakeCluster.RETRY_NS * 2);
        cluster.advance(FakeCluster.RETRY_NS * 2);
        assertTrue(commit.succeeded(), "committed: " + commit.error);
        assertEquals(1, member2.writesLogged(1), "still applied once");
    }

    /**
     * The recovery of a transaction whose coordinator left decides nothing while the member exchanges (after its
     * report, before the install): a commit started then would wait across the install for backups of the old map,
     * which drop it once they installed the new one. It decides once the member is past the exchange.
     */
    @Test
    void aRecoveryDecidesNothingWhileTheMemberExchanges()
    {
        final FakeCluster.Outcome commit = new FakeCluster.Outcome();
        final long txId = decideWithCommitsHeld(commit);
        // The decision never leaves the coordinator, which leaves: partition 1's primary recovers the transaction.
        cluster.inFlight.removeIf(m -> m.type() == MessageTypes.TX_COMMIT);
        cluster.held = m -> false;
        cluster.depart(0);
        primary.exchanging = true;
        primary.tx.onInstalled();
        cluster.advance(FakeCluster.RETRY_NS * 2);

        final TxPartKey part1 = new TxPartKey(coordinator.incarnation, txId, CACHE, 1);
        final TxPart held = primary.tx.parts.get(part1);
        assertTrue(held != null && held.state == TxParticipantState.PREPARED,
            "nothing decided while exchanging: " + String.join("\n", primary.events));

        primary.exchanging = false;
        cluster.advance(FakeCluster.RETRY_NS * 2);
        cluster.advance(FakeCluster.RETRY_NS * 2);

        assertTrue(primary.events.stream().anyMatch(e -> e.contains("commits recovered transaction")),
            String.join("\n", primary.events));
        assertEquals("v", primary.copyOf(1).value(a), "committed once past the exchange");
    }
}
