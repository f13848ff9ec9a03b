package dev.grid.core.internal.cluster;

import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.MessageTypes;

import java.util.ArrayList;
import java.util.List;

/**
 * The body of a {@link MessageTypes#JOIN_REQUEST}: who asks to join which cluster, and what its data directory holds
 * (the stamp of its ownership table and the caches its WAL knows), so that a cluster that started afresh while it was
 * away can adopt them. A member that is not the coordinator forwards it unchanged.
 *
 * @param clusterName    the cluster the joiner belongs to.
 * @param joiner         the joiner's record (its incarnation, id, address and attributes).
 * @param ownershipStamp the stamp of the joiner's durable ownership table.
 * @param caches         the caches the joiner's WAL knows.
 * @param via            the active member the joiner joins through, or null.
 */
record JoinRequest(String clusterName, MemberRecord joiner, long ownershipStamp, List<CacheDescriptor> caches,
    String via)
{
    /** Caches a joiner may bring at most. */
    static final int CACHES_MAX = 1 << 16;

    void encode(final MessageWriter writer)
    {
        writer.writeLong(joiner.incarnation()).writeString(clusterName);
        joiner.encode(writer);
        writer.writeLong(ownershipStamp).writeInt(caches.size());
        for (final CacheDescriptor cache : caches)
        {
            cache.encode(writer);
        }
        writer.writeString(via);
    }

    static JoinRequest decode(final MessageReader reader)
    {
        final long joinerIncarnation = reader.readLong("joiner.incarnation");
        final String clusterName = reader.readString("clusterName");
        final MemberRecord joiner = MemberRecord.decode(reader);
        if (joiner.incarnation() != joinerIncarnation)
        {
            throw new MalformedMessageException("join request incarnation mismatch");
        }
        final long stamp = reader.readLong("joiner.ownershipStamp");
        final int count = reader.readInt("joiner.caches", 0, CACHES_MAX);
        final List<CacheDescriptor> caches = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            caches.add(CacheDescriptor.decode(reader));
        }
        return new JoinRequest(clusterName, joiner, stamp, caches, reader.readString("joiner.via"));
    }
}
