package dev.grid.core.engine;

import dev.grid.core.KeptCopy;

/**
 * What a {@link Engine} reports as it runs, for metrics, logs and simulator checks. Called on the engine's
 * thread; implementations must be quick and must not call back into the engine. Every method has a no-op default.
 */
public interface EngineListener
{
    /** Does nothing. */
    EngineListener NONE = new EngineListener()
    {
    };

    /**
     * An operation submitted to this member completed or failed.
     *
     * @param type      of operation.
     * @param latencyNs from submission to completion.
     * @param errorCode 0 on success, else the {@link dev.grid.core.ErrorCode#code()}.
     */
    default void onOperationComplete(final OpType type, final long latencyNs, final int errorCode)
    {
    }

    /**
     * A primary answered an operation of this member with a remap; the operation is retried with the new map.
     */
    default void onRemap()
    {
    }

    /**
     * This member's state changed.
     *
     * @param from previous state.
     * @param to   new state.
     * @param why  reason, for the log.
     */
    default void onStateChange(final MemberState from, final MemberState to, final String why)
    {
    }

    /**
     * This member installed the partition map of a topology version.
     *
     * @param topology installed.
     */
    default void onMapInstalled(final Topology topology)
    {
    }

    /**
     * This member, as a partition's primary, acknowledged a write: it is durable here and on every backup of the map.
     * The simulator checks with it that two primaries never acknowledge writes of one partition in overlapping epochs.
     *
     * @param cacheId     of the partition.
     * @param partition   acknowledged in.
     * @param lifeId      of the cluster life the map belongs to (map versions start again in a new life).
     * @param mapVersion  of the map under which this member was primary and applied the write (the answer may come
     *                    after a newer map is installed, when a backup left before acknowledging).
     * @param incarnation of this member.
     */
    default void onWriteAcknowledged(final int cacheId, final int partition, final long lifeId, final long mapVersion,
        final long incarnation)
    {
    }

    /**
     * As coordinator, this member found a partition whose every copy is gone; it was given fresh empty owners.
     *
     * @param cacheId   of the cache.
     * @param partition lost.
     * @param version   topology version that lost it.
     */
    default void onPartitionLost(final int cacheId, final int partition, final long version)
    {
    }

    /**
     * As coordinator, this member dropped a copy that disagreed with the partition's reference copy, on a member that
     * is not one of the partition's ideal owners. Copies identical to the reference that the ideal owners no longer
     * need are evicted as routine, told once per decision through {@link #onEvent}.
     *
     * @param cacheId     of the cache.
     * @param partition   of the cache.
     * @param incarnation of the member whose copy was dropped.
     * @param why         what differed.
     */
    default void onCopyDropped(final int cacheId, final int partition, final long incarnation, final String why)
    {
    }

    /**
     * A copy is about to be dropped because the cluster this member joined has no such cache (see {@link KeptCopy}),
     * or because this in-memory member's cluster dissolves into another: keep its entries for the operator (or, with
     * nowhere durable to keep them, report them). Called on the engine's thread before the drop is logged; it must
     * return only once the entries are durable, and throw if they cannot be kept: the member then stops rather than
     * lose them.
     *
     * @param copy the copy's live entries and what they belong to.
     */
    default void onCopyKept(final KeptCopy copy)
    {
    }

    /**
     * A message was dropped because it could not be decoded.
     *
     * @param source endpoint it came from.
     * @param why    what was wrong.
     */
    default void onMalformedMessage(final int source, final String why)
    {
    }

    /**
     * Something the log should say.
     *
     * @param message to log.
     */
    default void onEvent(final String message)
    {
    }

    /**
     * Every written partition of a two-phase transaction this member coordinates answered prepared.
     *
     * @param prepareNs from the commit request to the last prepared answer.
     */
    default void onTransactionPrepared(final long prepareNs)
    {
    }

    /**
     * A transaction this member coordinates finished for its user.
     *
     * @param errorCode 0 if committed; otherwise the code of the abort or of the unknown status.
     * @param commitNs  from the decision to commit to the last confirmation, or -1 if not committed.
     * @param totalNs   from begin to the outcome.
     */
    default void onTransactionFinished(final int errorCode, final long commitNs, final long totalNs)
    {
    }

    /**
     * A transaction waited for a key lock on this member (as primary) and got it.
     *
     * @param waitNs how long it waited.
     */
    default void onLockWait(final long waitNs)
    {
    }

    /**
     * A single-key operation of this member's users went to its partition's primary (sent again after a remap, it
     * counts again).
     *
     * @param toSelf whether this member is that primary.
     */
    default void onRouted(final boolean toSelf)
    {
    }

    /**
     * The coordinator planned how a lagging copy catches up.
     *
     * @param plan     the plan (member indices refer to {@code topology}).
     * @param topology the version the plan belongs to.
     */
    default void onRebalancePlanned(final RebalancePlan plan, final Topology topology)
    {
    }

    /**
     * One of this member's copies starts catching up (a summary of all of them goes to {@link #onEvent}).
     *
     * @param plan     the coordinator's plan for it.
     * @param supplier the member id it catches up from.
     */
    default void onRebalanceStarted(final RebalancePlan plan, final String supplier)
    {
    }

    /**
     * One of this member's MOVING copies caught up.
     *
     * @param cacheId    of the cache.
     * @param partition  of the cache.
     * @param full       whether it was a full rebalance (else historical).
     * @param records    records (historical) or entries (full) applied.
     * @param bytes      key and value bytes applied.
     * @param durationNs from the map's installation here.
     */
    default void onRebalanceFinished(final int cacheId, final int partition, final boolean full, final long records,
        final long bytes, final long durationNs)
    {
    }
}
