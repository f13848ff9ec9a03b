package dev.grid.examples;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.MemberMetrics;
import dev.grid.core.testing.LoopbackPorts;
import dev.grid.node.ShardedMember;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The thin client against two members of two shards each, in this JVM: the client, given one shard's address, learns
 * the partition map and sends each key's request to the shard that is its partition's primary, on that shard's own
 * client port; nothing is forwarded between shards or members.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ShardedThinClientTest
{
    @Test
    void eachKeyRequestGoesToTheShardThatIsItsPartitionsPrimary()
    {
        final int[] firstPorts = { LoopbackPorts.nextRun(2), LoopbackPorts.nextRun(2) };
        final List<String> seeds = List.of("127.0.0.1:" + firstPorts[0], "127.0.0.1:" + firstPorts[1]);
        final List<CompletableFuture<ShardedMember>> starting = new ArrayList<>();
        for (int m = 0; m < 2; m++)
        {
            final int member = m;
            starting.add(CompletableFuture.supplyAsync(() -> ShardedMember.start("m" + member, 2, shard ->
            {
                final MemberConfiguration config = new MemberConfiguration(ShardedMember.shardId("m" + member, shard))
                    .port(firstPorts[member] + shard).clientPort(0)
                    .heartbeatIntervalNs(TimeUnit.MILLISECONDS.toNanos(100))
                    .failureDetectionTimeoutNs(TimeUnit.MILLISECONDS.toNanos(1500))
                    .joinTimeoutNs(TimeUnit.SECONDS.toNanos(10));
                seeds.forEach(config::addSeed);
                return config;
            })));
        }
        final List<ShardedMember> members = new ArrayList<>();
        try
        {
            starting.forEach(start -> members.add(start.join()));
            try (GridClient client = GridClient.connect(new ClientConfiguration().address("127.0.0.1:" +
                members.get(0).shard(0).clientPort())))
            {
                final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("sharded",
                    Codecs.STRING, Codecs.STRING).backups(1).partitions(64));
                // Warm up: the client learns the map and opens its connections.
                cache.put("warm", "up");
                final long[] before = routed(members);
                for (int i = 0; i < 300; i++)
                {
                    cache.put("k" + i, "v" + i);
                    assertEquals("v" + i, cache.get("k" + i));
                }
                final long[] after = routed(members);
                assertEquals(600, after[0] - before[0], "every request was served by the shard that is its primary");
                assertEquals(0, after[1] - before[1], "no request was forwarded between shards or members");
                assertEquals(Set.of("m0.s0", "m0.s1", "m1.s0", "m1.s1"), Set.copyOf(client.connectedMembers()),
                    "the client reached every shard directly");
                assertEquals(301, members.get(1).<String, String>cache("sharded").size());
            }
        }
        finally
        {
            starting.forEach(start -> start.thenAccept(ShardedMember::close));
            members.forEach(ShardedMember::close);
        }
    }

    /** Summed over every shard: operations served as primary, and forwarded to another node. */
    private static long[] routed(final List<ShardedMember> members)
    {
        final long[] sums = new long[2];
        for (final ShardedMember member : members)
        {
            for (int shard = 0; shard < member.shardCount(); shard++)
            {
                final MemberMetrics metrics = member.shard(shard).metrics();
                sums[0] += metrics.servedAsPrimary();
                sums[1] += metrics.forwarded();
            }
        }
        return sums;
    }
}
