package dev.grid.core.internal.cluster;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.EngineTransactions;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.TransactionView;
import dev.grid.core.engine.TxCallback;

import java.util.List;

/**
 * The transactions a member's users coordinate, as its engine offers them ({@link Engine#transactions}): begin,
 * enlist (read with or without locks), commit, roll back, and an operator's list and kill. Each checks the member is
 * active (and a commit's size) and hands the step to the engine's {@code Transactions} component (grid-tx).
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
final class TransactionsFacade implements EngineTransactions
{
    private final MemberContext context;

    TransactionsFacade(final MemberContext context)
    {
        this.context = context;
    }

    /**
     * Begin a transaction coordinated by this member. Its steps are {@link #enlist}, then {@link #commit} or
     * {@link #rollback}; see grid-tx's {@code TxManager} for the protocol.
     *
     * @param timeoutNs after which a transaction not yet decided is rolled back ({@link ErrorCode#TX_TIMEOUT}).
     * @param priority  its age for deadlock prevention (smaller is older); 0 for now. A retry passes the first
     *                  attempt's {@link #priority}, so it grows older and eventually wins.
     * @return the transaction's id on this member.
     */
    @Override
    public long begin(final long timeoutNs, final long priority)
    {
        return context.tx().begin(timeoutNs, priority);
    }

    /**
     * @param txId a transaction of this member.
     * @return its priority (0 if unknown).
     */
    @Override
    public long priority(final long txId)
    {
        return context.tx().priority(txId);
    }

    /**
     * Read keys in a transaction, locking them on their primaries if {@code lock} (until commit or rollback); a read
     * without lock sees the latest committed values. The callback gets the values in the order of {@code keys}.
     *
     * @param txId     the transaction.
     * @param cacheId  the cache.
     * @param keys     encoded keys.
     * @param lock     whether to lock them.
     * @param callback completion; failures abort the transaction.
     */
    @Override
    public void enlist(final long txId, final int cacheId, final byte[][] keys, final boolean lock,
        final TxCallback callback)
    {
        if (context.state() != MemberState.ACTIVE)
        {
            callback.onFailure(context.notActive());
            return;
        }
        final CacheDescriptor cache = context.topology().cache(cacheId);
        if (cache == null || !StoredValues.expiring(cache))
        {
            context.tx().enlist(txId, cacheId, keys, lock, callback);
            return;
        }
        // Values of a cache with an expiry policy come back as stored: the caller sees them without their expiry
        // time, and an expired one as absent (judged by this member's clock).
        context.tx().enlist(txId, cacheId, keys, lock, new TxCallback()
        {
            public void onSuccess(final byte[][] values)
            {
                final long nowMs = context.epochMs();
                final byte[][] visible = new byte[values.length][];
                for (int i = 0; i < values.length; i++)
                {
                    visible[i] = StoredValues.visible(cache, values[i], nowMs);
                }
                callback.onSuccess(visible);
            }

            public void onFailure(final GridException error)
            {
                callback.onFailure(error);
            }
        });
    }

    /**
     * Commit a transaction with its writes; every written key must have been locked by {@link #enlist}.
     *
     * @param txId     the transaction.
     * @param cacheIds per write, the cache.
     * @param keys     per write, the encoded key.
     * @param values   per write, the encoded value, or null to remove.
     * @param callback success once every copy of every written partition applied it durably.
     */
    @Override
    public void commit(final long txId, final int[] cacheIds, final byte[][] keys, final byte[][] values,
        final TxCallback callback)
    {
        if (context.state() != MemberState.ACTIVE)
        {
            callback.onFailure(context.notActive());
            return;
        }
        long writeBytes = 0;
        for (int i = 0; i < keys.length; i++)
        {
            writeBytes += keys[i].length + (values[i] == null ? 0 : values[i].length);
        }
        if (writeBytes > context.config().maxEntryBytes())
        {
            // Its prepare carries every write of a partition in one message and one WAL record: refused whole.
            final GridException tooLarge = context.tooLarge("a transaction's " + keys.length +
                " writes of " + writeBytes +
                " bytes together");
            context.tx().rollback(txId, new TxCallback()
            {
                public void onSuccess(final byte[][] ignored)
                {
                    callback.onFailure(tooLarge);
                }

                public void onFailure(final GridException ignored)
                {
                    callback.onFailure(tooLarge);
                }
            });
            return;
        }
        context.tx().commit(txId, cacheIds, keys, stored(cacheIds, values), callback);
    }

    /**
     * A transaction's values as their caches store them: with an expiry time for a cache with a policy, decided here
     * by the coordinator (every copy applies the same bytes), counting the write as a modification (a creation for
     * {@code CREATED} and {@code ACCESSED} policies, whose entries a transaction's write so renews).
     */
    private byte[][] stored(final int[] cacheIds, final byte[][] values)
    {
        byte[][] stored = values;
        for (int i = 0; i < values.length; i++)
        {
            final CacheDescriptor cache = context.topology().cache(cacheIds[i]);
            if (values[i] != null && cache != null && StoredValues.expiring(cache))
            {
                stored = stored == values ? values.clone() : stored;
                stored[i] = StoredValues.wrap(values[i], cache.expiry().expireAtOnWrite(true, 0, context.epochMs()));
            }
        }
        return stored;
    }

    /**
     * Roll back a transaction not yet committing; succeeds at once, locks are released in the background.
     *
     * @param txId     the transaction.
     * @param callback completion.
     */
    @Override
    public void rollback(final long txId, final TxCallback callback)
    {
        context.tx().rollback(txId, callback);
    }

    /**
     * @return the transactions this member coordinates now, oldest first. Engine thread only.
     */
    public List<TransactionView> list()
    {
        return context.tx().views();
    }

    /**
     * Roll back a transaction this member coordinates, as an operator's kill: its user's next call fails with
     * {@link ErrorCode#TX_ROLLED_BACK}. Engine thread only.
     *
     * @param txId     its id.
     * @param callback completed once the rollback is under way; fails with {@link ErrorCode#TRANSACTION_NOT_FOUND}
     *                 if this member coordinates no such transaction, or if it is committing already.
     */
    public void kill(final long txId, final TxCallback callback)
    {
        if (!context.tx().coordinates(txId))
        {
            callback.onFailure(new GridException(ErrorCode.TRANSACTION_NOT_FOUND, "member " +
                context.config().memberId() +
                " coordinates no transaction " + txId));
            return;
        }
        context.tx().rollback(txId, callback);
    }
}
