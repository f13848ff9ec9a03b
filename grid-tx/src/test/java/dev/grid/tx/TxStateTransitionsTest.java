package dev.grid.tx;

import dev.grid.core.engine.StateTables;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The transaction state machines' checked transitions are exactly the tables their javadoc documents: every listed
 * move is allowed, every other move throws.
 */
class TxStateTransitionsTest
{
    @Test
    void transactionStatesAtTheCoordinator()
    {
        StateTables.check(TxState.class, Set.of(
            "ACTIVE>PREPARING", "ACTIVE>COMMITTING", "ACTIVE>ROLLING_BACK",
            "PREPARING>COMMITTING", "PREPARING>ROLLING_BACK", "PREPARING>DONE",
            "COMMITTING>DONE", "COMMITTING>ROLLING_BACK", "ROLLING_BACK>DONE"));
        assertThrows(IllegalStateException.class, () -> TxState.COMMITTING.moveTo(TxState.ACTIVE),
            "a transaction decided to commit never becomes active again");
    }

    @Test
    void transactionPartStatesAtAPrimary()
    {
        StateTables.check(TxParticipantState.class, Set.of(
            "LOCKING>PREPARING", "LOCKING>COMMITTING", "LOCKING>PREPARED", "LOCKING>ROLLING_BACK",
            "PREPARING>PREPARED", "PREPARING>ROLLING_BACK",
            "PREPARED>COMMITTING", "PREPARED>ROLLING_BACK"));
    }
}
