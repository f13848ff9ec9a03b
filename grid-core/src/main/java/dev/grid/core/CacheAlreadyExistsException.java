package dev.grid.core;

/**
 * A cache of that name exists already.
 * <p>
 * Carries {@link ErrorCode#CACHE_ALREADY_EXISTS}.
 */
public class CacheAlreadyExistsException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * Create the exception.
     *
     * @param message naming the cache.
     */
    public CacheAlreadyExistsException(final String message)
    {
        super(ErrorCode.CACHE_ALREADY_EXISTS, message);
    }
}
