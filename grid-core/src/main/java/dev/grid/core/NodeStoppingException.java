package dev.grid.core;

/**
 * The member is stopping: it refuses new work and fails what is in flight.
 * <p>
 * Carries {@link ErrorCode#NODE_STOPPING}.
 */
public class NodeStoppingException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * Create the exception.
     *
     * @param message naming what was wrong.
     */
    public NodeStoppingException(final String message)
    {
        super(ErrorCode.NODE_STOPPING, message);
    }

    /**
     * Create the exception with a cause.
     *
     * @param message naming what was wrong.
     * @param cause   the underlying failure.
     */
    public NodeStoppingException(final String message, final Throwable cause)
    {
        super(ErrorCode.NODE_STOPPING, message, cause);
    }
}
