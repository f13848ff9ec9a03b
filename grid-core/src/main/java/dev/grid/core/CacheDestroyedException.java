package dev.grid.core;

/**
 * The cache was destroyed before or while the operation ran; the operation had no effect unless it was acknowledged
 * before.
 * <p>
 * Carries {@link ErrorCode#CACHE_DESTROYED}.
 */
public class CacheDestroyedException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * Create the exception.
     *
     * @param message naming what was wrong.
     */
    public CacheDestroyedException(final String message)
    {
        super(ErrorCode.CACHE_DESTROYED, message);
    }

    /**
     * Create the exception with a cause.
     *
     * @param message naming what was wrong.
     * @param cause   the underlying failure.
     */
    public CacheDestroyedException(final String message, final Throwable cause)
    {
        super(ErrorCode.CACHE_DESTROYED, message, cause);
    }
}
