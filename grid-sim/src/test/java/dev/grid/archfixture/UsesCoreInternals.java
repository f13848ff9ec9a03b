package dev.grid.archfixture;

import dev.grid.core.internal.partition.CounterRange;

/** A planted use of grid-core's internals from outside grid-core, for ArchitectureTest: never production code. */
public final class UsesCoreInternals
{
    /**
     * @return an internal type, in a public signature.
     */
    public CounterRange range()
    {
        return new CounterRange(1, 1);
    }
}
