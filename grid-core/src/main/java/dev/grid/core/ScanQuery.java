package dev.grid.core;

import java.util.Objects;
import java.util.function.BiPredicate;

/**
 * What a {@link Cache#scan(ScanQuery)} returns: every entry, or those whose encoded key starts with a prefix, whose
 * value passes a {@link ValuePredicate}, or (embedded members only) that an arbitrary predicate accepts; and how many
 * entries a page holds. The prefix and the value predicate run on the primaries, so only matching entries cross the
 * network; an arbitrary predicate runs where the scan runs, on decoded entries.
 * <p>
 * Immutable; thread-safe if the predicate is.
 *
 * @param keyPrefix   entries whose key's encoded bytes start with the prefix's encoded bytes (so a string prefix for
 *                    the UTF-8 codec), or null for every key.
 * @param value       a predicate on the value (ABSENT is refused: a scan sees present values only), or null.
 * @param predicate   an arbitrary predicate on decoded entries, or null; refused by the thin client.
 * @param pageEntries entries per page, in [1, {@link #PAGE_ENTRIES_MAX}].
 * @param <K> the key type.
 * @param <V> the value type.
 */
public record ScanQuery<K, V>(K keyPrefix, ValuePredicate<V> value, BiPredicate<? super K, ? super V> predicate,
    int pageEntries)
{
    /** Entries a page holds unless asked for fewer. */
    public static final int PAGE_ENTRIES_DEFAULT = 1024;
    /** The most entries a page holds. */
    public static final int PAGE_ENTRIES_MAX = 16_384;

    /**
     * @throws IllegalArgumentException if the page size is out of range or the value predicate is ABSENT.
     */
    public ScanQuery
    {
        if (pageEntries < 1 || pageEntries > PAGE_ENTRIES_MAX)
        {
            throw new IllegalArgumentException("pageEntries " + pageEntries + " out of [1, " +
                PAGE_ENTRIES_MAX + "]");
        }
        if (value != null && value.kind() == ValuePredicate.Kind.ABSENT)
        {
            throw new IllegalArgumentException("a scan sees present values only: ValuePredicate.absent() matches none");
        }
    }

    /** @return a query of every entry. */
    public static <K, V> ScanQuery<K, V> all()
    {
        return new ScanQuery<>(null, null, null, PAGE_ENTRIES_DEFAULT);
    }

    /** @return a query of the entries whose key's encoding starts with the prefix's. */
    public static <K, V> ScanQuery<K, V> keyPrefix(final K prefix)
    {
        return new ScanQuery<>(Objects.requireNonNull(prefix, "prefix must not be null"), null, null,
            PAGE_ENTRIES_DEFAULT);
    }

    /** @return a query of the entries whose value passes the predicate. */
    public static <K, V> ScanQuery<K, V> value(final ValuePredicate<V> predicate)
    {
        return new ScanQuery<>(null, Objects.requireNonNull(predicate, "predicate must not be null"), null,
            PAGE_ENTRIES_DEFAULT);
    }

    /** @return a query of the entries an arbitrary predicate accepts (embedded members only). */
    public static <K, V> ScanQuery<K, V> matching(final BiPredicate<? super K, ? super V> predicate)
    {
        return new ScanQuery<>(null, null, Objects.requireNonNull(predicate, "predicate must not be null"),
            PAGE_ENTRIES_DEFAULT);
    }

    /** @return this query with another page size. */
    public ScanQuery<K, V> pageEntries(final int entries)
    {
        return new ScanQuery<>(keyPrefix, value, predicate, entries);
    }

    /** @return this query also filtered by the key prefix. */
    public ScanQuery<K, V> withKeyPrefix(final K prefix)
    {
        return new ScanQuery<>(prefix, value, predicate, pageEntries);
    }
}
