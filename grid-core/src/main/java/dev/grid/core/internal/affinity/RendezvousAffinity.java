package dev.grid.core.internal.affinity;

import org.apache.commons.codec.digest.MurmurHash3;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The affinity function: a pure function from (partition, members) to the ordered owners
 * {@code [primary, backups...]} of every partition, built on rendezvous (highest-random-weight) hashing.
 * <p>
 * Plain rendezvous hashing moves the ideal minimum of copies when a member joins or leaves, but its per-member counts
 * are binomial: with 1024 partitions over 10 members a member's primary count strays about 9% from the mean (one
 * standard deviation), so some member is usually more than 15% off. This function keeps rendezvous ordering as the
 * preference and adds two balancing steps that are themselves deterministic functions of the weights:
 * <ol>
 *     <li><b>Copy sets.</b> Each partition needs {@code k = min(backups + 1, members)} copies on distinct members.
 *     All (partition, member) pairs are visited in descending weight; a pair is taken while the partition needs
 *     copies, the member holds fewer than {@code mean * (1 + COPY_SLACK_ABOVE)} copies, and the rack rule allows it.
 *     Partitions still short take the least-loaded allowed member. Then each member below
 *     {@code mean * (1 - COPY_SLACK_BELOW)} takes, one at a time, the copy it weighs highest (relative to the holder)
 *     from a member above the mean.</li>
 *     <li><b>Primaries.</b> Which copy is primary is chosen inside each set, so it moves no data. A second, independent
 *     weight orders the candidates; each member's target is its copy count divided by {@code k}, so its primary and
 *     backup counts deviate from their means by about as much as its copy count does.</li>
 * </ol>
 * Measured (see {@code RendezvousAffinityTest}): with 1024 partitions, 3 to 10 members and 1 or 2 backups, primary and
 * backup counts stay within about 13% of the mean, and adding or removing a member moves at most about 1.1 times the
 * ideal share of copies.
 * <p>
 * Rack rule: with a backup filter attribute, no two copies of a partition share an attribute value while there are at
 * least {@code k} distinct values; with fewer, copies are spread so that no value holds more than
 * {@code ceil(k / values)}. A member without the attribute counts as a value of its own.
 * <p>
 * The result depends only on member ids, attributes, the partition count and the backup count: never on the order
 * members are listed, never on the JVM (weights are MurmurHash3 x64-128 of fixed byte layouts). Thread-safe and
 * stateless apart from its configuration.
 */
public final class RendezvousAffinity
{
    /** How far above the mean a member's copy count may go before it stops taking copies. */
    public static final double COPY_SLACK_ABOVE = 0.05;
    /** How far below the mean a member's copy count may fall before copies are moved to it. */
    public static final double COPY_SLACK_BELOW = 0.12;
    /** How far a member's primary count may stray from its target. */
    public static final double PRIMARY_SLACK = 0.03;
    /** Candidate pairs are sorted by a packed key holding the pair index in this many low bits. */
    static final int PAIR_INDEX_BITS = 24;

    private static final byte COPY_WEIGHT_TAG = 0;
    private static final byte PRIMARY_WEIGHT_TAG = 1;

    private final int partitions;
    private final int backups;
    private final String backupFilterAttribute;

    /**
     * @param partitions            the partition count, positive.
     * @param backups               the backup count, non-negative.
     * @param backupFilterAttribute the member attribute copies are spread over, or null.
     */
    public RendezvousAffinity(final int partitions, final int backups, final String backupFilterAttribute)
    {
        if (partitions <= 0)
        {
            throw new IllegalArgumentException("partitions must be positive: " + partitions);
        }
        if (backups < 0)
        {
            throw new IllegalArgumentException("backups must not be negative: " + backups);
        }
        this.partitions = partitions;
        this.backups = backups;
        this.backupFilterAttribute = backupFilterAttribute;
    }

    /**
     * Assign every partition's owners over a set of members.
     *
     * @param members in any order; ids must be distinct.
     * @return the assignment.
     * @throws IllegalArgumentException if two members share an id, or there are too many candidate pairs.
     */
    public AffinityAssignment assign(final Collection<AffinityMember> members)
    {
        final List<AffinityMember> sorted = new ArrayList<>(members);
        sorted.sort(Comparator.comparing(AffinityMember::id));
        for (int i = 1; i < sorted.size(); i++)
        {
            if (sorted.get(i).id().equals(sorted.get(i - 1).id()))
            {
                throw new IllegalArgumentException("duplicate member id: " + sorted.get(i).id());
            }
        }
        final int memberCount = sorted.size();
        if (memberCount == 0)
        {
            return new AffinityAssignment(sorted, new int[partitions][0]);
        }
        if ((long)partitions * memberCount >= 1L << PAIR_INDEX_BITS)
        {
            throw new IllegalArgumentException("partitions * members = " + (long)partitions * memberCount +
                " exceeds " + (1L << PAIR_INDEX_BITS));
        }
        return new Planner(sorted).plan();
    }

