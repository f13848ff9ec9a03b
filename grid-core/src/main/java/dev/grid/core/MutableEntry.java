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

    /**
     * @return when the entry expires, epoch milliseconds by the primary's clock: as set by {@link #setExpireAtMs}, else
     *     as stored; 0 if never or if the entry is absent.
     */
    default long expireAtMs()
    {
        return 0;
    }

    /**
     * Set when the entry's value (the current one, or the one {@link #setValue} gave) expires. Without this, a value
     * set expires as the cache's expiry policy says for any write (an eternal policy: never). Only a cache created with
     * an expiry policy stores expiry times; in another the write fails with
     * {@link ErrorCode#CONFIGURATION_INVALID}.
     *
     * @param expireAtMs epoch milliseconds by the primary's clock (see {@link #nowMs()}); 0 for never.
     * @throws UnsupportedOperationException where entries have no expiry times (a processor not run by a member).
     */
    default void setExpireAtMs(final long expireAtMs)
    {
        throw new UnsupportedOperationException("this entry has no expiry time to set");
    }

    /**
     * @return the primary's wall clock as the processor runs, epoch milliseconds: the clock expiry times are decided
     *     by, so a time-to-live becomes {@code nowMs() + ttlMs}.
     * @throws UnsupportedOperationException where entries have no clock (a processor not run by a member).
     */
    default long nowMs()
    {
        throw new UnsupportedOperationException("this entry has no clock: only a member's entries have one");
    }
}
