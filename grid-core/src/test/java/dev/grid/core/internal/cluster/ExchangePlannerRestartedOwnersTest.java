package dev.grid.core.internal.cluster;

import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.Topology;
import dev.grid.core.spi.SeededRandomSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whether a partition whose installed owners all restarted is lost: one cache of one partition with one backup, owned
 * in the installed map (version 8, stamp 8) by {@code a} and {@code b}; both restarted (new incarnations), {@code a}
 * with the copy it recovered, and every copy here is empty (the partition never held data). {@code b} brings back no
 * copy: whether it ever held one is what its report says of its data directory: who ran on it before, and the
 * ownership table in it ({@link LastOwners#restartedOwners}).
 */
class ExchangePlannerRestartedOwnersTest
{
    private static final long SEED = 0x1617a1b0L;
    private static final int CACHE = 1;

    private final MemberRecord a = new MemberRecord("a", 100, "sim:0", Map.of());
    private final MemberRecord b = new MemberRecord("b", 101, "sim:1", Map.of());
    private final MemberRecord c = new MemberRecord("c", 102, "sim:2", Map.of());
    private final MemberRecord aRestarted = new MemberRecord("a", 200, "sim:0", Map.of());
    private final MemberRecord bRestarted = new MemberRecord("b", 201, "sim:1", Map.of());
    private final List<CacheDescriptor> caches = List.of(new CacheDescriptor(CACHE, "c", 1, 1, "bytes", "bytes", null,
        1_000_000_000L, null, 0, 0));

    /**
     * {@code b} restarted on the directory the incarnation the map lists ran on, whose ownership table is older than
     * the installed map and never named it an owner: it never installed a map that made it one, so it holds nothing,
     * and {@code a}'s recovered copy stands for the map's owners (soak seeds 0x15e3b0c2 and 0x1617a1b0: lost for good
     * with every member back).
     */
    @Test
    void anOwnerBackWithItsDirectoryThatNeverOwnedThePartitionDoesNotKeepItLost()
    {
        final PartitionTable decided = decide(List.of(emptyCopy(aRestarted), noCopy(bRestarted, b.incarnation(), false),
            emptyCopy(c)));
        assertFalse(decided.isLost(CACHE, 0), "b never installed a map making it an owner of the partition");
    }

    /**
     * Back without its data directory (lost: nobody ran on the one it has), or on one that an incarnation in between
     * found empty, {@code b} may have held what {@code a} lacks.
     */
    @Test
    void anOwnerBackWithoutItsDirectoryKeepsThePartitionLost()
    {
        assertTrue(decide(List.of(emptyCopy(aRestarted), noCopy(bRestarted, 0, false), emptyCopy(c))).isLost(CACHE, 0),
            "b's data directory is a new one");
        assertTrue(decide(List.of(emptyCopy(aRestarted), noCopy(bRestarted, 150, false), emptyCopy(c))).isLost(CACHE,
            0), "an incarnation of b between the listed one and this found the directory empty");
    }

    /** {@code b}'s recovered table names it an owner, yet it recovered no copy: it lost what it had. */
    @Test
    void anOwnerWhoseTableNamesItAnOwnerButBringsNoCopyKeepsThePartitionLost()
    {
        final PartitionTable decided = decide(List.of(emptyCopy(aRestarted),
            noCopy(bRestarted, b.incarnation(), true), emptyCopy(c)));
        assertTrue(decided.isLost(CACHE, 0), "b's table says it owned the partition");
    }

    /** A table as new as the installed map says nothing of whether {@code b} installed a newer map. */
    @Test
    void anOwnerWhoseTableIsAsNewAsTheInstalledMapKeepsThePartitionLost()
    {
        final ReportAssembly newer = noCopy(bRestarted, b.incarnation(), false);
        final Topology other = new Topology(8, List.of(a, c), caches, 2, Baseline.NONE);
        final PartitionTable notB = new PartitionTable(other);
        notB.put(CACHE, new int[][] {{0, 1}}, new int[] {2}, new long[] {77}, new long[] {0}, new boolean[] {false},
            new String[][] {null});
        notB.stamp(8, 1);
        notB.sealPlans();
        newer.table.update(notB, 8);
        final PartitionTable decided = decide(List.of(emptyCopy(aRestarted), newer, emptyCopy(c)));
        assertTrue(decided.isLost(CACHE, 0), "b's table is of the installed map's stamp");
    }

    /** An owner that is not here at all may hold what the others lack: the partition waits for it, lost. */
    @Test
    void anOwnerThatIsAwayStillKeepsThePartitionLost()
    {
        final PartitionTable decided = decide(List.of(emptyCopy(aRestarted), emptyCopy(c)));
        assertTrue(decided.isLost(CACHE, 0), "b, an owner of the installed map, is away");
    }

    private static ReportAssembly emptyCopy(final MemberRecord member)
    {
        final ReportAssembly assembly = new ReportAssembly();
        assembly.member = member.incarnation();
        assembly.chunks.put(0, List.of(new ReportEntry(member.incarnation(), CACHE, 0, 0, 0, false, new long[0], 0, 0,
            77, 0, 0, true, new long[0], 0)));
        assembly.lastIndex = 0;
        return assembly;
    }

    /**
     * @param previousIncarnation who ran on the reporter's data directory before it (0: nobody).
     * @param tableNamesIt        whether the reporter's table is that of a map (stamp 5) in which {@code a} and
     *                            {@code b} owned the partition, or empty.
     */
    private ReportAssembly noCopy(final MemberRecord member, final long previousIncarnation,
        final boolean tableNamesIt)
    {
        final ReportAssembly assembly = new ReportAssembly();
        assembly.member = member.incarnation();
        assembly.previousIncarnation = previousIncarnation;
        if (tableNamesIt)
        {
            assembly.table.update(installed(5), 5);
        }
        assembly.chunks.put(0, List.of());
        assembly.lastIndex = 0;
        return assembly;
    }

    /** A map over {@code a}, {@code b} and {@code c} in which {@code a} and {@code b} own the partition. */
    private PartitionTable installed(final long version)
    {
        final Topology installedTopology = new Topology(version, List.of(a, b, c), caches, 2, Baseline.NONE);
        final PartitionTable installed = new PartitionTable(installedTopology);
        installed.put(CACHE, new int[][] {{installedTopology.indexOf(a.incarnation()),
            installedTopology.indexOf(b.incarnation())}}, new int[] {2}, new long[] {77}, new long[] {0},
            new boolean[] {false}, new String[][] {null});
        installed.stamp(version, 1);
        installed.sealPlans();
        return installed;
    }

    /** The exchange of topology 11 over the installed map 8, with the members whose reports are given. */
    private PartitionTable decide(final List<ReportAssembly> reports)
    {
        final PartitionTable installed = installed(8);
        final OwnershipTable table = new OwnershipTable();
        table.update(installed, installed.stamp());
        final List<MemberRecord> present = new ArrayList<>();
        for (final MemberRecord member : List.of(aRestarted, bRestarted, c))
        {
            if (reports.stream().anyMatch(report -> report.member == member.incarnation()))
            {
                present.add(member);
            }
        }
        final ExchangePlanner planner = new ExchangePlanner("c", new SeededRandomSource(SEED), EngineListener.NONE);
        return planner.decide(new Topology(11, present, caches, 2, Baseline.NONE), new ExchangePlanner.Inputs(
            reports, installed, table, false, cacheId -> true, true)).map();
    }
}
