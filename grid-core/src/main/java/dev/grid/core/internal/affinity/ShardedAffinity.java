package dev.grid.core.internal.affinity;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The affinity function over members that run several shards: a partition's copies are spread over <em>members</em>
 * (processes) by {@link RendezvousAffinity}, and inside a member the copy belongs to its shard
 * {@code partition mod shards}.
 * <p>
 * A shard is a cluster node of its own (its own engine, WAL, transport endpoint and id); it says which member it
 * belongs to with the attributes {@link #MEMBER_ATTRIBUTE} (the member's id) and {@link #SHARD_ATTRIBUTE} (its index).
 * Grouping the shards of one member before the rendezvous step is what keeps two copies of a partition out of one
 * process: a crash of that process takes all its shards at once, so copies on two of its shards would both be lost.
 * A node without the attributes is a member with one shard, and when no node has them the result is exactly
 * {@link RendezvousAffinity}'s.
 * <p>
 * Inside a member, the shards present are ordered by index (then id) and partition {@code p} goes to the one at
 * {@code p mod count}; with every shard present that is shard {@code p mod shards}, which lets the member route a
 * key's operation to the right shard from the key alone, without a map. A member's group is seen by the rendezvous
 * step with the id {@link #MEMBER_ATTRIBUTE} names and the attributes of its lowest shard (rack, zone).
 * <p>
 * Pure, stateless apart from the wrapped function, thread-safe.
 */
public final class ShardedAffinity
{
    /** The attribute naming the member (process) a shard belongs to. */
    public static final String MEMBER_ATTRIBUTE = "shard.member";
    /** The attribute giving a shard's index inside its member, from 0. */
    public static final String SHARD_ATTRIBUTE = "shard.index";

    private final RendezvousAffinity members;

    /**
     * @param members the function that spreads copies over members.
     */
    public ShardedAffinity(final RendezvousAffinity members)
    {
        this.members = members;
    }

    /**
     * Assign every partition's owners over a set of shards.
     *
     * @param shards in any order; ids must be distinct.
     * @return the assignment over the shards.
     * @throws IllegalArgumentException if two shards share an id.
     */
    public AffinityAssignment assign(final Collection<AffinityMember> shards)
    {
        if (shards.stream().noneMatch(ShardedAffinity::isShard))
        {
            return members.assign(shards);
        }
        final List<AffinityMember> sorted = new ArrayList<>(shards);
        sorted.sort(Comparator.comparing(AffinityMember::id));
        final Map<String, Integer> indexById = new HashMap<>();
        final Map<String, List<AffinityMember>> groups = new TreeMap<>();
        for (int i = 0; i < sorted.size(); i++)
        {
            final AffinityMember shard = sorted.get(i);
            if (indexById.put(shard.id(), i) != null)
            {
                throw new IllegalArgumentException("duplicate member id: " + shard.id());
            }
            groups.computeIfAbsent(memberOf(shard), g -> new ArrayList<>()).add(shard);
        }
        final List<AffinityMember> groupMembers = new ArrayList<>(groups.size());
        for (final Map.Entry<String, List<AffinityMember>> group : groups.entrySet())
        {
            group.getValue().sort(Comparator.comparingInt(ShardedAffinity::shardOf).thenComparing(AffinityMember::id));
            final Map<String, String> attributes = new TreeMap<>(group.getValue().get(0).attributes());
            attributes.remove(MEMBER_ATTRIBUTE);
            attributes.remove(SHARD_ATTRIBUTE);
            groupMembers.add(new AffinityMember(group.getKey(), attributes));
        }
        final AffinityAssignment byMember = members.assign(groupMembers);
        final int partitions = byMember.partitions();
        final int[][] owners = new int[partitions][];
        for (int p = 0; p < partitions; p++)
        {
            owners[p] = new int[byMember.copyCount(p)];
            for (int rank = 0; rank < owners[p].length; rank++)
            {
                final String member = byMember.members().get(byMember.ownerIndex(p, rank)).id();
                final List<AffinityMember> group = groups.get(member);
                owners[p][rank] = indexById.get(group.get(p % group.size()).id());
            }
        }
        return new AffinityAssignment(sorted, owners);
    }

    /** @return whether a node says it is a shard of a member. */
    public static boolean isShard(final AffinityMember node)
    {
        return node.attributes().containsKey(MEMBER_ATTRIBUTE);
    }

    /** @return the member a node belongs to: the one its attribute names, or itself. */
    static String memberOf(final AffinityMember node)
    {
        final String member = node.attributes().get(MEMBER_ATTRIBUTE);
        return member == null ? node.id() : member;
    }

    /** @return a node's shard index, 0 when it has none or one that is not a non-negative number. */
    static int shardOf(final AffinityMember node)
    {
        final String index = node.attributes().get(SHARD_ATTRIBUTE);
        if (index == null)
        {
            return 0;
        }
        try
        {
            return Math.max(0, Integer.parseInt(index));
        }
        catch (final NumberFormatException e)
        {
            return 0;
        }
    }
}
