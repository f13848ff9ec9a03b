package dev.grid.core.internal.partition;

/**
 * A range of update counters {@code (start, start + count]}: the counters {@code start + 1} to {@code start + count}.
 * Ranges are written this way because a primary's reservation returns the HWM before it (the start) and the number
 * of counters taken.
 *
 * @param start the counter before the first counter of the range; non-negative.
 * @param count the number of counters; positive.
 */
public record CounterRange(long start, long count)
{
    /**
     * @param start the counter before the first counter of the range.
     * @param count the number of counters.
     */
    public CounterRange
    {
        if (start < 0 || count <= 0 || start + count < start)
        {
            throw new IllegalArgumentException("invalid counter range (" + start + ", " + start + " + " + count + "]");
        }
    }

    /**
     * @return the last counter of the range, {@code start + count}.
     */
    public long end()
    {
        return start + count;
    }

    public String toString()
    {
        return "(" + start + ", " + end() + "]";
    }
}
