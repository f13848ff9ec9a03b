package dev.grid.core;

import java.util.Map;

/**
 * A listener registered on a cache ({@link Cache#listen}): its thread reads each partition's event journal from the
 * partition's primary, after the last counter it delivered, and calls the listener. Close it to stop; pass its
 * {@link #positions()} to a new registration to resume exactly where it stopped.
 */
public interface ListenerRegistration extends AutoCloseable
{
    /** @return per partition, the counter of the last event delivered (or the position it started from). */
    Map<Integer, Long> positions();

    /** Stop: no event is delivered once this returns. */
    @Override
    void close();
}
