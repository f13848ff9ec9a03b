package dev.grid.core.archfixture.cycle.right;

import dev.grid.core.archfixture.cycle.left.Left;

/** The other half of the planted package cycle of {@link Left}. */
public final class Right
{
    /**
     * @return a left.
     */
    public Left left()
    {
        return new Left();
    }
}
