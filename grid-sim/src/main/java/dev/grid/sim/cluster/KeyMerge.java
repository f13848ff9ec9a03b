package dev.grid.sim.cluster;

/**
 * A merge of a {@link ClusterScenario}'s client: its unique token, and whether it was acknowledged, so that the final
 * checks find every acknowledged merge applied exactly once.
 * <p>
 * <b>Threading:</b> the simulation's thread only.
 */
final class KeyMerge
{
    final String token;
    boolean acknowledged;

    KeyMerge(final String token)
    {
        this.token = token;
    }
}
