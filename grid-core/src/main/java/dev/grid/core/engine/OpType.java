package dev.grid.core.engine;

import dev.grid.core.codec.MalformedMessageException;
/**
 * The single-key operations a primary executes, plus {@link #SIZE} which asks every member. Codes are wire values
 * and never change.
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
    SIZE(7, false);

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

    public static OpType ofCode(final int code)
    {
        if (code < 0 || code >= BY_CODE.length)
        {
            throw new MalformedMessageException("unknown operation code " + code);
        }
        return BY_CODE[code];
    }
}