    /**
     * The copy weight of a member for a partition, as used for ordering. Exposed for tests and tools.
     *
     * @param partition the partition.
     * @param memberId  the member.
     * @return the unsigned 64-bit weight.
     */
    public static long copyWeight(final int partition, final String memberId)
    {
        return weight(memberHash(memberId), partition, COPY_WEIGHT_TAG);
    }

    static long memberHash(final String memberId)
    {
        final byte[] bytes = memberId.getBytes(StandardCharsets.UTF_8);
        return MurmurHash3.hash128x64(bytes, 0, bytes.length, 0)[0];
    }

    static long weight(final long memberHash, final int partition, final byte tag)
    {
        final byte[] bytes = new byte[13];
        for (int i = 0; i < 8; i++)
        {
            bytes[i] = (byte)(memberHash >>> (56 - 8 * i));
        }
        for (int i = 0; i < 4; i++)
        {
            bytes[8 + i] = (byte)(partition >>> (24 - 8 * i));
        }
        bytes[12] = tag;
        return MurmurHash3.hash128x64(bytes, 0, bytes.length, 0)[0];
    }

    private static double unitInterval(final long weight)
    {
        return (weight >>> 11) * 0x1.0p-53;
    }

    /** One planning run over a fixed, sorted member list. */
    private final class Planner
    {
        private final List<AffinityMember> sorted;
        private final int memberCount;
        private final int copies;
        private final long[] memberHashes;
        private final int[] rackOf;
        private final int copiesPerRackMax;
        private final long[] copyWeights;
        private final int[][] owners;
        private final int[] ownerCount;
        private final int[] copyCount;

        Planner(final List<AffinityMember> sorted)
        {
            this.sorted = sorted;
            memberCount = sorted.size();
            copies = Math.min(backups + 1, memberCount);
            memberHashes = new long[memberCount];
            rackOf = new int[memberCount];
            final Map<String, Integer> racks = new HashMap<>();
            for (int m = 0; m < memberCount; m++)
            {
                final AffinityMember member = sorted.get(m);
                memberHashes[m] = memberHash(member.id());
                final String value = backupFilterAttribute == null ? null :
                    member.attributes().get(backupFilterAttribute);
                // A member without the attribute is a rack of its own; NUL cannot occur in configured ids.
                final String rack = value == null ? "\0" + member.id() : value;
                rackOf[m] = racks.computeIfAbsent(rack, r -> racks.size());
            }
            copiesPerRackMax = (copies + racks.size() - 1) / racks.size();
            copyWeights = new long[partitions * memberCount];
            for (int p = 0; p < partitions; p++)
            {
                for (int m = 0; m < memberCount; m++)
                {
                    copyWeights[p * memberCount + m] = weight(memberHashes[m], p, COPY_WEIGHT_TAG);
                }
            }
            owners = new int[partitions][copies];
            ownerCount = new int[partitions];
            copyCount = new int[memberCount];
        }

        AffinityAssignment plan()
        {
            final double mean = (double)partitions * copies / memberCount;
            takeCopiesByWeight(Math.max((int)Math.ceil(mean), (int)Math.floor(mean * (1 + COPY_SLACK_ABOVE))));
            fillShortPartitions();
            raiseLoadedBelow(mean, Math.min((int)Math.floor(mean), (int)Math.ceil(mean * (1 - COPY_SLACK_BELOW))));
            final int[] primaries = new PrimaryChooser().choose();
            return new AffinityAssignment(sorted, order(primaries));
        }

        private void takeCopiesByWeight(final int copiesMax)
        {
            final long[] keys = new long[partitions * memberCount];
            for (int i = 0; i < keys.length; i++)
            {
                keys[i] = ((copyWeights[i] >>> PAIR_INDEX_BITS) << PAIR_INDEX_BITS) | i;
            }
            sortUnsigned(keys);
            for (int i = keys.length - 1; i >= 0; i--)
            {
                final int pair = (int)(keys[i] & ((1L << PAIR_INDEX_BITS) - 1));
                final int p = pair / memberCount;
                final int m = pair % memberCount;
                if (ownerCount[p] < copies && copyCount[m] < copiesMax && rackAllows(p, m, -1))
                {
                    addOwner(p, m);
                }
            }
        }

