package dev.grid.core.internal.cluster;

import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.OwnershipCacheBodyDecoder;
import dev.grid.core.codec.messages.OwnershipCacheBodyEncoder;
import dev.grid.core.codec.messages.OwnershipHeaderBodyDecoder;
import dev.grid.core.codec.messages.OwnershipHeaderBodyEncoder;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
import org.agrona.collections.Int2ObjectHashMap;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The durable record of who owns each partition's data: per partition of every cache, the member ids of its last
 * OWNING copies, as of the last partition map this member installed while the cluster was active; plus that map's
 * stamp and the members it listed. Written to the WAL whenever an installed map changes it and kept in checkpoint
 * manifests, so it survives a whole-cluster stop.
 * <p>
 * <b>Why it is needed.</b> An update is acknowledged only once every OWNING copy of the map in force holds it, and a
 * later OWNING copy is one that caught up with them. So any one member of a partition's last owners holds every
 * acknowledged update of it, and a copy from anyone else may lack some. After a whole-cluster stop the coordinator has
 * no installed map: this table is what tells it whose copies to trust, and that a partition none of whose last owners
 * is back is LOST (not empty).
 * <p>
 * <b>Which table is current.</b> Each member's table is its own last view; a member that stopped early holds an old
 * one. The stamp orders tables: it grows with every map installed while active, across restarts (a cluster that
 * activates from recovered tables continues above the highest stamp it was shown). The members listed with a table
 * are those that installed the map it came from: any later map was installed by at least one of them (or by members
 * that joined through them), so once every one of them is back, the newest table among the members present is the
 * newest that exists.
 * <p>
 * Entries of a LOST partition are not the empty copies that stand in for it but the lost data's last owners, which
 * the map carries ({@link PartitionTable#lastOwners}) so that every member records the coordinator's, a joiner too;
 * they stay recorded until one of them returns.
 * <p>
 * Owned by the engine's thread.
 */
final class OwnershipTable
{
    private static final String[] NO_OWNERS = new String[0];

    private long stamp;
    private long lifeId;
    private long writer;
    private List<String> members = List.of();
    private final Int2ObjectHashMap<String[][]> ownersByCache = new Int2ObjectHashMap<>();

    /**
     * @return the stamp of the map this table was last updated from; 0 if never.
     */
    long stamp()
    {
        return stamp;
    }

    /**
     * @return the id of the cluster life the table was last updated in: a cluster that activates (from recovered
     *         tables, or afresh) starts a new life. A table of the cluster's own life that is newer than the
     *         coordinator's map comes from a member that installed a map the coordinator missed; one of another life
     *         means the cluster started while that member, with newer knowledge, was away.
     */
    long lifeId()
    {
        return lifeId;
    }

    /**
     * @return the incarnation that logged this table last on its member's data directory (it carries that with it
     *         into the WAL and checkpoint manifests); 0 if none did, or the table was logged before this was kept.
     *         Recovered, it names the incarnation that ran on the directory before the one recovering it.
     */
    long writer()
    {
        return writer;
    }

    /** @param incarnation the incarnation logging this table now (see {@link #writer}). */
    void writtenBy(final long incarnation)
    {
        writer = incarnation;
    }

    /**
     * @return the ids of the members of the map this table was last updated from.
     */
    List<String> members()
    {
        return members;
    }

    boolean isEmpty()
    {
        return stamp == 0;
    }

    /**
     * @return the last owners' member ids of a partition, primary first; empty if none known.
     */
    String[] owners(final int cacheId, final int partition)
    {
        final String[][] owners = ownersByCache.get(cacheId);
        return owners == null || partition >= owners.length || owners[partition] == null ? NO_OWNERS :
            owners[partition];
    }

    boolean isOwner(final int cacheId, final int partition, final String memberId)
    {
        for (final String owner : owners(cacheId, partition))
        {
            if (owner.equals(memberId))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Update from an installed map of an active cluster.
     *
     * @return whether anything changed (the table must then be logged).
     */
    boolean update(final PartitionTable map, final long mapStamp)
    {
        boolean changed = mapStamp != stamp || map.lifeId() != lifeId;
        stamp = mapStamp;
        lifeId = map.lifeId();
        final List<String> ids = new ArrayList<>(map.topology().members().size());
        for (final MemberRecord member : map.topology().members())
        {
            ids.add(member.memberId());
        }
        members = List.copyOf(ids);
        for (final CacheDescriptor cache : map.topology().caches())
        {
            String[][] owners = ownersByCache.get(cache.cacheId());
            if (owners == null || owners.length != cache.partitions())
            {
                owners = new String[cache.partitions()][];
                ownersByCache.put(cache.cacheId(), owners);
                changed = true;
            }
            for (int p = 0; p < cache.partitions(); p++)
            {
                final String[] next;
                if (map.isLost(cache.cacheId(), p))
                {
                    next = map.lastOwners(cache.cacheId(), p);
                }
                else
                {
                    final int[] indices = map.owners(cache.cacheId(), p);
                    next = new String[map.owningCount(cache.cacheId(), p)];
                    for (int i = 0; i < next.length; i++)
                    {
                        next[i] = map.topology().members().get(indices[i]).memberId();
                    }
                }
                if (!Arrays.equals(owners[p], next))
                {
                    owners[p] = next;
                    changed = true;
                }
            }
        }
        for (final int cacheId : ownersByCache.keySet().toArray(new Integer[0]))
        {
            if (map.topology().cache(cacheId) == null)
            {
                ownersByCache.remove(cacheId);
                changed = true;
            }
        }
        return changed;
    }

    /**
     * Forget a cache (destroyed).
     */
    void remove(final int cacheId)
    {
        ownersByCache.remove(cacheId);
    }

    /**
     * @return the caches this table knows.
     */
    int[] cacheIds()
    {
        final int[] ids = new int[ownersByCache.size()];
        int i = 0;
        for (final Int2ObjectHashMap<String[][]>.KeyIterator it = ownersByCache.keySet().iterator(); it.hasNext(); )
        {
            ids[i++] = it.nextInt();
        }
        return ids;
    }

    /** Make this table a copy of {@code other} (stamp, life, members and every cache). */
    void replaceWith(final OwnershipTable other)
    {
        final List<byte[]> sections = new ArrayList<>();
        for (final int cacheId : other.cacheIds())
        {
            sections.add(other.encodeCacheBody(cacheId));
        }
        replaceWith(other.encodeHeaderBody(), sections);
    }

    /** Replace this table with the one the bodies hold (a WAL record's: the header, then every cache). */
    void replaceWith(final byte[] header, final List<byte[]> sections)
    {
        decodeHeaderBody(header);
        ownersByCache.clear();
        sections.forEach(this::decodeCacheBody);
    }

    /** @return the table's stamp, life and members as an {@code OwnershipHeaderBody} (an exchange report's). */
    byte[] encodeHeaderBody()
    {
        final OwnershipHeaderBodyEncoder out = MemberMessages.startBody(new OwnershipHeaderBodyEncoder()).stamp(stamp)
            .lifeId(lifeId).writer(writer);
        final OwnershipHeaderBodyEncoder.MembersEncoder group = out.membersCount(members.size());
        members.forEach(id -> group.next().id(id));
        return MemberMessages.finishBody(out);
    }

    /** Replace this table's stamp, life and members with a body's ({@link #encodeHeaderBody}); caches are kept. */
    void decodeHeaderBody(final byte[] body)
    {
        final OwnershipHeaderBodyDecoder in = MemberMessages.decodeBody(body, new OwnershipHeaderBodyDecoder());
        final long newStamp = in.stamp();
        final long newLifeId = in.lifeId();
        final long newWriter = in.writer() == OwnershipHeaderBodyDecoder.writerNullValue() ? 0 : in.writer();
        final List<String> ids = new ArrayList<>();
        for (final OwnershipHeaderBodyDecoder.MembersDecoder member : in.members())
        {
            final byte[] id = MemberMessages.bytes(in, member.idLength(), "ownership.member");
            member.getId(id, 0, id.length);
            ids.add(MemberMessages.text(id));
        }
        stamp = newStamp;
        lifeId = newLifeId;
        writer = newWriter;
        members = List.copyOf(ids);
    }

    /** @return one cache's owners as an {@code OwnershipCacheBody}: its member ids, then owners as indices. */
    byte[] encodeCacheBody(final int cacheId)
    {
        final String[][] owners = ownersByCache.get(cacheId);
        final Map<String, Integer> dictionary = new HashMap<>();
        final List<String> ids = new ArrayList<>();
        for (final String[] partition : owners)
        {
            for (final String id : partition == null ? NO_OWNERS : partition)
            {
                if (dictionary.putIfAbsent(id, dictionary.size()) == null)
                {
                    ids.add(id);
                }
            }
        }
        final OwnershipCacheBodyEncoder out = MemberMessages.startBody(new OwnershipCacheBodyEncoder())
            .cacheId(cacheId);
        final OwnershipCacheBodyEncoder.IdsEncoder idGroup = out.idsCount(ids.size());
        ids.forEach(id -> idGroup.next().id(id));
        final OwnershipCacheBodyEncoder.PartitionsEncoder partitions = out.partitionsCount(owners.length);
        for (final String[] partition : owners)
        {
            final String[] list = partition == null ? NO_OWNERS : partition;
            final OwnershipCacheBodyEncoder.PartitionsEncoder.OwnersEncoder group =
                partitions.next().ownersCount(list.length);
            for (final String id : list)
            {
                group.next().index(dictionary.get(id));
            }
        }
        return MemberMessages.finishBody(out);
    }

    /** Add one cache's owners from a body ({@link #encodeCacheBody}). */
    void decodeCacheBody(final byte[] body)
    {
        final OwnershipCacheBodyDecoder in = MemberMessages.decodeBody(body, new OwnershipCacheBodyDecoder());
        final int cacheId = in.cacheId();
        final List<String> ids = new ArrayList<>();
        for (final OwnershipCacheBodyDecoder.IdsDecoder entry : in.ids())
        {
            final byte[] id = MemberMessages.bytes(in, entry.idLength(), "ownership.id");
            entry.getId(id, 0, id.length);
            ids.add(MemberMessages.text(id));
        }
        final OwnershipCacheBodyDecoder.PartitionsDecoder partitions = in.partitions();
        final String[][] owners = new String[partitions.count()][];
        for (int p = 0; p < owners.length; p++)
        {
            final OwnershipCacheBodyDecoder.PartitionsDecoder.OwnersDecoder group = partitions.next().owners();
            owners[p] = new String[group.count()];
            for (int i = 0; i < owners[p].length; i++)
            {
                final int index = group.next().index();
                if (index >= ids.size())
                {
                    throw new MalformedMessageException("ownership owner index " + index + " of " + ids.size());
                }
                owners[p][i] = ids.get(index);
            }
        }
        ownersByCache.put(cacheId, owners);
    }

    /**
     * @return whether every member listed with this table is among {@code present}.
     */
    boolean allMembersIn(final Set<String> present)
    {
        return present.containsAll(members);
    }

    @Override
    public String toString()
    {
        return "ownership stamp " + stamp + " (life " + Long.toHexString(lifeId) + ") of " + members + " (" +
            ownersByCache.size() + " caches)";
    }
}
