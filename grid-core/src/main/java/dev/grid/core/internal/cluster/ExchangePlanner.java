package dev.grid.core.internal.cluster;

import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.RebalancePlan;
import dev.grid.core.engine.Topology;
import dev.grid.core.internal.affinity.AffinityAssignment;
import dev.grid.core.internal.affinity.AffinityMember;
import dev.grid.core.internal.affinity.RendezvousAffinity;
import dev.grid.core.internal.affinity.ShardedAffinity;
import dev.grid.core.spi.RandomSource;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.IntPredicate;

/**
 * The coordinator's decision at a partition map exchange, as a function of its {@link Inputs} (every member's
 * report of its copies, the map installed before, the durable table of last owners) and the target topology:
 * which copies own each partition, which is primary, which lag and catch up how (historical or full rebalance),
 * which partitions are lost, and where each partition's lineage starts a new epoch. It reads nothing of the engine;
 * its only effects are the events it reports to the listener and the seeded randomness it draws for new epochs.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class ExchangePlanner
{
    private final String memberId;
    private final RandomSource random;

    private final EngineListener listener;

    /** What one decision is made from: the exchange's reports and what the cluster knew before it. */
    private Inputs in;

    /**
     * While the coordinator decides: whose last owners it trusts (its own table, or at activation the newest table
     * a member reported).
     */
    private OwnershipTable decisionOwners;

    /** While the coordinator decides: whose copies are current, by the map or the table. */
    private LastOwners lastOwners;

    /** While the coordinator decides: whether the installed map's owners count (the cluster was active). */
    private boolean decidingActive;

    /** While the coordinator decides: a reported ownership table newer than its own, which it adopts. */
    private OwnershipTable adopt;

    /**
     * While the coordinator decides: caches of an in-memory cluster that it never installed a map of, and that no
     * member here has an ownership table for (their partitions are lost, not new).
     */
    private final Set<Integer> ownersUnknown = new HashSet<>();

    /** Set by {@link #decidePartition} while it runs: a last owner of the lost partition it decides is back. */
    private boolean ownerBack;

    /** Set by {@link #partitionLost} while {@link #decidePartition} runs: the partition it decides was lost now. */
    private boolean lostNow;

    /** While the coordinator decides: copies dropped because the ideal owners own, each identical to the reference. */
    private int evicted;

    /** The most affinity assignments {@link #assignments} keeps. */
    private static final int ASSIGNMENTS_KEPT = 8;

    /**
     * Recent affinity assignments, by what decides them. Rendezvous hashing weighs every partition for every member
     * (1 to 7 ms for 1,024 partitions on a member whose exchange code the JIT has barely compiled), and the exchanges
     * of a catch-up keep their members: the switch to the ideal owners, and the next return of the same member ids,
     * reuse the assignment instead of hashing again. Assignments are immutable.
     */
    private final Map<AssignmentKey, AffinityAssignment> assignments =
        new LinkedHashMap<>(16, 0.75f, true)
        {
            @Override
            protected boolean removeEldestEntry(final Map.Entry<AssignmentKey, AffinityAssignment> eldest)
            {
                return size() > ASSIGNMENTS_KEPT;
            }
        };

    /** What an affinity assignment depends on: the cache's shape and the members with their attributes. */
    private record AssignmentKey(int partitions, int backups, String backupFilterAttribute,
        List<AffinityMember> members)
    {
    }

    /**
     * @param memberId the coordinator's id, for the events it reports.
     * @param random   seeded randomness: new lineage epochs and life ids.
     * @param listener receives the decision's events (rebalance planned, partition lost, copy dropped).
     */
    ExchangePlanner(final String memberId, final RandomSource random, final EngineListener listener)
    {
        this.memberId = memberId;
        this.random = random;
        this.listener = listener;
    }

    /**
     * The coordinator's decision, per partition: who owns it in the new version, who catches up and how. Copies are
     * trusted by counters and content hash:
     * <ul>
     *     <li>the reference copy is the previous primary if it is still here; if it left, the most advanced copy of
     *     the previous owners (highest LWM, then most applied), and the partition's lineage starts a new epoch;</li>
     *     <li>copies identical to the reference (LWM, gaps, content hash) are up to date; the others lag;</li>
     *     <li>late affinity: the ideal owners that are up to date own; while any ideal owner still lags, every up to
     *     date copy keeps owning (an old copy is evicted only once the new owners own), the primary stays where it is
     *     unless the ideal primary is up to date, and the lagging ideal owners are MOVING with a rebalance plan;</li>
     *     <li>every copy empty: the ideal assignment (empty copies are equal, so nothing moves);</li>
     *     <li>no copy at all while the partition had owners: it is lost; fresh empty owners by affinity.</li>
     * </ul>
     */
    Decision decide(final Topology target, final Inputs inputs)
    {
        in = inputs;
        adopt = null;
        ownersUnknown.clear();
        evicted = 0;
        final PartitionTable map = new PartitionTable(target);
        final Map<Integer, List<ReportEntry>[]> holdersByCache = holdersByCache(target, in.reports());
        // Affinity follows the baseline, offline members included (their copies are just missing until they
        // return), or the present members when no baseline is set.
        final List<AffinityMember> presentMembers = new ArrayList<>();
        for (final MemberRecord member : target.members())
        {
            presentMembers.add(new AffinityMember(member.memberId(), member.attributes()));
        }
        final List<AffinityMember> affinityMembers = new ArrayList<>();
        for (final Baseline.Member member : target.baseline().members())
        {
            affinityMembers.add(new AffinityMember(member.memberId(), member.attributes()));
        }
        if (affinityMembers.isEmpty())
        {
            affinityMembers.addAll(presentMembers);
        }
        final Map<String, Integer> indexById = new HashMap<>();
        for (int i = 0; i < target.members().size(); i++)
        {
            indexById.put(target.members().get(i).memberId(), i);
        }
        final boolean waiting = chooseLastOwners(map, target, indexById);
        lastOwners = new LastOwners(memberId, in.previous(), decisionOwners, in.reports());
        final Map<String, Integer> fullReasons = new TreeMap<>();
        int historical = 0;
        for (final CacheDescriptor cache : target.caches())
        {
            historical += decideCache(cache, map, target, holdersByCache.get(cache.cacheId()), affinityMembers,
                presentMembers, indexById, waiting, fullReasons);
        }
        int full = 0;
        for (final int count : fullReasons.values())
        {
            full += count;
        }
        map.sealPlans();
        if (historical + full > 0)
        {
            listener.onEvent("coordinator " + memberId + " plans rebalance for topology " +
                target.version() + ": " + historical + " copies historical, " + full + " full" +
                (fullReasons.isEmpty() ? "" : " " + fullReasons));
        }
        if (evicted > 0)
        {
            listener.onEvent("coordinator " + memberId + " evicts " + evicted + " copies at topology " +
                target.version() + " that the ideal owners no longer need (each identical to its reference copy)");
        }
        in = null;
        lastOwners = null;
        return new Decision(map, adopt);
    }

    /** Every reported copy, by cache and partition. */
    private static Map<Integer, List<ReportEntry>[]> holdersByCache(final Topology target,
        final Collection<ReportAssembly> reports)
    {
        final Map<Integer, List<ReportEntry>[]> holdersByCache = new HashMap<>();
        for (final CacheDescriptor cache : target.caches())
        {
            @SuppressWarnings("unchecked")
            final List<ReportEntry>[] holders = new List[cache.partitions()];
            holdersByCache.put(cache.cacheId(), holders);
        }
        for (final ReportAssembly assembly : reports)
        {
            for (final List<ReportEntry> chunk : assembly.chunks.values())
            {
                for (final ReportEntry entry : chunk)
                {
                    final List<ReportEntry>[] holders = holdersByCache.get(entry.cacheId());
                    if (holders != null && entry.partition() < holders.length)
                    {
                        if (holders[entry.partition()] == null)
                        {
                            holders[entry.partition()] = new ArrayList<>(4);
                        }
                        holders[entry.partition()].add(entry);
                    }
                }
            }
        }
        return holdersByCache;
    }

    /**
     * Whose last owners count, and the new map's stamp. An active cluster: this coordinator's own table, which every
     * installed map kept up to date. A cluster not active yet (started from data directories): the newest table a
     * member brought, once every member listed with it is here (before that a newer table may exist on a member still
     * away, whose copies would hold acknowledged updates the copies here lack).
     *
     * @return whether the cluster waits for members still away (every partition is held as it is meanwhile).
     */
    private boolean chooseLastOwners(final PartitionTable map, final Topology target,
        final Map<String, Integer> indexById)
    {
        OwnershipTable newest = null;
        for (final ReportAssembly assembly : in.reports())
        {
            if (assembly.table != null && !assembly.table.isEmpty() &&
                (newest == null || assembly.table.stamp() > newest.stamp()))
            {
                newest = assembly.table;
            }
        }
        // A member reporting a table newer than the cluster's knows a newer state of the data (the cluster started
        // afresh, or from older data directories, while it was away): the cluster decides as one not active yet.
        final boolean wasActive = in.previous() != null && in.previous().isActive() &&
            (newest == null || newest.stamp() <= in.previous().stamp() || newest.lifeId() == in.previous().lifeId());
        boolean waiting = false;
        decisionOwners = in.ownTable();
        decidingActive = wasActive;
        if (wasActive)
        {
            final long reported = newest == null ? 0 : newest.stamp();
            map.stamp(Math.max(in.previous().stamp() + Math.max(1, target.version() - in.previous().version()),
                reported + 1), in.previous().lifeId());
        }
        else
        {
            waiting = activate(newest, map, target, indexById);
        }
        return waiting;
    }

    /**
     * The last owners of a cluster not active yet, and the new map's stamp: the caches' owners are unknown (a new
     * cluster, or members without data), or the newest ownership table reported once its members are all here (or an
     * operator forces activation without them).
     *
     * @return whether the cluster waits for members still away.
     */
    private boolean activate(final OwnershipTable newest, final PartitionTable map, final Topology target,
        final Map<String, Integer> indexById)
    {
        boolean waiting = false;
        final List<String> unknownCaches = new ArrayList<>();
        final List<Integer> unknownIds = new ArrayList<>();
        for (final CacheDescriptor cache : target.caches())
        {
            if (!in.knownCaches().test(cache.cacheId()))
            {
                unknownCaches.add(cache.name());
                unknownIds.add(cache.cacheId());
            }
        }
        if (newest == null && unknownCaches.isEmpty())
        {
            // A new cluster, or one whose members' data predates ownership tables: the caches it recovered
            // itself start from the copies present.
            map.stamp(target.version(), random.nextLong());
            decisionOwners = new OwnershipTable();
        }
        else if (newest == null && !in.retainsRecords())
        {
            // Members without data directories, none of them with a table, and caches this coordinator never
            // installed a map of: it joined an active cluster's topology and the members that held them are away.
            // Their data is not here, and may be with a member that is only paused or cut off: their partitions are
            // lost, not created empty (in-memory soak seed 0x1820e48e2: served empty, the new lineage's copies
            // replaced those of a paused member holding acknowledged writes when it came back).
            map.stamp(target.version(), random.nextLong());
            decisionOwners = new OwnershipTable();
            ownersUnknown.addAll(unknownIds);
        }
        else if (newest == null)
        {
            // It joined a cluster and never installed a map before the others went: those caches have owners it
            // does not know, and serving them empty would lose their data.
            waiting = true;
            listener.onEvent("coordinator " + memberId + " knows no owner of caches " + unknownCaches +
                ": it waits for a member whose ownership table does");
        }
        else if (newest.allMembersIn(indexById.keySet()))
        {
            map.stamp(Math.max(newest.stamp(), in.previous() == null ? 0 : in.previous().stamp()) + 1,
                random.nextLong());
            decisionOwners = newest;
            listener.onEvent("coordinator " + memberId + " activates the cluster from the ownership " +
                "table of stamp " + newest.stamp() + " (members " + newest.members() + ")");
        }
        else if (in.activationForced())
        {
            final List<String> away = new ArrayList<>(newest.members());
            away.removeAll(indexById.keySet());
            map.stamp(Math.max(newest.stamp(), in.previous() == null ? 0 : in.previous().stamp()) + 1,
                random.nextLong());
            decisionOwners = newest;
            listener.onEvent("coordinator " + memberId + " activates the cluster from the ownership " +
                "table of stamp " + newest.stamp() + " without " + away + ", as an operator asked: partitions " +
                "none of whose last owners is here are lost");
        }
        else
        {
            waiting = true;
            if (newest.stamp() > in.ownTable().stamp())
            {
                // Remembered, durably, as this member's own table: the member that reported it may go before
                // its table's members are back, and this coordinator, alone with an older table, then activated
                // from it and acknowledged writes that the newer owners' return discarded (whole-cluster seed
                // 0xa845178). Its reports carry the newest table from now on, and so does a restart.
                adopt = newest;
                decisionOwners = newest;
            }
            final List<String> away = new ArrayList<>(newest.members());
            away.removeAll(indexById.keySet());
            listener.onEvent("coordinator " + memberId + " waits for " + away + " before serving " +
                "recovered data: their ownership table of stamp " + newest.stamp() + " is the newest known, and " +
                "they may hold acknowledged updates the members here lack");
        }
        return waiting;
    }

    /**
     * Decide one cache's partitions into {@code map}.
     *
     * @return how many copies catch up by historical rebalance (full ones are counted in {@code fullReasons}).
     */
    private int decideCache(final CacheDescriptor cache, final PartitionTable map, final Topology target,
        final List<ReportEntry>[] holders, final List<AffinityMember> affinityMembers,
        final List<AffinityMember> presentMembers, final Map<String, Integer> indexById, final boolean waiting,
        final Map<String, Integer> fullReasons)
    {
        int historical = 0;
        final AffinityAssignment ideal = assign(cache, affinityMembers);
        // Where every baseline owner of a partition is away, it has no owner the baseline allows: it goes to
        // the present members' ideal owners (it is lost, or it never had data).
        final AffinityAssignment fallback = target.baseline().isSet() ? assign(cache, presentMembers) : ideal;
        final int[][] owners = new int[cache.partitions()][];
        final int[] owning = new int[cache.partitions()];
        final long[] epochIds = new long[cache.partitions()];
        final long[] epochFloors = new long[cache.partitions()];
        final boolean[] lost = new boolean[cache.partitions()];
        for (int p = 0; p < cache.partitions(); p++)
        {
            final List<RebalancePlan> plans = new ArrayList<>(2);
            final AffinityAssignment idealHere = hasPresentOwner(ideal, p, indexById) ? ideal : fallback;
            if (waiting)
            {
                owners[p] = holdEverything(holders[p], idealHere.owners(p), indexById, target);
                owning[p] = owners[p].length;
                epochIds[p] = random.nextLong();
                lost[p] = true;
                continue;
            }
            ownerBack = false;
            owners[p] = decidePartition(cache, p, holders[p], idealHere, indexById, target, owning, epochIds,
                epochFloors, plans);
            lost[p] = lostNow || (decidingActive && lastOwners.stillLost(cache, p) && !ownerBack);
            lostNow = false;
            for (final RebalancePlan plan : plans)
            {
                map.addPlan(plan);
                if (plan.full())
                {
                    fullReasons.merge(plan.why().replaceAll("[0-9]+", "N"), 1, Integer::sum);
                }
                else
                {
                    historical++;
                }
                listener.onRebalancePlanned(plan, target);
            }
        }
        final String[][] lastOwners = new String[cache.partitions()][];
        for (int p = 0; p < cache.partitions(); p++)
        {
            lastOwners[p] = lost[p] ? decisionOwners.owners(cache.cacheId(), p) : null;
        }
        map.put(cache.cacheId(), owners, owning, epochIds, epochFloors, lost, lastOwners);
        return historical;
    }

    /** The cache's affinity assignment over these members, computed once while it stays among the recent ones. */
    private AffinityAssignment assign(final CacheDescriptor cache, final List<AffinityMember> members)
    {
        return assignments.computeIfAbsent(new AssignmentKey(cache.partitions(), cache.backups(),
            cache.backupFilterAttribute(), List.copyOf(members)), key -> new ShardedAffinity(new RendezvousAffinity(
            key.partitions(), key.backups(), key.backupFilterAttribute())).assign(key.members()));
    }

    private int[] decidePartition(
        final CacheDescriptor cache,
        final int partition,
        final List<ReportEntry> holders,
        final AffinityAssignment ideal,
        final Map<String, Integer> indexById,
        final Topology target,
        final int[] owningOut,
        final long[] epochIds,
        final long[] epochFloors,
        final List<RebalancePlan> plans)
    {
        final int cacheId = cache.cacheId();
        final boolean known = decidingActive && in.previous().hasCache(cacheId);
        // Where the installed map cannot say whose copies hold the acknowledged updates (the cluster was not active,
        // or the partition is lost and its owning copies stand in empty), the durable table of last owners does, by
        // member id: a last owner that restarted is one still.
        // An operator's reset accepts the loss: the stand-in copies are the partition's owners from now on.
        final CacheDescriptor decidedUnder = known ? in.previous().topology().cache(cacheId) : null;
        final boolean reset = decidedUnder != null && decidedUnder.lostResets() != cache.lostResets();
        final boolean byTable = !known || (in.previous().isLost(cacheId, partition) && !reset);
        final PartitionCase c = new PartitionCase(cache, partition, holders, ideal.owners(partition), indexById, target,
            known, byTable, owningOut, epochIds, epochFloors, plans);
        c.hadOwners = byTable ?
            decisionOwners.owners(cacheId, partition).length > 0 || ownersUnknown.contains(cacheId) :
            in.previous().owningCount(cacheId, partition) > 0;
        c.previousEpoch = known ? in.previous().epochId(cacheId, partition) : 0;
        lastOwners.restartedOwners = byTable ? null : lastOwners.restartedOwners(cacheId, partition, holders, target);
        // A partition lost in an active cluster comes back only with every last owner: one that left first may hold
        // less than the one that stayed, which acknowledged updates alone before it went too (the simulator's
        // whole-cluster seed 0xa845126 lost an acknowledged merge to such an early owner's copy).
        // So does one lost when the whole cluster stopped: the table a cluster activates from names its last owners,
        // who may be away though every member of that table's map is back (they had left it); served from the one
        // that was back, it lost writes the other had acknowledged (whole-cluster seed 0xa8453eb). An operator who
        // activates without the members still away accepts what they held.
        final boolean lostByTable = !known && !in.activationForced();
        lastOwners.lastOwnersBack = !((known && in.previous().isLost(cacheId, partition) && !reset) || lostByTable) ||
            lastOwners.allLastOwnersBack(cacheId, partition, holders, target);
        if (!lastOwners.lastOwnersBack && cache.lossPolicy() != PartitionLossPolicy.IGNORE && holders != null &&
            !holders.isEmpty())
        {
            // Until then every copy stays as it is, the returned last owners' above all (nothing is served: the
            // partition is lost): dropping or rebuilding one could throw away the only copy of acknowledged updates.
            if (!known)
            {
                // Activating: the partition is lost in the new map until they are back.
                partitionLost(cache, partition, target);
            }
            return c.held(holdEverything(holders, c.idealOwners, indexById, target),
                known ? in.previous().epochFloor(cacheId, partition) : 0);
        }
        if (holders == null || holders.isEmpty() || allEmpty(holders))
        {
            return decideWithoutData(c);
        }
        final ReportEntry primary = newestPrimary(c);
        final ReportEntry reference;
        if (primary != null)
        {
            reference = primary;
            epochIds[partition] = c.previousEpoch;
            epochFloors[partition] = in.previous().epochFloor(cacheId, partition);
        }
        else
        {
            reference = chooseReference(c);
            if (reference == null)
            {
                return c.result;
            }
        }
        return assignOwners(c, reference, primary);
    }

    /**
     * No copy holds anything: the ideal owners take empty copies. The partition is lost if it had owners and none of
     * them is here (a MOVING copy cleared for a full rebalance, empty, may be all that is left).
     */
    private int[] decideWithoutData(final PartitionCase c)
    {
        boolean lost = c.hadOwners;
        // Without data directories, a last owner's empty copy, judged by the table, vouches for nothing: the member
        // restarted (empty) and took it while the cluster waited for the table's members (in-memory soak seed
        // 0x181c815b7: served empty, the partition's acknowledged writes vanished without a partition lost). A
        // partition its last owners never wrote is reported lost too: nothing here can tell the two apart.
        final boolean emptyVouches = !c.byTable || in.retainsRecords();
        for (int i = 0; c.holders != null && i < c.holders.size() && lost && emptyVouches; i++)
        {
            lost = !lastOwners.isLastOwner(c.byTable, c.cacheId, c.partition, c.holders.get(i), c.target);
        }
        ownerBack = c.byTable && c.hadOwners && !lost;
        if (lost)
        {
            partitionLost(c.cache, c.partition, c.target);
        }
        c.epochIds[c.partition] = c.known && !lost ? c.previousEpoch : random.nextLong();
        c.epochFloors[c.partition] = 0;
        c.owningOut[c.partition] = c.idealIndices.length;
        return c.idealIndices;
    }

    /**
     * The primary of the newest map any holder installed: a member that missed a map still calls itself primary of
     * the one before, and its copy may lag the newer primary's (the simulator found an acknowledged remove lost to
     * such a stale claim). A primary of a map that did not decide by the last owners (not active, or standing in for a
     * lost partition) is no reference, and neither is an empty primary while another copy holds data: it has
     * acknowledged nothing, and a member that brought recovered data (a cluster restarting member by member) must not
     * lose it to the first member that took the partition empty.
     * <p>
     * A claim older than the map this coordinator installed, from a member that map does not make primary, is no
     * reference either: that member missed the map, and the map's own primary, which has left, acknowledged updates
     * its copy lacks (seed 0x181c1f979: a member that never installed the switch to the ideal owners still called
     * itself primary of the map before, and the copy that held an acknowledged merge was rebuilt from its older one).
     * The most advanced copy of the installed map's owners is the reference then ({@link #chooseReference}).
     *
     * @return that primary's report, or null if none is a reference.
     */
    private ReportEntry newestPrimary(final PartitionCase c)
    {
        ReportEntry primary = null;
        for (final ReportEntry entry : c.holders)
        {
            if (entry.primary() && !c.byTable && (primary == null || entry.primaryVersion() > primary.primaryVersion()))
            {
                primary = entry;
            }
        }
        // Not by table: the installed map (in.previous()) knows the partition's cache and decided its owners.
        final PartitionTable installed = in.previous();
        if (primary != null && primary.primaryVersion() < installed.version() &&
            installed.rank(c.cacheId, c.partition, installed.topology().indexOf(primary.member())) != 0)
        {
            return null;
        }
        if (primary != null && primary.isEmpty())
        {
            for (final ReportEntry entry : c.holders)
            {
                if (!entry.isEmpty())
                {
                    return null;
                }
            }
        }
        return primary;
    }

    /**
     * The reference copy when no primary is one: the most advanced copy (highest LWM, then most applied) of the last
     * owners, and the epoch the partition's lineage goes on with. Only copies of the owners the cluster last installed
     * are current: a copy recovered by a member that was away may lack acknowledged updates. Stale copies are used
     * only when no current copy holds anything (every owner is gone: the partition is reported lost; or the owners
     * hold nothing: a cluster restarting member by member), as better than nothing.
     *
     * @return the reference, or null if the partition is held as it is ({@link PartitionCase#result} says how).
     */
    private ReportEntry chooseReference(final PartitionCase c)
    {
        List<ReportEntry> candidates = c.holders;
        if (c.hadOwners)
        {
            final List<ReportEntry> current = new ArrayList<>(c.holders.size());
            for (final ReportEntry entry : c.holders)
            {
                if (lastOwners.isLastOwner(c.byTable, c.cacheId, c.partition, entry, c.target))
                {
                    current.add(entry);
                }
            }
            if (current.isEmpty())
            {
                partitionLost(c.cache, c.partition, c.target);
                // Not under IGNORE: there the partition serves on at once, and a held copy that lags would take
                // writes beside the best one as if it were equal (seed 0x176628b77: a stale copy held as a backup
                // took update 63 over a hole and later passed for current).
                if (!c.byTable && c.cache.lossPolicy() != PartitionLossPolicy.IGNORE &&
                    lastOwners.restartedOwnerPresent(c.cacheId, c.partition, c.holders, c.target))
                {
                    // Some of the owners restarted and are back, not all: the partition is lost until the others
                    // are too (any of them may hold what the rest lack), and the returned owners' copies are kept
                    // as they are meanwhile, or the wait would end with the table's owners back but their copies
                    // gone (a copy used as a stand-in and evicted: whole-cluster seed 0xa939583 lost partitions so
                    // when one owner came back within the exchange that found the partition lost).
                    c.held(holdEverything(c.holders, c.idealOwners, c.indexById, c.target),
                        in.previous().epochFloor(c.cacheId, c.partition));
                    return null;
                }
            }
            else
            {
                ownerBack = c.byTable;
                if (!allEmpty(current))
                {
                    candidates = current;
                }
            }
        }
        ReportEntry best = null;
        for (final ReportEntry entry : candidates)
        {
            if (best == null || entry.lwm() > best.lwm() || (entry.lwm() == best.lwm() &&
                entry.applied() > best.applied()))
            {
                best = entry;
            }
        }
        // The primary left: copies that left with it may hold updates above this LWM that nobody else has, and the
        // survivors number their next updates from here, so a new epoch of the lineage begins. With no installed
        // owners (a cluster starting from recovered copies) the lineage goes on.
        c.epochIds[c.partition] = c.hadOwners ? random.nextLong() : best.epochId();
        c.epochFloors[c.partition] = best.lwm();
        return best;
    }

    /**
     * Owners by late affinity: the ideal owners that are up to date own; while any ideal owner still lags, every up
     * to date copy keeps owning, the primary stays where it is unless the ideal primary is up to date, and the lagging
     * ideal owners are MOVING with a rebalance plan. Copies that neither own nor move are dropped.
     *
     * @return the owners' indices in the target topology: owning first (the primary at 0), then moving.
     */
    private int[] assignOwners(final PartitionCase c, final ReportEntry reference, final ReportEntry primary)
    {
        final List<ReportEntry> upToDate = new ArrayList<>();
        for (final ReportEntry entry : c.holders)
        {
            if (entry.sameAs(reference) || lastOwners.vouchedFor(entry, reference, primary, c.cacheId, c.partition))
            {
                upToDate.add(entry);
            }
        }
        boolean allIdealUpToDate = true;
        for (final int index : c.idealIndices)
        {
            allIdealUpToDate &= find(upToDate, c.target.members().get(index).incarnation()) != null;
        }
        final List<Integer> owning = new ArrayList<>();
        owning.add(c.target.indexOf(choosePrimary(c, primary, upToDate, allIdealUpToDate).member()));
        if (allIdealUpToDate)
        {
            for (final int index : c.idealIndices)
            {
                if (!owning.contains(index))
                {
                    owning.add(index);
                }
            }
        }
        else
        {
            upToDate.sort((a, b) -> Integer.compare(idealRank(c.idealOwners, c.target, a),
                idealRank(c.idealOwners, c.target, b)));
            for (final ReportEntry entry : upToDate)
            {
                final int index = c.target.indexOf(entry.member());
                if (!owning.contains(index))
                {
                    owning.add(index);
                }
            }
        }
        final List<Integer> moving = new ArrayList<>();
        for (final int index : c.idealIndices)
        {
            if (!owning.contains(index))
            {
                moving.add(index);
            }
        }
        reportDropped(c, reference, owning, moving);
        final long to = reference.highestClosed();
        for (int i = 0; i < moving.size(); i++)
        {
            c.plans.add(plan(c.cache, c.partition, moving.get(i), owning, c.holders, reference, to, c.target, i));
        }
        final int[] result = new int[owning.size() + moving.size()];
        for (int i = 0; i < owning.size(); i++)
        {
            result[i] = owning.get(i);
        }
        for (int i = 0; i < moving.size(); i++)
        {
            result[owning.size() + i] = moving.get(i);
        }
        c.owningOut[c.partition] = owning.size();
        return result;
    }

    /**
     * Only a copy the installed map listed may become primary: it holds every prepared transaction of the partition
     * (prepares go to every copy of the map, and to new copies again at install, before the next report), unless
     * its primary failed before that resend: then a listed copy holding the prepares another listed copy holds comes
     * first. A copy from a member that was away has identical data perhaps, but no prepares: as primary it would apply
     * a prepared transaction's commit without its locks. Where the table decides, a last owner's copy (see
     * leadRank).
     */
    private ReportEntry choosePrimary(final PartitionCase c, final ReportEntry primary,
        final List<ReportEntry> upToDate, final boolean allIdealUpToDate)
    {
        final ReportEntry idealPrimary = find(upToDate, c.target.members().get(c.idealIndices[0]).incarnation());
        if (primary != null && !allIdealUpToDate)
        {
            // Late affinity: the primary stays where it is until every ideal owner caught up.
            return primary;
        }
        if (idealPrimary != null &&
            lastOwners.leadRank(c.byTable, c.cacheId, c.partition, idealPrimary, c.target, upToDate) == 0)
        {
            return idealPrimary;
        }
        if (primary != null)
        {
            return primary;
        }
        final List<ReportEntry> peers = List.copyOf(upToDate);
        upToDate.sort((a, b) ->
        {
            final int aLead = lastOwners.leadRank(c.byTable, c.cacheId, c.partition, a, c.target, peers);
            final int bLead = lastOwners.leadRank(c.byTable, c.cacheId, c.partition, b, c.target, peers);
            return aLead != bLead ? Integer.compare(aLead, bLead) :
                Integer.compare(idealRank(c.idealOwners, c.target, a), idealRank(c.idealOwners, c.target, b));
        });
        return upToDate.get(0);
    }

    private void reportDropped(final PartitionCase c, final ReportEntry reference, final List<Integer> owning,
        final List<Integer> moving)
    {
        for (final ReportEntry entry : c.holders)
        {
            final int index = c.target.indexOf(entry.member());
            if (!owning.contains(index) && !moving.contains(index))
            {
                if (entry.sameAs(reference))
                {
                    // Routine once the ideal owners own (after every catch-up): counted, told once per decision.
                    evicted++;
                }
                else
                {
                    listener.onCopyDropped(c.cacheId, c.partition, entry.member(), "LWM " + entry.lwm() + " hash " +
                        entry.contentHash() + " differs from the reference copy's LWM " + reference.lwm() + " hash " +
                        reference.contentHash() + " and the member is not an ideal owner");
                }
            }
        }
    }

    /**
     * The owners of a partition while the cluster waits for its last members: every member holding a copy keeps it
     * as it is (no copy is dropped, caught up or given a new epoch), or the ideal owners take empty copies.
     */
    private static int[] holdEverything(final List<ReportEntry> holders, final List<String> idealOwners,
        final Map<String, Integer> indexById, final Topology target)
    {
        if (holders != null && !holders.isEmpty())
        {
            final int[] result = new int[holders.size()];
            for (int i = 0; i < result.length; i++)
            {
                result[i] = target.indexOf(holders.get(i).member());
            }
            return result;
        }
        return idealOwners.stream().map(indexById::get).filter(Objects::nonNull).mapToInt(Integer::intValue)
            .toArray();
    }

    private static boolean hasPresentOwner(final AffinityAssignment ideal, final int partition,
        final Map<String, Integer> indexById)
    {
        for (final String owner : ideal.owners(partition))
        {
            if (indexById.containsKey(owner))
            {
                return true;
            }
        }
        return false;
    }

    private void partitionLost(final CacheDescriptor cache, final int partition, final Topology target)
    {
        listener.onPartitionLost(cache.cacheId(), partition, target.version());
        lostNow = cache.lossPolicy() != PartitionLossPolicy.IGNORE;
    }

    /**
     * How one lagging copy catches up: historically from a supplier whose WAL history covers (its LWM, the owners'
     * counter], else fully. Suppliers sharing the demander's value of the cache's backup-filter attribute (its rack or
     * zone) come first; among equals, demand is spread by partition.
     */
    private RebalancePlan plan(final CacheDescriptor cache, final int partition, final int demanderIndex,
        final List<Integer> owning, final List<ReportEntry> holders, final ReportEntry reference, final long to,
        final Topology target, final int ordinal)
    {
        final MemberRecord demander = target.members().get(demanderIndex);
        final ReportEntry copy = find(holders, demander.incarnation());
        final String attribute = cache.backupFilterAttribute();
        final String zone = attribute == null ? null : demander.attributes().get(attribute);
        final List<Integer> suppliers = new ArrayList<>(owning);
        final int rotate = Math.floorMod(partition + ordinal, suppliers.size());
        Collections.rotate(suppliers, -rotate);
        if (zone != null)
        {
            suppliers.sort((a, b) -> Boolean.compare(!zone.equals(target.members().get(a).attributes().get(attribute)),
                !zone.equals(target.members().get(b).attributes().get(attribute))));
        }
        final int first = suppliers.get(0);
        if (copy == null || copy.isEmpty())
        {
            return new RebalancePlan(cache.cacheId(), partition, demanderIndex, first, true, 0, to,
                "no data here");
        }
        if (copy.lwm() >= to || copy.highestClosed() > to)
        {
            return new RebalancePlan(cache.cacheId(), partition, demanderIndex, first, true, 0, to,
                "counters up to " + copy.highestClosed() + " but data differs from the owners' at " + to);
        }
        long earliest = Long.MAX_VALUE;
        for (final int supplier : suppliers)
        {
            final ReportEntry owner = find(holders, target.members().get(supplier).incarnation());
            if (owner != null && owner.historyFrom() >= 0 && owner.historyFrom() <= copy.lwm())
            {
                return new RebalancePlan(cache.cacheId(), partition, demanderIndex, supplier, false,
                    copy.lwm(), to, "history covers " + copy.lwm() + ".." + to);
            }
            if (owner != null)
            {
                earliest = Math.min(earliest, owner.historyFrom());
            }
        }
        return new RebalancePlan(cache.cacheId(), partition, demanderIndex, first, true, 0, to,
            "history starts at " + earliest + ", after " + copy.lwm());
    }

    private static ReportEntry find(final List<ReportEntry> entries, final long member)
    {
        if (entries != null)
        {
            for (final ReportEntry entry : entries)
            {
                if (entry.member() == member)
                {
                    return entry;
                }
            }
        }
        return null;
    }

    private static int idealRank(final List<String> idealOwners, final Topology target, final ReportEntry entry)
    {
        final int index = target.indexOf(entry.member());
        final int rank = idealOwners.indexOf(target.members().get(index).memberId());
        return rank >= 0 ? rank : idealOwners.size() + index;
    }

    private static boolean allEmpty(final List<ReportEntry> holders)
    {
        for (final ReportEntry entry : holders)
        {
            if (!entry.isEmpty())
            {
                return false;
            }
        }
        return true;
    }

    /**
     * What a decision is made from.
     *
     * @param reports          every member's report of its copies, complete.
     * @param previous         the map installed before, or null if none.
     * @param ownTable         the coordinator's own durable table of last owners.
     * @param activationForced an operator asked to activate without the members still away.
     * @param knownCaches      the caches this coordinator's WAL knows (by id).
     * @param retainsRecords   whether members keep data directories (a member may come back with data).
     */
    record Inputs(Collection<ReportAssembly> reports, PartitionTable previous, OwnershipTable ownTable,
        boolean activationForced, IntPredicate knownCaches, boolean retainsRecords)
    {
    }

    /**
     * A decision.
     *
     * @param map        the partition map to publish.
     * @param adoptTable a reported ownership table newer than the coordinator's own, which it must make durable as
     *                   its own before it publishes the map (null: none).
     */
    record Decision(PartitionTable map, OwnershipTable adoptTable)
    {
    }
}