        private void fillShortPartitions()
        {
            for (int p = 0; p < partitions; p++)
            {
                while (ownerCount[p] < copies)
                {
                    int best = leastLoadedCandidate(p, true);
                    if (best < 0)
                    {
                        best = leastLoadedCandidate(p, false);
                    }
                    addOwner(p, best);
                }
            }
        }

        private int leastLoadedCandidate(final int p, final boolean honourRacks)
        {
            int best = -1;
            for (int m = 0; m < memberCount; m++)
            {
                if (isOwner(p, m) || (honourRacks && !rackAllows(p, m, -1)))
                {
                    continue;
                }
                if (best < 0 || copyCount[m] < copyCount[best] || (copyCount[m] == copyCount[best] &&
                    Long.compareUnsigned(copyWeights[p * memberCount + m], copyWeights[p * memberCount + best]) > 0))
                {
                    best = m;
                }
            }
            return best;
        }

        private void raiseLoadedBelow(final double mean, final int copiesMin)
        {
            final boolean[] stuck = new boolean[memberCount];
            while (true)
            {
                int needy = -1;
                for (int m = 0; m < memberCount; m++)
                {
                    if (!stuck[m] && copyCount[m] < copiesMin && (needy < 0 || copyCount[m] < copyCount[needy]))
                    {
                        needy = m;
                    }
                }
                if (needy < 0)
                {
                    return;
                }
                if (!takeBestCopyFor(needy, mean))
                {
                    stuck[needy] = true;
                }
            }
        }

        private boolean takeBestCopyFor(final int needy, final double mean)
        {
            int bestPartition = -1;
            int bestSlot = -1;
            double bestScore = Double.NEGATIVE_INFINITY;
            for (int p = 0; p < partitions; p++)
            {
                if (isOwner(p, needy))
                {
                    continue;
                }
                final double needyWeight = unitInterval(copyWeights[p * memberCount + needy]);
                for (int slot = 0; slot < ownerCount[p]; slot++)
                {
                    final int holder = owners[p][slot];
                    if (copyCount[holder] <= mean || !rackAllows(p, needy, holder))
                    {
                        continue;
                    }
                    final double score = needyWeight - unitInterval(copyWeights[p * memberCount + holder]);
                    if (score > bestScore)
                    {
                        bestScore = score;
                        bestPartition = p;
                        bestSlot = slot;
                    }
                }
            }
            if (bestPartition < 0)
            {
                return false;
            }
            copyCount[owners[bestPartition][bestSlot]]--;
            owners[bestPartition][bestSlot] = needy;
            copyCount[needy]++;
            return true;
        }

        private boolean isOwner(final int p, final int m)
        {
            for (int slot = 0; slot < ownerCount[p]; slot++)
            {
                if (owners[p][slot] == m)
                {
                    return true;
                }
            }
            return false;
        }

        /** Whether m may hold a copy of p, if {@code replaced} (or nobody, -1) gave its copy up. */
        private boolean rackAllows(final int p, final int m, final int replaced)
        {
            int sameRack = 0;
            for (int slot = 0; slot < ownerCount[p]; slot++)
            {
                final int owner = owners[p][slot];
                if (owner != replaced && rackOf[owner] == rackOf[m])
                {
                    sameRack++;
                }
            }
            return sameRack < copiesPerRackMax;
        }

        private void addOwner(final int p, final int m)
        {
            owners[p][ownerCount[p]++] = m;
            copyCount[m]++;
        }

        /** Primary first, then backups by descending copy weight. */
        private int[][] order(final int[] primaries)
        {
            final int[][] ordered = new int[partitions][];
            final Integer[] backupsOrder = new Integer[copies - 1];
            for (int p = 0; p < partitions; p++)
            {
                final int partition = p;
                int b = 0;
                for (int slot = 0; slot < copies; slot++)
                {
                    if (owners[p][slot] != primaries[p])
                    {
                        backupsOrder[b++] = owners[p][slot];
                    }
                }
                Arrays.sort(backupsOrder, (x, y) -> Long.compareUnsigned(
                    copyWeights[partition * memberCount + y], copyWeights[partition * memberCount + x]));
                ordered[p] = new int[copies];
                ordered[p][0] = primaries[p];
                for (int i = 0; i < copies - 1; i++)
                {
                    ordered[p][i + 1] = backupsOrder[i];
                }
            }
            return ordered;
        }

