package dev.grid.core.internal.cluster;

import dev.grid.core.CacheConfiguration;
import dev.grid.core.EvictionPolicy;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.QuorumReadPolicy;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.BaselineBodyDecoder;
import dev.grid.core.codec.messages.BaselineBodyEncoder;
import dev.grid.core.codec.messages.CacheDescriptorBodyDecoder;
import dev.grid.core.codec.messages.CacheDescriptorBodyEncoder;
import dev.grid.core.codec.messages.MemberRecordBodyDecoder;
import dev.grid.core.codec.messages.MemberRecordBodyEncoder;
import dev.grid.core.codec.messages.TopologyBodyDecoder;
import dev.grid.core.codec.messages.TopologyBodyEncoder;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.Topology;
import org.agrona.sbe.MessageFlyweight;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The bodies of the member schema ({@code MemberRecordBody}, {@code CacheDescriptorBody}, {@code BaselineBody},
 * {@code TopologyBody}): the cluster's state structures as messages carry them, each with its own header and version.
 * Decoding refuses what cannot be trusted with {@link MalformedMessageException}, as the hand-written decoders did.
 *
 * <p><b>Threading:</b> any; stateless (each call uses flyweights of its own).
 */
final class StateBodies
{
    private static final int MEMBERS_MAX = MemberMessages.GROUP_MAX;
    private static final int ATTRIBUTES_MAX = 1024;

    private StateBodies()
    {
    }

    static byte[] encode(final MemberRecord member)
    {
        final MemberRecordBodyEncoder out = MemberMessages.startBody(new MemberRecordBodyEncoder())
            .incarnation(member.incarnation());
        final Map<String, String> attributes = new TreeMap<>(member.attributes());
        final MemberRecordBodyEncoder.AttributesEncoder group = out.attributesCount(attributes.size());
        attributes.forEach((name, value) -> group.next().name(name).value(value));
        return MemberMessages.finishBody(out.memberId(member.memberId()).address(member.address()));
    }

    static MemberRecord decodeMember(final byte[] body)
    {
        final MemberRecordBodyDecoder in = MemberMessages.decodeBody(body, new MemberRecordBodyDecoder());
        final long incarnation = in.incarnation();
        final MemberRecordBodyDecoder.AttributesDecoder group = in.attributes();
        final Map<String, String> attributes = new TreeMap<>();
        while (group.hasNext())
        {
            group.next();
            final String name = text(in, group.nameLength(), "attribute.name", group::getName);
            attributes.put(name, text(in, group.valueLength(), "attribute.value", group::getValue));
        }
        if (attributes.size() > ATTRIBUTES_MAX)
        {
            throw new MalformedMessageException("member with " + attributes.size() + " attributes");
        }
        final String memberId = text(in, in.memberIdLength(), "member.id", in::getMemberId);
        final String address = text(in, in.addressLength(), "member.address", in::getAddress);
        return new MemberRecord(memberId, incarnation, address, attributes);
    }

    static byte[] encode(final CacheDescriptor cache)
    {
        return MemberMessages.finishBody(MemberMessages.startBody(new CacheDescriptorBodyEncoder())
            .cacheId(cache.cacheId()).partitions(cache.partitions()).backups(cache.backups())
            .operationTimeoutNs(cache.operationTimeoutNs()).creatorIncarnation(cache.creatorIncarnation())
            .creatorSequence(cache.creatorSequence()).lossPolicy((short)cache.lossPolicy().ordinal())
            .readPolicy((short)cache.readsWithoutQuorum().ordinal()).lostResets(cache.lostResets())
            .hasBackupFilterAttribute(MemberMessages.flag(cache.backupFilterAttribute() != null))
            .hasMergeOperator(MemberMessages.flag(cache.mergeOperator() != null))
            .expiryKind((short)(cache.expiry() == null ? 0 : cache.expiry().kind().ordinal() + 1))
            .expiryDurationMs(cache.expiry() == null ? 0 : cache.expiry().durationMs())
            .evictionKind((short)(cache.eviction() == null ? 0 : cache.eviction().kind().ordinal() + 1))
            .evictionMaxEntries(cache.eviction() == null ? 0 : cache.eviction().maxEntries())
            .evictionMaxBytes(cache.eviction() == null ? 0 : cache.eviction().maxBytes())
            .journalCapacity(cache.journalCapacity())
            .name(cache.name()).keyCodec(cache.keyCodec()).valueCodec(cache.valueCodec())
            .backupFilterAttribute(orEmpty(cache.backupFilterAttribute()))
            .mergeOperator(orEmpty(cache.mergeOperator())));
    }

