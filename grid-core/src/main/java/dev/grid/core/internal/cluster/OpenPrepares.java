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

    /** Write the list of the partition's open prepares. */
    static void write(final MessageWriter writer, final List<TxPartKey> open)
    {
        if (open.size() > MAX)
        {
            writer.writeInt(-1);
            return;
        }
        writer.writeInt(open.size());
        for (final TxPartKey part : open)
        {
            writer.writeLong(part.coordinator()).writeLong(part.seq());
        }
    }

    /** Read the list {@link #write} wrote and void what it allows. */
    static void readAndVoid(final MessageReader reader, final Transactions tx, final int cacheId, final int partition)
    {
        final int count = reader.readInt("open", -1, MAX);
        final Set<TxPartKey> open = new HashSet<>();
        for (int i = 0; i < count; i++)
        {
            open.add(new TxPartKey(reader.readLong("coordinator"), reader.readLong("tx"), cacheId, partition));
        }
        if (count >= 0)
        {
            tx.voidReplayedNotOpen(cacheId, partition, open);
        }
    }
}
