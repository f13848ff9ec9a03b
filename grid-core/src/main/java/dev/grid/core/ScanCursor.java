package dev.grid.core;

import java.util.Iterator;
import java.util.Map;

/**
 * The entries of a {@link Cache#scan scan}, partition by partition, in key order within a partition, fetched a page at
 * a time from each partition's primary: a page is read at one update counter of its partition (a consistent cut of
 * it), and the next page starts after the last key the previous one examined. So every entry present and unchanged
 * for the whole scan is returned exactly once, even if a partition's primary changes mid-scan (the page is asked of the
 * new primary from the same key); an entry written, removed or moved during the scan may be returned or not, with
 * whichever value its page saw.
 * <p>
 * Holds one page at a time. {@link #next()} may block while a page is fetched, and fails with the
 * {@link GridException} the page's read failed with (a timeout after the cache's operation timeout). Close it to stop
 * early. Not thread-safe.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
public interface ScanCursor<K, V> extends Iterator<Map.Entry<K, V>>, AutoCloseable
{
    /** Stop the scan: {@link #hasNext()} answers false from now on. */
    @Override
    void close();
}
