package dev.grid.core.internal.cluster;

/**
 * A planted reach into a component's field and the engine class, for ArchitectureTest (grid-sim): never production
 * code, and nothing calls it.
 */
final class ReachesIntoAComponent
{
    private ReachesIntoAComponent()
    {
    }

    static long reach(final MemberEngine engine)
    {
        return engine.context().checkpointer().nextCheckpointNs;
    }
}
