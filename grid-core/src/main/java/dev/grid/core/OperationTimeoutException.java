package dev.grid.core;

/**
 * The operation did not complete within its timeout; the message says what it waited for.
 * <p>
 * Carries {@link ErrorCode#OPERATION_TIMEOUT}.
 */
public class OperationTimeoutException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * Create the exception.
     *
     * @param message naming what was wrong.
     */
    public OperationTimeoutException(final String message)
    {
        super(ErrorCode.OPERATION_TIMEOUT, message);
    }

    /**
     * Create the exception with a cause.
     *
     * @param message naming what was wrong.
     * @param cause   the underlying failure.
     */
    public OperationTimeoutException(final String message, final Throwable cause)
    {
        super(ErrorCode.OPERATION_TIMEOUT, message, cause);
    }
}
