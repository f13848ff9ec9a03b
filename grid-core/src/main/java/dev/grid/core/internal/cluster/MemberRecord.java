package dev.grid.core.internal.cluster;

import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;

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

    static void encodeAttributes(final MessageWriter writer, final Map<String, String> attributes)
    {
        writer.writeInt(attributes.size());
        for (final Map.Entry<String, String> e : new TreeMap<>(attributes).entrySet())
        {
            writer.writeString(e.getKey()).writeString(e.getValue());
        }
    }

    static Map<String, String> decodeAttributes(final MessageReader reader)
    {
        final int count = reader.readInt("member.attributes", 0, 1024);
        final Map<String, String> attributes = new TreeMap<>();
        for (int i = 0; i < count; i++)
        {
            attributes.put(CacheDescriptor.nonNull(reader.readString("attribute.name"), "attribute.name"),
                CacheDescriptor.nonNull(reader.readString("attribute.value"), "attribute.value"));
        }
        return attributes;
    }

    @Override
    public String toString()
    {
        return memberId + "@" + address + "#" + Long.toHexString(incarnation);
    }
}
