package dev.grid.examples;

import dev.grid.core.CacheEvent;
import dev.grid.core.CacheEventListener;
import dev.grid.core.GridException;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A listener for tests: every event in the order delivered, the values seen, and what should never happen (a value
 * delivered twice, events reported lost, an error). Values are unique per write in the tests that use it.
 */
final class RecordingListener implements CacheEventListener<String, String>
{
    final List<CacheEvent<String, String>> events = new CopyOnWriteArrayList<>();
    final Set<String> seen = ConcurrentHashMap.newKeySet();
    final List<String> problems = new CopyOnWriteArrayList<>();

    @Override
    public void onEvent(final CacheEvent<String, String> event)
    {
        events.add(event);
        if (event.value() != null && event.kind() != CacheEvent.Kind.INITIAL && !seen.add(event.value()))
        {
            problems.add("twice: " + event);
        }
    }

    @Override
    public void onEventsLost(final int partition, final long from, final long to)
    {
        problems.add("lost " + partition + ": " + from + ".." + to);
    }

    @Override
    public void onError(final GridException error)
    {
        problems.add("error " + error);
    }
}
