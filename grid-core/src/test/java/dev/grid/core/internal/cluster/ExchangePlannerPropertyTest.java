package dev.grid.core.internal.cluster;

import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.RebalancePlan;
import dev.grid.core.engine.Topology;
import dev.grid.core.internal.affinity.AffinityMember;
import dev.grid.core.internal.affinity.RendezvousAffinity;
import dev.grid.core.spi.SeededRandomSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The exchange's decision as a function of its inputs, over random clusters: a first map over empty copies, then an
 * exchange after members left and copies diverged (lagging backups, a primary gone). Its named invariants:
 * <ul>
 *     <li><b>owned</b>: every partition has owners, distinct members of the target topology, the primary first and
 *     OWNING;</li>
 *     <li><b>planned</b>: every MOVING owner has exactly one rebalance plan, from an OWNING owner, and nothing else
 *     has one;</li>
 *     <li><b>no live copy lost</b>: where a present member holds a current copy, the partition is not lost and only
 *     copies identical to the reference (the previous primary if present, else the most advanced) own, or copies
 *     the present primary vouches for (it reports that every backup acknowledged all its updates);</li>
 *     <li><b>ideal when empty</b>: over empty copies the owners are the affinity's ideal owners and nothing
 *     moves;</li>
 *     <li><b>deterministic</b>: the same inputs and seed decide the same map.</li>
 * </ul>
 * Runs {@code -Dgrid.planner.runs=N} random clusters (200 by default); a failure names its run's seed.
 */
class ExchangePlannerPropertyTest
{
    private static final int RUNS = Integer.getInteger("grid.planner.runs", 200);

    @Test
    void randomClustersKeepEveryInvariant()
    {
        for (int run = 0; run < RUNS; run++)
        {
            final long seed = 0x91A4L * 7919 + run;
            try
            {
                checkRun(seed);
            }
            catch (final AssertionError ex)
            {
                throw new AssertionError("planner run with seed 0x" + Long.toHexString(seed) + ": " +
                    ex.getMessage(), ex);
            }
        }
    }

