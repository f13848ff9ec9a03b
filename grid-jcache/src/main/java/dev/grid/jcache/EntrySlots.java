package dev.grid.jcache;

import dev.grid.core.GridException;
import dev.grid.core.ScanCursor;

import javax.cache.CacheException;

import java.util.AbstractMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Where a JCache cache's entries live, seen as compare-and-set slots of {@link StoredValue}s by key handle:
 * <ul>
 *   <li>{@link #grid}: a Grid cache, keyed by the serialized key, each value stored serialized (store-by-value, the
 *   normal case: partitioned, replicated, persisted as the cluster is);</li>
 *   <li>{@link #local}: a map in this JVM keyed by the key object itself, holding references (store-by-reference,
 *   which JCache makes optional: the objects an application stores are the ones it gets back, so they cannot leave
 *   this JVM; such a cache is neither distributed nor replicated).</li>
 * </ul>
 * Compare-and-set compares the whole stored form: bytes in the grid, the instance read in the local map.
 * Thread-safe.
 */
abstract class EntrySlots
{
    /** @return true if values are kept by reference in this JVM rather than serialized into the grid. */
    abstract boolean byReference();

    abstract StoredValue get(Object handle);

    abstract boolean putIfAbsent(Object handle, StoredValue value);

    abstract boolean replace(Object handle, StoredValue expected, StoredValue value);

    abstract boolean remove(Object handle, StoredValue expected);

    abstract StoredValue getAndPut(Object handle, StoredValue value);

    abstract StoredValue getAndRemove(Object handle);

    abstract void clear();

    /**
     * @return every slot's handle and stored value, weakly consistent; close it to stop early.
     */
    abstract Cursor scan();

    /** A scan over slots. Not thread-safe. */
    interface Cursor extends Iterator<Map.Entry<Object, StoredValue>>, AutoCloseable
    {
        @Override
        void close();
    }

    /**
     * @param operation on the grid.
     * @param <T>       its result type.
     * @return its result.
     * @throws CacheException carrying the {@link GridException} (timeouts, lost partitions, a destroyed cache, ...)
     *     as JCache callers expect every failure of the cache to be.
     */
    static <T> T call(final Supplier<T> operation)
    {
        try
        {
            return operation.get();
        }
        catch (final GridException ex)
        {
            throw new CacheException(ex.getMessage(), ex);
        }
    }

    /**
     * @param grid the Grid cache holding the entries.
     * @return slots in it.
     */
    static EntrySlots grid(final dev.grid.core.Cache<byte[], byte[]> grid)
    {
        return new EntrySlots()
        {
            boolean byReference()
            {
                return false;
            }

            StoredValue get(final Object handle)
            {
                return call(() -> StoredValue.parse(grid.get((byte[])handle)));
            }

            boolean putIfAbsent(final Object handle, final StoredValue value)
            {
                return call(() -> grid.putIfAbsent((byte[])handle, value.bytes()));
            }

            boolean replace(final Object handle, final StoredValue expected, final StoredValue value)
            {
                return call(() -> grid.replace((byte[])handle, expected.bytes(), value.bytes()));
            }

            boolean remove(final Object handle, final StoredValue expected)
            {
                return call(() -> grid.remove((byte[])handle, expected.bytes()));
            }

            StoredValue getAndPut(final Object handle, final StoredValue value)
            {
                return call(() -> StoredValue.parse(grid.getAndPut((byte[])handle, value.bytes())));
            }

            StoredValue getAndRemove(final Object handle)
            {
                return call(() -> StoredValue.parse(grid.getAndRemove((byte[])handle)));
            }

            void clear()
            {
                call(() -> grid.clear());
            }

            Cursor scan()
            {
                final ScanCursor<byte[], byte[]> cursor = call(() -> grid.scan());
                return new Cursor()
                {
                    public boolean hasNext()
                    {
                        return call(cursor::hasNext);
                    }

                    public Map.Entry<Object, StoredValue> next()
                    {
                        final Map.Entry<byte[], byte[]> entry = call(cursor::next);
                        return new AbstractMap.SimpleImmutableEntry<>(entry.getKey(),
                            StoredValue.parse(entry.getValue()));
                    }

                    public void close()
                    {
                        cursor.close();
                    }
                };
            }
        };
    }

    /**
     * @return slots in a map of this JVM.
     */
    static EntrySlots local()
    {
        final ConcurrentHashMap<Object, StoredValue> map = new ConcurrentHashMap<>();
        return new EntrySlots()
        {
            boolean byReference()
            {
                return true;
            }

            StoredValue get(final Object handle)
            {
                return map.get(handle);
            }

            boolean putIfAbsent(final Object handle, final StoredValue value)
            {
                return map.putIfAbsent(handle, value) == null;
            }

            boolean replace(final Object handle, final StoredValue expected, final StoredValue value)
            {
                return map.replace(handle, expected, value);
            }

            boolean remove(final Object handle, final StoredValue expected)
            {
                return map.remove(handle, expected);
            }

            StoredValue getAndPut(final Object handle, final StoredValue value)
            {
                return map.put(handle, value);
            }

            StoredValue getAndRemove(final Object handle)
            {
                return map.remove(handle);
            }

            void clear()
            {
                map.clear();
            }

            Cursor scan()
            {
                final Iterator<Map.Entry<Object, StoredValue>> iterator = map.entrySet().iterator();
                return new Cursor()
                {
                    public boolean hasNext()
                    {
                        return iterator.hasNext();
                    }

                    public Map.Entry<Object, StoredValue> next()
                    {
                        final Map.Entry<Object, StoredValue> entry = iterator.next();
                        return new AbstractMap.SimpleImmutableEntry<>(entry.getKey(), entry.getValue());
                    }

                    public void close()
                    {
                        // Nothing held.
                    }
                };
            }
        };
    }
}
