package dev.grid.core;

/**
 * Base of every exception Grid raises for an outcome a caller can act on; {@link #errorCode()} says which.
 * <p>
 * Subclasses exist for the outcomes callers commonly branch on; any other carries its code here. The message always
 * names what was wrong (the field, the cache, what was waited for).
 */
public class GridException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final ErrorCode errorCode;
    private final String detail;

    /**
     * Create an exception for a code.
     *
     * @param errorCode what happened.
     * @param message   naming what was wrong.
     */
    public GridException(final ErrorCode errorCode, final String message)
    {
        this(errorCode, message, null);
    }

    /**
     * Create an exception for a code with a cause.
     *
     * @param errorCode what happened.
     * @param message   naming what was wrong.
     * @param cause     the underlying failure, or null.
     */
    public GridException(final ErrorCode errorCode, final String message, final Throwable cause)
    {
        super("[" + errorCode + " " + errorCode.code() + "] " + message, cause);
        this.errorCode = errorCode;
        this.detail = message;
    }

    /**
     * The message without the code prefix, as carried on the wire.
     *
     * @return what was wrong.
     */
    public String detail()
    {
        return detail;
    }

    /**
     * Rebuild an exception from a code and message received from another member or from the wire, choosing the
     * subclass callers branch on.
     *
     * @param errorCode what happened.
     * @param detail    naming what was wrong.
     * @return the exception.
     */
    public static GridException of(final ErrorCode errorCode, final String detail)
    {
        return switch (errorCode)
        {
            case CONFIGURATION_INVALID -> new InvalidConfigurationException(detail);
            case CACHE_NOT_FOUND -> new CacheNotFoundException(detail);
            case CACHE_DESTROYED -> new CacheDestroyedException(detail);
            case CACHE_ALREADY_EXISTS -> new CacheAlreadyExistsException(detail);
            case OPERATION_TIMEOUT -> new OperationTimeoutException(detail);
            case NODE_STOPPING -> new NodeStoppingException(detail);
            case PARTITION_LOST -> new PartitionLostException(detail);
            case CODEC_FAILED -> new CodecException(detail);
            case JOIN_FAILED, JOIN_REJECTED -> new JoinFailedException(errorCode, detail);
            case TX_CONFLICT, TX_DEADLOCK_PREVENTION, TX_TOPOLOGY_CHANGED, TX_TIMEOUT, TX_ROLLED_BACK ->
                new TransactionAbortedException(errorCode, detail);
            case TX_COMMIT_STATUS_UNKNOWN -> new TransactionCommitStatusUnknownException(detail);
            default -> new GridException(errorCode, detail);
        };
    }

    /**
     * What happened.
     *
     * @return the error code.
     */
    public ErrorCode errorCode()
    {
        return errorCode;
    }
}
