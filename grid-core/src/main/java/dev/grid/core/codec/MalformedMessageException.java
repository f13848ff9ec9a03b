package dev.grid.core.codec;

/**
 * A message could not be decoded: too short, a length out of bounds, or an unknown type. The receiving member drops
 * the message, counts it and carries on; a malformed message never takes a member down.
 */
public final class MalformedMessageException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message naming what was wrong and where.
     */
    public MalformedMessageException(final String message)
    {
        super(message);
    }
}
