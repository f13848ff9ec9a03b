package dev.grid.core;

/**
 * No cache of the given name exists.
 * <p>
 * Carries {@link ErrorCode#CACHE_NOT_FOUND}.
 */
public class CacheNotFoundException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * Create the exception.
     *
     * @param message naming what was wrong.
     */
    public CacheNotFoundException(final String message)
    {
        super(ErrorCode.CACHE_NOT_FOUND, message);
    }

    /**
     * Create the exception with a cause.
     *
     * @param message naming what was wrong.
     * @param cause   the underlying failure.
     */
    public CacheNotFoundException(final String message, final Throwable cause)
    {
        super(ErrorCode.CACHE_NOT_FOUND, message, cause);
    }
}
