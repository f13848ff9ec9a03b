package dev.grid.core;

/**
 * The transaction's outcome is not known to this caller: the coordinator decided to commit, but could not confirm
 * that every partition applied it. Carries {@link ErrorCode#TX_COMMIT_STATUS_UNKNOWN}; never reported as a success or
 * a failure, because it may be either until recovery ends (it commits if every participant prepared).
 */
public class TransactionCommitStatusUnknownException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * Create the exception.
     *
     * @param message naming what was not confirmed.
     */
    public TransactionCommitStatusUnknownException(final String message)
    {
        super(ErrorCode.TX_COMMIT_STATUS_UNKNOWN, message);
    }
}
