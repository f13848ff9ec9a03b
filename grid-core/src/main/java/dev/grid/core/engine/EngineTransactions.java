package dev.grid.core.engine;

import dev.grid.core.ErrorCode;
import java.util.List;

/**
 * The transactions a member's users coordinate, as its engine offers them ({@link Engine#transactions}): begin,
 * enlist (read with or without locks), commit, roll back, and an operator's list and kill. Each checks the member
 * is active (and a commit's size) and hands the step to the engine's {@code Transactions} component (grid-tx).
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
public interface EngineTransactions extends TransactionSteps
{
    /**
     * Begin a transaction coordinated by this member. Its steps are {@link #enlist}, then {@link #commit} or
     * {@link #rollback}; see grid-tx's {@code TxManager} for the protocol.
     *
     * @param timeoutNs after which a transaction not yet decided is rolled back ({@link ErrorCode#TX_TIMEOUT}).
     * @param priority  its age for deadlock prevention (smaller is older); 0 for now. A retry passes the first
     *                  attempt's {@link #priority}, so it grows older and eventually wins.
     * @return the transaction's id on this member.
     */
    long begin(long timeoutNs, long priority);

    /**
     * @param txId a transaction of this member.
     * @return its priority (0 if unknown).
     */
    long priority(long txId);

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
    void enlist(long txId, int cacheId, byte[][] keys, boolean lock, TxCallback callback);

    /**
     * Commit a transaction with its writes; every written key must have been locked by {@link #enlist}.
     *
     * @param txId     the transaction.
     * @param cacheIds per write, the cache.
     * @param keys     per write, the encoded key.
     * @param values   per write, the encoded value, or null to remove.
     * @param callback success once every copy of every written partition applied it durably.
     */
    void commit(long txId, int[] cacheIds, byte[][] keys, byte[][] values, TxCallback callback);

    /**
     * Roll back a transaction not yet committing; succeeds at once, locks are released in the background.
     *
     * @param txId     the transaction.
     * @param callback completion.
     */
    void rollback(long txId, TxCallback callback);

    /**
     * @return the transactions this member coordinates now, oldest first. Engine thread only.
     */
    List<TransactionView> list();

    /**
     * Roll back a transaction this member coordinates, as an operator's kill: its user's next call fails with
     * {@link ErrorCode#TX_ROLLED_BACK}. Engine thread only.
     *
     * @param txId     its id.
     * @param callback completed once the rollback is under way; fails with {@link ErrorCode#TRANSACTION_NOT_FOUND}
     *                 if this member coordinates no such transaction, or if it is committing already.
     */
    void kill(long txId, TxCallback callback);
}
