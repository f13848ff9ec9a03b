package dev.grid.core.engine;

/**
 * The steps of a transaction this member coordinates, as the engine takes them: begin, enlist (read with or without
 * locks), commit with the writes, roll back. grid-tx's {@code TxSession} builds a user's transaction (its
 * concurrency and isolation) on these; the engine's transactions component offers them, and so does the engine's
 * facade (which first checks that the member is active).
 * <p>
 * <b>Threading:</b> the engine's thread only; no method blocks, every outcome comes through its callback.
 */
public interface TransactionSteps
{
    /**
     * @param timeoutNs after which a transaction not yet decided rolls back.
     * @param priority  its age for deadlock prevention (smaller is older); 0 for now.
     * @return the new transaction's id on this member.
     * @throws dev.grid.core.GridException if the host refuses to begin one (a deactivated member): nothing began.
     */
    long begin(long timeoutNs, long priority);

    /** @return the priority of a transaction of this member, or 0 if unknown. */
    long priority(long txId);

    /** Read keys in a transaction, locking them on their primaries if {@code lock}. */
    void enlist(long txId, int cacheId, byte[][] keys, boolean lock, TxCallback callback);

    /** Commit a transaction with its writes (every written key locked first). */
    void commit(long txId, int[] cacheIds, byte[][] keys, byte[][] values, TxCallback callback);

    /** Roll back a transaction not yet committing. */
    void rollback(long txId, TxCallback callback);
}
