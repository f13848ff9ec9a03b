package dev.grid.core.engine;

import java.util.Map;
import java.util.TreeMap;

/**
 * One member incarnation as the topology lists it. A restarted member keeps its id and address but has a new
 * incarnation, so it is recognised as a new member and nothing from its previous life is trusted. Immutable.
 *
 * @param memberId    configured identity.
 * @param incarnation random per start, never 0.
 * @param address     where its transport listens, host:port.
 * @param attributes  member attributes (for the affinity's rack filter).
 */
public record MemberRecord(String memberId, long incarnation, String address, Map<String, String> attributes)
{
    /** Canonical constructor: copies attributes into a sorted immutable map. */
    public MemberRecord
    {
        attributes = Map.copyOf(new TreeMap<>(attributes));
    }

    @Override
    public String toString()
    {
        return memberId + "@" + address + "#" + Long.toHexString(incarnation);
    }
}
