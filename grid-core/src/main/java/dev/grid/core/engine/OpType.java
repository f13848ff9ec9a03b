package dev.grid.core.engine;

import dev.grid.core.codec.MalformedMessageException;
/**
 * The single-key operations a primary executes, plus {@link #SIZE} which asks every member and {@link #SCAN_PAGE} which
 * reads a page of one partition. Codes are wire values and never change.
 * <p>
 * A request carries a key, a value and an expected value; the operations below say what each means for them where it
 * is not the obvious.
 */
public enum OpType
{
    /** Read the value. */
    GET(0, false),
    /** Write the value unconditionally. */
    PUT(1, true),
    /** Write only if the key is absent; outcome flag: written. */
    PUT_IF_ABSENT(2, true),
    /** Write only if the current value equals the expected one; outcome flag: written. */
    REPLACE(3, true),
    /** Delete; outcome flag: a value was there. */
    REMOVE(4, true),
    /** Delete only if the current value equals the expected one; outcome flag: deleted. */
    REMOVE_IF_EQUALS(5, true),
    /** Combine the operand with the current value by the cache's merge operator; outcome value: the new value. */
    MERGE(6, true),
    /** Count live entries of a cache across its primaries. */
    SIZE(7, false),
    /** Write the value unconditionally; outcome value: the value it replaced (null if absent). */
    GET_AND_PUT(8, true),
    /** Delete; outcome value: the value deleted (null if absent, and nothing is written). */
    GET_AND_REMOVE(9, true),
    /** Write only if the key is present; outcome value: the value it replaced (null: absent, nothing written). */
    GET_AND_REPLACE(10, true),
    /** Write only if the key is present; outcome flag: written. */
    REPLACE_PRESENT(11, true),
    /**
     * Run an entry processor registered on the members by name ({@link BytesEntryProcessor}): the request's expected
     * value carries the processor's name in UTF-8, its value the argument (absent: none). Outcome: flag written, value
     * the processor's result. Backups receive the resulting value, as for any update.
     */
    INVOKE(12, true),
    /**
     * Read a page of the request's partition (not the key's) in key order: the key is where the previous page ended
     * (exclusive), the value the page's limits ({@code ScanPages}). Outcome: value the encoded page, count the
     * partition's update counter the page was read at, flag whether the partition ended.
     */
    SCAN_PAGE(13, false),
    /**
     * Write the value unconditionally with a time-to-live of its own, into a cache with an expiry policy: the
     * request's value is {@code [i64 ttlMs, little-endian][the value]}, a ttl of 0 meaning the entry never expires.
     */
    PUT_WITH_TTL(14, true),
    /**
     * Read the event journal of the request's partition (not the key's) on its primary: the value is
     * {@code [i64 after]} and a {@code ScanPages.Spec} (its page size the most events, its filter which events).
     * Outcome: value the encoded events ({@code ScanPages.Events}), count the horizon they were read to.
     */
    JOURNAL_READ(15, false),
    /**
     * Whether the key holds a live value, without counting as a use of it: no expiry extension (JCache's
     * {@code containsKey} does not access the entry) and no eviction touch. Outcome flag: present.
     */
    CONTAINS_KEY(16, false);

    private static final OpType[] BY_CODE = values();

    private final int code;
    private final boolean mayWrite;

    OpType(final int code, final boolean mayWrite)
    {
        this.code = code;
        this.mayWrite = mayWrite;
    }

    /**
     * @return the wire code.
     */
    public int code()
    {
        return code;
    }

    /**
     * @return true if the operation may change the store.
     */
    public boolean mayWrite()
    {
        return mayWrite;
    }

    /**
     * @param ttlMs the entry's time-to-live, 0 for never.
     * @param value the encoded value.
     * @return the value of a {@link #PUT_WITH_TTL} request.
     */
    public static byte[] valueWithTtl(final long ttlMs, final byte[] value)
    {
        final byte[] withTtl = new byte[8 + value.length];
        java.nio.ByteBuffer.wrap(withTtl).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(0, ttlMs);
        System.arraycopy(value, 0, withTtl, 8, value.length);
        return withTtl;
    }

    public static OpType ofCode(final int code)
    {
        if (code < 0 || code >= BY_CODE.length)
        {
            throw new MalformedMessageException("unknown operation code " + code);
        }
        return BY_CODE[code];
    }
}
