package dev.grid.core.internal.partition;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The update counter of one partition copy: which update numbers it has closed, and (on a primary) which it has
 * handed out.
 * <ul>
 *     <li><b>HWM</b>: the highest counter reserved or seen. Only the primary reserves ({@link #reserve}); a backup's
 *     HWM is the highest counter shipped to it. HWM only grows, except that {@link #finalizeGaps()} abandons
 *     reservations above the highest closed counter.</li>
 *     <li><b>LWM</b>: every counter {@code <= LWM} is closed on this copy, where <em>closed</em> means applied and made
 *     durable by the WAL ({@link #apply}), or closed without data by a rollback record ({@link #rollback}) or by
 *     finalization. LWM never passes a counter that is not closed.</li>
 *     <li><b>Gaps</b>: closed ranges above LWM, closed out of order because a later reservation committed first. They
 *     are kept merged (no two touch), and bounded by {@code gapsMax}.</li>
 * </ul>
 * The caller must call {@link #apply} only after the WAL reported the range's records durable: this class cannot tell
 * and relies on it. Copies are compared by LWM alone: equal LWMs mean the same updates were closed.
 * <p>
 * Invariants, checked after every change: {@code 0 <= LWM <= HWM}; every gap lies in {@code (LWM, HWM]}, starts above
 * LWM (a gap starting at LWM would have been absorbed), and does not touch its neighbours.
 * <p>
 * Not thread-safe: owned by the shard that owns the partition.
 */
public final class PartitionUpdateCounter
{
    /** Out-of-order ranges tracked by default before {@link CounterGapLimitExceededException}. */
    public static final int GAPS_MAX_DEFAULT = 10_000;
    /** Version byte of the serialised form. */
    public static final byte ENCODING_VERSION = 1;
    /** Bytes of the serialised form before the gaps: version, LWM, HWM, gap count. */
    public static final int ENCODED_HEADER_LENGTH = 1 + 8 + 8 + 4;
    /** Bytes per serialised gap: start and end. */
    public static final int ENCODED_GAP_LENGTH = 16;

    /** What {@link #apply} or {@link #rollback} did. */
    public enum Outcome
    {
        /** The range started at LWM: LWM moved past it and any gaps it joined. */
        ADVANCED,
        /** The range lies above a hole: it is tracked as a gap until the hole closes. */
        QUEUED,
        /** Every counter of the range was already closed (a duplicate delivery): nothing changed. */
        DUPLICATE
    }

    private final int partition;
    private final int gapsMax;
    /** Closed ranges above LWM: start (exclusive) to end (inclusive). */
    private final TreeMap<Long, Long> gaps = new TreeMap<>();
    private long lwm;
    private long hwm;

    /**
     * A counter at zero.
     *
     * @param partition the partition, for messages.
     * @param gapsMax   the most gaps to track, positive.
     */
    public PartitionUpdateCounter(final int partition, final int gapsMax)
    {
        if (gapsMax <= 0)
        {
            throw new IllegalArgumentException("gapsMax must be positive: " + gapsMax);
        }
        this.partition = partition;
        this.gapsMax = gapsMax;
    }

    /**
     * @return the low watermark: every counter up to it is closed.
     */
    public long lwm()
    {
        return lwm;
    }

    /**
     * @return the high watermark: the highest counter reserved or seen.
     */
    public long hwm()
    {
        return hwm;
    }

    /**
     * @return the highest closed counter: LWM, or the end of the highest gap.
     */
    public long highestClosed()
    {
        return gaps.isEmpty() ? lwm : gaps.lastEntry().getValue();
    }

    /**
     * @param counter an update counter, positive.
     * @return whether it is closed on this copy: at most LWM, or inside a gap.
     */
    public boolean isClosed(final long counter)
    {
        if (counter <= lwm)
        {
            return true;
        }
        if (gaps.isEmpty())
        {
            // The common case (updates closed in order): no boxed counter.
            return false;
        }
        final Map.Entry<Long, Long> gap = gaps.lowerEntry(counter);
        return gap != null && counter <= gap.getValue();
    }

    /**
     * @return the number of tracked out-of-order ranges.
     */
    public int gapCount()
    {
        return gaps.size();
    }

    /**
     * @return the tracked out-of-order closed ranges, ascending.
     */
    public List<CounterRange> gaps()
    {
        final List<CounterRange> ranges = new ArrayList<>(gaps.size());
        for (final Map.Entry<Long, Long> gap : gaps.entrySet())
        {
            ranges.add(new CounterRange(gap.getKey(), gap.getValue() - gap.getKey()));
        }
        return ranges;
    }

    /**
     * Reserve counters on the primary: the range {@code (HWM, HWM + count]}.
     *
     * @param count of counters, positive.
     * @return the start of the reserved range (the HWM before the call).
     */
    public long reserve(final long count)
    {
        if (count <= 0)
        {
            throw new IllegalArgumentException("partition " + partition + ": reserve count must be positive: " + count);
        }
        final long start = hwm;
        hwm = Math.addExact(hwm, count);
        checkInvariants();
        return start;
    }

    /**
     * Close a range whose updates were applied and reported durable by the WAL.
     *
     * @param start of the range (exclusive).
     * @param count of counters, positive.
     * @return what happened.
     * @throws CounterRangeConflictException     if the range partly overlaps closed counters; nothing changed.
     * @throws CounterGapLimitExceededException if it would need a gap beyond the bound; nothing changed.
     */
    public Outcome apply(final long start, final long count)
    {
        return close(start, count);
    }

    /**
     * Close a range that will never carry data (a rollback after reservation), so LWM can pass it.
     *
     * @param start of the range (exclusive).
     * @param count of counters, positive.
     * @return what happened.
     * @throws CounterRangeConflictException     if the range partly overlaps closed counters; nothing changed.
     * @throws CounterGapLimitExceededException if it would need a gap beyond the bound; nothing changed.
     */
    public Outcome rollback(final long start, final long count)
    {
        return close(start, count);
    }

    /**
     * Close every hole below the highest closed counter without data, as the exchange does after a primary left:
     * nothing can fill those holes any more. HWM becomes LWM: reservations above the highest closed counter are
     * abandoned, and the exchange decides which copy's history wins.
     *
     * @return the holes closed, ascending; the caller writes a rollback record for each on this copy.
     */
    public List<CounterRange> finalizeGaps()
    {
        final List<CounterRange> holes = new ArrayList<>(gaps.size());
        for (final Map.Entry<Long, Long> gap : gaps.entrySet())
        {
            holes.add(new CounterRange(lwm, gap.getKey() - lwm));
            lwm = gap.getValue();
        }
        gaps.clear();
        hwm = lwm;
        checkInvariants();
        return holes;
    }

    private Outcome close(final long start, final long count)
    {
        if (start == lwm && gaps.isEmpty() && count > 0 && start + count > start)
        {
            // In order with nothing out of order pending, the common case: no range, lookup or boxed counter.
            lwm = start + count;
            hwm = Math.max(hwm, lwm);
            return Outcome.ADVANCED;
        }
        final CounterRange range = new CounterRange(start, count);
        final long end = range.end();
        if (end <= lwm)
        {
            return Outcome.DUPLICATE;
        }
        if (start < lwm)
        {
            throw conflict(range, "it straddles LWM " + lwm);
        }
        final Map.Entry<Long, Long> below = gaps.floorEntry(start);
        if (below != null && below.getValue() > start)
        {
            if (below.getValue() >= end)
            {
                return Outcome.DUPLICATE;
            }
            throw conflict(range, "it overlaps closed range (" + below.getKey() + ", " + below.getValue() + "]");
        }
        final Map.Entry<Long, Long> above = gaps.higherEntry(start);
        if (above != null && above.getKey() < end)
        {
            throw conflict(range, "it overlaps closed range (" + above.getKey() + ", " + above.getValue() + "]");
        }

        hwm = Math.max(hwm, end);
        final Outcome outcome;
        if (start == lwm)
        {
            lwm = end;
            final Long joinedEnd = gaps.remove(lwm);
            if (joinedEnd != null)
            {
                lwm = joinedEnd;
            }
            outcome = Outcome.ADVANCED;
        }
        else
        {
            queue(range, below, above);
            outcome = Outcome.QUEUED;
        }
        checkInvariants();
        return outcome;
    }

    private void queue(final CounterRange range, final Map.Entry<Long, Long> below, final Map.Entry<Long, Long> above)
    {
        final boolean joinsBelow = below != null && below.getValue() == range.start();
        final boolean joinsAbove = above != null && above.getKey() == range.end();
        if (!joinsBelow && !joinsAbove && gaps.size() >= gapsMax)
        {
            throw new CounterGapLimitExceededException("partition " + partition + ": closing " + range +
                " would track more than " + gapsMax + " out-of-order ranges (LWM " + lwm + ", HWM " + hwm + ")");
        }
        final long mergedStart = joinsBelow ? below.getKey() : range.start();
        long mergedEnd = range.end();
        if (joinsAbove)
        {
            mergedEnd = gaps.remove(above.getKey());
        }
        gaps.put(mergedStart, mergedEnd);
    }

    private CounterRangeConflictException conflict(final CounterRange range, final String why)
    {
        return new CounterRangeConflictException("partition " + partition + ": cannot close " + range + ": " + why);
    }

    private void checkInvariants()
    {
        if (lwm < 0 || lwm > hwm)
        {
            throw new IllegalStateException("partition " + partition + ": LWM " + lwm +
                " outside [0, HWM " + hwm + "]");
        }
        long previousEnd = lwm;
        for (final Map.Entry<Long, Long> gap : gaps.entrySet())
        {
            if (gap.getKey() <= previousEnd || gap.getValue() <= gap.getKey() || gap.getValue() > hwm)
            {
                throw new IllegalStateException("partition " + partition + ": gap (" + gap.getKey() + ", " +
                    gap.getValue() + "] invalid after " + previousEnd + " with HWM " + hwm);
            }
            previousEnd = gap.getValue();
        }
    }

    /**
     * @return the length in bytes of {@link #encode}'s output for the current state.
     */
    public int encodedLength()
    {
        return ENCODED_HEADER_LENGTH + gaps.size() * ENCODED_GAP_LENGTH;
    }

    /**
     * Serialise LWM, HWM and the gaps, as checkpoints and the exchange carry them. Layout, little-endian:
     * {@code [version:u8][lwm:i64][hwm:i64][gapCount:i32]([start:i64][end:i64])*}.
     *
     * @param buffer to write to.
     * @param offset to write at.
     * @return the number of bytes written.
     */
    public int encode(final MutableDirectBuffer buffer, final int offset)
    {
        int position = offset;
        buffer.putByte(position, ENCODING_VERSION);
        position += 1;
        buffer.putLong(position, lwm);
        position += 8;
        buffer.putLong(position, hwm);
        position += 8;
        buffer.putInt(position, gaps.size());
        position += 4;
        for (final Map.Entry<Long, Long> gap : gaps.entrySet())
        {
            buffer.putLong(position, gap.getKey());
            buffer.putLong(position + 8, gap.getValue());
            position += ENCODED_GAP_LENGTH;
        }
        return position - offset;
    }

    /**
     * Rebuild a counter from {@link #encode}'s output, validating every rule.
     *
     * @param partition the partition, for messages.
     * @param gapsMax   the bound on gaps.
     * @param buffer    to read.
     * @param offset    of the encoding.
     * @param length    of the readable bytes from offset.
     * @return the counter.
     * @throws CounterStateCorruptException naming the first violated rule.
     */
    public static PartitionUpdateCounter decode(
        final int partition, final int gapsMax, final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < ENCODED_HEADER_LENGTH)
        {
            throw corrupt(partition, "needs " + ENCODED_HEADER_LENGTH + " bytes, has " + length);
        }
        final byte version = buffer.getByte(offset);
        if (version != ENCODING_VERSION)
        {
            throw corrupt(partition, "unknown version " + version);
        }
        final PartitionUpdateCounter counter = new PartitionUpdateCounter(partition, gapsMax);
        counter.lwm = buffer.getLong(offset + 1);
        counter.hwm = buffer.getLong(offset + 9);
        final int gapCount = buffer.getInt(offset + 17);
        if (gapCount < 0 || gapCount > gapsMax)
        {
            throw corrupt(partition, "gap count " + gapCount + " outside [0, " + gapsMax + "]");
        }
        if ((long)ENCODED_HEADER_LENGTH + (long)gapCount * ENCODED_GAP_LENGTH > length)
        {
            throw corrupt(partition, gapCount + " gaps need more than the " + length + " bytes given");
        }
        int position = offset + ENCODED_HEADER_LENGTH;
        for (int i = 0; i < gapCount; i++)
        {
            final long start = buffer.getLong(position);
            final long end = buffer.getLong(position + 8);
            if (counter.gaps.put(start, end) != null)
            {
                throw corrupt(partition, "gap start " + start + " repeated");
            }
            position += ENCODED_GAP_LENGTH;
        }
        try
        {
            counter.checkInvariants();
        }
        catch (final IllegalStateException ex)
        {
            throw corrupt(partition, ex.getMessage());
        }
        return counter;
    }

    private static CounterStateCorruptException corrupt(final int partition, final String why)
    {
        return new CounterStateCorruptException("partition " + partition + " counter state: " + why);
    }

    public boolean equals(final Object o)
    {
        return o instanceof PartitionUpdateCounter && lwm == ((PartitionUpdateCounter)o).lwm &&
            hwm == ((PartitionUpdateCounter)o).hwm && gaps.equals(((PartitionUpdateCounter)o).gaps);
    }

    public int hashCode()
    {
        return Long.hashCode(lwm) * 31 + gaps.hashCode();
    }

    public String toString()
    {
        return "PartitionUpdateCounter{partition=" + partition + ", lwm=" + lwm + ", hwm=" + hwm + ", gaps=" +
            gaps() + "}";
    }
}
