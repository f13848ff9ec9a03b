package dev.grid.core.internal.cluster;

import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Each state machine's checked transitions are exactly the table its javadoc documents: every listed move is allowed,
 * every other move throws.
 */
class StateTransitionsTest
{
    @Test
    void memberStates()
    {
        check(MemberState.class, Set.of(
            "JOINING>ACTIVE", "JOINING>FAILED", "JOINING>STOPPING",
            "ACTIVE>JOINING", "ACTIVE>EXPELLED", "ACTIVE>STOPPING", "ACTIVE>FAILED",
            "STOPPING>STOPPED", "STOPPING>FAILED",
            "EXPELLED>STOPPING", "EXPELLED>FAILED"));
    }

    @Test
    void checkpointStates()
    {
        check(CheckpointState.class, Set.of(
            "IDLE>SNAPSHOTTING", "SNAPSHOTTING>AWAITING_DURABILITY", "AWAITING_DURABILITY>COMMITTING",
            "COMMITTING>IDLE", "SNAPSHOTTING>IDLE", "AWAITING_DURABILITY>IDLE"));
    }

    @Test
    void transactionStatesAtTheCoordinator()
    {
        check(TxState.class, Set.of(
            "ACTIVE>PREPARING", "ACTIVE>COMMITTING", "ACTIVE>ROLLING_BACK",
            "PREPARING>COMMITTING", "PREPARING>ROLLING_BACK", "PREPARING>DONE",
            "COMMITTING>DONE", "COMMITTING>ROLLING_BACK", "ROLLING_BACK>DONE"));
        assertThrows(IllegalStateException.class, () -> TxState.COMMITTING.moveTo(TxState.ACTIVE),
            "a transaction decided to commit never becomes active again");
    }

    @Test
    void transactionPartStatesAtAPrimary()
    {
        check(TxParticipantState.class, Set.of(
            "LOCKING>PREPARING", "LOCKING>COMMITTING", "LOCKING>PREPARED", "LOCKING>ROLLING_BACK",
            "PREPARING>PREPARED", "PREPARING>ROLLING_BACK",
            "PREPARED>COMMITTING", "PREPARED>ROLLING_BACK"));
    }

    private static <S extends Enum<S> & CheckedState<S>> void check(final Class<S> states, final Set<String> table)
    {
        int allowed = 0;
        for (final S from : EnumSet.allOf(states))
        {
            for (final S to : EnumSet.allOf(states))
            {
                final boolean listed = table.contains(from.name() + ">" + to.name());
                assertEquals(listed, from.canMoveTo(to), from + " -> " + to);
                if (listed)
                {
                    assertEquals(to, from.moveTo(to));
                    allowed++;
                }
                else
                {
                    assertThrows(IllegalStateException.class, () -> from.moveTo(to), from + " -> " + to);
                }
            }
        }
        assertEquals(table.size(), allowed, "every listed transition names states of " + states.getSimpleName());
    }
}
