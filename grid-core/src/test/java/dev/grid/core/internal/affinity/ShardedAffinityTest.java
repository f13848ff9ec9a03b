package dev.grid.core.internal.affinity;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardedAffinityTest
{
    private static final int PARTITIONS = 1024;

    /** The shards of {@code count} members of {@code shards} shards each, named as sharded members name them. */
    private static List<AffinityMember> shards(final int count, final int shards, final String rackAttribute)
    {
        final List<AffinityMember> nodes = new ArrayList<>();
        for (int m = 0; m < count; m++)
        {
            for (int s = 0; s < shards; s++)
            {
                final Map<String, String> attributes = new TreeMap<>();
                attributes.put(ShardedAffinity.MEMBER_ATTRIBUTE, "m" + m);
                attributes.put(ShardedAffinity.SHARD_ATTRIBUTE, Integer.toString(s));
                if (rackAttribute != null)
                {
                    attributes.put(rackAttribute, "r" + (m % 2));
                }
                nodes.add(new AffinityMember("m" + m + ".s" + s, attributes));
            }
        }
        return nodes;
    }

    private static String memberOf(final String shardId)
    {
        return shardId.substring(0, shardId.indexOf('.'));
    }

    @Test
    void withoutShardsTheResultIsTheRendezvousFunctionsOwn()
    {
        for (int count = 1; count <= 7; count++)
        {
            final List<AffinityMember> members = new ArrayList<>();
            for (int i = 0; i < count; i++)
            {
                members.add(AffinityMember.of("node-" + i, "rack", "r" + i % 3));
            }
            final RendezvousAffinity plain = new RendezvousAffinity(PARTITIONS, 1, "rack");
            final AffinityAssignment expected = plain.assign(members);
            final AffinityAssignment actual = new ShardedAffinity(plain).assign(members);
            assertEquals(expected, actual, count + " members");
        }
    }

    @Test
    void copiesOfAPartitionAreOnDistinctMembersAndOnTheShardOfThePartitionModShards()
    {
        for (final int shards : new int[]{ 1, 2, 3, 4 })
        {
            for (final int backups : new int[]{ 0, 1, 2 })
            {
                final AffinityAssignment assignment = new ShardedAffinity(new RendezvousAffinity(PARTITIONS, backups,
                    null)).assign(shards(4, shards, null));
                for (int p = 0; p < PARTITIONS; p++)
                {
                    final List<String> owners = assignment.owners(p);
                    assertEquals(backups + 1, owners.size(), "partition " + p);
                    final Set<String> members = new HashSet<>();
                    for (final String owner : owners)
                    {
                        assertTrue(members.add(memberOf(owner)), "partition " + p + " has two copies on the " +
                            "member of " + owner + ": " + owners);
                        assertEquals("s" + p % shards, owner.substring(owner.indexOf('.') + 1),
                            "partition " + p + " of " + shards + " shards: " + owners);
                    }
                }
            }
        }
    }

    @Test
    void membersGetTheSharesTheRendezvousFunctionGivesThemAsWholes()
    {
        final RendezvousAffinity byMember = new RendezvousAffinity(PARTITIONS, 1, null);
        final AffinityAssignment sharded = new ShardedAffinity(byMember).assign(shards(3, 2, null));
        final AffinityAssignment whole = byMember.assign(List.of(AffinityMember.of("m0"), AffinityMember.of("m1"),
            AffinityMember.of("m2")));
        for (int p = 0; p < PARTITIONS; p++)
        {
            final List<String> members = new ArrayList<>();
            sharded.owners(p).forEach(owner -> members.add(memberOf(owner)));
            assertEquals(whole.owners(p), members, "partition " + p);
        }
    }

    @Test
    void copiesAreSpreadOverRacksAsWithoutShards()
    {
        final AffinityAssignment assignment = new ShardedAffinity(new RendezvousAffinity(PARTITIONS, 1, "rack"))
            .assign(shards(4, 2, "rack"));
        for (int p = 0; p < PARTITIONS; p++)
        {
            final List<String> owners = assignment.owners(p);
            // m0 and m2 are on rack r0, m1 and m3 on r1: the two copies are never on one rack.
            final int rack0 = Integer.parseInt(memberOf(owners.get(0)).substring(1)) % 2;
            final int rack1 = Integer.parseInt(memberOf(owners.get(1)).substring(1)) % 2;
            assertTrue(rack0 != rack1, "partition " + p + " has both copies on rack r" + rack0 + ": " + owners);
        }
    }

    @Test
    void aMemberWithAShardAwayStillHoldsOneCopyOfItsPartitionsOnAShardItHas()
    {
        final List<AffinityMember> nodes = shards(3, 2, null);
        nodes.removeIf(node -> node.id().equals("m1.s1"));
        final AffinityAssignment assignment = new ShardedAffinity(new RendezvousAffinity(PARTITIONS, 1, null))
            .assign(nodes);
        int onM1 = 0;
        for (int p = 0; p < PARTITIONS; p++)
        {
            final List<String> owners = assignment.owners(p);
            assertTrue(!memberOf(owners.get(0)).equals(memberOf(owners.get(1))), "partition " + p + ": " + owners);
            for (final String owner : owners)
            {
                if (memberOf(owner).equals("m1"))
                {
                    assertEquals("m1.s0", owner, "partition " + p);
                    onM1++;
                }
            }
        }
        assertTrue(onM1 > PARTITIONS / 2, "m1 keeps its share of copies on the shard it has: " + onM1);
    }

    @Test
    void resultDoesNotDependOnTheOrderShardsAreListed()
    {
        final List<AffinityMember> nodes = shards(5, 3, "rack");
        final ShardedAffinity affinity = new ShardedAffinity(new RendezvousAffinity(PARTITIONS, 2, "rack"));
        final AffinityAssignment expected = affinity.assign(nodes);
        final Random random = new Random(7);
        for (int i = 0; i < 5; i++)
        {
            final List<AffinityMember> shuffled = new ArrayList<>(nodes);
            Collections.shuffle(shuffled, random);
            assertEquals(expected, affinity.assign(shuffled));
        }
    }

    @Test
    void twoShardsWithOneIdAreRefused()
    {
        final List<AffinityMember> nodes = shards(2, 2, null);
        nodes.add(nodes.get(0));
        final IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
            () -> new ShardedAffinity(new RendezvousAffinity(PARTITIONS, 1, null)).assign(nodes));
        assertTrue(refused.getMessage().contains("m0.s0"), refused.getMessage());
    }
}
