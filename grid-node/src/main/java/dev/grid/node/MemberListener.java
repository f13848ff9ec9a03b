package dev.grid.node;

import dev.grid.core.ListenerRegistration;
import dev.grid.core.client.JournalReader;
import dev.grid.core.client.ScanPages;

import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A listener registered through an embedded member: the thread that drives its {@link JournalReader}. After the
 * initial scan (if asked for) it keeps one read in flight per partition, each held by the partition's primary until
 * there are events after its position (or for up to {@link #WAIT_MS}), so events arrive as soon as every copy holds
 * them and an idle registration costs one read per partition per wait. A read that failed in a way reading again may
 * mend is sent again after {@link #READ_AGAIN_AFTER_NS}.
 * <p>
 * <b>Threading:</b> its own thread calls the listener; {@link #positions()} and {@link #close()} from any thread.
 */
final class MemberListener implements ListenerRegistration
{
    /** How long a partition's primary may hold its read while there is nothing new. */
    static final long WAIT_MS = 2_000;
    /** After a failed read (a timeout, the member stopping), before the partition is read again. */
    static final long READ_AGAIN_AFTER_NS = TimeUnit.MILLISECONDS.toNanos(50);
    /** Put on the queue by {@link #close()} to wake the thread. */
    private static final Answer WAKE_UP = new Answer(-1, null, null);

    private final JournalReader<?, ?> reader;
    private final JournalReader.Source source;
    /** Reads pages for the initial scan, or null for a registration without one. */
    private final ScanPages.PageSource initialPages;
    private final java.util.function.BooleanSupplier alive;
    private final Thread thread;
    private volatile boolean running = true;
    /** Answered reads, in the order they completed (on whatever thread completed them). */
    private final BlockingQueue<Answer> answers = new LinkedBlockingQueue<>();

    /** A partition's read, answered or failed. */
    private record Answer(int partition, ScanPages.Events events, Throwable failure)
    {
    }

    /**
     * Fix where the listener starts (throwing if the journals cannot be read) and start its thread.
     *
     * @param name   the cache's name, for the thread's.
     * @param alive  whether the member still runs (a closed member's registrations end).
     * @param initialPages reads pages for an initial scan ({@link JournalReader#initialScan}), or null for none.
     */
    MemberListener(final String name, final JournalReader<?, ?> reader, final JournalReader.Source source,
        final java.util.function.BooleanSupplier alive, final ScanPages.PageSource initialPages)
    {
        this.initialPages = initialPages;
        this.alive = alive;
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
        catch (final InterruptedException ex)
        {
            running = false;
            Thread.currentThread().interrupt();
        }
    }

    private void loop() throws InterruptedException
    {
        final long[] readAgainAtNs = new long[reader.partitions()];
        for (int p = 0; p < reader.partitions(); p++)
        {
            read(p);
        }
        while (running && alive.getAsBoolean())
        {
            final Answer answer = answers.poll(READ_AGAIN_AFTER_NS, TimeUnit.NANOSECONDS);
            if (answer != null && answer != WAKE_UP)
            {
                final int next = reader.answer(answer.partition(), answer.events(), answer.failure(), () -> running);
                if (next == JournalReader.STOP)
                {
                    return;
                }
                if (next == JournalReader.READ_LATER)
                {
                    readAgainAtNs[answer.partition()] = System.nanoTime() + READ_AGAIN_AFTER_NS;
                }
                else if (running)
                {
                    read(answer.partition());
                }
            }
            final long nowNs = System.nanoTime();
            for (int p = 0; p < readAgainAtNs.length && running; p++)
            {
                if (readAgainAtNs[p] != 0 && nowNs - readAgainAtNs[p] >= 0)
                {
                    readAgainAtNs[p] = 0;
                    read(p);
                }
            }
        }
    }

    private void read(final int partition)
    {
        source.read(partition, reader.request(partition, WAIT_MS))
            .whenComplete((events, failure) -> answers.add(new Answer(partition, events, failure)));
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
            answers.add(WAKE_UP);
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
