package dev.grid.core.engine;

/**
 * Life of one member incarnation.
 *
 * <pre>
 * from      to        when
 * JOINING   ACTIVE    a topology that lists this incarnation arrives, or this seed bootstraps the cluster
 * JOINING   FAILED    no seed answered within the join timeout, or the coordinator rejected the join
 * JOINING   STOPPING  stop() before joining
 * ACTIVE    JOINING   the cluster removed this incarnation (it was suspected failed) and the member keeps no
 *                     durable data: state is dropped and the member joins again under a new incarnation
 * ACTIVE    EXPELLED  the cluster removed this incarnation and the member is persistent: it stops serving, lets its
 *                     WAL become durable and its checkpoint finish, then its host starts a new engine on the same
 *                     data directory, which rejoins with its copies as a restarted member does
 * ACTIVE    STOPPING  stop(): in-flight operations fail with node-stopping, new ones are refused, leave is announced
 * STOPPING  STOPPED   the leave was sent
 * EXPELLED  STOPPING  its host stops the engine it replaces
 * any but the final ones  FAILED  fail(): the member cannot go on (its transport died); operations in flight fail
 * </pre>
 * STOPPED, FAILED and EXPELLED are final for the engine (an EXPELLED member's host replaces the engine).
 */
public enum MemberState implements CheckedState<MemberState>
{
    /** Looking for the cluster through the seeds. */
    JOINING,
    /** A member of the cluster. */
    ACTIVE,
    /** Announcing departure; refuses new work. */
    STOPPING,
    /** Stopped; final. */
    STOPPED,
    /** Could not join, or could not go on; final. */
    FAILED,
    /**
     * Removed from the cluster while it ran (a pause or a network split longer than failure detection); its durable
     * copies are kept and a new engine on the same data rejoins ({@code EngineStatus#isReadyForRestart}).
     */
    EXPELLED;

    /**
     * @param next the state to move to.
     * @return whether the table above allows the move.
     */
    @Override
    public boolean canMoveTo(final MemberState next)
    {
        return switch (this)
        {
            case JOINING -> next == ACTIVE || next == FAILED || next == STOPPING;
            case ACTIVE -> next == JOINING || next == EXPELLED || next == STOPPING || next == FAILED;
            case STOPPING -> next == STOPPED || next == FAILED;
            case EXPELLED -> next == STOPPING || next == FAILED;
            case STOPPED, FAILED -> false;
        };
    }
}
