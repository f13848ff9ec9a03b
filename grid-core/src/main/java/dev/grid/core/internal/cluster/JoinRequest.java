package dev.grid.core.internal.cluster;

import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.JoinRequestDecoder;
import dev.grid.core.codec.messages.JoinRequestEncoder;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
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
    static final int CACHES_MAX = MemberMessages.GROUP_MAX;

    /** Write this request as a {@code JoinRequest} message into the engine's writer. */
    void encode(final MemberMessages messages, final long sender, final JoinRequestEncoder out)
    {
        final List<byte[]> descriptors = new ArrayList<>(caches.size());
        caches.forEach(c -> descriptors.add(StateBodies.encode(c)));
        final byte[] joinerBody = StateBodies.encode(joiner);
        messages.encode(out, sender, 0).ownershipStamp(ownershipStamp).hasVia((short)(via == null ? 0 : 1));
        final JoinRequestEncoder.CachesEncoder group = out.cachesCount(descriptors.size());
        descriptors.forEach(d -> group.next().putDescriptor(d, 0, d.length));
        messages.finish(out.clusterName(clusterName).putJoiner(joinerBody, 0, joinerBody.length)
            .via(via == null ? "" : via));
    }

    /** Read the {@code JoinRequest} message being handled. */
    static JoinRequest decode(final MemberMessages messages, final JoinRequestDecoder decoder)
    {
        final JoinRequestDecoder in = messages.decode(decoder);
        final long stamp = in.ownershipStamp();
        final boolean hasVia = in.hasVia() != 0;
        final List<CacheDescriptor> caches = new ArrayList<>();
        for (final JoinRequestDecoder.CachesDecoder cache : in.caches())
        {
            final byte[] body = MemberMessages.bytes(in, cache.descriptorLength(), "joiner.cache");
            cache.getDescriptor(body, 0, body.length);
            caches.add(StateBodies.decodeCache(body));
        }
        if (caches.size() > CACHES_MAX)
        {
            throw new MalformedMessageException("join request with " + caches.size() + " caches");
        }
        final byte[] name = MemberMessages.bytes(in, in.clusterNameLength(), "clusterName");
        in.getClusterName(name, 0, name.length);
        final byte[] joiner = MemberMessages.bytes(in, in.joinerLength(), "joiner");
        in.getJoiner(joiner, 0, joiner.length);
        final byte[] via = MemberMessages.bytes(in, in.viaLength(), "joiner.via");
        in.getVia(via, 0, via.length);
        return new JoinRequest(MemberMessages.text(name), StateBodies.decodeMember(joiner), stamp, caches,
            hasVia ? MemberMessages.text(via) : null);
    }
}