    static CacheDescriptor decodeCache(final byte[] body)
    {
        final CacheDescriptorBodyDecoder in = MemberMessages.decodeBody(body, new CacheDescriptorBodyDecoder());
        final int cacheId = in.cacheId();
        final int partitions = in.partitions();
        final int backups = in.backups();
        final long operationTimeoutNs = in.operationTimeoutNs();
        final long creatorIncarnation = in.creatorIncarnation();
        final long creatorSequence = in.creatorSequence();
        final short lossPolicy = in.lossPolicy();
        final short readPolicy = in.readPolicy();
        final int lostResets = in.lostResets();
        final boolean hasBackupFilterAttribute = in.hasBackupFilterAttribute() != 0;
        final boolean hasMergeOperator = in.hasMergeOperator() != 0;
        final ExpiryPolicy expiry = expiry(cacheId, in.expiryKind(), in.expiryDurationMs());
        final EvictionPolicy eviction = eviction(cacheId, in.evictionKind(), in.evictionMaxEntries(),
            in.evictionMaxBytes());
        final int journalCapacity = in.journalCapacity();
        if (journalCapacity < 0 || journalCapacity > CacheConfiguration.JOURNAL_CAPACITY_MAX)
        {
            throw new MalformedMessageException("cache id " + cacheId + " with a journal of " + journalCapacity);
        }
        if (partitions < 1 || partitions > CacheConfiguration.PARTITIONS_MAX || backups < 0 ||
            backups > CacheConfiguration.BACKUPS_MAX || lostResets < 0)
        {
            throw new MalformedMessageException("cache id " + cacheId + " with " + partitions + " partitions, " +
                backups + " backups, " + lostResets + " resets");
        }
        final String name = text(in, in.nameLength(), "cache.name", in::getName);
        final String keyCodec = text(in, in.keyCodecLength(), "cache.keyCodec", in::getKeyCodec);
        final String valueCodec = text(in, in.valueCodecLength(), "cache.valueCodec", in::getValueCodec);
        final String backupFilterAttribute = text(in, in.backupFilterAttributeLength(), "cache.backupFilterAttribute",
            in::getBackupFilterAttribute);
        final String mergeOperator = text(in, in.mergeOperatorLength(), "cache.mergeOperator", in::getMergeOperator);
        return new CacheDescriptor(cacheId, name, partitions, backups, keyCodec, valueCodec,
            hasBackupFilterAttribute ? backupFilterAttribute : null, operationTimeoutNs,
            hasMergeOperator ? mergeOperator : null, creatorIncarnation, creatorSequence,
            lossPolicy(lossPolicy), lostResets, readPolicy(readPolicy), expiry, eviction, journalCapacity);
    }

    private static EvictionPolicy eviction(final int cacheId, final short kind, final long maxEntries,
        final long maxBytes)
    {
        if (kind == 0)
        {
            return null;
        }
        if (kind > EvictionPolicy.Kind.values().length)
        {
            throw new MalformedMessageException("cache id " + cacheId + " with eviction kind " + kind);
        }
        try
        {
            return new EvictionPolicy(EvictionPolicy.Kind.values()[kind - 1], maxEntries, maxBytes);
        }
        catch (final InvalidConfigurationException ex)
        {
            throw new MalformedMessageException("cache id " + cacheId + ": " + ex.getMessage());
        }
    }

    private static ExpiryPolicy expiry(final int cacheId, final short kind, final long durationMs)
    {
        if (kind == 0)
        {
            return null;
        }
        if (kind > ExpiryPolicy.Kind.values().length)
        {
            throw new MalformedMessageException("cache id " + cacheId + " with expiry kind " + kind);
        }
        try
        {
            return new ExpiryPolicy(ExpiryPolicy.Kind.values()[kind - 1], durationMs);
        }
        catch (final InvalidConfigurationException ex)
        {
            throw new MalformedMessageException("cache id " + cacheId + ": " + ex.getMessage());
        }
    }

    static byte[] encode(final Baseline baseline)
    {
        final BaselineBodyEncoder out = MemberMessages.startBody(new BaselineBodyEncoder())
            .autoAdjustTimeoutNs(baseline.autoAdjustTimeoutNs());
        final BaselineBodyEncoder.MembersEncoder members = out.membersCount(baseline.members().size());
        for (final Baseline.Member member : baseline.members())
        {
            members.next();
            final Map<String, String> attributes = new TreeMap<>(member.attributes());
            final BaselineBodyEncoder.MembersEncoder.AttributesEncoder group =
                members.attributesCount(attributes.size());
            attributes.forEach((name, value) -> group.next().name(name).value(value));
            members.memberId(member.memberId());
        }
        return MemberMessages.finishBody(out);
    }

