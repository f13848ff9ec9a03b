package dev.grid.core;

import java.util.Objects;
import java.util.function.BiPredicate;

/**
 * A condition on a key's current value that can travel: the thin client sends it to a member as a kind and an
 * operand, where an arbitrary {@link BiPredicate} (code) cannot go. Works in embedded predicate transactions too.
 * Values are compared by their encoded bytes on the member, so equality follows the cache's value codec. Immutable.
 *
 * @param kind    what is required.
 * @param operand the value compared with ({@link Kind#EQUALS}, {@link Kind#NOT_EQUALS}); null otherwise.
 * @param <V>     the value type.
 */
public record ValuePredicate<V>(Kind kind, V operand) implements BiPredicate<Object, V>
{
    /** What a value predicate requires; the ordinal is its code on the wire. */
    public enum Kind
    {
        /** The key holds a value equal to the operand. */
        EQUALS,
        /** The key is absent, or holds a value not equal to the operand. */
        NOT_EQUALS,
        /** The key is absent. */
        ABSENT,
        /** The key holds a value. */
        PRESENT
    }

    /** Canonical constructor: an operand exactly for the kinds that compare. */
    public ValuePredicate
    {
        Objects.requireNonNull(kind, "kind must not be null");
        if ((kind == Kind.EQUALS || kind == Kind.NOT_EQUALS) != (operand != null))
        {
            throw new IllegalArgumentException(kind + " takes " + (operand == null ? "an" : "no") + " operand");
        }
    }

    /**
     * @param value the value required.
     * @param <V>   its type.
     * @return the predicate "the key holds this value".
     */
    public static <V> ValuePredicate<V> equalTo(final V value)
    {
        return new ValuePredicate<>(Kind.EQUALS, value);
    }

    /**
     * @param value a value.
     * @param <V>   its type.
     * @return the predicate "the key does not hold this value" (absent included).
     */
    public static <V> ValuePredicate<V> notEqualTo(final V value)
    {
        return new ValuePredicate<>(Kind.NOT_EQUALS, value);
    }

    /**
     * @param <V> the value type.
     * @return the predicate "the key is absent".
     */
    public static <V> ValuePredicate<V> absent()
    {
        return new ValuePredicate<>(Kind.ABSENT, null);
    }

    /**
     * @param <V> the value type.
     * @return the predicate "the key holds a value".
     */
    public static <V> ValuePredicate<V> present()
    {
        return new ValuePredicate<>(Kind.PRESENT, null);
    }

    @Override
    public boolean test(final Object key, final V value)
    {
        return switch (kind)
        {
            case EQUALS -> valueEquals(operand, value);
            case NOT_EQUALS -> !valueEquals(operand, value);
            case ABSENT -> value == null;
            case PRESENT -> value != null;
        };
    }

    private static boolean valueEquals(final Object a, final Object b)
    {
        if (a instanceof byte[] x && b instanceof byte[] y)
        {
            return java.util.Arrays.equals(x, y);
        }
        return Objects.equals(a, b);
    }
}
