package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.MemberMetrics;
import dev.grid.core.engine.CopyView;
import dev.grid.core.engine.MemberState;
import dev.grid.core.testing.LoopbackPorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Members of several shards ({@link ShardedMember}) on loopback: each shard holds only the partitions
 * {@code partition mod shards} of its member's share, no partition has two copies in one member, a key's operation
 * goes to its shard, and a member that stops with all its shards loses no acknowledged write.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ShardedMemberTest
{
    private static final int PARTITIONS = 64;

    /** The configurations of a member of {@code shards} shards on consecutive free ports, seeds naming shard 0s. */
    private static ShardedMember start(final String memberId, final int shards, final int[] ports,
        final List<String> seeds)
    {
        return ShardedMember.start(memberId, shards, i ->
        {
            final MemberConfiguration config = TestCluster.config(ShardedMember.shardId(memberId, i), ports[i], seeds);
            return config.idleMaxParkNs(TimeUnit.MILLISECONDS.toNanos(1));
        });
    }

    /** Consecutive free ports, as the shards of a member use. */
    private static int[] ports(final int count)
    {
        final int first = LoopbackPorts.nextRun(count);
        final int[] ports = new int[count];
        for (int i = 0; i < count; i++)
        {
            ports[i] = first + i;
        }
        return ports;
    }

    @Test
    void aMemberOfTwoShardsServesEveryKeyFromTheShardOfItsPartition()
    {
        try (ShardedMember member = start("solo", 2, ports(2), List.of()))
        {
            final Cache<String, String> cache = member.createCache(new CacheConfiguration<>("c", Codecs.STRING,
                Codecs.STRING).partitions(PARTITIONS).backups(1));
            for (int i = 0; i < 500; i++)
            {
                cache.put("k" + i, "v" + i);
            }
            for (int i = 0; i < 500; i++)
            {
                assertEquals("v" + i, cache.get("k" + i));
            }
            assertEquals(500, cache.size());
            int copies = 0;
            for (int shard = 0; shard < 2; shard++)
            {
                final SortedMap<Integer, CopyView> local = member.shard(shard).localCopies("c");
                for (final int partition : local.keySet())
                {
                    assertEquals(shard, partition % 2, "shard " + shard + " holds partition " + partition);
                    assertTrue(local.get(partition).primary(), "partition " + partition + " has no other member");
                }
                copies += local.size();
                // Each shard served its own keys as their primary: none went through the other shard.
                assertEquals(0, member.shard(shard).metrics().forwarded(), "shard " + shard);
                assertTrue(member.shard(shard).metrics().servedAsPrimary() >= 300, "shard " + shard + " served " +
                    member.shard(shard).metrics().servedAsPrimary());
            }
            // One member: one copy of each partition however many backups the cache asks for.
            assertEquals(PARTITIONS, copies);
            // The member's metrics are its shards' together: every operation counted once, whichever shard ran it.
            final MemberMetrics whole = member.metrics();
            final MemberMetrics first = member.shard(0).metrics();
            final MemberMetrics second = member.shard(1).metrics();
            assertEquals(500, whole.latencies().get("put").count());
            assertEquals(500, whole.latencies().get("get").count());
            assertEquals(first.latencies().get("put").count() + second.latencies().get("put").count(),
                whole.latencies().get("put").count());
            assertEquals(first.servedAsPrimary() + second.servedAsPrimary(), whole.servedAsPrimary());
            assertEquals(Math.max(first.latencies().get("get").maxUs(), second.latencies().get("get").maxUs()),
                whole.latencies().get("get").maxUs());
            assertEquals(first.topologyVersion(), whole.topologyVersion());
        }
    }

    @Test
    void aMemberThatStopsWithAllItsShardsLosesNoAcknowledgedWrite()
    {
        final int[][] ports = { ports(2), ports(2), ports(2) };
        final List<String> seeds = new ArrayList<>();
        for (final int[] member : ports)
        {
            seeds.add("127.0.0.1:" + member[0]);
        }
        final List<CompletableFuture<ShardedMember>> starting = new ArrayList<>();
        for (int m = 0; m < 3; m++)
        {
            final int index = m;
            starting.add(CompletableFuture.supplyAsync(() -> start("m" + index, 2, ports[index], seeds)));
        }
        final List<ShardedMember> members = new ArrayList<>();
        try
        {
            starting.forEach(start -> members.add(start.join()));
            final Cache<String, String> cache = members.get(0).createCache(new CacheConfiguration<>("c",
                Codecs.STRING, Codecs.STRING).partitions(PARTITIONS).backups(1));
            final Map<String, String> written = new HashMap<>();
            for (int i = 0; i < 2_000; i++)
            {
                cache.put("k" + i, "v" + i);
                written.put("k" + i, "v" + i);
            }
            assertCopiesOnDistinctMembers(members);
            members.get(2).close();
            final Cache<String, String> survivor = members.get(1).cache("c");
            awaitOwners(members.get(0), 4);
            for (final Map.Entry<String, String> e : written.entrySet())
            {
                assertEquals(e.getValue(), survivor.get(e.getKey()), e.getKey());
            }
            assertEquals(written.size(), survivor.size());
            assertTrue(members.get(0).checkConsistency("c").isClean());
        }
        finally
        {
            starting.forEach(start -> start.thenAccept(ShardedMember::close));
            members.forEach(ShardedMember::close);
        }
    }

    /** Every partition's copies are on shards of distinct members, each on its member's shard partition mod 2. */
    private static void assertCopiesOnDistinctMembers(final List<ShardedMember> members)
    {
        final Map<Integer, List<String>> holders = new HashMap<>();
        for (final ShardedMember member : members)
        {
            for (int shard = 0; shard < member.shardCount(); shard++)
            {
                for (final int partition : member.shard(shard).localCopies("c").keySet())
                {
                    assertEquals(shard, partition % 2, member.memberId() + " shard " + shard + ": " + partition);
                    holders.computeIfAbsent(partition, p -> new ArrayList<>()).add(member.memberId());
                }
            }
        }
        assertEquals(PARTITIONS, holders.size());
        holders.forEach((partition, owners) ->
        {
            assertEquals(2, owners.size(), "partition " + partition + ": " + owners);
            assertTrue(!owners.get(0).equals(owners.get(1)), "partition " + partition + " twice on " + owners);
        });
    }

    /** Wait until a shard sees the given number of shards in the cluster and the map is settled. */
    private static void awaitOwners(final ShardedMember member, final int shards)
    {
        final long deadlineMs = System.currentTimeMillis() + 30_000;
        while (member.shard(0).topology().members().size() != shards || !member.shard(0).isQuiescent())
        {
            if (System.currentTimeMillis() > deadlineMs)
            {
                throw new AssertionError("the cluster did not settle on " + shards + " shards: " +
                    member.shard(0).topology().members());
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    @Test
    void aShardThatStopsOnItsOwnStopsTheOthers()
    {
        try (ShardedMember member = start("fragile", 2, ports(2), List.of()))
        {
            // The shard alone, as a failure of its engine would stop it.
            member.shard(1).close();
            final long deadlineMs = System.currentTimeMillis() + 30_000;
            while (member.shard(0).state() != MemberState.STOPPED)
            {
                if (System.currentTimeMillis() > deadlineMs)
                {
                    throw new AssertionError("the other shard still runs: " + member.shard(0).state());
                }
                Thread.onSpinWait();
                Thread.yield();
            }
        }
    }

    @Test
    void aShardWithAnotherIdAPortOutOfRowOrAnotherShardsDataDirectoryIsRefused()
    {
        final InvalidConfigurationException wrongId = assertThrows(InvalidConfigurationException.class,
            () -> ShardedMember.start("x", 2, i -> new MemberConfiguration("x" + i).port(7000 + i)));
        assertTrue(wrongId.getMessage().contains("x.s0"), wrongId.getMessage());
        final InvalidConfigurationException samePort = assertThrows(InvalidConfigurationException.class,
            () -> ShardedMember.start("x", 2, i -> new MemberConfiguration(ShardedMember.shardId("x", i)).port(7000)));
        assertTrue(samePort.getMessage().contains("port 7000: the shards of a member use consecutive ports"),
            samePort.getMessage());
        final InvalidConfigurationException sameData = assertThrows(InvalidConfigurationException.class,
            () -> ShardedMember.start("x", 2, i -> new MemberConfiguration(ShardedMember.shardId("x", i))
                .port(7000 + i).dataDirectory(Path.of("/tmp/grid-x"))));
        assertTrue(sameData.getMessage().contains("data directory /tmp/grid-x of another shard"),
            sameData.getMessage());
        final InvalidConfigurationException badSeed = assertThrows(InvalidConfigurationException.class,
            () -> ShardedMember.start("x", 2, i -> new MemberConfiguration(ShardedMember.shardId("x", i))
                .port(7000 + i).addSeed("127.0.0.1:65535")));
        assertTrue(badSeed.getMessage().contains("no room for the ports of its 2 shards"), badSeed.getMessage());
        final InvalidConfigurationException none = assertThrows(InvalidConfigurationException.class,
            () -> ShardedMember.start("x", 0, i -> new MemberConfiguration(ShardedMember.shardId("x", i))));
        assertTrue(none.getMessage().contains("shards=0"), none.getMessage());
    }
}
