package dev.grid.sim;

import dev.grid.core.spi.RandomSource;
import dev.grid.core.spi.SeededRandomSource;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.IntToLongFunction;
import java.util.function.LongConsumer;

/**
 * The heart of the deterministic simulator: one thread, virtual time, and a queue of events ordered by
 * {@code (timeNs, sequence)}. Time moves only when the scheduler takes the next event. Every subsystem (network, disk,
 * workload, faults, each member) draws from its own fork of the seeded random source, so a new draw in one never
 * shifts another. After every event the registered invariants are checked; the first that fails stops the run with a
 * {@link SimulationException} naming the seed. A run's trace hash (SHA-256 over every event's time and label) is the
 * same for the same seed on every JVM: that is how determinism is asserted.
 * <p>
 * Not thread-safe, by design: everything in a simulation runs on the thread that calls {@link #runUntil}.
 */
public final class Simulation
{
    /** System property that selects one seed to run, e.g. {@code -Dgrid.sim.seed=0x1f2e}. */
    public static final String SEED_PROP_NAME = "grid.sim.seed";
    /** System property that sets how many seeds the seeded suites run. */
    public static final String SEEDS_PROP_NAME = "grid.sim.seeds";

    /** A check that must hold after every event. */
    @FunctionalInterface
    public interface Invariant
    {
        /**
         * @param nowNs the virtual time.
         * @throws AssertionError or any runtime exception describing the violation.
         */
        void check(long nowNs);
    }

    private static final class Event implements Comparable<Event>
    {
        final long timeNs;
        final long sequence;
        final String label;
        final Runnable action;

        Event(final long timeNs, final long sequence, final String label, final Runnable action)
        {
            this.timeNs = timeNs;
            this.sequence = sequence;
            this.label = label;
            this.action = action;
        }

        public int compareTo(final Event other)
        {
            final int byTime = Long.compare(timeNs, other.timeNs);
            return byTime != 0 ? byTime : Long.compare(sequence, other.sequence);
        }
    }

    private final long seed;
    private final RandomSource random;
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private final List<Invariant> invariants = new ArrayList<>();
    private final MessageDigest trace;
    private long nowNs;
    private long sequence;
    private long eventCount;
    private boolean traceEvents;

    /**
     * @param seed of the run.
     */
    public Simulation(final long seed)
    {
        this.seed = seed;
        this.random = new SeededRandomSource(seed);
        try
        {
            this.trace = MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException("SHA-256 is required by the Java platform", ex);
        }
    }

    /**
     * Run a seeded suite: {@code count} seeds, the i-th being {@code seedOf(i)}, from index {@code
     * -Dgrid.sim.firstSeed=N} (0 when not given, so a long soak can be split over processes), or only the seed given
     * with {@code -Dgrid.sim.seed}. The seeds run on {@code -Dgrid.sim.threads=N} threads (one per processor, at most
     * 4, when not given), each seed's simulation wholly on one of them: a simulation shares nothing with another, so a
     * seed runs exactly as it would alone and a failing one replays alone. A failing seed stops the suite (seeds
     * already under way finish) and the failure of the lowest index among those that failed is thrown, the others
     * suppressed in it; with {@code -Dgrid.sim.keepGoing=true} every seed runs (progress printed every 100) and the
     * suite fails at the end naming every failing one.
     *
     * @param run runs one seed; called from several threads at once, so what it adds up must be thread-safe. A
     *            {@link SimulationException} is a failing seed; any other throwable also stops the suite.
     * @return the number of seeds run.
     */
    public static int forEachSeed(final int count, final IntToLongFunction seedOf, final LongConsumer run)
    {
        // At most 4 by default: the test JVM's heap (512 MiB) is shared by the simulations running at once.
        return forEachSeed(Integer.getInteger("grid.sim.threads", Math.min(4, Runtime.getRuntime()
            .availableProcessors())), count, seedOf, run);
    }

