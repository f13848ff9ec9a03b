package dev.grid.core;

/**
 * A member could not join the cluster: no seed answered within the join timeout ({@link ErrorCode#JOIN_FAILED}), or
 * the cluster refused it ({@link ErrorCode#JOIN_REJECTED}). The member did not start.
 */
public class JoinFailedException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * Create the exception.
     *
     * @param errorCode {@link ErrorCode#JOIN_FAILED} or {@link ErrorCode#JOIN_REJECTED}.
     * @param message   naming the seeds tried or the reason for refusal.
     */
    public JoinFailedException(final ErrorCode errorCode, final String message)
    {
        super(errorCode, message);
    }
}
