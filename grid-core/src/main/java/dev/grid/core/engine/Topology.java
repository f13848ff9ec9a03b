package dev.grid.core.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * One version of the cluster's membership and cache set, as the coordinator publishes it. Every change of either (a
 * member joins, leaves or fails; a cache is created or destroyed) produces a new version, and a partition map
 * exchange for it. Members are listed oldest first; the first is the coordinator. Immutable.
 *
 * @param version     strictly increasing per change; 0 is never published.
 * @param members     oldest first.
 * @param caches      by ascending id.
 * @param nextCacheId the id the next created cache gets.
 * @param baseline    the members that own data; {@link Baseline#NONE} when every present member does.
 */
public record Topology(long version, List<MemberRecord> members, List<CacheDescriptor> caches, int nextCacheId,
    Baseline baseline)
{
    /** Canonical constructor: copies the lists. */
    public Topology
    {
        members = List.copyOf(members);
        caches = List.copyOf(caches);
        baseline = baseline == null ? Baseline.NONE : baseline;
    }

    /**
     * @return the coordinator: the oldest member.
     */
    public MemberRecord coordinator()
    {
        return members.get(0);
    }

    /**
     * @param incarnation of a member.
     * @return its index in {@link #members()}, or -1.
     */
    public int indexOf(final long incarnation)
    {
        for (int i = 0; i < members.size(); i++)
        {
            if (members.get(i).incarnation() == incarnation)
            {
                return i;
            }
        }
        return -1;
    }

    /**
     * @param incarnation of a member.
     * @return its record, or null.
     */
    public MemberRecord member(final long incarnation)
    {
        final int index = indexOf(incarnation);
        return index < 0 ? null : members.get(index);
    }

    /**
     * @param name of a cache.
     * @return its descriptor, or null.
     */
    public CacheDescriptor cache(final String name)
    {
        // Indexed, not for-each: looked up on every operation, and the JIT did not always remove the iterator.
        for (int i = 0, n = caches.size(); i < n; i++)
        {
            final CacheDescriptor cache = caches.get(i);
            if (cache.name().equals(name))
            {
                return cache;
            }
        }
        return null;
    }

    /**
     * @param cacheId of a cache.
     * @return its descriptor, or null.
     */
    public CacheDescriptor cache(final int cacheId)
    {
        for (int i = 0, n = caches.size(); i < n; i++)
        {
            final CacheDescriptor cache = caches.get(i);
            if (cache.cacheId() == cacheId)
            {
                return cache;
            }
        }
        return null;
    }

    /**
     * @param newMembers the members of the next version.
     * @return the next version with those members and the same caches.
     */
    public Topology withMembers(final List<MemberRecord> newMembers)
    {
        return new Topology(version + 1, newMembers, caches, nextCacheId, baseline);
    }

    /**
     * @param cache to add, without an id.
     * @return the next version with the cache added under the next id.
     */
    public Topology withCache(final CacheDescriptor cache)
    {
        final List<CacheDescriptor> newCaches = new ArrayList<>(caches);
        newCaches.add(cache.withId(nextCacheId));
        return new Topology(version + 1, members, newCaches, nextCacheId + 1, baseline);
    }

    /**
     * @param adopted caches a joining member recovered from its data directory, with their ids, that this topology
     *                lacks (the cluster started afresh while members with data were away).
     * @return the same version with those caches, and the next id above every id in use.
     */
    public Topology withRecoveredCaches(final List<CacheDescriptor> adopted)
    {
        final List<CacheDescriptor> newCaches = new ArrayList<>(caches);
        int next = nextCacheId;
        for (final CacheDescriptor cache : adopted)
        {
            newCaches.add(cache);
            next = Math.max(next, cache.cacheId() + 1);
        }
        return new Topology(version, members, newCaches, next, baseline);
    }

    /**
     * @param cache a changed descriptor of an existing cache (same id).
     * @return the next version with that descriptor in place of the old one.
     */
    public Topology withCacheReplaced(final CacheDescriptor cache)
    {
        final List<CacheDescriptor> newCaches = new ArrayList<>(caches);
        newCaches.replaceAll(c -> c.cacheId() == cache.cacheId() ? cache : c);
        return new Topology(version + 1, members, newCaches, nextCacheId, baseline);
    }

    /**
     * @param next baseline.
     * @return the next version with that baseline, same members and caches.
     */
    public Topology withBaseline(final Baseline next)
    {
        return new Topology(version + 1, members, caches, nextCacheId, next);
    }

    /**
     * @param memberId of a member.
     * @return its record in this version, or null if it is not a member.
     */
    public MemberRecord memberById(final String memberId)
    {
        for (final MemberRecord member : members)
        {
            if (member.memberId().equals(memberId))
            {
                return member;
            }
        }
        return null;
    }

    /**
     * @param cacheId to remove.
     * @return the next version without that cache.
     */
    public Topology withoutCache(final int cacheId)
    {
        final List<CacheDescriptor> newCaches = new ArrayList<>(caches);
        newCaches.removeIf(c -> c.cacheId() == cacheId);
        return new Topology(version + 1, members, newCaches, nextCacheId, baseline);
    }
}