    /**
     * {@link #forEachSeed(int, IntToLongFunction, LongConsumer)} on a given number of threads.
     *
     * @param threads how many threads run seeds (the caller's among them); at most {@code count} are used.
     * @return the number of seeds run.
     */
    public static int forEachSeed(final int threads, final int count, final IntToLongFunction seedOf,
        final LongConsumer run)
    {
        final Long only = seedFromSystemProperty();
        if (only != null)
        {
            run.accept(only);
            return 1;
        }
        final int first = Integer.getInteger("grid.sim.firstSeed", 0);
        final boolean keepGoing = Boolean.getBoolean("grid.sim.keepGoing");
        new SeedSuite(first, count, keepGoing, seedOf, run).run(threads);
        return count;
    }

    /**
     * The seed to run when one was given with {@code -Dgrid.sim.seed}, in hex ({@code 0x...}) or decimal.
     *
     * @return the seed, or null if none was given.
     */
    public static Long seedFromSystemProperty()
    {
        final String value = System.getProperty(SEED_PROP_NAME);
        if (value == null || value.isBlank())
        {
            return null;
        }
        final String trimmed = value.trim();
        return trimmed.startsWith("0x") || trimmed.startsWith("0X") ?
            Long.parseUnsignedLong(trimmed.substring(2), 16) : Long.parseLong(trimmed);
    }

    /**
     * @return the seed of this run.
     */
    public long seed()
    {
        return seed;
    }

    /**
     * A new random stream for one subsystem, forked from the run's seed in the order subsystems ask.
     *
     * @return the fork.
     */
    public RandomSource fork()
    {
        return random.fork();
    }

    /**
     * @return the current virtual time.
     */
    public long nowNs()
    {
        return nowNs;
    }

    /**
     * @return how many events ran.
     */
    public long eventCount()
    {
        return eventCount;
    }

    /**
     * @param traceEvents print one line per event to standard out.
     */
    public void traceEvents(final boolean traceEvents)
    {
        this.traceEvents = traceEvents;
    }

    /**
     * @param invariant to check after every event.
     */
    public void addInvariant(final Invariant invariant)
    {
        invariants.add(invariant);
    }

    /**
     * Schedule an action.
     *
     * @param delayNs from now, non-negative.
     * @param label   what the event is; part of the trace hash, so it must be deterministic.
     * @param action  to run.
     */
    public void schedule(final long delayNs, final String label, final Runnable action)
    {
        if (delayNs < 0)
        {
            throw new IllegalArgumentException("negative delay " + delayNs + " for " + label);
        }
        events.add(new Event(nowNs + delayNs, sequence++, label, action));
    }

    /**
     * Run events until virtual time passes {@code untilNs}, the queue empties, or {@code stopWhen} holds.
     *
     * @param untilNs  the virtual time to stop at.
     * @param stopWhen checked after each event; may be null.
     * @return true if {@code stopWhen} held, false otherwise.
     * @throws SimulationException if an event or an invariant fails.
     */
    public boolean runUntil(final long untilNs, final java.util.function.BooleanSupplier stopWhen)
    {
        while (!events.isEmpty() && events.peek().timeNs <= untilNs)
        {
            final Event event = events.poll();
            nowNs = event.timeNs;
            eventCount++;
            record(event);
            try
            {
                event.action.run();
                for (final Invariant invariant : invariants)
                {
                    invariant.check(nowNs);
                }
            }
            catch (final RuntimeException | AssertionError ex)
            {
                throw new SimulationException(seed, "at " + nowNs + " ns after event #" + eventCount + " '" +
                    event.label + "': " + ex.getMessage(), ex);
            }
            if (stopWhen != null && stopWhen.getAsBoolean())
            {
                return true;
            }
        }
        nowNs = Math.max(nowNs, untilNs);
        return false;
    }

    /**
     * Build the failure of an end-of-run check, naming the seed and the virtual time; the caller throws it.
     *
     * @param message what failed.
     * @return the exception to throw.
     */
    public SimulationException fail(final String message)
    {
        return new SimulationException(seed, "at " + nowNs + " ns: " + message, null);
    }

    /**
     * @return the hex SHA-256 of every event so far (time and label, in order).
     */
    public String traceHash()
    {
        try
        {
            return HexFormat.of().formatHex(((MessageDigest)trace.clone()).digest());
        }
        catch (final CloneNotSupportedException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    private void record(final Event event)
    {
        final String line = event.timeNs + " " + event.label;
        trace.update(line.getBytes(StandardCharsets.UTF_8));
        trace.update((byte)'\n');
        if (traceEvents)
        {
            System.out.println(line);
        }
    }
}
