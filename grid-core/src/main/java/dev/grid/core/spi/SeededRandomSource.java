package dev.grid.core.spi;

import java.util.SplittableRandom;

/**
 * {@link RandomSource} over {@link SplittableRandom} with an explicit seed: the same seed gives the same draws on every
 * JVM. Not thread-safe.
 */
public final class SeededRandomSource implements RandomSource
{
    private final SplittableRandom random;

    /**
     * @param seed of the stream.
     */
    public SeededRandomSource(final long seed)
    {
        this.random = new SplittableRandom(seed);
    }

    public long nextLong()
    {
        return random.nextLong();
    }

    public int nextInt(final int bound)
    {
        return random.nextInt(bound);
    }

    public long nextLong(final long origin, final long bound)
    {
        return random.nextLong(origin, bound);
    }

    public double nextDouble()
    {
        return random.nextDouble();
    }

    public RandomSource fork()
    {
        return new SeededRandomSource(random.nextLong());
    }
}
