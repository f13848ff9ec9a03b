package dev.grid.core;

/**
 * When a transaction takes its key locks.
 */
public enum TransactionConcurrency
{
    /**
     * Each key is locked on its primary when the transaction first reads (under {@link
     * TransactionIsolation#REPEATABLE_READ} or {@link TransactionIsolation#SERIALIZABLE}) or writes it, and held until
     * commit or rollback. Conflicting transactions wait (the older) or abort (the younger: wait-die).
     */
    PESSIMISTIC,
    /**
     * Reads take no locks and writes are buffered; at commit the written (and, under {@link
     * TransactionIsolation#SERIALIZABLE}, the read) keys are locked, and a value read that changed meanwhile aborts the
     * transaction with {@link ErrorCode#TX_CONFLICT}.
     */
    OPTIMISTIC
}
