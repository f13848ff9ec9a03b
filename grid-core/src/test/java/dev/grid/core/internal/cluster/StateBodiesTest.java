package dev.grid.core.internal.cluster;

import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.QuorumReadPolicy;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.Topology;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The state bodies of the member schema: a topology (members with attributes, caches with and without their
 * optional names, a baseline) round-trips whole, and a body of another type or cut short is malformed.
 */
class StateBodiesTest
{
    private static final CacheDescriptor FULL = new CacheDescriptor(7, "c", 64, 2, "string", "bytes", "rack", 5_000,
        "add", 11, 12, PartitionLossPolicy.IGNORE, 3, QuorumReadPolicy.SERVE_LOCAL);
    private static final CacheDescriptor BARE = new CacheDescriptor(8, "d", 16, 0, "bytes", "bytes", null, 1_000, null,
        0, 0);

    @Test
    void aTopologyRoundTripsWithItsMembersCachesAndBaseline()
    {
        final MemberRecord a = new MemberRecord("a", 0x11, "127.0.0.1:7001", Map.of("rack", "r1", "zone", "z"));
        final MemberRecord b = new MemberRecord("b", 0x22, "127.0.0.1:7002", Map.of());
        final Baseline baseline = new Baseline(List.of(new Baseline.Member("a", Map.of("rack", "r1")),
            new Baseline.Member("b", Map.of())), 30_000_000_000L);
        final Topology topology = new Topology(42, List.of(a, b), List.of(FULL, BARE), 9, baseline);

        final Topology decoded = StateBodies.decodeTopology(StateBodies.encode(topology));

        assertEquals(topology.version(), decoded.version());
        assertEquals(topology.nextCacheId(), decoded.nextCacheId());
        assertEquals(List.of(a, b), decoded.members());
        assertEquals(List.of(FULL, BARE), decoded.caches(), "the optional names stay null where they were");
        assertEquals(baseline, decoded.baseline());
    }

    @Test
    void aBodyOfAnotherTypeOrCutShortIsMalformed()
    {
        final byte[] cache = StateBodies.encode(FULL);
        assertThrows(MalformedMessageException.class, () -> StateBodies.decodeMember(cache));
        final byte[] cut = java.util.Arrays.copyOf(cache, cache.length - 3);
        assertThrows(MalformedMessageException.class, () -> StateBodies.decodeCache(cut));
    }
}
