package dev.grid.core;

import java.util.ArrayList;
import java.util.List;

/**
 * The baseline topology as a member sees it: the members that own data (affinity is computed over them, offline ones
 * included, so a baseline member that is away causes no data movement and catches up when it returns), which of them
 * run, and the auto-adjust setting. Not set (no members): every running member owns data and every membership
 * change moves it. Immutable.
 *
 * @param members             the baseline's member ids, ascending; empty when not set.
 * @param running             the ids of the members of the cluster now, ascending (baseline or not).
 * @param autoAdjustTimeoutNs how long membership must differ from the baseline before the coordinator sets it to the
 *                            running members; negative when auto-adjust is off.
 * @param topologyVersion     the topology version this view was taken at.
 */
public record BaselineTopology(List<String> members, List<String> running, long autoAdjustTimeoutNs,
    long topologyVersion)
{
    /** Canonical constructor: copies the lists. */
    public BaselineTopology
    {
        members = List.copyOf(members);
        running = List.copyOf(running);
    }

    /**
     * @return whether a baseline is set.
     */
    public boolean isSet()
    {
        return !members.isEmpty();
    }

    /**
     * @return the baseline members that are not running, ascending.
     */
    public List<String> offline()
    {
        final List<String> offline = new ArrayList<>(members);
        offline.removeAll(running);
        return offline;
    }

    /**
     * @return the running members outside the baseline (they own no data), ascending; empty when no baseline is set.
     */
    public List<String> outside()
    {
        if (!isSet())
        {
            return List.of();
        }
        final List<String> outside = new ArrayList<>(running);
        outside.removeAll(members);
        return outside;
    }
}
