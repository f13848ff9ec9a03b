package dev.grid.core.internal.cluster;

import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.Topology;
import dev.grid.core.spi.SeededRandomSource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An in-memory coordinator with no installed map, whose members report no copy and no ownership table, decides a
 * topology that lists a cache: one it never installed a map of came from an active cluster whose holders are away, so
 * its partitions are lost; one it knows (created here, or a new cluster's) starts empty.
 */
class ExchangePlannerUnknownCachesTest
{
    private static final int CACHE = 1;

    private final MemberRecord a = new MemberRecord("a", 100, "sim:0", Map.of());
    private final MemberRecord b = new MemberRecord("b", 101, "sim:1", Map.of());
    private final List<CacheDescriptor> caches = List.of(new CacheDescriptor(CACHE, "c", 4, 1, "bytes", "bytes", null,
        1_000_000_000L, null, 0, 0));

    /**
     * In-memory soak seed 0x1820e48e2: the coordinator had joined the cluster's topology and never installed a map;
     * created empty, the cache's new lineage replaced the copies of a paused member that held acknowledged writes.
     */
    @Test
    void aCacheTheCoordinatorNeverInstalledIsLostNotCreatedEmpty()
    {
        final PartitionTable decided = decide(false);
        for (int p = 0; p < 4; p++)
        {
            assertTrue(decided.isLost(CACHE, p), "partition " + p);
        }
    }

    @Test
    void aCacheTheCoordinatorKnowsStartsEmpty()
    {
        final PartitionTable decided = decide(true);
        for (int p = 0; p < 4; p++)
        {
            assertFalse(decided.isLost(CACHE, p), "partition " + p);
        }
    }

    private PartitionTable decide(final boolean known)
    {
        final ExchangePlanner planner = new ExchangePlanner("a", new SeededRandomSource(0x1820e48e2L),
            EngineListener.NONE);
        return planner.decide(new Topology(6, List.of(a, b), caches, 2, Baseline.NONE), new ExchangePlanner.Inputs(
            List.of(noCopy(a), noCopy(b)), null, new OwnershipTable(), false, cacheId -> known, false)).map();
    }

    private static ReportAssembly noCopy(final MemberRecord member)
    {
        final ReportAssembly assembly = new ReportAssembly();
        assembly.member = member.incarnation();
        assembly.chunks.put(0, List.of());
        assembly.lastIndex = 0;
        return assembly;
    }
}
