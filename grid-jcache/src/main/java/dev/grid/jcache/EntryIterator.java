package dev.grid.jcache;

import javax.cache.Cache;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * A JCache cache's iterator over a scan of its Grid cache: skips expired entries, counts each entry returned as a
 * hit and applies the access expiry to it, and removes through the cache (writer, listeners, statistics). Holds one
 * page of the scan at a time. Not thread-safe, as JCache iterators are not.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
final class EntryIterator<K, V> implements Iterator<Cache.Entry<K, V>>
{
    private final GridCache<K, V> cache;
    private final EntrySlots.Cursor cursor;
    private Cache.Entry<K, V> next;
    private Cache.Entry<K, V> last;

    EntryIterator(final GridCache<K, V> cache, final EntrySlots.Cursor cursor)
    {
        this.cache = cache;
        this.cursor = cursor;
    }

    @Override
    public boolean hasNext()
    {
        while (next == null && cursor.hasNext())
        {
            final Map.Entry<Object, StoredValue> entry = cursor.next();
            next = cache.iterated(entry.getKey(), entry.getValue());
        }
        if (next == null)
        {
            cursor.close();
        }
        return next != null;
    }

    @Override
    public Cache.Entry<K, V> next()
    {
        if (!hasNext())
        {
            throw new NoSuchElementException("no more entries in cache '" + cache.getName() + "'");
        }
        last = next;
        next = null;
        return last;
    }

    @Override
    public void remove()
    {
        if (last == null)
        {
            throw new IllegalStateException("remove() is allowed once after each next()");
        }
        cache.removeIterated(last.getKey());
        last = null;
    }
}
