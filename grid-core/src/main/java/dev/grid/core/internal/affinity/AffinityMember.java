package dev.grid.core.internal.affinity;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A member as the affinity function sees it: its stable identity and its attributes (rack, zone). Immutable.
 *
 * @param id         the member's stable identity; affinity is a function of it, never of list order.
 * @param attributes the member's attributes, e.g. {@code rack=r1}.
 */
public record AffinityMember(String id, Map<String, String> attributes)
{
    /**
     * @param id         the member's stable identity.
     * @param attributes the member's attributes.
     */
    public AffinityMember
    {
        Objects.requireNonNull(id, "id");
        attributes = Map.copyOf(attributes);
    }

    /**
     * A member without attributes.
     *
     * @param id the member's stable identity.
     * @return the member.
     */
    public static AffinityMember of(final String id)
    {
        return new AffinityMember(id, Map.of());
    }

    /**
     * A member with one attribute.
     *
     * @param id    the member's stable identity.
     * @param name  of the attribute.
     * @param value of the attribute.
     * @return the member.
     */
    public static AffinityMember of(final String id, final String name, final String value)
    {
        final Map<String, String> attributes = new TreeMap<>();
        attributes.put(name, value);
        return new AffinityMember(id, attributes);
    }
}
