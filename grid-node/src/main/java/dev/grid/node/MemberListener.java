package dev.grid.node;

import dev.grid.core.ListenerRegistration;
import dev.grid.core.client.JournalPump;
import dev.grid.core.client.JournalReader;
import dev.grid.core.client.ScanPages;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A listener registered through an embedded member: the thread that runs its {@link JournalPump} (the initial scan if
 * asked for, then one held read per partition) and so calls the listener.
 * <p>
 * <b>Threading:</b> its own thread calls the listener; {@link #positions()} and {@link #close()} from any thread.
 */
final class MemberListener implements ListenerRegistration
{
    private final JournalReader<?, ?> reader;
    private final JournalPump pump;
    private final Thread thread;
    private volatile boolean running = true;

    /**
     * Fix where the listener starts (throwing if the journals cannot be read) and start its thread.
     *
     * @param name         the cache's name, for the thread's.
     * @param alive        whether the member still runs (a closed member's registrations end).
     * @param initialPages reads pages for an initial scan ({@link JournalReader#initialScan}), or null for none.
     */
    MemberListener(final String name, final JournalReader<?, ?> reader, final JournalReader.Source source,
        final java.util.function.BooleanSupplier alive, final ScanPages.PageSource initialPages)
    {
        this.reader = reader;
        reader.start(source);
        this.pump = new JournalPump(reader, source, initialPages, System::nanoTime,
            () -> running && alive.getAsBoolean());
        this.thread = new Thread(this::run, "grid-listener-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    private void run()
    {
        try
        {
            pump.run();
        }
        catch (final RuntimeException ex)
        {
            running = false;
            reader.failed(ex);
        }
        catch (final InterruptedException ex)
        {
            running = false;
            Thread.currentThread().interrupt();
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
            pump.wake();
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
