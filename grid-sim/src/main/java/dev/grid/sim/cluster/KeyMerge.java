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

    /** The "concat" merge operator of the scenario's cache: the operand appended to the current value. */
    static byte[] concat(final byte[] key, final byte[] current, final byte[] operand)
    {
        if (current == null)
        {
            return operand;
        }
        final byte[] merged = new byte[current.length + operand.length];
        System.arraycopy(current, 0, merged, 0, current.length);
        System.arraycopy(operand, 0, merged, current.length, operand.length);
        return merged;
    }
}
