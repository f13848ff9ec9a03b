package dev.grid.core.client;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * What a listener registration's thread runs, for an embedded member and the thin client alike: the initial scan if
 * asked for, then one read in flight per partition, each asking the partition's primary to hold it up to
 * {@link #WAIT_MS} while there is nothing new. Each answer, in the order they complete, goes to
 * {@link JournalReader#answer}, and the partition is read again at once, or after {@link #READ_AGAIN_AFTER_NS} if the
 * read failed in a way reading again may mend. So events arrive as soon as every copy holds them, and an idle
 * registration costs one read per partition per wait.
 * <p>
 * <b>Threading:</b> {@link #run()} on the registration's thread (which calls the listener); {@link #wake()} from any
 * thread; reads complete on whatever thread completes them. The clock is given (grid-core reads none of its own).
 */
public final class JournalPump
{
    /** How long a partition's primary may hold its read while there is nothing new. */
    public static final long WAIT_MS = 2_000;
    /** After a failed read (a timeout, the member stopping), before the partition is read again. */
    public static final long READ_AGAIN_AFTER_NS = TimeUnit.MILLISECONDS.toNanos(50);
    /** Put on the queue by {@link #wake()}. */
    private static final Answer WAKE_UP = new Answer(-1, null, null);

    private final JournalReader<?, ?> reader;
    private final JournalReader.Source source;
    private final ScanPages.PageSource initialPages;
    private final LongSupplier nanoClock;
    private final BooleanSupplier running;
    /** Answered reads, in the order they completed. */
    private final BlockingQueue<Answer> answers = new LinkedBlockingQueue<>();

    /** A partition's read, answered or failed. */
    private record Answer(int partition, ScanPages.Events events, Throwable failure)
    {
    }

    /**
     * @param reader       the registration's positions and listener ({@link JournalReader#start} already called).
     * @param source       reads a partition's journal.
     * @param initialPages reads pages for an initial scan ({@link JournalReader#initialScan}), or null for none.
     * @param nanoClock    a monotonic clock in nanoseconds.
     * @param running      whether to go on (false once the registration closes or its member stops).
     */
    public JournalPump(final JournalReader<?, ?> reader, final JournalReader.Source source,
        final ScanPages.PageSource initialPages, final LongSupplier nanoClock, final BooleanSupplier running)
    {
        this.reader = reader;
        this.source = source;
        this.initialPages = initialPages;
        this.nanoClock = nanoClock;
        this.running = running;
    }

    /**
     * Run until {@code running} turns false or the registration must stop (the listener was told). A listener's or
     * codec's exception ends it too: the host catches it and calls {@link JournalReader#failed}.
     *
     * @throws InterruptedException if the thread is interrupted while it waits.
     */
    public void run() throws InterruptedException
    {
        if (initialPages != null)
        {
            reader.initialScan(initialPages, running);
        }
        final long[] readAgainAtNs = new long[reader.partitions()];
        for (int p = 0; p < reader.partitions() && running.getAsBoolean(); p++)
        {
            read(p);
        }
        while (running.getAsBoolean())
        {
            final Answer answer = answers.poll(READ_AGAIN_AFTER_NS, TimeUnit.NANOSECONDS);
            if (answer != null && answer != WAKE_UP)
            {
                final int next = reader.answer(answer.partition(), answer.events(), answer.failure(), running);
                if (next == JournalReader.STOP)
                {
                    return;
                }
                if (next == JournalReader.READ_LATER)
                {
                    readAgainAtNs[answer.partition()] = nanoClock.getAsLong() + READ_AGAIN_AFTER_NS;
                }
                else if (running.getAsBoolean())
                {
                    read(answer.partition());
                }
            }
            final long nowNs = nanoClock.getAsLong();
            for (int p = 0; p < readAgainAtNs.length && running.getAsBoolean(); p++)
            {
                if (readAgainAtNs[p] != 0 && nowNs - readAgainAtNs[p] >= 0)
                {
                    readAgainAtNs[p] = 0;
                    read(p);
                }
            }
        }
    }

    /** Wake {@link #run()} to see that it must stop. */
    public void wake()
    {
        answers.add(WAKE_UP);
    }

    private void read(final int partition)
    {
        source.read(partition, reader.request(partition, WAIT_MS))
            .whenComplete((events, failure) -> answers.add(new Answer(partition, events, failure)));
    }
}
