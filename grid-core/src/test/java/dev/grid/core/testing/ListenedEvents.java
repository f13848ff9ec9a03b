package dev.grid.core.testing;

import dev.grid.core.CacheEvent;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What tests make of the events a listener received.
 */
public final class ListenedEvents
{
    private ListenedEvents()
    {
    }

    /**
     * @param events what a listener received, in order.
     * @return the content they give when applied in order (a value puts, a removal removes).
     */
    public static <K, V> Map<K, V> applied(final List<CacheEvent<K, V>> events)
    {
        final Map<K, V> content = new HashMap<>();
        for (final CacheEvent<K, V> event : events)
        {
            if (event.value() == null)
            {
                content.remove(event.key());
            }
            else
            {
                content.put(event.key(), event.value());
            }
        }
        return content;
    }
}
