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
 * Whether a partition whose installed owners restarted is lost: one cache of one partition with one backup, owned in
 * the installed map (version 8) by {@code a} and {@code b}; {@code a} restarted (a new incarnation) with the copy it
 * recovered, and every copy here is empty (the partition never held data).
 */
class ExchangePlannerRestartedOwnersTest
{
    private static final long SEED = 0x15e3b0c2L;
    private static final int CACHE = 1;

    private final MemberRecord a = new MemberRecord("a", 100, "sim:0", Map.of());
    private final MemberRecord b = new MemberRecord("b", 101, "sim:1", Map.of());
    private final MemberRecord c = new MemberRecord("c", 102, "sim:2", Map.of());
    private final MemberRecord aRestarted = new MemberRecord("a", 200, "sim:0", Map.of());
    private final List<CacheDescriptor> caches = List.of(new CacheDescriptor(CACHE, "c", 1, 1, "bytes", "bytes", null,
        1_000_000_000L, null, 0, 0));

    /**
     * The other owner is here without any copy of the partition (it never installed the map that gave it one): it
     * recovered nothing, so the restarted owner's copy stands for the map's owners (seed 0x15e3b0c2: the partition
     * stayed lost for good with every member back).
     */
    @Test
    void anOwnerHereWithoutAnyCopyDoesNotKeepThePartitionLost()
    {
        final PartitionTable decided = decide(List.of(emptyCopy(aRestarted), noCopy(b), emptyCopy(c)));
        assertFalse(decided.isLost(CACHE, 0), "every owner is back, one with its recovered copy, one with none");
    }

    /** An owner that is not here at all may hold what the others lack: the partition waits for it, lost. */
    @Test
    void anOwnerThatIsAwayStillKeepsThePartitionLost()
    {
        final PartitionTable decided = decide(List.of(emptyCopy(aRestarted), emptyCopy(c)));
        assertTrue(decided.isLost(CACHE, 0), "b, an owner of the installed map, is away");
    }

    private ReportAssembly emptyCopy(final MemberRecord member)
    {
        final ReportAssembly assembly = new ReportAssembly();
        assembly.chunks.put(0, List.of(new ReportEntry(member.incarnation(), CACHE, 0, 0, 0, false, new long[0], 0, 0,
            77, 0, 0, true, new long[0])));
        assembly.lastIndex = 0;
        return assembly;
    }

    private static ReportAssembly noCopy(final MemberRecord member)
    {
        final ReportAssembly assembly = new ReportAssembly();
        assembly.chunks.put(0, List.of());
        assembly.lastIndex = 0;
        return assembly;
    }

    /** The exchange of topology 11 over the installed map 8, with the members whose reports are given. */
    private PartitionTable decide(final List<ReportAssembly> reports)
    {
        final Topology installedTopology = new Topology(8, List.of(a, b, c), caches, 2, Baseline.NONE);
        final PartitionTable installed = new PartitionTable(installedTopology);
        installed.put(CACHE, new int[][] {{installedTopology.indexOf(a.incarnation()),
            installedTopology.indexOf(b.incarnation())}}, new int[] {2}, new long[] {77}, new long[] {0},
            new boolean[] {false}, new String[][] {null});
        installed.stamp(8, 1);
        installed.sealPlans();
        final OwnershipTable table = new OwnershipTable();
        table.update(installed, installed.stamp());
        final List<MemberRecord> present = reports.size() == 3 ? List.of(aRestarted, b, c) : List.of(aRestarted, c);
        final ExchangePlanner planner = new ExchangePlanner("c", new SeededRandomSource(SEED), EngineListener.NONE);
        return planner.decide(new Topology(11, present, caches, 2, Baseline.NONE), new ExchangePlanner.Inputs(
            reports, installed, table, false, cacheId -> true, false)).map();
    }
}
