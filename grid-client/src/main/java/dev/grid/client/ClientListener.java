package dev.grid.client;

import dev.grid.core.ListenerRegistration;
import dev.grid.core.client.JournalReader;
import dev.grid.core.client.ScanPages;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A listener registered through the thin client: the thread that drives its {@link JournalReader},
 * reading every partition's journal round after round, waiting up to {@link #IDLE_WAIT_MAX_NS} between rounds that
 * delivered nothing.
 * <p>
 * <b>Threading:</b> its own thread calls the listener; {@link #positions()} and {@link #close()} from any thread.
 */
final class ClientListener implements ListenerRegistration
{
    /** The longest wait between rounds of reads while nothing happens. */
    static final long IDLE_WAIT_MAX_NS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long BUSY_WAIT_NS = TimeUnit.MILLISECONDS.toNanos(1);

    private final JournalReader<?, ?> reader;
    private final JournalReader.Source source;
    /** Reads pages for the initial scan, or null for a registration without one. */
    private final ScanPages.PageSource initialPages;
    private final Thread thread;
    private volatile boolean running = true;

    /**
     * Fix where the listener starts (throwing if the journals cannot be read) and start its thread.
     *
     * @param name   the cache's name, for the thread's.
     * @param initialPages reads pages for an initial scan ({@link JournalReader#initialScan}), or null for none.
     */
    ClientListener(final String name, final JournalReader<?, ?> reader, final JournalReader.Source source,
        final ScanPages.PageSource initialPages)
    {
        this.initialPages = initialPages;
        this.reader = reader;
        this.source = source;
        reader.start(source);
        this.thread = new Thread(this::run, "grid-listener-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    private void run()
    {
        try
        {
            if (initialPages != null)
            {
                reader.initialScan(initialPages, () -> running);
            }
            loop();
        }
        catch (final RuntimeException ex)
        {
            running = false;
            reader.failed(ex);
        }
    }

    private void loop()
    {
        long waitNs = BUSY_WAIT_NS;
        while (running)
        {
            final int delivered = reader.round(source, () -> running);
            if (delivered < 0)
            {
                return;
            }
            if (delivered > 0)
            {
                waitNs = BUSY_WAIT_NS;
            }
            else
            {
                // Nothing happened: poll less often, up to the idle bound.
                LockSupport.parkNanos(waitNs);
                waitNs = Math.min(IDLE_WAIT_MAX_NS, waitNs * 2);
            }
        }
    }

    @Override
    public Map<Integer, Long> positions()
    {
        return reader.positions();
    }

    @Override
    public void close()
    {
        running = false;
        if (Thread.currentThread() != thread)
        {
            LockSupport.unpark(thread);
            try
            {
                thread.join(TimeUnit.SECONDS.toMillis(30));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
    }
}
