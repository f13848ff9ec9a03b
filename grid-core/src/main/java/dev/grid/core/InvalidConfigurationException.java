package dev.grid.core;

/**
 * A configuration value is missing or out of range; the message names the field and the value.
 * <p>
 * Carries {@link ErrorCode#CONFIGURATION_INVALID}.
 */
public class InvalidConfigurationException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * Create the exception.
     *
     * @param message naming what was wrong.
     */
    public InvalidConfigurationException(final String message)
    {
        super(ErrorCode.CONFIGURATION_INVALID, message);
    }

    /**
     * Create the exception with a cause.
     *
     * @param message naming what was wrong.
     * @param cause   the underlying failure.
     */
    public InvalidConfigurationException(final String message, final Throwable cause)
    {
        super(ErrorCode.CONFIGURATION_INVALID, message, cause);
    }
}
