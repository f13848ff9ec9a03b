package dev.grid.core;

/**
 * A cache entry as an {@link EntryProcessor} sees it on the key's primary: its key, its current value, and what the
 * processor decides to do with it. Nothing changes until the processor returns; then the last decision taken
 * ({@link #setValue} or {@link #remove}) is applied atomically and replicated as the resulting value.
 * <p>
 * Valid only during the processor's call, on the thread that called it. Not thread-safe.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
public interface MutableEntry<K, V>
{
    /** @return the key. */
    K key();

    /** @return the current value (or the one set by this processor), or null if absent. */
    V value();

    /** @return whether the entry has a value. */
    boolean exists();

    /**
     * Give the entry a new value.
     *
     * @param value the value, not null.
     */
    void setValue(V value);

    /** Remove the entry. */
    void remove();
}
