package dev.grid.sim.cluster;

import dev.grid.core.spi.RandomSource;
import dev.grid.core.spi.WallClock;

import java.util.Arrays;

/**
 * The members' monotonic clocks. With {@link ClusterScenario.Options#clockSkew}, every start of a member process (a new
 * JVM, or a machine that rebooted) reads a clock of its own: its origin is its own, as {@code System.nanoTime}'s is
 * (on Linux the time since the machine booted; here anywhere within 2^60 ns either side of 0, since its contract allows
 * negative readings), so two members' readings, or a reading persisted by one process and compared by the next, mean
 * nothing together; and it runs up to {@value #MAX_DRIFT} faster or slower than the simulation's time, far more than
 * clocks kept by NTP drift, so that the quorum lease (failure detection less one heartbeat) is tried against drift.
 * Without the option every member reads the simulation's time, and nothing is drawn from the random stream.
 * <p>
 * <b>Threading:</b> the simulation's thread only.
 */
final class MemberClocks
{
    /** The largest relative difference between a member's clock rate and the simulation's. */
    static final double MAX_DRIFT = 0.005;

    /** Null without skew. */
    private final RandomSource random;
    private final long[] originNs;
    private final double[] rate;

    /**
     * @param random the clocks' own random stream, or null for clocks that all read the simulation's time.
     * @param slots  how many member slots there are.
     */
    MemberClocks(final RandomSource random, final int slots)
    {
        this.random = random;
        this.originNs = new long[slots];
        this.rate = new double[slots];
        Arrays.fill(rate, 1.0);
    }

    /** A member process starts in the slot: its clock is a new one. */
    void started(final int slot)
    {
        if (random != null)
        {
            originNs[slot] = random.nextLong(-(1L << 60), 1L << 60);
            rate[slot] = 1 + (2 * random.nextDouble() - 1) * MAX_DRIFT;
        }
    }

    /** @return what the clock of the member in the slot reads at the simulation's time {@code simNs}. */
    long nowNs(final int slot, final long simNs)
    {
        return random == null ? simNs : originNs[slot] + (long)(simNs * rate[slot]);
    }

    /**
     * @return the member's wall clock: {@code base} (which reads the simulation's time, perhaps skewed) given the
     *         simulation's time back from the member's own clock's reading.
     */
    WallClock wallClock(final int slot, final WallClock base)
    {
        if (random == null)
        {
            return base;
        }
        final long origin = originNs[slot];
        final double speed = rate[slot];
        return ns -> base.epochMs((long)((ns - origin) / speed));
    }
}
