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
