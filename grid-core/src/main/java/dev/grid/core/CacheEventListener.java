package dev.grid.core;

/**
 * Receives a cache's changes ({@link Cache#listen}): one partition's events arrive in counter order, each exactly once
 * while the registration lives, across a primary's failure (its backups journal the same events) and, for the thin
 * client, a reconnection. Called on one thread per registration, never concurrently; an event is counted as seen
 * once {@link #onEvent} returned, so an exception makes the same event come again.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
public interface CacheEventListener<K, V>
{
    /**
     * @param event the change.
     */
    void onEvent(CacheEvent<K, V> event);

    /**
     * The journal of a partition no longer holds the events after the listener's position (it fell further behind
     * than the journal's capacity, or the partition's copies all restarted or were rebuilt): the listener goes on from
     * the journal's start, and is told here what it missed, never silently.
     *
     * @param partition the partition.
     * @param fromCounter the first counter whose event may be missing.
     * @param toCounter the last counter whose event may be missing.
     */
    default void onEventsLost(final int partition, final long fromCounter, final long toCounter)
    {
    }

    /**
     * The registration stopped for an error that reading again cannot mend: the cache keeps no event journal
     * ({@link ErrorCode#CONFIGURATION_INVALID}), was destroyed, or the client may not read it. Errors that pass
     * (a timeout, a member stopping, no quorum, a lost connection) are retried and never reach the listener.
     *
     * @param error what stopped it.
     */
    default void onError(final GridException error)
    {
    }

}
