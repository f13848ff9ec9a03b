package dev.grid.core.archfixture.cycle.left;

import dev.grid.core.archfixture.cycle.right.Right;

/** A planted package cycle (left uses right, right uses left) for ArchitectureTest: never production code. */
public final class Left
{
    /**
     * @return a right.
     */
    public Right right()
    {
        return new Right();
    }
}
