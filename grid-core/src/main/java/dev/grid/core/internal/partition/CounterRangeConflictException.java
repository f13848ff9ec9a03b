package dev.grid.core.internal.partition;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;

/**
 * A counter range partly overlaps ranges already closed on this copy. That cannot happen when every counter is
 * reserved once by one primary, so the copy has diverged; nothing was changed, and the copy needs rebalance.
 */
public final class CounterRangeConflictException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message naming the range and the state it conflicts with.
     */
    public CounterRangeConflictException(final String message)
    {
        super(ErrorCode.COUNTER_RANGE_CONFLICT, message);
    }
}
