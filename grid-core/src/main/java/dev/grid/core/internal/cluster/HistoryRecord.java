package dev.grid.core.internal.cluster;

import dev.grid.core.internal.cluster.LocalPartition.Predecessors;

/**
 * One counter of a copy's history.
 *
 * @param counter     the update counter.
 * @param key         the key, or null for a hole closed without data.
 * @param value       the value, or null for a remove or a closed hole.
 * @param transaction the transaction that wrote it, or {@link WalRecords#NO_TRANSACTION}.
 * @param origin      the incarnation of the operation's (or transaction's coordinator's) member.
 * @param sequence    the operation's (or transaction's) sequence there.
 * @param flag        the operation's outcome flag.
 * @param outcome     the operation's outcome value.
 * @param predecessors earlier updates of the key whose effect this value carries (the copy that logged it may
 *                     have missed them, as a hole).
 */
record HistoryRecord(long counter, byte[] key, byte[] value, long transaction, long origin, long sequence,
    boolean flag, byte[] outcome, Predecessors predecessors)
{
    /**
     * A hole closed without data.
     *
     * @param counter the update counter.
     */
    HistoryRecord(final long counter)
    {
        this(counter, null, null, WalRecords.NO_TRANSACTION, 0, 0, false, null, Predecessors.NONE);
    }
}
