package dev.grid.examples;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.QuorumReadPolicy;
import dev.grid.core.ReadResult;
import dev.grid.core.testing.LoopbackPorts;
import dev.grid.node.GridMember;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 16: the thin client fails over from a member without quorum to one with it. Three members in this JVM; m2 is
 * configured to need more members than the cluster has ({@code cluster.min.members = 4}), so it never holds quorum
 * and refuses every write with {@code NO_QUORUM}, as a member on the minority side of a split does, while m0 and m1
 * serve. A client that asks m2 first gets its write through another member; a client that knows only m2 gets the
 * refusal, for reads too, except of a cache whose policy serves them from m2's own copies, flagged.
 */
class ThinClientFailoverTest
{
    @Test
    void aWriteRefusedForWantOfQuorumIsSentAgainThroughAnotherMember()
    {
        final List<Integer> ports = freeUdpPorts(3);
        final List<GridMember> members = new ArrayList<>();
        try
        {
            // m0 and m1 start the cluster (a quorum of the three seeds); m2 joins it once it runs.
            final List<CompletableFuture<GridMember>> first = new ArrayList<>();
            for (int i = 0; i < 2; i++)
            {
                final MemberConfiguration config = config(i, ports);
                first.add(CompletableFuture.supplyAsync(() -> GridMember.start(config)));
            }
            first.forEach(start -> members.add(start.join()));
            members.add(GridMember.start(config(2, ports).minMembers(4)));
            final GridMember m0 = members.get(0);
            final GridMember m2 = members.get(2);
            awaitCondition(() -> members.stream().allMatch(m -> m.topology().members().size() == 3),
                "three members in one topology");
            m0.createCache(new CacheConfiguration<>("c", Codecs.STRING, Codecs.STRING).backups(1).partitions(32));
            awaitCondition(() -> !m2.quorum().held() && m2.quorum().need() == 4, "m2 without quorum");

            final Map<Integer, String> primaries;
            try (GridClient admin = GridClient.connect(new ClientConfiguration()
                .address("127.0.0.1:" + m0.clientPort())))
            {
                primaries = admin.admin().primaries("c");
            }
            try (GridClient viaMinorityFirst = GridClient.connect(new ClientConfiguration()
                .address("127.0.0.1:" + m2.clientPort()).address("127.0.0.1:" + m0.clientPort())
                .address("127.0.0.1:" + members.get(1).clientPort()).partitionAware(false)))
            {
                // A key whose primary holds quorum (m2, as a primary, refuses every member's requests for its
                // partitions): m2 refuses it at once, another member serves it.
                final String key = keyWhosePrimaryIsNot("m2", primaries, "k");
                final long refusedBefore = m2.quorum().writesRefused();
                final Cache<String, String> cache = viaMinorityFirst.cache("c");
                cache.put(key, "through-the-majority");
                assertTrue(m2.quorum().writesRefused() > refusedBefore, "the write never reached m2 first");
                assertEquals("through-the-majority", m0.<String, String>cache("c").get(key));
            }

            try (GridClient minorityOnly = GridClient.connect(new ClientConfiguration()
                .address("127.0.0.1:" + m2.clientPort()).partitionAware(false)))
            {
                final String key = keyWhosePrimaryIsNot("m2", primaries, "minority-");
                final GridException refused = assertThrows(GridException.class,
                    () -> minorityOnly.<String, String>cache("c").put(key, "never"));
                assertEquals(ErrorCode.NO_QUORUM, refused.errorCode(), refused.getMessage());
                assertFalse(m0.<String, String>cache("c").containsKey(key), "a refused write was applied");
                assertEquals(ErrorCode.NO_QUORUM, assertThrows(GridException.class,
                    () -> minorityOnly.<String, String>cache("c").read(key)).errorCode(), "a REFUSE cache read");
            }

            // A cache whose reads a member without quorum serves from its own copies, flagged.
            m0.createCache(new CacheConfiguration<>("s", Codecs.STRING, Codecs.STRING).backups(1).partitions(32)
                .readsWithoutQuorum(QuorumReadPolicy.SERVE_LOCAL));
            final Map<Integer, String> servePrimaries;
            try (GridClient viaMajority = GridClient.connect(new ClientConfiguration()
                .address("127.0.0.1:" + m0.clientPort())))
            {
                servePrimaries = viaMajority.admin().primaries("s");
                for (int i = 0; i < 40; i++)
                {
                    final String key = keyWhosePrimaryIsNot("m2", servePrimaries, "s" + i + "-");
                    viaMajority.<String, String>cache("s").put(key, "v" + i);
                    final ReadResult<String> read = viaMajority.<String, String>cache("s").read(key);
                    assertEquals(new ReadResult<>("v" + i, false), read, "a read through the majority");
                }
            }
            try (GridClient minorityOnly = GridClient.connect(new ClientConfiguration()
                .address("127.0.0.1:" + m2.clientPort()).partitionAware(false)))
            {
                int flagged = 0;
                for (int i = 0; i < 40; i++)
                {
                    final String key = keyWhosePrimaryIsNot("m2", servePrimaries, "s" + i + "-");
                    try
                    {
                        assertEquals(new ReadResult<>("v" + i, true), minorityOnly.<String, String>cache("s").read(key),
                            key);
                        assertEquals("v" + i, minorityOnly.<String, String>cache("s").get(key), key);
                        flagged++;
                    }
                    catch (final GridException noCopy)
                    {
                        // m2 holds no copy of this key's partition.
                        assertEquals(ErrorCode.NO_QUORUM, noCopy.errorCode(), noCopy.getMessage());
                    }
                }
                assertTrue(flagged > 0, "m2 served no read from its own copies");
                assertEquals(2L * flagged, m2.quorum().readsWithoutQuorum());
            }
        }
        finally
        {
            members.forEach(GridMember::close);
        }
    }

    private static MemberConfiguration config(final int index, final List<Integer> ports)
    {
        final MemberConfiguration config = new MemberConfiguration("m" + index).port(ports.get(index))
            .heartbeatIntervalNs(TimeUnit.MILLISECONDS.toNanos(100))
            .failureDetectionTimeoutNs(TimeUnit.MILLISECONDS.toNanos(1500))
            .joinTimeoutNs(TimeUnit.SECONDS.toNanos(20)).clientPort(0);
        ports.forEach(port -> config.addSeed("127.0.0.1:" + port));
        return config;
    }

    private static String keyWhosePrimaryIsNot(final String memberId, final Map<Integer, String> primaries,
        final String prefix)
    {
        for (int i = 0; ; i++)
        {
            final String key = prefix + i;
            final int partition = KeyPartitioner.partition(key.getBytes(StandardCharsets.UTF_8), primaries.size());
            final String primary = primaries.get(partition);
            if (primary != null && !primary.equals(memberId))
            {
                return key;
            }
        }
    }

    static void awaitCondition(final java.util.function.BooleanSupplier condition, final String what)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean())
        {
            assertTrue(System.nanoTime() < deadline, "no " + what + " within 30 s");
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    private static List<Integer> freeUdpPorts(final int count)
    {
        final List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            ports.add(LoopbackPorts.next());
        }
        return ports;
    }
}
