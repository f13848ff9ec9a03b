package dev.grid.core.internal.cluster;

/**
 * Life of one member incarnation.
 *
 * <pre>
 * from      to        when
 * JOINING   ACTIVE    a topology that lists this incarnation arrives, or this seed bootstraps the cluster
 * JOINING   FAILED    no seed answered within the join timeout, or the coordinator rejected the join
 * JOINING   STOPPED   stop() before joining
 * ACTIVE    JOINING   the cluster removed this incarnation (it was suspected failed): state is dropped and the
 *                     member joins again under a new incarnation
 * ACTIVE    STOPPING  stop(): in-flight operations fail with node-stopping, new ones are refused, leave is announced
 * STOPPING  STOPPED   the leave was sent
 * any but the final ones  FAILED  fail(): the member cannot go on (its transport died); operations in flight fail
 * </pre>
 * STOPPED and FAILED are final.
 */
public enum MemberState
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
    FAILED
}
