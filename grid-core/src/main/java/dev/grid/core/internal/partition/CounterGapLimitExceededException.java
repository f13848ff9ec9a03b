package dev.grid.core.internal.partition;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;

/**
 * A partition copy would track more out-of-order counter ranges than its bound. Nothing was changed. The member
 * should close gaps (finalize during exchange) or rebuild the copy by rebalance.
 */
public final class CounterGapLimitExceededException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message naming the partition, the bound and the range.
     */
    public CounterGapLimitExceededException(final String message)
    {
        super(ErrorCode.COUNTER_GAP_LIMIT_EXCEEDED, message);
    }
}
