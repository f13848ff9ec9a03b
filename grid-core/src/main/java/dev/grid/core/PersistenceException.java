package dev.grid.core;

/**
 * Persistent state cannot be used: the data directory is locked by another member
 * ({@link ErrorCode#DATA_DIRECTORY_LOCKED}) or belongs to another member or cluster
 * ({@link ErrorCode#DATA_DIRECTORY_MISMATCH}), the WAL is corrupt before its end ({@link ErrorCode#WAL_CORRUPT}), a
 * committed checkpoint is corrupt ({@link ErrorCode#CHECKPOINT_CORRUPT}), or an I/O operation failed
 * ({@link ErrorCode#PERSISTENCE_IO_FAILED}). The message names the file, and for corruption
 * the position. A member that meets one of these at start does not start.
 */
public class PersistenceException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param errorCode one of the {@link ErrorCode.Group#PERSISTENCE} codes.
     * @param message   naming the file (and position) concerned.
     */
    public PersistenceException(final ErrorCode errorCode, final String message)
    {
        super(errorCode, message);
    }

    /**
     * @param errorCode one of the {@link ErrorCode.Group#PERSISTENCE} codes.
     * @param message   naming the file concerned.
     * @param cause     the underlying failure.
     */
    public PersistenceException(final ErrorCode errorCode, final String message, final Throwable cause)
    {
        super(errorCode, message, cause);
    }
}
