package dev.grid.core.internal.cluster;

import org.agrona.collections.Int2ObjectHashMap;

/**
 * Who owns each partition copy in one topology version, as the coordinator decided in the exchange: per cache and
 * partition, the owners as indices into the topology's member list, primary first. A partition may have fewer copies
 * than the cache's backups ask for (a copy that fell behind is dropped until rebalance can restore it). Immutable
 * after construction by the coordinator or by decoding.
 */
public final class PartitionMap
{
    private static final int[] NO_OWNERS = new int[0];

    private final Topology topology;
    private final Int2ObjectHashMap<int[][]> ownersByCache = new Int2ObjectHashMap<>();

    /**
     * @param topology the version this map belongs to.
     */
    public PartitionMap(final Topology topology)
    {
        this.topology = topology;
    }

    /**
     * @return the topology this map belongs to.
     */
    public Topology topology()
    {
        return topology;
    }

    /**
     * @return the topology version.
     */
    public long version()
    {
        return topology.version();
    }

    void put(final int cacheId, final int[][] owners)
    {
        ownersByCache.put(cacheId, owners);
    }

    /**
     * @param cacheId of a cache.
     * @return true if the map covers the cache.
     */
    public boolean hasCache(final int cacheId)
    {
        return ownersByCache.containsKey(cacheId);
    }

    /**
     * @param cacheId   of a cache.
     * @param partition of the cache.
     * @return the owners' member indices, primary first; empty if none or the cache is unknown.
     */
    public int[] owners(final int cacheId, final int partition)
    {
        final int[][] owners = ownersByCache.get(cacheId);
        return owners == null || partition < 0 || partition >= owners.length ? NO_OWNERS : owners[partition];
    }

    /**
     * @param cacheId   of a cache.
     * @param partition of the cache.
     * @return the primary, or null if the partition has no owner.
     */
    public MemberRecord primary(final int cacheId, final int partition)
    {
        final int[] owners = owners(cacheId, partition);
        return owners.length == 0 ? null : topology.members().get(owners[0]);
    }

    /**
     * @param cacheId     of a cache.
     * @param partition   of the cache.
     * @param memberIndex of a member.
     * @return its rank among the owners (0 for primary), or -1 if it owns no copy.
     */
    public int rank(final int cacheId, final int partition, final int memberIndex)
    {
        final int[] owners = owners(cacheId, partition);
        for (int i = 0; i < owners.length; i++)
        {
            if (owners[i] == memberIndex)
            {
                return i;
            }
        }
        return -1;
    }

    /**
     * Encode the part of the map for one cache, partitions [from, from + count).
     */
    void encodeChunk(final MessageWriter writer, final int cacheId, final int from, final int count)
    {
        final int[][] owners = ownersByCache.get(cacheId);
        writer.writeInt(cacheId).writeInt(owners.length).writeInt(from).writeInt(count);
        for (int p = from; p < from + count; p++)
        {
            writer.writeByte(owners[p].length);
            for (final int owner : owners[p])
            {
                writer.writeUnsignedShort(owner);
            }
        }
    }

    /**
     * Decode one chunk into this map.
     */
    void decodeChunk(final MessageReader reader)
    {
        final int cacheId = reader.readInt("map.cacheId");
        final int partitions = reader.readInt("map.partitions", 1, dev.grid.core.CacheConfiguration.PARTITIONS_MAX);
        final int from = reader.readInt("map.from", 0, partitions - 1);
        final int count = reader.readInt("map.count", 0, partitions - from);
        final int[][] owners = ownersByCache.computeIfAbsent(cacheId, id -> new int[partitions][]);
        if (owners.length != partitions)
        {
            throw new MalformedMessageException("map chunk for cache " + cacheId + " says " + partitions +
                " partitions, earlier chunk said " + owners.length);
        }
        final int memberCount = topology.members().size();
        for (int p = from; p < from + count; p++)
        {
            final int copies = reader.readByte("map.copies") & 0xFF;
            final int[] list = new int[copies];
            for (int i = 0; i < copies; i++)
            {
                list[i] = reader.readUnsignedShort("map.owner");
                if (list[i] >= memberCount)
                {
                    throw new MalformedMessageException("map owner index " + list[i] + " >= " + memberCount);
                }
            }
            owners[p] = list;
        }
    }

    /**
     * @return true if every cache of the topology is covered and every partition has an owner list.
     */
    public boolean isComplete()
    {
        for (final CacheDescriptor cache : topology.caches())
        {
            final int[][] owners = ownersByCache.get(cache.cacheId());
            if (owners == null)
            {
                return false;
            }
            for (final int[] list : owners)
            {
                if (list == null)
                {
                    return false;
                }
            }
        }
        return true;
    }
}
