package dev.grid.sim;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntToLongFunction;
import java.util.function.LongConsumer;

/**
 * The seeds of one seeded suite, handed out by index to the threads of {@link Simulation#forEachSeed}: each thread
 * takes the next index not yet taken and runs that seed's whole simulation, so no simulation is ever touched by two
 * threads. Failures are kept by index, so the suite reports the same failing seed whichever thread ran it first.
 * <p>
 * <b>Threading:</b> {@link #run} from one thread, which runs seeds itself beside the threads it starts and joins.
 */
final class SeedSuite
{
    private final int first;
    private final int count;
    private final boolean keepGoing;
    private final IntToLongFunction seedOf;
    private final LongConsumer run;
    private final AtomicInteger next = new AtomicInteger();
    /** Failing seeds by index; guarded by itself. */
    private final Map<Integer, Throwable> failures = new TreeMap<>();
    private volatile boolean stopped;

    SeedSuite(final int first, final int count, final boolean keepGoing, final IntToLongFunction seedOf,
        final LongConsumer run)
    {
        this.first = first;
        this.count = count;
        this.keepGoing = keepGoing;
        this.seedOf = seedOf;
        this.run = run;
    }

    /**
     * Run the suite's seeds on {@code threads} threads (the caller's among them) and return once they are all done.
     *
     * @throws SimulationException or any other failure of the lowest failing index; with keepGoing, an
     *                             {@link AssertionError} naming every failing seed.
     */
    void run(final int threads)
    {
        final Thread[] workers = new Thread[Math.max(0, Math.min(count, threads) - 1)];
        for (int i = 0; i < workers.length; i++)
        {
            workers[i] = new Thread(this::runSeeds, "sim-seeds-" + (i + 1));
            workers[i].start();
        }
        runSeeds();
        for (final Thread worker : workers)
        {
            try
            {
                worker.join();
            }
            catch (final InterruptedException ex)
            {
                stopped = true;
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while seeds ran", ex);
            }
        }
        throwFailures();
    }

    /** Run seeds until none is left or one failed (unless every seed is to run). */
    private void runSeeds()
    {
        while (!stopped)
        {
            final int offset = next.getAndIncrement();
            if (offset >= count)
            {
                return;
            }
            final int index = first + offset;
            if (keepGoing && offset % 100 == 0)
            {
                System.out.println("seed index " + index + ", " + failureCount() + " failed so far");
            }
            try
            {
                run.accept(seedOf.applyAsLong(index));
            }
            catch (final SimulationException ex)
            {
                fail(index, ex);
                if (keepGoing)
                {
                    System.out.println("FAILED index " + index + ": " + ex.getMessage());
                }
            }
            catch (final RuntimeException | Error ex)
            {
                // Not a seed's failure but the harness's or the test's: stop whatever keepGoing says.
                fail(index, ex);
                stopped = true;
            }
        }
    }

    private void throwFailures()
    {
        synchronized (failures)
        {
            if (failures.isEmpty())
            {
                return;
            }
            final Map.Entry<Integer, Throwable> lowest = failures.entrySet().iterator().next();
            if (!keepGoing || !(lowest.getValue() instanceof SimulationException))
            {
                // The lowest index's failure, the others (seeds that were under way, or a harness error) with it.
                final Throwable failure = lowest.getValue();
                failures.values().stream().filter(other -> other != failure).forEach(failure::addSuppressed);
                if (failure instanceof RuntimeException runtime)
                {
                    throw runtime;
                }
                throw (Error)failure;
            }
            final StringBuilder names = new StringBuilder();
            failures.forEach((index, failure) -> names.append(names.length() == 0 ? "" : "\n").append("index ")
                .append(index).append(": ").append(failure.getMessage()));
            final AssertionError all = new AssertionError(failures.size() + " of " + count + " seeds failed:\n" +
                names);
            failures.values().forEach(all::addSuppressed);
            throw all;
        }
    }

    private void fail(final int index, final Throwable failure)
    {
        synchronized (failures)
        {
            failures.put(index, failure);
        }
        if (!keepGoing)
        {
            stopped = true;
        }
    }

    private int failureCount()
    {
        synchronized (failures)
        {
            return failures.size();
        }
    }
}
