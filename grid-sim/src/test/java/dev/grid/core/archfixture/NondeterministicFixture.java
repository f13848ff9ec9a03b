package dev.grid.core.archfixture;

import java.util.Random;

/**
 * Breaks every determinism rule on purpose, so ArchitectureTest can show its rule would catch real code that did.
 * Lives in test sources: never part of grid-core.
 */
public final class NondeterministicFixture
{
    long readsTheClock()
    {
        return System.nanoTime();
    }

    int drawsUnseededRandomness()
    {
        return new Random().nextInt();
    }

    void sleeps() throws InterruptedException
    {
        Thread.sleep(1);
    }
}
