package dev.grid.core.internal.cluster;

import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.Transactions;
import dev.grid.core.engine.TxPartKey;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The list of open prepares that ends a rebalance ({@link Rebalancer}): after the last batch (history, or a full
 * rebalance's memory), taken when it is sent (a resent last batch lists them afresh), the prepares of the partition
 * the supplying owner holds open. The demander voids those it recovered from its WAL that are not listed
 * ({@link Transactions#voidReplayedNotOpen}); -1 when too many to list, and then it voids nothing.
 */
final class OpenPrepares
{
    /** Open prepares listed beyond this many are not listed at all (the demander then voids nothing). */
    private static final int MAX = 512;

    private OpenPrepares()
    {
    }

    /** @return how many bytes the list of {@code open} takes in a batch. */
    static int bytes(final List<TxPartKey> open)
    {
        return 4 + (open.size() > MAX ? 0 : 16 * open.size());
    }

    /** @return whether {@code open} is listed in a batch (false: too many; the demander then voids nothing). */
    static boolean listed(final List<TxPartKey> open)
    {
        return open.size() <= MAX;
    }

    /**
     * Void the replayed prepares of the partition the supplier does not hold open.
     *
     * @param open the supplier's open prepares as (coordinator, transaction) pairs, or null if it listed none.
     */
    static void voidNotOpen(final List<long[]> open, final Transactions tx, final int cacheId, final int partition)
    {
        if (open == null)
        {
            return;
        }
        final Set<TxPartKey> parts = new HashSet<>();
        for (final long[] part : open)
        {
            parts.add(new TxPartKey(part[0], part[1], cacheId, partition));
        }
        tx.voidReplayedNotOpen(cacheId, partition, parts);
    }
}
