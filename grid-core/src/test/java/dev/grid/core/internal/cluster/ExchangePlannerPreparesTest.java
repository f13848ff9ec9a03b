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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Which copy the exchange makes a partition's primary when its primary left and the copies the installed map listed
 * hold different prepares: three members, one cache of one partition with two backups (every member holds a copy);
 * the primary leaves, and the two copies left are equal by counters and content (a prepare changes neither).
 */
class ExchangePlannerPreparesTest
{
    private static final long SEED = 0x16acc264L;
    private static final long[] PREPARE = {777, 42};

    private final List<MemberRecord> members = List.of(new MemberRecord("m0", 100, "sim:0", Map.of()),
        new MemberRecord("m1", 101, "sim:1", Map.of()), new MemberRecord("m2", 102, "sim:2", Map.of()));
    private final List<CacheDescriptor> caches = List.of(new CacheDescriptor(1, "c", 1, 2, "bytes", "bytes", null,
        1_000_000_000L, null, 0, 0));

    /**
     * A copy lacking a prepare another listed copy holds does not become primary, though it is the ideal primary: its
     * old primary failed before sending it the prepare again at the last install (whole-cluster bank seed 0x16acc264:
     * made primary, it applied the prepared transaction's commit without its locks, over a later transfer).
     */
    @Test
    void aListedCopyLackingAPrepareAnotherHoldsDoesNotBecomePrimary()
    {
        final PartitionTable first = decide(new Topology(1, members, caches, 2, Baseline.NONE), List.of(), null,
            new OwnershipTable());
        final int[] owners = first.owners(1, 0);
        assertEquals(3, owners.length, "every member holds a copy");
        final MemberRecord gone = members.get(owners[0]);
        final List<MemberRecord> stayed = new ArrayList<>(members);
        stayed.remove(gone);
        final Topology second = new Topology(2, stayed, caches, 2, Baseline.NONE);
        final OwnershipTable table = new OwnershipTable();
        table.update(first, first.stamp());

        // With the same prepares, the exchange picks one of the two: the ideal primary.
        final PartitionTable same = decide(second, reports(first, stayed, -1), first, table);
        final long ideal = second.members().get(same.owners(1, 0)[0]).incarnation();

        // Now only the other copy holds an open prepare.
        final long other = stayed.get(0).incarnation() == ideal ? stayed.get(1).incarnation() :
            stayed.get(0).incarnation();
        final PartitionTable decided = decide(second, reports(first, stayed, other), first, table);

        final long primary = second.members().get(decided.owners(1, 0)[0]).incarnation();
        assertNotEquals(ideal, primary, "the copy without the prepare became primary");
        assertEquals(other, primary);
    }

    /** Both copies equal, from the first map's owners; {@code holder} alone lists the open prepare (-1: neither). */
    private static List<ReportAssembly> reports(final PartitionTable first, final List<MemberRecord> stayed,
        final long holder)
    {
        final List<ReportAssembly> assemblies = new ArrayList<>();
        for (final MemberRecord member : stayed)
        {
            final ReportAssembly assembly = new ReportAssembly();
            assembly.chunks.put(0, List.of(new ReportEntry(member.incarnation(), 1, 0, 5, 5, false, new long[0],
                1234, 0, first.epochId(1, 0), 5, first.version(), true,
                member.incarnation() == holder ? PREPARE : new long[0], 0)));
            assembly.lastIndex = 0;
            assemblies.add(assembly);
        }
        return assemblies;
    }

    private static PartitionTable decide(final Topology target, final List<ReportAssembly> reports,
        final PartitionTable previous, final OwnershipTable table)
    {
        final ExchangePlanner planner = new ExchangePlanner("m0", new SeededRandomSource(SEED), EngineListener.NONE);
        return planner.decide(target, new ExchangePlanner.Inputs(reports, previous, table, false, cacheId -> true,
            false)).map();
    }
}