    private static void checkRun(final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final int memberCount = 1 + random.nextInt(5);
        final List<MemberRecord> members = new ArrayList<>();
        for (int i = 0; i < memberCount; i++)
        {
            members.add(new MemberRecord("m" + i, 100 + i, "sim:" + i, Map.of()));
        }
        final List<CacheDescriptor> caches = new ArrayList<>();
        final int cacheCount = 1 + random.nextInt(2);
        for (int c = 0; c < cacheCount; c++)
        {
            caches.add(new CacheDescriptor(c + 1, "c" + c, 1 + random.nextInt(32), random.nextInt(3), "bytes",
                "bytes", null, 1_000_000_000L, null, 0, 0));
        }
        final Topology first = new Topology(1, members, caches, cacheCount + 1, Baseline.NONE);
        final PartitionTable firstMap = decide(first, List.of(), null, new OwnershipTable(), seed);
        checkOwnedAndPlanned(firstMap);
        checkIdealWhenEmpty(firstMap);
        final OwnershipTable ownTable = new OwnershipTable();
        ownTable.update(firstMap, firstMap.stamp());

        // Some members leave (never all), the rest report copies: owners hold a reference value, backups may lag.
        final List<MemberRecord> stayed = new ArrayList<>();
        for (final MemberRecord member : members)
        {
            if (random.nextInt(4) != 0)
            {
                stayed.add(member);
            }
        }
        if (stayed.isEmpty())
        {
            stayed.add(members.get(random.nextInt(members.size())));
        }
        final Topology second = new Topology(2, stayed, caches, cacheCount + 1, Baseline.NONE);
        final Map<Long, List<ReportEntry>> reports = new HashMap<>();
        final Map<Long, Long> referenceLwm = new HashMap<>();
        for (final CacheDescriptor cache : caches)
        {
            for (int p = 0; p < cache.partitions(); p++)
            {
                final long reference = random.nextInt(3) == 0 ? 0 : 1 + random.nextInt(100);
                referenceLwm.put(PartitionCopy.pack(cache.cacheId(), p), reference);
                // Whether the primary reports that every backup acknowledged all its updates: then a backup whose
                // report lags (built before the last updates reached it) is vouched for.
                final boolean backupsComplete = random.nextBoolean();
                final int[] owners = firstMap.owners(cache.cacheId(), p);
                for (int rank = 0; rank < owners.length; rank++)
                {
                    final MemberRecord owner = members.get(owners[rank]);
                    if (!stayed.contains(owner))
                    {
                        continue;
                    }
                    final long lwm = rank > 0 && reference > 0 && random.nextInt(3) == 0 ?
                        random.nextInt((int)reference) : reference;
                    reports.computeIfAbsent(owner.incarnation(), x -> new ArrayList<>()).add(new ReportEntry(
                        owner.incarnation(), cache.cacheId(), p, lwm, lwm, rank == 0, new long[0], lwm * 31 + 7, 0,
                        firstMap.epochId(cache.cacheId(), p), lwm, firstMap.version(), backupsComplete,
                        new long[0], rank < firstMap.owningCount(cache.cacheId(), p) ? firstMap.stamp() : 0));
                }
            }
        }
        final List<ReportAssembly> assemblies = new ArrayList<>();
        for (final MemberRecord member : stayed)
        {
            final ReportAssembly assembly = new ReportAssembly();
            assembly.chunks.put(0, reports.getOrDefault(member.incarnation(), List.of()));
            assembly.lastIndex = 0;
            assemblies.add(assembly);
        }
        final PartitionTable secondMap = decide(second, assemblies, firstMap, ownTable, seed);
        checkOwnedAndPlanned(secondMap);
        checkNoLiveCopyLost(secondMap, firstMap, reports, referenceLwm);
        final PartitionTable again = decide(second, assemblies, firstMap, ownTable, seed);
        for (final CacheDescriptor cache : caches)
        {
            for (int p = 0; p < cache.partitions(); p++)
            {
                assertArrayEquals(secondMap.owners(cache.cacheId(), p), again.owners(cache.cacheId(), p),
                    "deterministic: cache " + cache.cacheId() + " partition " + p);
            }
        }
        assertEquals(secondMap.plans(), again.plans(), "deterministic plans");
    }

    private static PartitionTable decide(final Topology target, final List<ReportAssembly> reports,
        final PartitionTable previous, final OwnershipTable ownTable, final long seed)
    {
        final ExchangePlanner planner = new ExchangePlanner("m0", new SeededRandomSource(seed), EngineListener.NONE);
        final ExchangePlanner.Decision decision = planner.decide(target, new ExchangePlanner.Inputs(reports, previous,
            ownTable, false, cacheId -> true, false));
        return decision.map();
    }

    /** Owned and planned, on any map. */
    private static void checkOwnedAndPlanned(final PartitionTable map)
    {
        final Topology topology = map.topology();
        final Set<String> planned = new HashSet<>();
        for (final RebalancePlan plan : map.plans())
        {
            assertTrue(planned.add(plan.cacheId() + "/" + plan.partition() + "/" + plan.demander()),
                "one plan per moving copy: " + plan);
            assertTrue(map.isMoving(plan.cacheId(), plan.partition(), plan.demander()), "plans only for MOVING: " +
                plan);
            assertTrue(map.isOwning(plan.cacheId(), plan.partition(), plan.supplier()), "supplier owns: " + plan);
        }
        for (final CacheDescriptor cache : topology.caches())
        {
            for (int p = 0; p < cache.partitions(); p++)
            {
                final int[] owners = map.owners(cache.cacheId(), p);
                final String where = "cache " + cache.cacheId() + " partition " + p + " owners " +
                    Arrays.toString(owners);
                assertTrue(owners.length > 0, "owned: " + where);
                assertEquals(owners.length, Arrays.stream(owners).distinct().count(), "distinct: " + where);
                for (final int owner : owners)
                {
                    assertTrue(owner >= 0 && owner < topology.members().size(), "in the topology: " + where);
                }
                final int owning = map.owningCount(cache.cacheId(), p);
                assertTrue(owning >= 1 && owning <= owners.length, "primary owns: " + where);
                for (int rank = owning; rank < owners.length; rank++)
                {
                    assertTrue(planned.contains(cache.cacheId() + "/" + p + "/" + owners[rank]),
                        "planned: MOVING owner " + owners[rank] + " of " + where);
                }
            }
        }
    }

