package dev.grid.core.internal.cluster;

import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.Topology;
import dev.grid.core.spi.SeededRandomSource;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which copies are current when the coordinator missed the newest map: one cache of one partition with two backups.
 * In map 3 (stamp 3), the coordinator's installed map, {@code a} alone owns the partition while {@code b}, {@code c}
 * and {@code d} catch up from it (MOVING); in map 4 (stamp 4, the same life), the switch to the ideal owners,
 * {@code c}, {@code b} and {@code d} own it and {@code a}'s copy is evicted. {@code c} never installed map 4. Then
 * {@code a} leaves and {@code c} coordinates the exchange of topology 5 (whole-cluster soak seed 0x163c3c86: judged
 * by map 3 the partition was reported lost, with its only last owner {@code a}, which came back without a copy, so it
 * stayed lost for good while three identical copies were here).
 */
class ExchangePlannerNewerMapTest
{
    private static final long SEED = 0x163c3c86L;
    private static final int CACHE = 1;
    private static final long LIFE = 1;
    private static final long LWM = 20;

    private final MemberRecord a = new MemberRecord("a", 100, "sim:0", Map.of());
    private final MemberRecord b = new MemberRecord("b", 101, "sim:1", Map.of());
    private final MemberRecord c = new MemberRecord("c", 102, "sim:2", Map.of());
    private final MemberRecord d = new MemberRecord("d", 103, "sim:3", Map.of());
    private final List<CacheDescriptor> caches = List.of(new CacheDescriptor(CACHE, "c", 1, 2, "bytes", "bytes", null,
        1_000_000_000L, null, 0, 0));

    /** The copies {@code b} and {@code d} report owning in map 4, the newest map anyone here installed, are current. */
    @Test
    void theOwnersOfANewerMapTheCoordinatorMissedHoldThePartition()
    {
        final PartitionTable decided = decide(List.of(copy(b, mapFour(), 4), copy(c, mapThree(), 0),
            copy(d, mapFour(), 4)));
        assertFalse(decided.isLost(CACHE, 0), "b and d owned the partition in map 4");
        assertEquals(3, decided.owningCount(CACHE, 0), "every identical copy owns: " +
            Arrays.toString(decided.owners(CACHE, 0)));
        assertTrue(decided.plans().isEmpty(), "nothing is rebuilt: " + decided.plans());
    }

    /**
     * Copies that do not say they own the partition in their installed map (from a sender of an older schema, or a
     * map where the partition was lost and its table names the lost data's last owners) are not taken for current.
     */
    @Test
    void copiesThatDoNotSayTheyOwnInTheNewerMapAreNotCurrent()
    {
        final PartitionTable decided = decide(List.of(copy(b, mapFour(), 0), copy(c, mapThree(), 0),
            copy(d, mapFour(), 0)));
        assertTrue(decided.isLost(CACHE, 0), "only a, away, owned the partition by the maps these copies show");
    }

    /**
     * A member here installed map 5, newer still, in which {@code d} does not own the partition: map 5's owners,
     * away, may have acknowledged updates {@code d}'s copy lacks.
     */
    @Test
    void anOwnerOfAMapOlderThanTheNewestInstalledHereIsNotCurrent()
    {
        final PartitionTable five = map(5, List.of(a, b, c, d), new int[] {0}, 1);
        final ReportAssembly bWithoutCopy = copy(b, five, 0);
        bWithoutCopy.chunks.put(0, List.of());
        final PartitionTable decided = decide(List.of(bWithoutCopy, copy(c, mapThree(), 0), copy(d, mapFour(), 4)));
        assertTrue(decided.isLost(CACHE, 0), "b installed map 5, where only a owned the partition");
    }

