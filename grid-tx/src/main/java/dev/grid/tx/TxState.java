package dev.grid.tx;

import dev.grid.core.engine.CheckedState;
/**
 * States of a transaction at its coordinator (the member whose user began it).
 * <p>
 * Transitions:
 * <pre>
 * ACTIVE       -> PREPARING    commit asked, two or more partitions written: prepare sent to their primaries
 * ACTIVE       -> COMMITTING   commit asked, one partition written: one-phase commit sent to its primary
 * ACTIVE       -> ROLLING_BACK user rollback, timeout, a lock refused (deadlock prevention), the map changed
 * PREPARING    -> COMMITTING   every primary answered prepared (the decision to commit; never revoked)
 * PREPARING    -> ROLLING_BACK a primary refused, the map changed, the timeout passed
 * COMMITTING   -> ROLLING_BACK a one-phase commit whose primary answered that it did not apply it (nothing was
 *                              applied there): the transaction's locks elsewhere are released
 * COMMITTING   -> DONE         every partition confirmed the commit
 * PREPARING    -> DONE         the coordinator's member stops with prepares out: every participant decides at
 *                              recovery (the user hears that the outcome is unknown)
 * ROLLING_BACK -> DONE         every partition confirmed the rollback
 * </pre>
 * A member that stops abandons its transactions: the undecided roll back at their participants (the coordinator is
 * gone), the decided commit there (every participant prepared).
 */
enum TxState implements CheckedState<TxState>
{
    /** Enlisting keys (locking them, or reading them optimistically). */
    ACTIVE,
    /** Prepares sent; waiting for every primary to answer. */
    PREPARING,
    /** Decided to commit; waiting for every partition to confirm. */
    COMMITTING,
    /** Decided to roll back; waiting for every partition to confirm. */
    ROLLING_BACK,
    /** Finished; final. */
    DONE;

    @Override
    public boolean canMoveTo(final TxState next)
    {
        return switch (this)
        {
            case ACTIVE -> next == PREPARING || next == COMMITTING || next == ROLLING_BACK;
            case PREPARING -> next == COMMITTING || next == ROLLING_BACK || next == DONE;
            case COMMITTING -> next == DONE || next == ROLLING_BACK;
            case ROLLING_BACK -> next == DONE;
            case DONE -> false;
        };
    }
}