    /** Ideal when empty: a first map over empty copies is the affinity's assignment, and nothing moves. */
    private static void checkIdealWhenEmpty(final PartitionTable map)
    {
        final Topology topology = map.topology();
        final List<AffinityMember> affinityMembers = new ArrayList<>();
        for (final MemberRecord member : topology.members())
        {
            affinityMembers.add(new AffinityMember(member.memberId(), member.attributes()));
        }
        assertTrue(map.plans().isEmpty(), "nothing moves over empty copies: " + map.plans());
        for (final CacheDescriptor cache : topology.caches())
        {
            final var ideal = new RendezvousAffinity(cache.partitions(), cache.backups(),
                cache.backupFilterAttribute()).assign(affinityMembers);
            for (int p = 0; p < cache.partitions(); p++)
            {
                final List<String> owners = new ArrayList<>();
                for (final int index : map.owners(cache.cacheId(), p))
                {
                    owners.add(topology.members().get(index).memberId());
                }
                assertEquals(ideal.owners(p), owners, "ideal owners of cache " + cache.cacheId() + " partition " + p);
            }
        }
    }

    /**
     * No live copy lost: where a present member reported a current copy, the partition is not lost, and the OWNING
     * owners hold copies identical to the reference or vouched for by the present primary.
     */
    private static void checkNoLiveCopyLost(final PartitionTable map, final PartitionTable previous,
        final Map<Long, List<ReportEntry>> reports, final Map<Long, Long> referenceLwm)
    {
        final Topology topology = map.topology();
        final Map<String, ReportEntry> reported = new HashMap<>();
        for (final List<ReportEntry> entries : reports.values())
        {
            for (final ReportEntry entry : entries)
            {
                reported.put(entry.member() + "/" + entry.cacheId() + "/" + entry.partition(), entry);
            }
        }
        for (final CacheDescriptor cache : topology.caches())
        {
            for (int p = 0; p < cache.partitions(); p++)
            {
                final int[] before = previous.owners(cache.cacheId(), p);
                final MemberRecord previousPrimary = previous.topology().members().get(before[0]);
                final boolean primaryStayed = topology.indexOf(previousPrimary.incarnation()) >= 0;
                long best = -1;
                for (final int index : before)
                {
                    final ReportEntry entry = reported.get(previous.topology().members().get(index).incarnation() +
                        "/" + cache.cacheId() + "/" + p);
                    if (entry != null)
                    {
                        best = Math.max(best, entry.lwm());
                    }
                }
                if (best < 0)
                {
                    continue;
                }
                final long reference = primaryStayed ? referenceLwm.get(PartitionCopy.pack(cache.cacheId(), p)) :
                    best;
                final String where = "cache " + cache.cacheId() + " partition " + p + " (reference LWM " + reference +
                    ", owners " + Arrays.toString(map.owners(cache.cacheId(), p)) + ")";
                assertFalse(map.isLost(cache.cacheId(), p), "not lost: " + where);
                final int[] owners = map.owners(cache.cacheId(), p);
                for (int rank = 0; rank < map.owningCount(cache.cacheId(), p); rank++)
                {
                    final ReportEntry entry = reported.get(topology.members().get(owners[rank]).incarnation() + "/" +
                        cache.cacheId() + "/" + p);
                    final ReportEntry primaryEntry = reported.get(previousPrimary.incarnation() + "/" +
                        cache.cacheId() + "/" + p);
                    final boolean vouched = primaryStayed && primaryEntry != null && primaryEntry.backupsComplete();
                    if (reference > 0)
                    {
                        assertTrue(entry != null && (entry.lwm() == reference || vouched), "only current copies " +
                            "own: rank " + rank + " of " + where + " reported " + entry);
                    }
                }
            }
        }
    }
}
