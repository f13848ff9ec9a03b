package dev.grid.core.spi;

/**
 * The wall clock of a member, for what must mean the same across restarts and members: entries' expiry times (epoch
 * milliseconds, stored with the entry). Protocol code measures intervals with the monotonic time its duty cycle is
 * given; it asks this only to turn that time into a wall-clock instant, so the simulator's skewed clocks skew it too.
 * A member process reads the system's wall clock once at its start and follows its monotonic time from there, so a
 * wall-clock jump while it runs does not make entries expire early or late.
 */
@FunctionalInterface
public interface WallClock
{
    /**
     * @param nowNs the member's monotonic time, as its duty cycle was given it.
     * @return the wall-clock instant it is, in epoch milliseconds.
     */
    long epochMs(long nowNs);

    /** A clock that reads the monotonic time as epoch time: for simulations, whose time starts at 0. */
    WallClock MONOTONIC = ns -> Math.floorDiv(ns, 1_000_000L);
}
