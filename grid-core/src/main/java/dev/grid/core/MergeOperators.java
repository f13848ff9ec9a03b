package dev.grid.core;

import java.util.Map;

/**
 * Merge operators every member knows by name without registering them, so that caches created by thin clients or
 * the admin tool (which cannot send code) can merge: {@value #STRING_APPEND} appends string operands to the current
 * string, {@value #LONG_ADD} adds long operands to the current number (a counter). A member configuration may not
 * register another operator under these names.
 */
public final class MergeOperators
{
    /** Appends each operand to the current string (absent: empty). */
    public static final String STRING_APPEND = "string-append";
    /** Adds each operand to the current long (absent: 0). */
    public static final String LONG_ADD = "long-add";

    private static final MergeOperator<Object, String> APPEND = (key, current, operands) ->
    {
        final StringBuilder merged = new StringBuilder(current == null ? "" : current);
        operands.forEach(merged::append);
        return merged.toString();
    };

    private static final MergeOperator<Object, Long> ADD = (key, current, operands) ->
    {
        long sum = current == null ? 0 : current;
        for (final Long operand : operands)
        {
            sum += operand;
        }
        return sum;
    };

    private MergeOperators()
    {
    }

    /**
     * @param <K> the key type.
     * @return the {@value #STRING_APPEND} operator.
     */
    @SuppressWarnings("unchecked")
    public static <K> MergeOperator<K, String> stringAppend()
    {
        return (MergeOperator<K, String>)(MergeOperator<?, String>)APPEND;
    }

    /**
     * @param <K> the key type.
     * @return the {@value #LONG_ADD} operator.
     */
    @SuppressWarnings("unchecked")
    public static <K> MergeOperator<K, Long> longAdd()
    {
        return (MergeOperator<K, Long>)(MergeOperator<?, Long>)ADD;
    }

    /**
     * @return the built-in operators by name.
     */
    public static Map<String, MergeOperator<?, ?>> builtIns()
    {
        return Map.of(STRING_APPEND, APPEND, LONG_ADD, ADD);
    }
}
