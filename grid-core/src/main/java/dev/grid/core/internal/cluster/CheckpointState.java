package dev.grid.core.internal.cluster;

import dev.grid.core.engine.CheckedState;
/**
 * Progress of the member's checkpoint, driven by its duty cycle.
 *
 * <pre>
 * from                 to                   when
 * IDLE                 SNAPSHOTTING         the interval passed or enough WAL records were appended since the last one
 * SNAPSHOTTING         AWAITING_DURABILITY  every copy present at the start was imaged (a few per duty cycle)
 * AWAITING_DURABILITY  COMMITTING           the WAL is durable up to the last position any image saw appended
 * COMMITTING           IDLE                 the store committed the checkpoint (then WAL before it may be released)
 * any but IDLE         IDLE                 the store reported a failure (retried after the interval), or the member
 *                                           dropped every copy to rejoin (the checkpoint is abandoned)
 * </pre>
 * An image holds a copy's applied state, which may include updates not yet durable; committing only once the WAL holds
 * them makes every update in a committed image durable, so recovery never finds data whose counter is not closed.
 */
enum CheckpointState implements CheckedState<CheckpointState>
{
    /** No checkpoint under way. */
    IDLE,
    /** Imaging copies, a few per duty cycle, while writes continue. */
    SNAPSHOTTING,
    /** Every image handed over; waiting for the WAL to make what they contain durable. */
    AWAITING_DURABILITY,
    /** Commit requested; waiting for the store to write the manifest. */
    COMMITTING;

    @Override
    public boolean canMoveTo(final CheckpointState next)
    {
        return switch (this)
        {
            case IDLE -> next == SNAPSHOTTING;
            case SNAPSHOTTING -> next == AWAITING_DURABILITY || next == IDLE;
            case AWAITING_DURABILITY -> next == COMMITTING || next == IDLE;
            case COMMITTING -> next == IDLE;
        };
    }
}
