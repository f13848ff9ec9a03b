package dev.grid.core.internal.cluster;

import dev.grid.core.engine.OpOutcome;
import org.agrona.collections.Long2LongHashMap;

import java.util.Arrays;
import java.util.Map;

/**
 * The outcomes of one partition copy's operations replayed from the WAL, in replay order, kept until replay ends and
 * then moved into the copy's memory of outcomes ({@link LocalPartition#recent}).
 * <p>
 * Held in columns of primitives rather than as a list of key and outcome objects: a replay remembers every update it
 * applies (a million in a million-record replay), most of which are dropped again once a later record shows that
 * their origin can no longer resend them. Objects per update were three allocations each that the young collections
 * copied while they waited to be dropped; the columns are two longs and a byte per update, and the outcome's value
 * only for the rare operation whose outcome carries one.
 * <p>
 * An entry is dropped ({@link #dropBelow}) when its sequence is below the highest watermark its origin's later records
 * carried; the survivors keep their order. Nothing is dropped by count.
 * <p>
 * <b>Threading:</b> recovery's thread (the member's engine thread before it runs).
 */
final class ReplayedOutcomes
{
    private static final byte FLAG = 1;
    private static final byte IF_ABSENT = 2;

    private long[] origins = new long[16];
    private long[] sequences = new long[16];
    private byte[] bits = new byte[16];
    /** The outcomes' values; null until an outcome with a value is added. */
    private byte[][] values;
    private int size;

    /** @return how many outcomes are held. */
    int size()
    {
        return size;
    }

    /**
     * Add an outcome after those held.
     *
     * @param originIncarnation the operation's origin incarnation.
     * @param sequence          the operation's sequence at its origin.
     * @param flag              the outcome's flag.
     * @param value             the outcome's value, or null.
     * @param ifAbsent          when moved into the memory, keep an outcome already known for the operation.
     */
    void add(final long originIncarnation, final long sequence, final boolean flag, final byte[] value,
        final boolean ifAbsent)
    {
        if (size == origins.length)
        {
            final int capacity = 2 * size;
            origins = Arrays.copyOf(origins, capacity);
            sequences = Arrays.copyOf(sequences, capacity);
            bits = Arrays.copyOf(bits, capacity);
            if (values != null)
            {
                values = Arrays.copyOf(values, capacity);
            }
        }
        if (value != null && values == null)
        {
            values = new byte[origins.length][];
        }
        origins[size] = originIncarnation;
        sequences[size] = sequence;
        bits[size] = (byte)((flag ? FLAG : 0) | (ifAbsent ? IF_ABSENT : 0));
        if (values != null)
        {
            values[size] = value;
        }
        size++;
    }

    /**
     * Drop the outcomes whose origin can no longer resend them, keeping the order of the rest.
     *
     * @param watermarks per origin incarnation, the highest watermark replayed so far (missing: none known).
     */
    void dropBelow(final Long2LongHashMap watermarks)
    {
        int kept = 0;
        for (int i = 0; i < size; i++)
        {
            if (sequences[i] < watermarks.get(origins[i]))
            {
                continue;
            }
            origins[kept] = origins[i];
            sequences[kept] = sequences[i];
            bits[kept] = bits[i];
            if (values != null)
            {
                values[kept] = values[i];
            }
            kept++;
        }
        if (values != null)
        {
            Arrays.fill(values, kept, size, null);
        }
        size = kept;
    }

    /**
     * Move every outcome held into {@code recent}, in order: one added with ifAbsent keeps an outcome already there.
     */
    void moveInto(final Map<LocalPartition.OpKey, OpOutcome> recent)
    {
        for (int i = 0; i < size; i++)
        {
            final LocalPartition.OpKey key = new LocalPartition.OpKey(origins[i], sequences[i]);
            final OpOutcome outcome = new OpOutcome((bits[i] & FLAG) != 0, values == null ? null : values[i], 0);
            if ((bits[i] & IF_ABSENT) != 0)
            {
                recent.putIfAbsent(key, outcome);
            }
            else
            {
                recent.put(key, outcome);
            }
        }
        size = 0;
    }
}
