package dev.grid.core.internal.cluster;

/**
 * States of one transaction's part on one partition's primary.
 * <p>
 * Transitions:
 * <pre>
 * LOCKING      -> PREPARING    prepare arrived with every written key locked: counters reserved, sent to backups
 * LOCKING      -> COMMITTING   one-phase commit arrived: counters reserved and applied at once
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
enum TxParticipantState
{
    LOCKING,
    PREPARING,
    PREPARED,
    COMMITTING,
    ROLLING_BACK
}
