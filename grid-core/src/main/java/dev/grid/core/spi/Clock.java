package dev.grid.core.spi;

/**
 * The only source of time for protocol code. Monotonic within one member incarnation; members' clocks are not
 * synchronised and may be skewed (the simulator skews them on purpose). Components are usually handed {@code nowNs}
 * by their duty cycle and need not hold a clock at all.
 */
@FunctionalInterface
public interface Clock
{
    /**
     * The current time of this member.
     *
     * @return nanoseconds from an arbitrary origin; never decreases.
     */
    long nanoTime();
}
