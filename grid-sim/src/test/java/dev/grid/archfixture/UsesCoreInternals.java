package dev.grid.archfixture;

import dev.grid.core.internal.cluster.MemberState;

/** A planted use of grid-core's internals from outside grid-core, for ArchitectureTest: never production code. */
public final class UsesCoreInternals
{
    /**
     * @return an internal type, in a public signature.
     */
    public MemberState state()
    {
        return MemberState.values()[0];
    }
}