        /** Chooses the primary inside each partition's copy set. */
        private final class PrimaryChooser
        {
            private final long[] primaryWeights = new long[partitions * copies];
            private final int[] primaries = new int[partitions];
            private final int[] primaryCount = new int[memberCount];
            private final double[] target = new double[memberCount];
            private final int[] primariesMax = new int[memberCount];
            private final int[] primariesMin = new int[memberCount];

            int[] choose()
            {
                Arrays.fill(primaries, -1);
                for (int m = 0; m < memberCount; m++)
                {
                    target[m] = (double)copyCount[m] / copies;
                    primariesMax[m] = Math.max((int)Math.ceil(target[m]),
                        (int)Math.floor(target[m] * (1 + PRIMARY_SLACK)));
                    primariesMin[m] = Math.min((int)Math.floor(target[m]),
                        (int)Math.ceil(target[m] * (1 - PRIMARY_SLACK)));
                }
                for (int p = 0; p < partitions; p++)
                {
                    for (int slot = 0; slot < copies; slot++)
                    {
                        primaryWeights[p * copies +
                            slot] = weight(memberHashes[owners[p][slot]], p, PRIMARY_WEIGHT_TAG);
                    }
                }
                takeByWeight();
                fillUnassigned();
                raiseBelowTarget();
                return primaries;
            }

            private void takeByWeight()
            {
                final long[] keys = new long[partitions * copies];
                for (int i = 0; i < keys.length; i++)
                {
                    keys[i] = ((primaryWeights[i] >>> PAIR_INDEX_BITS) << PAIR_INDEX_BITS) | i;
                }
                sortUnsigned(keys);
                for (int i = keys.length - 1; i >= 0; i--)
                {
                    final int pair = (int)(keys[i] & ((1L << PAIR_INDEX_BITS) - 1));
                    final int p = pair / copies;
                    final int m = owners[p][pair % copies];
                    if (primaries[p] < 0 && primaryCount[m] < primariesMax[m])
                    {
                        primaries[p] = m;
                        primaryCount[m]++;
                    }
                }
            }

            private void fillUnassigned()
            {
                for (int p = 0; p < partitions; p++)
                {
                    if (primaries[p] >= 0)
                    {
                        continue;
                    }
                    int bestSlot = 0;
                    for (int slot = 1; slot < copies; slot++)
                    {
                        final double load = primaryCount[owners[p][slot]] - target[owners[p][slot]];
                        final double bestLoad = primaryCount[owners[p][bestSlot]] - target[owners[p][bestSlot]];
                        if (load < bestLoad)
                        {
                            bestSlot = slot;
                        }
                    }
                    primaries[p] = owners[p][bestSlot];
                    primaryCount[primaries[p]]++;
                }
            }

            private void raiseBelowTarget()
            {
                final boolean[] stuck = new boolean[memberCount];
                while (true)
                {
                    int needy = -1;
                    for (int m = 0; m < memberCount; m++)
                    {
                        if (!stuck[m] && primaryCount[m] < primariesMin[m] &&
                            (needy < 0 || primaryCount[m] - target[m] < primaryCount[needy] - target[needy]))
                        {
                            needy = m;
                        }
                    }
                    if (needy < 0)
                    {
                        return;
                    }
                    int best = -1;
                    for (int p = 0; p < partitions; p++)
                    {
                        final int slot = slotOf(p, needy);
                        final int holder = primaries[p];
                        if (slot < 0 || holder == needy || primaryCount[holder] <= target[holder])
                        {
                            continue;
                        }
                        if (best < 0 || Long.compareUnsigned(primaryWeights[p * copies + slot],
                            primaryWeights[best * copies + slotOf(best, needy)]) > 0)
                        {
                            best = p;
                        }
                    }
                    if (best < 0)
                    {
                        stuck[needy] = true;
                        continue;
                    }
                    primaryCount[primaries[best]]--;
                    primaries[best] = needy;
                    primaryCount[needy]++;
                }
            }

            private int slotOf(final int p, final int m)
            {
                for (int slot = 0; slot < copies; slot++)
                {
                    if (owners[p][slot] == m)
                    {
                        return slot;
                    }
                }
                return -1;
            }
        }
    }

    private static void sortUnsigned(final long[] keys)
    {
        // Flipping the sign bit maps unsigned order onto signed order.
        for (int i = 0; i < keys.length; i++)
        {
            keys[i] ^= Long.MIN_VALUE;
        }
        Arrays.sort(keys);
        for (int i = 0; i < keys.length; i++)
        {
            keys[i] ^= Long.MIN_VALUE;
        }
    }
}
