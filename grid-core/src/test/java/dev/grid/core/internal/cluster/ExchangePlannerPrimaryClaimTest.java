package dev.grid.core.internal.cluster;

import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.RebalancePlan;
import dev.grid.core.engine.Topology;
import dev.grid.core.spi.SeededRandomSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which copy the exchange takes for a partition's reference when a member still calls itself primary of a map older
 * than the one the coordinator installed: one cache of one partition with one backup. In the installed map (version
 * 5) member {@code y} is primary and {@code z} its backup; member {@code x}, primary in map 4, never installed map 5
 * and still holds its copy of map 4, one update behind. Then {@code y} leaves (seed 0x181c1f979: an acknowledged merge
 * of map 5 was lost when {@code z}'s copy was rebuilt from {@code x}'s).
 */
class ExchangePlannerPrimaryClaimTest
{
    private static final long SEED = 0x181c1f979L;
    private static final int CACHE = 1;

    private final MemberRecord x = new MemberRecord("x", 100, "sim:0", Map.of());
    private final MemberRecord y = new MemberRecord("y", 101, "sim:1", Map.of());
    private final MemberRecord z = new MemberRecord("z", 102, "sim:2", Map.of());
    private final List<CacheDescriptor> caches = List.of(new CacheDescriptor(CACHE, "c", 1, 1, "bytes", "bytes", null,
        1_000_000_000L, null, 0, 0));

    /** The stale claim is no reference: the installed map's backup, which holds the acknowledged update, is. */
    @Test
    void aPrimaryClaimOfAMapTheClaimantMissedLosesToTheInstalledMapsOwners()
    {
        final PartitionTable installed = installedMap();
        final PartitionTable decided = decide(installed, List.of(report(x, 13, true, 4), report(z, 14, false, 5)));

        final Topology next = decided.topology();
        final int zIndex = next.indexOf(z.incarnation());
        final int[] owners = decided.owners(CACHE, 0);
        assertTrue(decided.rank(CACHE, 0, zIndex) >= 0 && decided.rank(CACHE, 0, zIndex) < decided.owningCount(CACHE,
            0), "the copy with the acknowledged update owns the partition: owners " + java.util.Arrays.toString(owners));
        for (final RebalancePlan plan : decided.plans())
        {
            assertFalse(plan.demander() == zIndex, "the copy with the acknowledged update is rebuilt: " + plan);
            assertEquals(zIndex, plan.supplier(), "a copy is rebuilt from another than the reference: " + plan);
        }
    }

    /**
     * A claim the installed map confirms (its claimant is that map's primary too) is still the reference, though the
     * claimant missed that map: nothing was acknowledged under map 5 but by it.
     */
    @Test
    void aPrimaryClaimOfAnOlderMapThatTheInstalledMapConfirmsStaysTheReference()
    {
        final PartitionTable installed = installedMap();
        // y, the installed map's primary, missed map 5 and reports its claim of map 4.
        final PartitionTable decided = decide(installed, List.of(report(y, 14, true, 4), report(z, 14, false, 5),
            report(x, 13, false, 4)));
        final int yIndex = decided.topology().indexOf(y.incarnation());
        assertEquals(0, decided.rank(CACHE, 0, yIndex), "the confirmed primary stays primary");
        // Taken as the reference, the claim carries the partition's lineage on; without it a new epoch would begin.
        assertEquals(77, decided.epochId(CACHE, 0), "the claim was the reference");
    }

    /**
     * The coordinator x missed map 6, in which y stayed primary with another backup and applied updates 13 and 14; z,
     * y's backup in map 5 only, missed them. y reports as primary of map 6 with every backup of that map complete,
     * which says nothing of z: z is not vouched for as up to date. It was (soak seed 0x181cb22ee), its missed counters
     * were then closed as rolled-back gaps while y held them, and a copy rebuilt from z never matched y again.
     */
    @Test
    void aPrimaryOfANewerMapDoesNotVouchForACopyOfTheMapTheCoordinatorJudgesBy()
    {
        final PartitionTable installed = installedMap();
        final PartitionTable decided = decide(installed, List.of(report(y, 14, true, 6), report(z, 12, false, 5)),
            List.of(x, y, z));
        final int zIndex = decided.topology().indexOf(z.incarnation());
        final int rank = decided.rank(CACHE, 0, zIndex);
        assertFalse(rank >= 0 && rank < decided.owningCount(CACHE, 0),
            "z, two updates behind, still owns the partition as if up to date");
        assertEquals(0, decided.rank(CACHE, 0, decided.topology().indexOf(y.incarnation())), "y stays primary");
    }

    /** Map 5 of members x, y and z: y primary, z backup, x without a copy. */
    private PartitionTable installedMap()
    {
        final Topology topology = new Topology(5, List.of(x, y, z), caches, 2, Baseline.NONE);
        final PartitionTable map = new PartitionTable(topology);
        map.put(CACHE, new int[][] {{topology.indexOf(y.incarnation()), topology.indexOf(z.incarnation())}},
            new int[] {2}, new long[] {77}, new long[] {0}, new boolean[] {false}, new String[][] {null});
        map.stamp(5, 1);
        map.sealPlans();
        return map;
    }

    private ReportAssembly report(final MemberRecord member, final long lwm, final boolean primary,
        final long primaryVersion)
    {
        final ReportAssembly assembly = new ReportAssembly();
        assembly.chunks.put(0, List.of(new ReportEntry(member.incarnation(), CACHE, 0, lwm, lwm, primary, new long[0],
            1000 + lwm, 0, 77, lwm, primaryVersion, true, new long[0], 0)));
        assembly.lastIndex = 0;
        return assembly;
    }

    /** The exchange of topology 7, where y left (or, for the second test, where every member stayed). */
    private PartitionTable decide(final PartitionTable installed, final List<ReportAssembly> reports)
    {
        final List<MemberRecord> present = new ArrayList<>();
        for (final MemberRecord member : List.of(x, y, z))
        {
            if (reports.stream().anyMatch(r -> r.chunks.get(0).get(0).member() == member.incarnation()))
            {
                present.add(member);
            }
        }
        return decide(installed, reports, present);
    }

    /** The exchange of topology 7 among {@code present}: a member present without a report holds no copy. */
    private PartitionTable decide(final PartitionTable installed, final List<ReportAssembly> reports,
        final List<MemberRecord> present)
    {
        final OwnershipTable table = new OwnershipTable();
        table.update(installed, installed.stamp());
        final ExchangePlanner planner = new ExchangePlanner("x", new SeededRandomSource(SEED), EngineListener.NONE);
        return planner.decide(new Topology(7, present, caches, 2, Baseline.NONE), new ExchangePlanner.Inputs(
            reports, installed, table, false, cacheId -> true, false)).map();
    }
}
