package dev.grid.core;

/**
 * Events of this member's rebalance: a copy starts catching up, a copy caught up. Register with
 * {@link Grid#addRebalanceListener}.
 * <p>
 * <b>Threading:</b> called on a thread of the member's user pool, one event at a time per member, in the order they
 * happened; a listener that blocks delays later events, not the member.
 */
public interface RebalanceListener
{
    /**
     * One of this member's copies starts catching up.
     *
     * @param cache      the cache's name.
     * @param partition  the partition.
     * @param historical whether it streams the supplier's history of the updates it missed (else the whole partition).
     * @param supplier   the member it catches up from.
     * @param why        the coordinator's reason for the choice.
     */
    default void onStarted(final String cache, final int partition, final boolean historical, final String supplier,
        final String why)
    {
    }

    /**
     * One of this member's copies caught up.
     *
     * @param cache      the cache's name.
     * @param partition  the partition.
     * @param historical whether it caught up from history.
     * @param records    history records or entries applied.
     * @param bytes      key and value bytes applied.
     * @param durationNs from the start.
     */
    default void onFinished(final String cache, final int partition, final boolean historical, final long records,
        final long bytes, final long durationNs)
    {
    }
}