    static Baseline decodeBaseline(final byte[] body)
    {
        final BaselineBodyDecoder in = MemberMessages.decodeBody(body, new BaselineBodyDecoder());
        final long autoAdjustTimeoutNs = in.autoAdjustTimeoutNs();
        final List<Baseline.Member> members = new ArrayList<>();
        for (final BaselineBodyDecoder.MembersDecoder member : in.members())
        {
            final Map<String, String> attributes = new TreeMap<>();
            for (final BaselineBodyDecoder.MembersDecoder.AttributesDecoder attribute : member.attributes())
            {
                final String name = text(in, attribute.nameLength(), "attribute.name", attribute::getName);
                attributes.put(name, text(in, attribute.valueLength(), "attribute.value", attribute::getValue));
            }
            members.add(new Baseline.Member(text(in, member.memberIdLength(), "baseline.memberId",
                member::getMemberId), attributes));
        }
        return new Baseline(members, autoAdjustTimeoutNs);
    }

    static byte[] encode(final Topology topology)
    {
        final List<byte[]> members = new ArrayList<>(topology.members().size());
        topology.members().forEach(m -> members.add(encode(m)));
        final List<byte[]> caches = new ArrayList<>(topology.caches().size());
        topology.caches().forEach(c -> caches.add(encode(c)));
        final byte[] baseline = encode(topology.baseline());
        final TopologyBodyEncoder out = MemberMessages.startBody(new TopologyBodyEncoder())
            .version(topology.version()).nextCacheId(topology.nextCacheId());
        final TopologyBodyEncoder.MembersEncoder memberGroup = out.membersCount(members.size());
        members.forEach(m -> memberGroup.next().putRecord(m, 0, m.length));
        final TopologyBodyEncoder.CachesEncoder cacheGroup = out.cachesCount(caches.size());
        caches.forEach(c -> cacheGroup.next().putDescriptor(c, 0, c.length));
        return MemberMessages.finishBody(out.putBaseline(baseline, 0, baseline.length));
    }

    static Topology decodeTopology(final byte[] body)
    {
        final TopologyBodyDecoder in = MemberMessages.decodeBody(body, new TopologyBodyDecoder());
        final long version = in.version();
        final int nextCacheId = in.nextCacheId();
        final List<MemberRecord> members = new ArrayList<>();
        for (final TopologyBodyDecoder.MembersDecoder member : in.members())
        {
            final byte[] record = MemberMessages.bytes(in, member.recordLength(), "topology.member");
            member.getRecord(record, 0, record.length);
            members.add(decodeMember(record));
        }
        if (members.isEmpty() || members.size() > MEMBERS_MAX)
        {
            throw new MalformedMessageException("topology of " + members.size() + " members");
        }
        final List<CacheDescriptor> caches = new ArrayList<>();
        for (final TopologyBodyDecoder.CachesDecoder cache : in.caches())
        {
            final byte[] descriptor = MemberMessages.bytes(in, cache.descriptorLength(), "topology.cache");
            cache.getDescriptor(descriptor, 0, descriptor.length);
            caches.add(decodeCache(descriptor));
        }
        final byte[] baseline = MemberMessages.bytes(in, in.baselineLength(), "topology.baseline");
        in.getBaseline(baseline, 0, baseline.length);
        return new Topology(version, Collections.unmodifiableList(members), caches, nextCacheId,
            decodeBaseline(baseline));
    }

    private static String orEmpty(final String text)
    {
        return text == null ? "" : text;
    }

    private static String text(final MessageFlyweight message, final int length, final String field,
        final MemberMessages.DataGetter getter)
    {
        return MemberMessages.text(MemberMessages.read(message, length, field, getter));
    }

    private static PartitionLossPolicy lossPolicy(final int ordinal)
    {
        final PartitionLossPolicy[] values = PartitionLossPolicy.values();
        if (ordinal < 0 || ordinal >= values.length)
        {
            throw new MalformedMessageException("unknown partition loss policy " + ordinal);
        }
        return values[ordinal];
    }

    private static QuorumReadPolicy readPolicy(final int ordinal)
    {
        final QuorumReadPolicy[] values = QuorumReadPolicy.values();
        if (ordinal < 0 || ordinal >= values.length)
        {
            throw new MalformedMessageException("unknown quorum read policy " + ordinal);
        }
        return values[ordinal];
    }
}
