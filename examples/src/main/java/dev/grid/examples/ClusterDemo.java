package dev.grid.examples;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.MemberMetrics;
import dev.grid.core.MergeOperator;
import dev.grid.node.GridMember;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The README's main job for now: a local cluster of three members over Aeron on 127.0.0.1 (in one process, each with
 * its own media driver), one cache with a backup, 10,000 keys written through one member and read through another,
 * merges, one member leaving, every key still readable, then metrics and a clean shutdown.
 */
public final class ClusterDemo
{
    /** Adds the operands to the current count; every member registers it, since merges run on primaries. */
    private static final MergeOperator<String, Long> SUM = (key, current, operands) ->
    {
        long sum = current == null ? 0 : current;
        for (final Long operand : operands)
        {
            sum += operand;
        }
        return sum;
    };

    private ClusterDemo()
    {
    }

    /**
     * @param args unused.
     */
    public static void main(final String[] args) throws Exception
    {
        final List<String> addresses = new ArrayList<>();
        for (int i = 0; i < 3; i++)
        {
            try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
            {
                addresses.add("127.0.0.1:" + socket.getLocalPort());
            }
        }
        final List<CompletableFuture<GridMember>> starting = new ArrayList<>();
        for (int i = 0; i < 3; i++)
        {
            final MemberConfiguration config = new MemberConfiguration("member-" + i)
                .port(Integer.parseInt(addresses.get(i).split(":")[1]))
                .mergeOperator("sum", SUM);
            addresses.forEach(config::addSeed);
            starting.add(CompletableFuture.supplyAsync(() -> GridMember.start(config)));
        }
        final List<GridMember> members = new ArrayList<>();
        for (final CompletableFuture<GridMember> start : starting)
        {
            members.add(start.join());
        }
        try
        {
            final GridMember first = members.get(0);
            final GridMember second = members.get(1);
            say("3 members formed topology " + first.topology().version() + ": " + first.topology().members());

            final Cache<String, String> cache = first.createCache(
                new CacheConfiguration<>("demo", Codecs.STRING, Codecs.STRING).backups(1));
            final long writeStart = System.nanoTime();
            final Map<String, String> entries = new HashMap<>();
            for (int i = 0; i < 10_000; i++)
            {
                entries.put("key-" + i, "value-" + i);
            }
            cache.putAll(entries);
            say(String.format("wrote 10,000 keys through member-0 in %.0f ms", (System.nanoTime() - writeStart) / 1e6));

            final Cache<String, String> viaSecond = second.cache("demo");
            say("member-1 reads key-4242 = " + viaSecond.get("key-4242") + "; size = " + viaSecond.size());

            final Cache<String, Long> counters = first.createCache(
                new CacheConfiguration<>("counters", Codecs.STRING, Codecs.LONG).backups(1)
                    .mergeOperator("sum", SUM));
            for (int i = 0; i < 100; i++)
            {
                counters.merge("hits", 1L);
            }
            say("merged +1 a hundred times on the primary of 'hits': " + second.<String, Long>cache("counters")
                .get("hits"));

            members.get(2).close();
            final long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (second.topology().members().size() != 2 && System.nanoTime() < deadline)
            {
                Thread.onSpinWait();
            }
            say("member-2 left; member-1 now sees topology " + second.topology().version() + " with " +
                second.topology().members().size() + " members");
            int missing = 0;
            for (int i = 0; i < 10_000; i++)
            {
                if (!("value-" + i).equals(viaSecond.get("key-" + i)))
                {
                    missing++;
                }
            }
            say("after member-2 left, member-1 read all 10,000 keys back: " + (10_000 - missing) + " present, " +
                missing + " missing");

            final MemberMetrics metrics = first.metrics();
            say("member-0 put latency: " + metrics.latencies().get("put") + "; remaps " + metrics.remaps());
        }
        finally
        {
            for (final GridMember member : members)
            {
                member.close();
            }
        }
        say("all members stopped; their Aeron driver directories are gone");
    }

    private static void say(final String line)
    {
        System.out.println("[demo] " + line);
    }
}
