package dev.grid.resp;

import dev.grid.core.Cache;
import dev.grid.core.ScanCursor;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The SCAN cursors a member has handed out: a cursor is the number of a Grid scan held here between calls, so a
 * client may continue it on any connection to this member. At most {@link #MAX_CURSORS} are held, the least recently
 * used dropped first (a client continuing a dropped one gets an error and starts again). Thread-safe.
 */
final class ScanCursors
{
    /** Cursors held at most. */
    static final int MAX_CURSORS = 1024;

    private final Map<Long, Held> held = new LinkedHashMap<>(16, 0.75f, true);

    /** A scan in progress and the database it scans. */
    private record Held(ScanCursor<byte[], byte[]> cursor, int database)
    {
    }

    /** A page of keys and the cursor to continue with (0: done). */
    record Page(long next, List<byte[]> keys)
    {
    }

    /**
     * @param cursor   0 to start, or a cursor a previous page returned.
     * @param database the database scanned (a cursor belongs to one).
     * @param cache    its cache.
     * @param count    how many entries to examine at most (Redis's COUNT: work, not results).
     * @param match    a glob pattern keys must match, or null.
     * @return the page; blocks while a page is fetched from the grid.
     * @throws IllegalArgumentException if the cursor is unknown here.
     */
    Page next(final long cursor, final int database, final Cache<byte[], byte[]> cache, final int count,
        final byte[] match)
    {
        final Held scan;
        if (cursor == 0)
        {
            scan = new Held(cache.scan(), database);
        }
        else
        {
            synchronized (held)
            {
                scan = held.remove(cursor);
            }
            if (scan == null || scan.database() != database)
            {
                if (scan != null)
                {
                    scan.cursor().close();
                }
                throw new IllegalArgumentException("invalid cursor");
            }
        }
        final List<byte[]> keys = new ArrayList<>();
        int examined = 0;
        try
        {
            while (examined < count && scan.cursor().hasNext())
            {
                final byte[] key = scan.cursor().next().getKey();
                examined++;
                if (match == null || Glob.matches(match, key))
                {
                    keys.add(key);
                }
            }
        }
        catch (final RuntimeException ex)
        {
            scan.cursor().close(); // a page that failed (a timeout): the client starts again
            throw ex;
        }
        if (!scan.cursor().hasNext())
        {
            scan.cursor().close();
            return new Page(0, keys);
        }
        final long next = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        synchronized (held)
        {
            held.put(next, scan);
            final Iterator<Held> oldest = held.values().iterator();
            while (held.size() > MAX_CURSORS && oldest.hasNext())
            {
                oldest.next().cursor().close();
                oldest.remove();
            }
        }
        return new Page(next, keys);
    }

    /** Close every scan held. */
    void closeAll()
    {
        synchronized (held)
        {
            held.values().forEach(h -> h.cursor().close());
            held.clear();
        }
    }
}
