package dev.grid.core.spi;

/**
 * The only source of randomness for protocol code. Seeded, so a run replays exactly; {@link #fork()} gives a
 * subsystem its own stream so that its draws never shift another subsystem's.
 * <p>
 * Not thread-safe: each single-threaded component owns its source.
 */
public interface RandomSource
{
    /**
     * @return a uniformly distributed long.
     */
    long nextLong();

    /**
     * @param bound exclusive upper bound, positive.
     * @return a uniformly distributed int in {@code [0, bound)}.
     */
    int nextInt(int bound);

    /**
     * @param origin inclusive lower bound.
     * @param bound  exclusive upper bound, greater than origin.
     * @return a uniformly distributed long in {@code [origin, bound)}.
     */
    long nextLong(long origin, long bound);

    /**
     * @return a uniformly distributed double in {@code [0, 1)}.
     */
    double nextDouble();

    /**
     * @param probability of true, in [0, 1].
     * @return true with the given probability.
     */
    default boolean chance(final double probability)
    {
        return nextDouble() < probability;
    }

    /**
     * A new independent source seeded from this one.
     *
     * @return the fork.
     */
    RandomSource fork();
}
