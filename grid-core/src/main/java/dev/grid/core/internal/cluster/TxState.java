package dev.grid.core.internal.cluster;

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
 * COMMITTING   -> DONE         every partition confirmed the commit
 * ROLLING_BACK -> DONE         every partition confirmed the rollback
 * </pre>
 * A member that stops abandons its transactions: the undecided roll back at their participants (the coordinator is
 * gone), the decided commit there (every participant prepared).
 */
enum TxState
{
    ACTIVE,
    PREPARING,
    COMMITTING,
    ROLLING_BACK,
    DONE
}
