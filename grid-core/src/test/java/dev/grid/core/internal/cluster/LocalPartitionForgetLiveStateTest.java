package dev.grid.core.internal.cluster;

import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.PartitionState;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a copy keeps when an in-memory member whose cluster dissolves takes it along ({@link
 * LocalPartition#forgetLiveState}): the outcome of an update applied here and still waiting for its backups stays in
 * the retry memory, so that its origin's resend through the other cluster is answered, not applied twice; an
 * operation not applied (in flight, no outcome yet) is forgotten.
 */
class LocalPartitionForgetLiveStateTest
{
    @Test
    void anUpdateWaitingForBackupsKeepsItsOutcomeAndAnOperationNotAppliedIsForgotten()
    {
        final LocalPartition lp = new LocalPartition(1, 3);
        lp.state = PartitionState.LOST;
        final LocalPartition.OpKey applied = new LocalPartition.OpKey(7, 1);
        final LocalPartition.OpKey notApplied = new LocalPartition.OpKey(7, 2);
        final OpOutcome outcome = new OpOutcome(true, new byte[] {42}, 0);
        final long counter = lp.reserve(1) + 1;
        lp.store.apply(new byte[] {1}, new byte[] {42}, counter);
        lp.recent.put(applied, null);
        lp.recent.put(notApplied, null);
        lp.inFlight.put(counter, new LocalPartition.PrimaryUpdate(counter, applied, 7, 1, outcome, new byte[] {1},
            new byte[] {42}, 1, Long.MAX_VALUE, 1));

        lp.forgetLiveState();

        assertSame(outcome, lp.recent.get(applied), "the applied update's outcome is remembered");
        assertFalse(lp.recent.containsKey(notApplied), "the operation not applied is forgotten");
        assertTrue(lp.inFlight.isEmpty(), "nothing waits for backups any more");
        assertEquals(PartitionState.OWNING, lp.state, "the copy reports as a recovered one does");
        assertEquals(1, lp.store.size());
    }
}
