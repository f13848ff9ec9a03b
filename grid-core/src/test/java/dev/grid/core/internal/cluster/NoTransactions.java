package dev.grid.core.internal.cluster;

import dev.grid.core.GridException;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.TransactionView;
import dev.grid.core.engine.Transactions;
import dev.grid.core.engine.TxCallback;
import dev.grid.core.engine.TxPartKey;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/**
 * A member without transactions, for grid-core's own engine tests (grid-tx, which has them, depends on grid-core):
 * idle, holding nothing, and refusing what only transactions do. A checkpoint's manifest gets empty lists.
 */
final class NoTransactions implements Transactions
{
    NoTransactions(final TransactionContext context)
    {
    }

    private static UnsupportedOperationException unsupported()
    {
        return new UnsupportedOperationException("this engine test runs without grid-tx's transactions");
    }

    @Override
    public long begin(final long timeoutNs, final long priority)
    {
        throw unsupported();
    }

    @Override
    public long priority(final long txId)
    {
        return 0;
    }

    @Override
    public void enlist(final long txId, final int cacheId, final byte[][] keys, final boolean lock,
        final TxCallback callback)
    {
        throw unsupported();
    }

    @Override
    public void commit(final long txId, final int[] cacheIds, final byte[][] keys, final byte[][] values,
        final TxCallback callback)
    {
        throw unsupported();
    }

    @Override
    public void rollback(final long txId, final TxCallback callback)
    {
        throw unsupported();
    }

    @Override
    public boolean coordinates(final long txId)
    {
        return false;
    }

    @Override
    public List<TransactionView> views()
    {
        return List.of();
    }

    @Override
    public boolean onMessage(final int type, final long sender)
    {
        return false;
    }

    @Override
    public int duty()
    {
        return 0;
    }

    @Override
    public boolean isIdle()
    {
        return true;
    }

    @Override
    public String describe()
    {
        return "no transactions";
    }

    @Override
    public void abandon(final GridException error, final boolean clearParticipants)
    {
    }

    @Override
    public void abandonKeepingPrepares(final GridException error)
    {
    }

    @Override
    public void onTopologyChanged(final IntPredicate inNewTopology, final IntFunction<String> nameBefore)
    {
    }

    @Override
    public void forgetMember(final long incarnation)
    {
    }

    @Override
    public boolean hasUnacknowledgedPrepares()
    {
        return false;
    }

    @Override
    public Map<Long, long[]> preparesByCopy()
    {
        return Map.of();
    }

    @Override
    public void onMapSettled()
    {
    }

    @Override
    public void onInstalled()
    {
    }

    @Override
    public boolean isLocked(final int cacheId, final byte[] key)
    {
        return false;
    }

    @Override
    public void block(final int cacheId, final byte[] key, final Runnable retry)
    {
        throw unsupported();
    }

    @Override
    public boolean isApplyingOn(final int cacheId, final int partition)
    {
        return false;
    }

    @Override
    public void replayPrepare(final TxPartKey key, final long priority, final long[] participants,
        final byte[][] keys, final byte[][] values)
    {
        throw unsupported();
    }

    @Override
    public void replayEnd(final TxPartKey key, final boolean committed)
    {
        throw unsupported();
    }

    @Override
    public void replayVoid(final TxPartKey key)
    {
        throw unsupported();
    }

    @Override
    public void replayCommitted(final long coordinator, final long seq, final int cacheId, final int partition)
    {
        throw unsupported();
    }

    @Override
    public void forgetPrepared(final int cacheId, final int partition)
    {
    }

    @Override
    public void forgetCommitted(final int cacheId, final int partition)
    {
    }

    @Override
    public void forgetCommittedBeforeImage(final int cacheId, final int partition)
    {
    }

    @Override
    public void encodePrepared(final MessageWriter writer)
    {
        writer.writeInt(0);
    }

    @Override
    public void encodeCommitted(final MessageWriter writer)
    {
        writer.writeInt(0);
    }

    @Override
    public void decodePrepared(final MessageReader reader)
    {
        if (reader.readInt("prepared", 0, 0) != 0 || reader.readInt("committed", 0, 0) != 0)
        {
            throw unsupported();
        }
    }

    @Override
    public void relogPrepared(final int cacheId, final int partition)
    {
    }

    @Override
    public void rememberFinished(final long coordinator, final long seq, final int cacheId, final int partition,
        final boolean committed)
    {
        throw unsupported();
    }

    @Override
    public List<TxPartKey> openOn(final int cacheId, final int partition)
    {
        return List.of();
    }

    @Override
    public void voidReplayedNotOpen(final int cacheId, final int partition, final Set<TxPartKey> supplierOpen)
    {
    }

    @Override
    public List<long[]> finishedOn(final int cacheId, final int partition)
    {
        return List.of();
    }
}
