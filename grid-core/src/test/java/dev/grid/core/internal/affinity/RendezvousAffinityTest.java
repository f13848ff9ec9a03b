package dev.grid.core.internal.affinity;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RendezvousAffinityTest
{
    private static final int PARTITIONS = 1024;
    /** Naming schemes for member ids: the bounds must hold for all, not for one lucky set of names. */
    private static final String[] ID_SCHEMES = { "node-%d", "m%d.rack", "10.0.0.%d:47500", "member-%d.zone-a" };

    private static List<AffinityMember> members(final String scheme, final int count)
    {
        final List<AffinityMember> members = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            members.add(AffinityMember.of(String.format(scheme, i)));
        }
        return members;
    }

    @Test
    void goldenAssignmentsNeverChange()
    {
        // Pinned values: a change here changes where every existing cluster keeps its data. Never update casually.
        final AffinityAssignment assignment = new RendezvousAffinity(PARTITIONS, 1, null)
            .assign(members("node-%d", 3));
        assertEquals(GOLDEN_OWNERS_NODE3, List.of(
            assignment.owners(0), assignment.owners(1), assignment.owners(2), assignment.owners(511),
            assignment.owners(1023)));
        assertEquals(GOLDEN_WEIGHT_0_NODE0, RendezvousAffinity.copyWeight(0, "node-0"));
    }

    static final List<List<String>> GOLDEN_OWNERS_NODE3 = List.of(
        List.of("node-0", "node-2"), List.of("node-1", "node-0"), List.of("node-0", "node-2"),
        List.of("node-0", "node-2"), List.of("node-1", "node-0"));
    static final long GOLDEN_WEIGHT_0_NODE0 = -462667653057572389L;

    @Test
    void resultDoesNotDependOnMemberOrder()
    {
        final List<AffinityMember> members = members("node-%d", 7);
        final RendezvousAffinity affinity = new RendezvousAffinity(PARTITIONS, 2, null);
        final AffinityAssignment expected = affinity.assign(members);
        final SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 5; i++)
        {
            final List<AffinityMember> shuffled = new ArrayList<>(members);
            Collections.shuffle(shuffled, new java.util.Random(random.nextLong()));
            assertEquals(expected, affinity.assign(shuffled));
        }
    }

    @Test
    void primaryAndBackupCountsStayWithinFifteenPercentOfTheMean()
    {
        double worstSpread = 0;
        for (final String scheme : ID_SCHEMES)
        {
            for (int memberCount = 3; memberCount <= 10; memberCount++)
            {
                for (int backups = 1; backups <= 2; backups++)
                {
                    final List<AffinityMember> members = members(scheme, memberCount);
                    final AffinityAssignment assignment = new RendezvousAffinity(PARTITIONS, backups, null)
                        .assign(members);
                    final double primaryMean = (double)PARTITIONS / memberCount;
                    final double backupMean = (double)PARTITIONS * Math.min(backups, memberCount - 1) / memberCount;
                    for (final AffinityMember member : members)
                    {
                        final double primarySpread =
                            Math.abs(assignment.primaryCount(member.id()) - primaryMean) / primaryMean;
                        final double backupSpread =
                            Math.abs(assignment.backupCount(member.id()) - backupMean) / backupMean;
                        worstSpread = Math.max(worstSpread, Math.max(primarySpread, backupSpread));
                        assertTrue(primarySpread <= 0.15 && backupSpread <= 0.15, () -> scheme + " members=" +
                            members.size() + " backups=" + assignment.copyCount(0) + " member " + member.id() +
                            ": primaries " + assignment.primaryCount(member.id()) + " backups " +
                            assignment.backupCount(member.id()));
                    }
                }
            }
        }
        System.out.printf("affinity balance: worst spread from the mean %.3f%n", worstSpread);
    }

    @Test
    void addingOrRemovingOneMemberMovesAtMostTenPercentMoreThanTheIdealShare()
    {
        double worstAdd = 0;
        double worstRemove = 0;
        for (final String scheme : ID_SCHEMES)
        {
            for (int memberCount = 3; memberCount <= 10; memberCount++)
            {
                for (int backups = 1; backups <= 2 && backups < memberCount - 1; backups++)
                {
                    final RendezvousAffinity affinity = new RendezvousAffinity(PARTITIONS, backups, null);
                    final List<AffinityMember> members = members(scheme, memberCount);
                    final AffinityAssignment before = affinity.assign(members);
                    final double copies = (double)PARTITIONS * (backups + 1);

                    final List<AffinityMember> grown = new ArrayList<>(members);
                    grown.add(AffinityMember.of(String.format(scheme, 99)));
                    final double addRatio = moved(before, affinity.assign(grown)) / (copies / (memberCount + 1));

                    final List<AffinityMember> shrunk = new ArrayList<>(members.subList(1, memberCount));
                    final double removeRatio = moved(before, affinity.assign(shrunk)) / (copies / memberCount);

                    worstAdd = Math.max(worstAdd, addRatio);
                    worstRemove = Math.max(worstRemove, removeRatio);
                    final String where = scheme + " members=" + memberCount + " backups=" + backups;
                    assertTrue(addRatio <= 1.1, () -> where + " add moved " + addRatio + " x ideal");
                    assertTrue(removeRatio <= 1.1, () -> where + " remove moved " + removeRatio + " x ideal");
                }
            }
        }
        System.out.printf("affinity movement: worst add %.3f, worst remove %.3f x ideal%n", worstAdd, worstRemove);
    }

    /** Copies that land on a member that did not hold the partition before. */
    private static int moved(final AffinityAssignment before, final AffinityAssignment after)
    {
        int moved = 0;
        for (int p = 0; p < before.partitions(); p++)
        {
            final Set<String> previous = new HashSet<>(before.owners(p));
            for (final String owner : after.owners(p))
            {
                if (!previous.contains(owner))
                {
                    moved++;
                }
            }
        }
        return moved;
    }

    @Test
    void neverTwoCopiesOnOneMember()
    {
        for (int memberCount = 1; memberCount <= 6; memberCount++)
        {
            final AffinityAssignment assignment = new RendezvousAffinity(PARTITIONS, 3, null)
                .assign(members("node-%d", memberCount));
            for (int p = 0; p < PARTITIONS; p++)
            {
                final List<String> owners = assignment.owners(p);
                assertEquals(Math.min(4, memberCount), owners.size());
                assertEquals(owners.size(), new HashSet<>(owners).size(), "partition " + p + ": " + owners);
            }
        }
    }

    @Test
    void rackFilterKeepsCopiesInDistinctRacksWhileRacksAllow()
    {
        final List<AffinityMember> members = new ArrayList<>();
        for (int i = 0; i < 9; i++)
        {
            members.add(AffinityMember.of("node-" + i, "rack", "r" + (i % 3)));
        }
        final AffinityAssignment assignment = new RendezvousAffinity(PARTITIONS, 2, "rack").assign(members);
        for (int p = 0; p < PARTITIONS; p++)
        {
            final Set<String> racks = new HashSet<>();
            for (final String owner : assignment.owners(p))
            {
                racks.add("r" + (Integer.parseInt(owner.substring(5)) % 3));
            }
            assertEquals(3, racks.size(), "partition " + p + " owners " + assignment.owners(p));
        }
    }

    @Test
    void rackFilterSpreadsAsFarAsPossibleWithTooFewRacks()
    {
        final List<AffinityMember> members = new ArrayList<>();
        for (int i = 0; i < 6; i++)
        {
            members.add(AffinityMember.of("node-" + i, "rack", "r" + (i % 2)));
        }
        final AffinityAssignment assignment = new RendezvousAffinity(PARTITIONS, 2, "rack").assign(members);
        for (int p = 0; p < PARTITIONS; p++)
        {
            int rackZero = 0;
            for (final String owner : assignment.owners(p))
            {
                rackZero += Integer.parseInt(owner.substring(5)) % 2 == 0 ? 1 : 0;
            }
            assertTrue(rackZero == 1 || rackZero == 2, "3 copies over 2 racks must use both: " + assignment.owners(p));
        }
    }

    @Test
    void withoutTheFilterRacksAreIgnored()
    {
        final List<AffinityMember> plain = members("node-%d", 4);
        final List<AffinityMember> racked = new ArrayList<>();
        for (int i = 0; i < 4; i++)
        {
            racked.add(AffinityMember.of("node-" + i, "rack", "same"));
        }
        final RendezvousAffinity affinity = new RendezvousAffinity(PARTITIONS, 1, null);
        final AffinityAssignment a = affinity.assign(plain);
        final AffinityAssignment b = affinity.assign(racked);
        for (int p = 0; p < PARTITIONS; p++)
        {
            assertEquals(a.owners(p), b.owners(p));
        }
    }

    @Test
    void rejectsDuplicateIdsAndBadArguments()
    {
        final RendezvousAffinity affinity = new RendezvousAffinity(16, 1, null);
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> affinity.assign(List.of(AffinityMember.of("a"), AffinityMember.of("a"))));
        assertTrue(ex.getMessage().contains("duplicate member id: a"));
        assertThrows(IllegalArgumentException.class, () -> new RendezvousAffinity(0, 1, null));
        assertThrows(IllegalArgumentException.class, () -> new RendezvousAffinity(16, -1, null));
    }

    @Test
    void noMembersMeansNoOwnersAndOneMemberOwnsEverything()
    {
        final RendezvousAffinity affinity = new RendezvousAffinity(16, 2, null);
        assertEquals(0, affinity.assign(List.of()).copyCount(3));
        final AffinityAssignment single = affinity.assign(List.of(AffinityMember.of("solo")));
        for (int p = 0; p < 16; p++)
        {
            assertEquals(List.of("solo"), single.owners(p));
        }
        assertNotEquals(affinity.assign(members("node-%d", 3)), affinity.assign(members("node-%d", 4)));
    }
}
