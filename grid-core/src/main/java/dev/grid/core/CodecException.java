package dev.grid.core;

/**
 * A value could not be encoded, or bytes could not be decoded as the declared type.
 * <p>
 * Carries {@link ErrorCode#CODEC_FAILED}.
 */
public class CodecException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * Create the exception.
     *
     * @param message naming what was wrong.
     */
    public CodecException(final String message)
    {
        super(ErrorCode.CODEC_FAILED, message);
    }

    /**
     * Create the exception with a cause.
     *
     * @param message naming what was wrong.
     * @param cause   the underlying failure.
     */
    public CodecException(final String message, final Throwable cause)
    {
        super(ErrorCode.CODEC_FAILED, message, cause);
    }
}
