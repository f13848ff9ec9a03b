package dev.grid.sim.cluster;

/**
 * A write of a {@link ClusterScenario}'s client to one key: a put of a value or a remove, with when it was invoked
 * and when it completed, so that the final checks know which values a key may end with.
 * <p>
 * <b>Threading:</b> the simulation's thread only.
 */
final class KeyWrite
{
    final boolean put;
    final String value;
    final long invokedNs;
    long completedNs = Long.MAX_VALUE;
    boolean effective = true;

    KeyWrite(final boolean put, final String value, final long invokedNs)
    {
        this.put = put;
        this.value = value;
        this.invokedNs = invokedNs;
    }

    boolean isEffective()
    {
        return put || effective;
    }

    @Override
    public String toString()
    {
        return (put ? "put " + value : "remove") + " [" + invokedNs + ", " +
            (completedNs == Long.MAX_VALUE ? "?" : completedNs) + "]" + (put || effective ? "" : " no-op");
    }
}
