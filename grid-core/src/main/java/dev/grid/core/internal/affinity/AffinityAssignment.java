package dev.grid.core.internal.affinity;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The result of the affinity function for one topology: for every partition, the ordered owners
 * {@code [primary, backup 1, backup 2, ...]}. Immutable and thread-safe; lookups do not allocate except
 * {@link #owners(int)}.
 */
public final class AffinityAssignment
{
    private final List<AffinityMember> members;
    private final int[][] ownerIndexes;

    AffinityAssignment(final List<AffinityMember> members, final int[][] ownerIndexes)
    {
        this.members = Collections.unmodifiableList(new ArrayList<>(members));
        this.ownerIndexes = ownerIndexes;
    }

    /**
     * @return the members, sorted by id; owner indexes refer to this list.
     */
    public List<AffinityMember> members()
    {
        return members;
    }

    /**
     * @return the partition count.
     */
    public int partitions()
    {
        return ownerIndexes.length;
    }

    /**
     * @param partition the partition.
     * @return the number of copies of the partition.
     */
    public int copyCount(final int partition)
    {
        return ownerIndexes[partition].length;
    }

    /**
     * @param partition the partition.
     * @param rank      0 for the primary, 1.. for the backups.
     * @return the index into {@link #members()} of the owner at that rank.
     */
    public int ownerIndex(final int partition, final int rank)
    {
        return ownerIndexes[partition][rank];
    }

    /**
     * @param partition the partition.
     * @return the id of the primary, or null when there are no members.
     */
    public String primary(final int partition)
    {
        final int[] owners = ownerIndexes[partition];
        return owners.length == 0 ? null : members.get(owners[0]).id();
    }

    /**
     * @param partition the partition.
     * @return the owner ids, primary first.
     */
    public List<String> owners(final int partition)
    {
        final int[] owners = ownerIndexes[partition];
        final List<String> ids = new ArrayList<>(owners.length);
        for (final int owner : owners)
        {
            ids.add(members.get(owner).id());
        }
        return ids;
    }

    /**
     * @param memberId a member.
     * @return how many partitions it is primary for.
     */
    public int primaryCount(final String memberId)
    {
        return count(memberId, true);
    }

    /**
     * @param memberId a member.
     * @return how many partitions it is a backup for.
     */
    public int backupCount(final String memberId)
    {
        return count(memberId, false);
    }

    private int count(final String memberId, final boolean primary)
    {
        int count = 0;
        for (final int[] owners : ownerIndexes)
        {
            final int firstRank = primary ? 0 : 1;
            final int endRank = primary ? Math.min(1, owners.length) : owners.length;
            for (int rank = firstRank; rank < endRank; rank++)
            {
                if (members.get(owners[rank]).id().equals(memberId))
                {
                    count++;
                }
            }
        }
        return count;
    }

    public boolean equals(final Object o)
    {
        return o instanceof AffinityAssignment && members.equals(((AffinityAssignment)o).members) &&
            Arrays.deepEquals(ownerIndexes, ((AffinityAssignment)o).ownerIndexes);
    }

    public int hashCode()
    {
        return Arrays.deepHashCode(ownerIndexes);
    }
}
