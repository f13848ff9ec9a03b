package dev.grid.core.internal.partition;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;

/**
 * Serialised counter state does not decode to a valid state; the message names the first violated rule.
 */
public final class CounterStateCorruptException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message naming what is malformed.
     */
    public CounterStateCorruptException(final String message)
    {
        super(ErrorCode.COUNTER_STATE_CORRUPT, message);
    }
}