    /**
     * Where map 4's owners {@code b} and {@code d} held no copy in map 3, and one of them lacks a prepare the other
     * holds (map 4's primary failed before it sent the prepares again at install), the one holding it becomes primary,
     * not the ideal primary without it: made primary, that one would take "no part here" for "never prepared" (as
     * bank seed 0x16acc264 showed for the installed map's copies).
     */
    @Test
    void anOwnerOfTheNewerMapLackingAPrepareTheOtherHoldsIsNotMadePrimary()
    {
        final PartitionTable three = map(3, List.of(a, b, c, d), new int[] {0}, 1);
        final PartitionTable four = map(4, List.of(a, b, c, d), new int[] {1, 3}, 2);
        final long[] prepare = {a.incarnation(), 9};
        final PartitionTable both = decide(three, List.of(copy(b, four, 4, prepare), copy(c, three, 0, null),
            copy(d, four, 4, prepare)));
        assertFalse(both.isLost(CACHE, 0), "b and d owned the partition in map 4");
        final MemberRecord ideal = both.primary(CACHE, 0);
        final MemberRecord other = ideal.equals(b) ? d : b;
        final PartitionTable decided = decide(three, List.of(copy(ideal, four, 4, new long[0]),
            copy(c, three, 0, null), copy(other, four, 4, prepare)));
        assertEquals(other.memberId(), decided.primary(CACHE, 0).memberId(),
            "the owner holding the prepare leads, not " + ideal.memberId());
    }

    /** Map 3: a owns, b, c and d move in. */
    private PartitionTable mapThree()
    {
        return map(3, List.of(a, b, c, d), new int[] {0, 1, 2, 3}, 1);
    }

    /** Map 4: the ideal owners c, b and d own, a is evicted. */
    private PartitionTable mapFour()
    {
        return map(4, List.of(a, b, c, d), new int[] {2, 1, 3}, 3);
    }

    private PartitionTable map(final long version, final List<MemberRecord> members, final int[] owners,
        final int owning)
    {
        final PartitionTable map = new PartitionTable(new Topology(version, members, caches, 2, Baseline.NONE));
        map.put(CACHE, new int[][] {owners}, new int[] {owning}, new long[] {77}, new long[] {0},
            new boolean[] {false}, new String[][] {null});
        map.stamp(version, LIFE);
        map.sealPlans();
        return map;
    }

    /** A member's report: its table as of {@code installed}, its copy (identical everywhere), what it says it owns. */
    private ReportAssembly copy(final MemberRecord member, final PartitionTable installed, final long owningStamp)
    {
        return copy(member, installed, owningStamp, new long[0]);
    }

    /** As above, holding {@code prepares} (coordinator, transaction pairs); null: no copy at all. */
    private ReportAssembly copy(final MemberRecord member, final PartitionTable installed, final long owningStamp,
        final long[] prepares)
    {
        final ReportAssembly assembly = new ReportAssembly();
        assembly.member = member.incarnation();
        assembly.table.update(installed, installed.stamp());
        assembly.chunks.put(0, prepares == null ? List.of() : List.of(new ReportEntry(member.incarnation(), CACHE, 0,
            LWM, LWM, false, new long[0], 1234, 0, 77, LWM, 0, false, prepares, owningStamp)));
        assembly.lastIndex = 0;
        return assembly;
    }

    /** The exchange of topology 5, where a left, coordinated by c from its installed map 3 and its own table. */
    private PartitionTable decide(final List<ReportAssembly> reports)
    {
        return decide(mapThree(), reports);
    }

    private PartitionTable decide(final PartitionTable installed, final List<ReportAssembly> reports)
    {
        final OwnershipTable own = new OwnershipTable();
        own.update(installed, installed.stamp());
        final ExchangePlanner planner = new ExchangePlanner("c", new SeededRandomSource(SEED), EngineListener.NONE);
        return planner.decide(new Topology(5, List.of(b, c, d), caches, 2, Baseline.NONE), new ExchangePlanner.Inputs(
            reports, installed, own, false, cacheId -> true, true)).map();
    }
}
