package dev.grid.core;

/**
 * The transaction was rolled back and nothing of it was applied; {@link #errorCode()} says why:
 * {@link ErrorCode#TX_CONFLICT}, {@link ErrorCode#TX_DEADLOCK_PREVENTION}, {@link ErrorCode#TX_TOPOLOGY_CHANGED},
 * {@link ErrorCode#TX_TIMEOUT} or {@link ErrorCode#TX_ROLLED_BACK}, or {@link ErrorCode#NO_QUORUM} (a member that took
 * part holds no quorum: retry through a member of the majority). A transaction aborted because its cache was destroyed
 * fails with {@link CacheDestroyedException}, and one aborted because the member stops with
 * {@link NodeStoppingException}.
 */
public class TransactionAbortedException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * Create the exception.
     *
     * @param errorCode one of the transaction abort codes, or {@link ErrorCode#NO_QUORUM}.
     * @param message   naming what was wrong.
     */
    public TransactionAbortedException(final ErrorCode errorCode, final String message)
    {
        super(errorCode, message);
        if ((errorCode.group() != ErrorCode.Group.TRANSACTION && errorCode != ErrorCode.NO_QUORUM) ||
            errorCode == ErrorCode.TX_COMMIT_STATUS_UNKNOWN)
        {
            throw new IllegalArgumentException("not a transaction abort code: " + errorCode);
        }
    }

    /**
     * @return true if running the transaction again may succeed (every reason but {@link ErrorCode#TX_ROLLED_BACK}).
     */
    public boolean isRetryable()
    {
        return errorCode() != ErrorCode.TX_ROLLED_BACK;
    }
}
