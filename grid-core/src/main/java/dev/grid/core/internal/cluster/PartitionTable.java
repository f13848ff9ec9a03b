package dev.grid.core.internal.cluster;

import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.PartitionMapDecoder;
import dev.grid.core.codec.messages.PartitionMapEncoder;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.PartitionMap;
import dev.grid.core.engine.RebalancePlan;
import dev.grid.core.engine.Topology;
import org.agrona.collections.Int2IntHashMap;
import org.agrona.collections.Int2ObjectHashMap;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Who holds each partition copy in one topology version, as the coordinator decided in the exchange: per cache and
 * partition, the copies as indices into the topology's member list: first the OWNING ones (primary first, then
 * backups), then the MOVING ones (catching up by rebalance: they receive every update, serve no read and cannot be
 * primary). Also per partition its lineage epoch (see {@link #epochId}) and the rebalance plans of the version.
 * Immutable after construction by the coordinator or by decoding.
 */
final class PartitionTable implements PartitionMap
{
    private static final int[] NO_OWNERS = new int[0];
    private static final String[] NO_IDS = new String[0];

    private final Topology topology;
    private final Int2ObjectHashMap<int[][]> ownersByCache = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<int[]> owningByCache = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<long[]> epochIdsByCache = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<long[]> epochFloorsByCache = new Int2ObjectHashMap<>();
    private final Int2ObjectHashMap<boolean[]> lostByCache = new Int2ObjectHashMap<>();
    /** Per lost partition, the member ids of its last owners (whose return brings its data back); null otherwise. */
    private final Int2ObjectHashMap<String[][]> lastOwnersByCache = new Int2ObjectHashMap<>();
    /** {@link #lostCount} per cache of a complete map, computed on first use; -1 when not yet. */
    private final Int2IntHashMap lostCounts = new Int2IntHashMap(-1);
    private final List<RebalancePlan> plans = new ArrayList<>();
    private int plansExpected = -1;
    private RebalancePlan[] planSlots;
    /** The ownership stamp of an active cluster's map; 0 while the cluster waits for its last members. */
    private long stamp;
    private long lifeId;

    /**
     * @param topology the version this map belongs to.
     */
    public PartitionTable(final Topology topology)
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

    void put(final int cacheId, final int[][] owners, final int[] owning, final long[] epochIds,
        final long[] epochFloors, final boolean[] lost, final String[][] lastOwners)
    {
        lostByCache.put(cacheId, lost);
        lastOwnersByCache.put(cacheId, lastOwners);
        ownersByCache.put(cacheId, owners);
        owningByCache.put(cacheId, owning);
        epochIdsByCache.put(cacheId, epochIds);
        epochFloorsByCache.put(cacheId, epochFloors);
    }

    /**
     * @return the stamp members record with the owners of this map ({@link OwnershipTable}); 0 for a map of a
     *         cluster that is not active yet: it waits for the members of its newest ownership table, every recovered
     *         partition is LOST and no copy is changed.
     */
    public long stamp()
    {
        return stamp;
    }

    /**
     * @return whether the cluster is active in this map (see {@link #stamp}).
     */
    public boolean isActive()
    {
        return stamp > 0;
    }

    /**
     * @return the cluster life this map belongs to (see {@link OwnershipTable#lifeId}).
     */
    public long lifeId()
    {
        return lifeId;
    }

    void stamp(final long stamp, final long lifeId)
    {
        this.stamp = stamp;
        this.lifeId = lifeId;
    }

    void addPlan(final RebalancePlan plan)
    {
        plans.add(plan);
    }

    /**
     * The coordinator's map is complete once every plan is added.
     */
    void sealPlans()
    {
        plansExpected = plans.size();
    }

    /**
     * @return the encoded length of one plan.
     */
    int encodedPlanLength(final int index)
    {
        return 29 + 4 + plans.get(index).why().length() * 3;
    }

    /**
     * @return every rebalance plan of this version.
     */
    public List<RebalancePlan> plans()
    {
        return Collections.unmodifiableList(plans);
    }

    /**
     * @param cacheId   of a cache.
     * @param partition of the cache.
     * @return how many of {@link #owners} are OWNING (the rest are MOVING).
     */
    public int owningCount(final int cacheId, final int partition)
    {
        final int[] owning = owningByCache.get(cacheId);
        return owning == null || partition < 0 || partition >= owning.length ? 0 : owning[partition];
    }

    /**
     * @param cacheId     of a cache.
     * @param partition   of the cache.
     * @param memberIndex of a member.
     * @return true if the member holds a MOVING copy of the partition in this version.
     */
    public boolean isMoving(final int cacheId, final int partition, final int memberIndex)
    {
        return rank(cacheId, partition, memberIndex) >= owningCount(cacheId, partition);
    }

    /**
     * @param cacheId     of a cache.
     * @param partition   of the cache.
     * @param memberIndex of a member.
     * @return true if the member holds an OWNING copy (primary or backup).
     */
    public boolean isOwning(final int cacheId, final int partition, final int memberIndex)
    {
        final int rank = rank(cacheId, partition, memberIndex);
        return rank >= 0 && rank < owningCount(cacheId, partition);
    }

    /**
     * The partition's lineage: a new epoch starts whenever a partition's primary left, because copies that left with
     * it may hold updates above {@link #epochFloor} that the survivors never had (and the survivors number their next
     * updates from there). A copy that comes back may catch up historically only if it saw the epochs since.
     *
     * @param cacheId   of a cache.
     * @param partition of the cache.
     * @return the id of the partition's current epoch.
     */
    public long epochId(final int cacheId, final int partition)
    {
        final long[] ids = epochIdsByCache.get(cacheId);
        return ids == null || partition < 0 || partition >= ids.length ? 0 : ids[partition];
    }

    /**
     * @param cacheId   of a cache.
     * @param partition of the cache.
     * @return the LWM the survivors agreed on when the current epoch began: every copy of the lineage agrees up to it.
     */
    public long epochFloor(final int cacheId, final int partition)
    {
        final long[] floors = epochFloorsByCache.get(cacheId);
        return floors == null || partition < 0 || partition >= floors.length ? 0 : floors[partition];
    }

    /**
     * @param cacheId of a cache.
     * @return true if the map covers the cache.
     */
    /**
     * @param cacheId   of a cache.
     * @param partition of it.
     * @return whether the partition is lost: every owner of it left, and no operator reset it since.
     */
    /**
     * @param cacheId   of a cache.
     * @param partition of it.
     * @return for a lost partition, the member ids of its last owners (the coordinator's durable record, carried so
     *         that every member, a joiner too, records the same); empty otherwise.
     */
    public String[] lastOwners(final int cacheId, final int partition)
    {
        final String[][] lastOwners = lastOwnersByCache.get(cacheId);
        final String[] ids = lastOwners == null || partition < 0 || partition >= lastOwners.length ? null :
            lastOwners[partition];
        return ids == null ? new String[0] : ids;
    }

    /**
     * @param cacheId   of a cache.
     * @param partition of it.
     * @return whether the partition is lost: every owner of it left, and no operator reset it since.
     */
    public boolean isLost(final int cacheId, final int partition)
    {
        final boolean[] lost = lostByCache.get(cacheId);
        return lost != null && partition >= 0 && partition < lost.length && lost[partition];
    }

    /**
     * @param cacheId of a cache.
     * @return how many of its partitions are lost.
     */
    public int lostCount(final int cacheId)
    {
        // Asked for every write to a READ_ONLY_SAFE cache: counted once per installed map, not per write.
        final int known = lostCounts.get(cacheId);
        if (known >= 0)
        {
            return known;
        }
        final boolean[] lost = lostByCache.get(cacheId);
        int count = 0;
        for (int p = 0; lost != null && p < lost.length; p++)
        {
            count += lost[p] ? 1 : 0;
        }
        if (isComplete())
        {
            lostCounts.put(cacheId, count);
        }
        return count;
    }

    /**
     * @param cacheId of a cache.
     * @return its lost partitions, ascending.
     */
    public List<Integer> lostPartitions(final int cacheId)
    {
        final boolean[] lost = lostByCache.get(cacheId);
        final List<Integer> result = new ArrayList<>();
        for (int p = 0; lost != null && p < lost.length; p++)
        {
            if (lost[p])
            {
                result.add(p);
            }
        }
        return result;
    }

    /**
     * @param cacheId of a cache.
     * @return whether this map places the cache's partitions.
     */
    public boolean hasCache(final int cacheId)
    {
        return ownersByCache.containsKey(cacheId);
    }

    /**
     * @param cacheId   of a cache.
     * @param partition of the cache.
     * @return the member indices of every copy, OWNING first (primary first), then MOVING; empty if none or the cache
     *         is unknown.
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
        return owningCount(cacheId, partition) == 0 ? null : topology.members().get(owners[0]);
    }

    /**
     * @param cacheId     of a cache.
     * @param partition   of the cache.
     * @param memberIndex of a member.
     * @return its rank among the copies (0 for primary; MOVING copies rank after every OWNING one), or -1 if it holds
     *         no copy.
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
    void encodeChunk(final PartitionMapEncoder.ChunksEncoder chunk, final int cacheId, final int from,
        final int count)
    {
        final int[][] owners = ownersByCache.get(cacheId);
        final int[] owning = owningByCache.get(cacheId);
        final long[] epochIds = epochIdsByCache.get(cacheId);
        final long[] epochFloors = epochFloorsByCache.get(cacheId);
        final boolean[] lost = lostByCache.get(cacheId);
        final PartitionMapEncoder.ChunksEncoder.EntriesEncoder entries = chunk.cacheId(cacheId)
            .partitions(owners.length).from(from).entriesCount(count);
        for (int p = from; p < from + count; p++)
        {
            entries.next().owning((short)owning[p]).epochId(epochIds[p]).epochFloor(epochFloors[p])
                .lost((short)(lost[p] ? 1 : 0));
            final PartitionMapEncoder.ChunksEncoder.EntriesEncoder.OwnersEncoder group =
                entries.ownersCount(owners[p].length);
            for (final int owner : owners[p])
            {
                group.next().owner(owner);
            }
            final String[] ids = lost[p] ? lastOwners(cacheId, p) : NO_IDS;
            final PartitionMapEncoder.ChunksEncoder.EntriesEncoder.LastOwnersEncoder last =
                entries.lastOwnersCount(ids.length);
            for (final String id : ids)
            {
                last.next().id(id);
            }
        }
    }

    /**
     * @return the encoded length of one partition's entry in a chunk.
     */
    int encodedLength(final int cacheId, final int partition)
    {
        // Its block (owning, epoch id and floor, lost), two group headers, the owners, then any last owners.
        int length = 18 + 8 + 2 * ownersByCache.get(cacheId)[partition].length;
        if (isLost(cacheId, partition))
        {
            for (final String id : lastOwners(cacheId, partition))
            {
                length += 4 + 3 * id.length();
            }
        }
        return length;
    }

    /**
     * Encode the rebalance plans {@code [from, from + count)} (after the chunks of a map message).
     */
    void encodePlans(final PartitionMapEncoder out, final int from, final int count)
    {
        out.hasPlans((short)1).planTotal(plans.size()).planFrom(from);
        final PartitionMapEncoder.PlansEncoder group = out.plansCount(count);
        for (int i = from; i < from + count; i++)
        {
            final RebalancePlan plan = plans.get(i);
            group.next().cacheId(plan.cacheId()).partition(plan.partition()).demander(plan.demander())
                .supplier(plan.supplier()).full((short)(plan.full() ? 1 : 0)).fromExclusive(plan.fromExclusive())
                .toInclusive(plan.toInclusive()).why(plan.why() == null ? "" : plan.why());
        }
    }

    /**
     * Decode plans encoded by {@link #encodePlans}.
     */
    void decodePlans(final PartitionMapDecoder in)
    {
        final int total = in.planTotal();
        final int from = in.planFrom();
        final PartitionMapDecoder.PlansDecoder group = in.plans();
        final int count = group.count();
        if (total < 0 || total > 1 << 24 || from < 0 || from > total || count > total - from)
        {
            throw new MalformedMessageException("plans [" + from + ", " + (from + count) + ") of " + total);
        }
        if (plansExpected >= 0 && plansExpected != total)
        {
            throw new MalformedMessageException("plan chunk says " + total + " plans, earlier chunk said " +
                plansExpected);
        }
        plansExpected = total;
        // Chunks may arrive in any order and more than once (the coordinator resends until installed).
        if (planSlots == null)
        {
            planSlots = new RebalancePlan[total];
        }
        for (int i = 0; i < count; i++)
        {
            planSlots[from + i] = readPlan(in, group.next());
        }
        for (final RebalancePlan plan : planSlots)
        {
            if (plan == null)
            {
                return;
            }
        }
        plans.clear();
        plans.addAll(Arrays.asList(planSlots));
    }

    private RebalancePlan readPlan(final PartitionMapDecoder in, final PartitionMapDecoder.PlansDecoder plan)
    {
        final int memberCount = topology.members().size();
        final int cacheId = plan.cacheId();
        final int partition = plan.partition();
        final int demander = plan.demander();
        final int supplier = plan.supplier();
        final boolean full = plan.full() != 0;
        final long fromExclusive = plan.fromExclusive();
        final long toInclusive = plan.toInclusive();
        if (demander >= memberCount || supplier >= memberCount || partition < 0 || partition > 65_535)
        {
            throw new MalformedMessageException("plan of partition " + partition + " with member indices " +
                demander + ", " + supplier + " of " + memberCount);
        }
        final byte[] why = MemberMessages.bytes(in, plan.whyLength(), "plan.why");
        plan.getWhy(why, 0, why.length);
        return new RebalancePlan(cacheId, partition, demander, supplier, full, fromExclusive, toInclusive,
            MemberMessages.text(why));
    }

    /**
     * Decode one chunk into this map.
     */
    void decodeChunk(final PartitionMapDecoder in, final PartitionMapDecoder.ChunksDecoder chunk)
    {
        final int cacheId = chunk.cacheId();
        final int partitions = chunk.partitions();
        final int from = chunk.from();
        final PartitionMapDecoder.ChunksDecoder.EntriesDecoder entries = chunk.entries();
        final int count = entries.count();
        if (partitions < 1 || partitions > dev.grid.core.CacheConfiguration.PARTITIONS_MAX || from < 0 ||
            from >= partitions || count > partitions - from)
        {
            throw new MalformedMessageException("map chunk [" + from + ", " + (from + count) + ") of " + partitions +
                " partitions");
        }
        final int[][] owners = ownersByCache.computeIfAbsent(cacheId, id -> new int[partitions][]);
        final int[] owning = owningByCache.computeIfAbsent(cacheId, id -> new int[partitions]);
        final long[] epochIds = epochIdsByCache.computeIfAbsent(cacheId, id -> new long[partitions]);
        final long[] epochFloors = epochFloorsByCache.computeIfAbsent(cacheId, id -> new long[partitions]);
        final boolean[] lost = lostByCache.computeIfAbsent(cacheId, id -> new boolean[partitions]);
        final String[][] lastOwners = lastOwnersByCache.computeIfAbsent(cacheId, id -> new String[partitions][]);
        if (owners.length != partitions)
        {
            throw new MalformedMessageException("map chunk for cache " + cacheId + " says " + partitions +
                " partitions, earlier chunk said " + owners.length);
        }
        final int memberCount = topology.members().size();
        for (int p = from; p < from + count; p++)
        {
            entries.next();
            final int owningCount = entries.owning();
            owning[p] = owningCount;
            epochIds[p] = entries.epochId();
            epochFloors[p] = entries.epochFloor();
            lost[p] = entries.lost() != 0;
            final PartitionMapDecoder.ChunksDecoder.EntriesDecoder.OwnersDecoder group = entries.owners();
            final int[] list = new int[group.count()];
            if (owningCount > list.length)
            {
                throw new MalformedMessageException("map says " + owningCount + " owning of " + list.length +
                    " copies");
            }
            for (int i = 0; i < list.length; i++)
            {
                list[i] = group.next().owner();
                if (list[i] >= memberCount)
                {
                    throw new MalformedMessageException("map owner index " + list[i] + " >= " + memberCount);
                }
            }
            owners[p] = list;
            final PartitionMapDecoder.ChunksDecoder.EntriesDecoder.LastOwnersDecoder last = entries.lastOwners();
            final String[] ids = new String[last.count()];
            for (int i = 0; i < ids.length; i++)
            {
                last.next();
                final byte[] id = MemberMessages.bytes(in, last.idLength(), "map.lastOwner");
                last.getId(id, 0, id.length);
                ids[i] = MemberMessages.text(id);
            }
            if (lost[p])
            {
                lastOwners[p] = ids;
            }
        }
    }

    /**
     * @return true if every cache of the topology is covered, every partition has an owner list, and every plan is
     *         known.
     */
    public boolean isComplete()
    {
        if (plansExpected != plans.size())
        {
            return false;
        }
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
