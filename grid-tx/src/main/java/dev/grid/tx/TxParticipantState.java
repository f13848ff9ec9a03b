package dev.grid.tx;

import dev.grid.core.engine.CheckedState;
/**
 * States of one transaction's part on one partition's primary.
 * <p>
 * Transitions:
 * <pre>
 * LOCKING      -> PREPARING    prepare arrived with every written key locked: counters reserved, sent to backups
 * LOCKING      -> COMMITTING   one-phase commit arrived: counters reserved and applied at once
 * LOCKING      -> PREPARED     a new part for a prepare recovered from the WAL, or held by a backup that becomes the
 *                              primary: taken over as prepared
 * PREPARING    -> PREPARED     every backup acknowledged the prepare (answered to the coordinator)
 * PREPARED     -> COMMITTING   commit arrived (or recovery found every participant prepared)
 * any but COMMITTING -> ROLLING_BACK  rollback arrived (or recovery found a participant that never prepared)
 * COMMITTING   -> (gone)       applied, durable and acknowledged by every backup: locks released
 * ROLLING_BACK -> (gone)       backups closed the reserved range, then this copy: locks released
 * LOCKING      -> (gone)       the partition map changed (the coordinator aborts such transactions)
 * PREPARING    -> PREPARED     the partition map changed before every backup acknowledged: kept like a prepared
 *                              part, so the coordinator's rollback, or recovery, reaches the backups that hold it
 * </pre>
 * A PREPARED part survives a map change: the new primary (this member, or a backup that held the prepare) keeps its
 * keys locked and reserves fresh counters at commit, because the exchange dropped the old reservation (gap
 * finalization sets HWM back to LWM on every kept copy, so the copies agree).
 */
enum TxParticipantState implements CheckedState<TxParticipantState>
{
    /** Keys locked (or being locked) for the coordinator. */
    LOCKING,
    /** Counters reserved and the prepare sent to backups; waiting for their acknowledgements. */
    PREPARING,
    /** Prepared on every copy (or taken over as prepared); waiting for the decision. */
    PREPARED,
    /** Applying the commit on every copy. */
    COMMITTING,
    /** Closing the reserved counters on every copy. */
    ROLLING_BACK;

    @Override
    public boolean canMoveTo(final TxParticipantState next)
    {
        return switch (this)
        {
            case LOCKING -> next == PREPARING || next == COMMITTING || next == PREPARED || next == ROLLING_BACK;
            case PREPARING -> next == PREPARED || next == ROLLING_BACK;
            case PREPARED -> next == COMMITTING || next == ROLLING_BACK;
            case COMMITTING -> false;
            case ROLLING_BACK -> false;
        };
    }
}
