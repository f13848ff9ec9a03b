package dev.grid.tx;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.engine.MessageTypes;
import dev.grid.core.engine.TxPartKey;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static dev.grid.tx.FakeCluster.CACHE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What an in-memory member whose cluster dissolves keeps of its transactions ({@link TxAbandon}): three members over
 * fake engine contexts ({@link FakeCluster}); partition 1 has member 1 as primary and member 2 as backup, member 0
 * coordinates. A transaction is prepared on both copies and its decision held; both copies then keep the prepare as a
 * restart on a WAL would recover it, held and marked replayed, so that the primary finishes it once active again.
 */
class AbandonKeepingPreparesWithFakesTest
{
    private static final long TIMEOUT_NS = 5_000_000_000L;

    private final FakeCluster cluster = new FakeCluster(3);
    private final FakeCluster.Member coordinator = cluster.member(0);
    private final FakeCluster.Member primary = cluster.member(1);
    private final FakeCluster.Member backup = cluster.member(2);
    private final byte[] a = FakeCluster.keyIn(1, "a");

    @Test
    void bothCopiesKeepAPreparedPartAsReplayedAndDropTheRest()
    {
        final TxPartKey part = prepareWithDecisionHeld();
        assertTrue(primary.tx.parts.containsKey(part) &&
            primary.tx.parts.get(part).state == TxParticipantState.PREPARED, "the primary's part is prepared");
        assertTrue(backup.tx.prepared.containsKey(part), "the backup holds the prepare");

        final GridException rejoining = new GridException(ErrorCode.MEMBER_REJOINING, "dissolves");
        primary.tx.abandonKeepingPrepares(rejoining);
        backup.tx.abandonKeepingPrepares(rejoining);

        assertTrue(primary.tx.parts.isEmpty() && primary.tx.lockTable.locks.isEmpty(),
            "the primary's live participant state is dropped");
        assertTrue(primary.tx.prepared.containsKey(part) && primary.tx.prepared.get(part).replayed(),
            "the primary keeps its part's prepare, as replayed: " + primary.tx.prepared);
        assertTrue(backup.tx.prepared.containsKey(part) && backup.tx.prepared.get(part).replayed(),
            "the backup keeps its prepare, as replayed: " + backup.tx.prepared);
    }

    /**
     * A part committing on the primary (its writes applied, its backup's acknowledgement not yet in) is finished, as a
     * restart's replay of its writes would find, not kept as a prepare that recovery could roll back over them.
     */
    @Test
    void aPartCommittingIsRecordedFinishedNotKeptAsAPrepare()
    {
        final TxPartKey part = prepareWithDecisionHeld();
        final long backupIncarnation = backup.incarnation;
        cluster.held = m -> m.type() == MessageTypes.TX_BACKUP_ACK && m.from() == backupIncarnation;
        cluster.deliver();
        assertTrue(primary.tx.parts.get(part).state == TxParticipantState.COMMITTING, "the primary's part commits");
        assertEquals("x", primary.copyOf(1).value(a));

        primary.tx.abandonKeepingPrepares(new GridException(ErrorCode.MEMBER_REJOINING, "dissolves"));

        assertEquals(Boolean.TRUE, primary.tx.finished.get(part), "the part is finished, committed");
        assertFalse(primary.tx.prepared.containsKey(part), "and not held as a prepare: " + primary.tx.prepared);
    }

    /** Prepare a transaction over a (partition 1) and b (partition 2), its decision held: the part key on 1. */
    private TxPartKey prepareWithDecisionHeld()
    {
        final long txId = coordinator.tx.begin(TIMEOUT_NS, 0);
        final FakeCluster.Outcome locked = new FakeCluster.Outcome();
        final byte[] b = FakeCluster.keyIn(2, "b");
        coordinator.tx.enlist(txId, CACHE, new byte[][] {a, b}, true, locked);
        cluster.deliver();
        assertTrue(locked.succeeded(), "locked: " + locked.error);
        cluster.held = m -> m.type() == MessageTypes.TX_COMMIT;
        coordinator.tx.commit(txId, new int[] {CACHE, CACHE}, new byte[][] {a, b},
            new byte[][] {bytes("x"), bytes("y")}, new FakeCluster.Outcome());
        cluster.deliver();
        return new TxPartKey(coordinator.incarnation, txId, CACHE, 1);
    }

    private static byte[] bytes(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
