package dev.grid.core;

/**
 * A change of a cache entry, as its partition's event journal holds it: numbered by the partition's update counter,
 * so a listener sees each partition's changes exactly once and in counter order, and resumes after the last counter
 * it saw per partition (see {@link Cache#listen}). Immutable.
 *
 * @param kind      what happened.
 * @param partition the entry's partition.
 * @param counter   the update counter of the change in its partition.
 * @param key       the entry's key.
 * @param value     the entry's new value; null for a removal.
 * @param <K> the key type.
 * @param <V> the value type.
 */
public record CacheEvent<K, V>(Kind kind, int partition, long counter, K key, V value)
{
    /** What happened to an entry. Codes are wire values and never change. */
    public enum Kind
    {
        /** A value was written where there was none (or an expired one). */
        CREATED,
        /** A value replaced another. */
        UPDATED,
        /** The entry was removed by a caller. */
        REMOVED,
        /** The entry's life ended and its primary removed it. */
        EXPIRED,
        /** The entry was evicted to keep its cache within its bound. */
        EVICTED,
        /**
         * The entry was there when the registration started: delivered by its initial scan, before any event of its
         * partition, with the counter the partition's first page was read at. Never kept in a journal.
         */
        INITIAL
    }
}
