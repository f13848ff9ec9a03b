package dev.grid.core.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The baseline topology: the explicit set of members that own data, by member id, with the attributes each had when
 * it entered the baseline (the affinity's rack filter reads them while the member is away). Affinity is computed over
 * the baseline, offline members included, so a baseline member that is away causes no data movement: its copies are
 * simply missing until it returns and catches up. Members outside the baseline own nothing. Only a change of the
 * baseline (by an operator, or by auto-adjust once membership stayed changed for {@link #autoAdjustTimeoutNs()})
 * moves data for good.
 * <p>
 * Not set (no members): every present member owns data, and membership changes move it (in-memory clusters). Part of
 * {@link Topology}, so every member agrees on it; persisted in the WAL and checkpoint manifest so that a cluster
 * restarting from its data directories keeps it. Immutable.
 *
 * @param members             by ascending member id; empty when not set.
 * @param autoAdjustTimeoutNs how long membership must differ from the baseline before the coordinator sets the
 *                            baseline to the present members; negative: never.
 */
public record Baseline(List<Member> members, long autoAdjustTimeoutNs)
{
    /** No baseline, no auto-adjust. */
    public static final Baseline NONE = new Baseline(List.of(), -1);

    /** Change kinds of {@link #change}. */
    public static final int SET = 1;
    public static final int ADD = 2;
    public static final int REMOVE = 3;
    public static final int AUTO_ADJUST = 4;

    /**
     * One baseline member.
     *
     * @param memberId   configured identity.
     * @param attributes as the member had them when it entered the baseline.
     */
    public record Member(String memberId, Map<String, String> attributes)
    {
        /** Canonical constructor: copies attributes into a sorted immutable map. */
        public Member
        {
            attributes = Map.copyOf(new TreeMap<>(attributes));
        }
    }

    /** Canonical constructor: sorts the members by id. */
    public Baseline
    {
        final List<Member> sorted = new ArrayList<>(members);
        sorted.sort(Comparator.comparing(Member::memberId));
        members = List.copyOf(sorted);
    }

    /**
     * @return whether a baseline is set (affinity follows it rather than the present members).
     */
    public boolean isSet()
    {
        return !members.isEmpty();
    }

    /**
     * @param memberId of a member.
     * @return whether it is in the baseline.
     */
    public boolean contains(final String memberId)
    {
        for (final Member member : members)
        {
            if (member.memberId().equals(memberId))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * @return the baseline's member ids, ascending.
     */
    public List<String> memberIds()
    {
        final List<String> ids = new ArrayList<>(members.size());
        for (final Member member : members)
        {
            ids.add(member.memberId());
        }
        return ids;
    }

    /**
     * @param present the members of the current topology.
     * @return whether the baseline lists exactly the present members (auto-adjust has nothing to do).
     */
    public boolean matches(final List<MemberRecord> present)
    {
        final TreeSet<String> ids = new TreeSet<>();
        for (final MemberRecord member : present)
        {
            ids.add(member.memberId());
        }
        return new ArrayList<>(ids).equals(memberIds());
    }

    /**
     * The baseline after an operator's change, validated against the present members.
     *
     * @param kind      {@link #SET}, {@link #ADD}, {@link #REMOVE} or {@link #AUTO_ADJUST}.
     * @param ids       the members the change names (unused by {@link #AUTO_ADJUST}).
     * @param timeoutNs the auto-adjust timeout (only {@link #AUTO_ADJUST}); negative disables it.
     * @param present   the members of the current topology.
     * @return the new baseline.
     * @throws IllegalArgumentException naming what is wrong with the change.
     */
    public Baseline change(final int kind, final List<String> ids, final long timeoutNs,
        final List<MemberRecord> present)
    {
        final Map<String, Member> next = new TreeMap<>();
        if (isSet())
        {
            members.forEach(m -> next.put(m.memberId(), m));
        }
        else if (kind != SET)
        {
            // Not set means every present member owns data: that is the baseline the change starts from.
            present.forEach(m -> next.put(m.memberId(), new Member(m.memberId(), m.attributes())));
        }
        final Map<String, MemberRecord> online = new TreeMap<>();
        present.forEach(m -> online.put(m.memberId(), m));
        switch (kind)
        {
            case SET ->
            {
                if (ids.isEmpty())
                {
                    throw new IllegalArgumentException("a baseline must name at least one member");
                }
                final Map<String, Member> set = new TreeMap<>();
                for (final String id : ids)
                {
                    final MemberRecord member = online.get(id);
                    final Member known = next.get(id);
                    if (member == null && known == null)
                    {
                        throw new IllegalArgumentException("member '" + id + "' is neither in the cluster nor in the " +
                            "baseline: a member enters the baseline while it runs");
                    }
                    set.put(id, member != null ? new Member(id, member.attributes()) : known);
                }
                return new Baseline(new ArrayList<>(set.values()), autoAdjustTimeoutNs);
            }
            case ADD ->
            {
                for (final String id : ids)
                {
                    final MemberRecord member = online.get(id);
                    if (member == null)
                    {
                        throw new IllegalArgumentException("member '" + id + "' is not in the cluster: a member " +
                            "enters the baseline while it runs");
                    }
                    next.put(id, new Member(id, member.attributes()));
                }
            }
            case REMOVE ->
            {
                for (final String id : ids)
                {
                    if (next.remove(id) == null)
                    {
                        throw new IllegalArgumentException("member '" + id + "' is not in the baseline " +
                            next.keySet());
                    }
                }
                if (next.isEmpty())
                {
                    throw new IllegalArgumentException("removing " + ids + " would leave the baseline empty");
                }
            }
            case AUTO_ADJUST ->
            {
                return new Baseline(new ArrayList<>(next.values()), timeoutNs < 0 ? -1 : timeoutNs);
            }
            default -> throw new IllegalArgumentException("unknown baseline change " + kind);
        }
        return new Baseline(new ArrayList<>(next.values()), autoAdjustTimeoutNs);
    }

    /**
     * @param present the members of the current topology.
     * @return the baseline auto-adjust sets: the present members, same timeout.
     */
    public Baseline ofPresent(final List<MemberRecord> present)
    {
        final List<Member> next = new ArrayList<>(present.size());
        present.forEach(m -> next.add(new Member(m.memberId(), m.attributes())));
        return new Baseline(next, autoAdjustTimeoutNs);
    }

}
