package dev.grid.core.internal.cluster;

import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.internal.affinity.AffinityAssignment;
import dev.grid.core.internal.affinity.AffinityMember;
import dev.grid.core.internal.affinity.RendezvousAffinity;
import dev.grid.core.spi.RandomSource;
import org.agrona.collections.LongHashSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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

    /** While the coordinator decides: whether the installed map's owners count (the cluster was active). */
    private boolean decidingActive;

    /** Set by {@link #decidePartition} while it runs: a last owner of the lost partition it decides is back. */
    private boolean ownerBack;

    /** Set by {@link #decidePartition} while it runs: see {@link #restartedOwners}. */
    private LongHashSet restartedOwners;

    /** Set by {@link #decidePartition} while it runs: false while a lost partition waits for some of its last owners. */
    private boolean lastOwnersBack = true;

    /** Set by {@link #partitionLost} while {@link #decidePartition} runs: the partition it decides was lost now. */
    private boolean lostNow;

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
        OwnershipTable adopt = null;
        final PartitionMap map = new PartitionMap(target);
        final Map<Integer, List<ReportEntry>[]> holdersByCache = new HashMap<>();
        for (final CacheDescriptor cache : target.caches())
        {
            @SuppressWarnings("unchecked")
            final List<ReportEntry>[] holders = new List[cache.partitions()];
            holdersByCache.put(cache.cacheId(), holders);
        }
        for (final Exchange.ReportAssembly assembly : in.reports())
        {
            for (final List<ReportEntry> chunk : assembly.chunks.values())
            {
                for (final ReportEntry entry : chunk)
                {
                    final List<ReportEntry>[] holders = holdersByCache.get(entry.cacheId);
                    if (holders != null && entry.partition < holders.length)
                    {
                        if (holders[entry.partition] == null)
                        {
                            holders[entry.partition] = new ArrayList<>(4);
                        }
                        holders[entry.partition].add(entry);
                    }
                }
            }
        }
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
        // Whose last owners count. An active cluster: this coordinator's own table, which every installed map kept
        // up to date. A cluster not active yet (started from data directories): the newest table a member brought,
        // once every member listed with it is here (before that a newer table may exist on a member still away, whose
        // copies would hold acknowledged updates the copies here lack).
        // A member reporting a table newer than the cluster's knows a newer state of the data (the cluster started
        // afresh, or from older data directories, while it was away): the cluster decides as one not active yet.
        OwnershipTable newest = null;
        for (final Exchange.ReportAssembly assembly : in.reports())
        {
            if (assembly.table != null && !assembly.table.isEmpty() &&
                (newest == null || assembly.table.stamp() > newest.stamp()))
            {
                newest = assembly.table;
            }
        }
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
            final List<String> unknownCaches = new ArrayList<>();
            for (final CacheDescriptor cache : target.caches())
            {
                if (!in.knownCaches().test(cache.cacheId()))
                {
                    unknownCaches.add(cache.name());
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
                // Members without data directories: no member can come back with these caches' data.
                map.stamp(target.version(), random.nextLong());
                decisionOwners = new OwnershipTable();
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
        }
        int historical = 0;
        int full = 0;
        final Map<String, Integer> fullReasons = new TreeMap<>();
        for (final CacheDescriptor cache : target.caches())
        {
            final RendezvousAffinity affinity = new RendezvousAffinity(cache.partitions(), cache.backups(),
                cache.backupFilterAttribute());
            final AffinityAssignment ideal = affinity.assign(affinityMembers);
            // Where every baseline owner of a partition is away, it has no owner the baseline allows: it goes to
            // the present members' ideal owners (it is lost, or it never had data).
            final AffinityAssignment fallback = target.baseline().isSet() ? affinity.assign(presentMembers) : ideal;
            final List<ReportEntry>[] holders = holdersByCache.get(cache.cacheId());
            final int[][] owners = new int[cache.partitions()][];
            final int[] owning = new int[cache.partitions()];
            final long[] epochIds = new long[cache.partitions()];
            final long[] epochFloors = new long[cache.partitions()];
            final boolean[] lost = new boolean[cache.partitions()];
            for (int p = 0; p < cache.partitions(); p++)
            {
                final List<PartitionMap.RebalancePlan> plans = new ArrayList<>(2);
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
                lost[p] = lostNow || (wasActive && stillLost(cache, p) && !ownerBack);
                lostNow = false;
                for (final PartitionMap.RebalancePlan plan : plans)
                {
                    map.addPlan(plan);
                    if (plan.full())
                    {
                        full++;
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
        }
        map.sealPlans();
        if (historical + full > 0)
        {
            listener.onEvent("coordinator " + memberId + " plans rebalance for topology " +
                target.version() + ": " + historical + " copies historical, " + full + " full" +
                (fullReasons.isEmpty() ? "" : " " + fullReasons));
        }
        in = null;
        return new Decision(map, adopt);
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
        final List<PartitionMap.RebalancePlan> plans)
    {
        final int cacheId = cache.cacheId();
        final List<String> idealOwners = ideal.owners(partition);
        // Baseline owners that are away have no copy: the partition has fewer copies until they return.
        final int[] idealIndices = idealOwners.stream().map(indexById::get).filter(Objects::nonNull)
            .mapToInt(Integer::intValue).toArray();
        final boolean known = decidingActive && in.previous().hasCache(cacheId);
        // Where the installed map cannot say whose copies hold the acknowledged updates (the cluster was not active,
        // or the partition is lost and its owning copies stand in empty), the durable table of last owners does, by
        // member id: a last owner that restarted is one still.
        // An operator's reset accepts the loss: the stand-in copies are the partition's owners from now on.
        final CacheDescriptor decidedUnder = known ? in.previous().topology().cache(cacheId) : null;
        final boolean reset = decidedUnder != null && decidedUnder.lostResets() != cache.lostResets();
        final boolean byTable = !known || (in.previous().isLost(cacheId, partition) && !reset);
        final boolean hadOwners = byTable ? decisionOwners.owners(cacheId, partition).length > 0 :
            in.previous().owningCount(cacheId, partition) > 0;
        final long previousEpoch = known ? in.previous().epochId(cacheId, partition) : 0;
        restartedOwners = byTable ? null : restartedOwners(cacheId, partition, holders, target);
        // A partition lost in an active cluster comes back only with every last owner: one that left first may hold
        // less than the one that stayed, which acknowledged updates alone before it went too (the simulator's
        // whole-cluster seed 0xa845126 lost an acknowledged merge to such an early owner's copy).
        // So does one lost when the whole cluster stopped: the table a cluster activates from names its last owners,
        // who may be away though every member of that table's map is back (they had left it); served from the one
        // that was back, it lost writes the other had acknowledged (whole-cluster seed 0xa8453eb). An operator who
        // activates without the members still away accepts what they held.
        final boolean lostByTable = !known && !in.activationForced();
        lastOwnersBack = !((known && in.previous().isLost(cacheId, partition) && !reset) || lostByTable) ||
            allLastOwnersBack(cacheId, partition, holders, target);
        if (!lastOwnersBack && cache.lossPolicy() != PartitionLossPolicy.IGNORE && holders != null &&
            !holders.isEmpty())
        {
            // Until then every copy stays as it is, the returned last owners' above all (nothing is served: the
            // partition is lost): dropping or rebuilding one could throw away the only copy of acknowledged updates.
            final int[] held = holdEverything(holders, idealOwners, indexById, target);
            if (!known)
            {
                // Activating: the partition is lost in the new map until they are back.
                partitionLost(cache, partition, target);
            }
            epochIds[partition] = previousEpoch;
            epochFloors[partition] = known ? in.previous().epochFloor(cacheId, partition) : 0;
            owningOut[partition] = held.length;
            return held;
        }
        if (holders == null || holders.isEmpty() || allEmpty(holders))
        {
            // Lost: it had owners and none of them is here (a MOVING copy cleared for a full rebalance, empty, may
            // be all that is left).
            boolean lost = hadOwners;
            for (int i = 0; holders != null && i < holders.size() && lost; i++)
            {
                lost = !isLastOwner(byTable, cacheId, partition, holders.get(i), target);
            }
            ownerBack = byTable && hadOwners && !lost;
            if (lost)
            {
                partitionLost(cache, partition, target);
            }
            epochIds[partition] = known && !lost ? previousEpoch : random.nextLong();
            epochFloors[partition] = 0;
            owningOut[partition] = idealIndices.length;
            return idealIndices;
        }
        // The primary of the newest map any holder installed: a member that missed a map still calls itself primary
        // of the one before, and its copy may lag the newer primary's (the simulator found an acknowledged remove lost
        // to such a stale claim). A primary of a map that did not decide by the last owners (not active, or
        // standing in for a lost partition) is no reference.
        ReportEntry primary = null;
        for (final ReportEntry entry : holders)
        {
            if (entry.primary && !byTable && (primary == null || entry.primaryVersion > primary.primaryVersion))
            {
                primary = entry;
            }
        }
        if (primary != null && primary.isEmpty())
        {
            // An empty primary has acknowledged nothing: a member that brought recovered data (a cluster restarting
            // member by member) must not lose it to the first member that took the partition empty.
            for (final ReportEntry entry : holders)
            {
                if (!entry.isEmpty())
                {
                    primary = null;
                    break;
                }
            }
        }
        final ReportEntry reference;
        if (primary != null)
        {
            reference = primary;
            epochIds[partition] = previousEpoch;
            epochFloors[partition] = in.previous().epochFloor(cacheId, partition);
        }
        else
        {
            // Only copies of the owners the cluster last installed are current: a copy recovered by a member that was
            // away may lack acknowledged updates. Stale copies are used only when no current copy holds anything
            // (every owner is gone: the partition is reported lost; or the owners hold nothing: a cluster restarting
            // member by member), as better than nothing.
            List<ReportEntry> candidates = holders;
            if (hadOwners)
            {
                final List<ReportEntry> current = new ArrayList<>(holders.size());
                for (final ReportEntry entry : holders)
                {
                    if (isLastOwner(byTable, cacheId, partition, entry, target))
                    {
                        current.add(entry);
                    }
                }
                if (current.isEmpty())
                {
                    partitionLost(cache, partition, target);
                    // Not under IGNORE: there the partition serves on at once, and a held copy that lags would take
                    // writes beside the best one as if it were equal (seed 0x176628b77: a stale copy held as a backup
                    // took update 63 over a hole and later passed for current).
                    if (!byTable && cache.lossPolicy() != PartitionLossPolicy.IGNORE &&
                        restartedOwnerPresent(cacheId, partition, holders, target))
                    {
                        // Some of the owners restarted and are back, not all: the partition is lost until the others
                        // are too (any of them may hold what the rest lack), and the returned owners' copies are kept
                        // as they are meanwhile, or the wait would end with the table's owners back but their copies
                        // gone (a copy used as a stand-in and evicted: whole-cluster seed 0xa939583 lost partitions so
                        // when one owner came back within the exchange that found the partition lost).
                        final int[] held = holdEverything(holders, idealOwners, indexById, target);
                        epochIds[partition] = previousEpoch;
                        epochFloors[partition] = in.previous().epochFloor(cacheId, partition);
                        owningOut[partition] = held.length;
                        return held;
                    }
                }
                else
                {
                    ownerBack = byTable;
                    if (!allEmpty(current))
                    {
                        candidates = current;
                    }
                }
            }
            ReportEntry best = null;
            for (final ReportEntry entry : candidates)
            {
                if (best == null || entry.lwm > best.lwm || (entry.lwm == best.lwm && entry.applied() > best.applied()))
                {
                    best = entry;
                }
            }
            reference = best;
            if (hadOwners)
            {
                // The primary left: copies that left with it may hold updates above this LWM that nobody else has,
                // and the survivors number their next updates from here. A new epoch of the lineage begins.
                epochIds[partition] = random.nextLong();
                epochFloors[partition] = best.lwm;
            }
            else
            {
                // No installed owners (a cluster starting from recovered copies): the lineage goes on.
                epochIds[partition] = best.epochId;
                epochFloors[partition] = best.lwm;
            }
        }
        final List<ReportEntry> upToDate = new ArrayList<>();
        for (final ReportEntry entry : holders)
        {
            if (entry.sameAs(reference) || vouchedFor(entry, reference, primary, cacheId, partition))
            {
                upToDate.add(entry);
            }
        }
        boolean allIdealUpToDate = true;
        for (final int index : idealIndices)
        {
            allIdealUpToDate &= find(upToDate, target.members().get(index).incarnation()) != null;
        }
        final List<Integer> owning = new ArrayList<>();
        // Only a copy the installed map listed may become primary: it holds every prepared transaction of the
        // partition (prepares go to every copy of the map, and to new copies again at install, before the next
        // report). A copy from a member that was away has identical data perhaps, but no prepares: as primary it
        // would apply a prepared transaction's commit without its locks. Where the table decides, a last owner's copy
        // (see leadRank).
        final ReportEntry idealPrimary = find(upToDate, target.members().get(idealIndices[0]).incarnation());
        final ReportEntry chosenPrimary;
        if (primary != null && !allIdealUpToDate)
        {
            // Late affinity: the primary stays where it is until every ideal owner caught up.
            chosenPrimary = primary;
        }
        else if (idealPrimary != null && leadRank(byTable, cacheId, partition, idealPrimary, target, upToDate) == 0)
        {
            chosenPrimary = idealPrimary;
        }
        else if (primary != null)
        {
            chosenPrimary = primary;
        }
        else
        {
            final List<ReportEntry> peers = List.copyOf(upToDate);
            upToDate.sort((a, b) ->
            {
                final int aLead = leadRank(byTable, cacheId, partition, a, target, peers);
                final int bLead = leadRank(byTable, cacheId, partition, b, target, peers);
                return aLead != bLead ? Integer.compare(aLead, bLead) :
                    Integer.compare(idealRank(idealOwners, target, a), idealRank(idealOwners, target, b));
            });
            chosenPrimary = upToDate.get(0);
        }
        owning.add(target.indexOf(chosenPrimary.member));
        if (allIdealUpToDate)
        {
            for (final int index : idealIndices)
            {
                if (!owning.contains(index))
                {
                    owning.add(index);
                }
            }
        }
        else
        {
            upToDate.sort((a, b) -> Integer.compare(idealRank(idealOwners, target, a),
                idealRank(idealOwners, target, b)));
            for (final ReportEntry entry : upToDate)
            {
                final int index = target.indexOf(entry.member);
                if (!owning.contains(index))
                {
                    owning.add(index);
                }
            }
        }
        final List<Integer> moving = new ArrayList<>();
        for (final int index : idealIndices)
        {
            if (!owning.contains(index))
            {
                moving.add(index);
            }
        }
        for (final ReportEntry entry : holders)
        {
            final int index = target.indexOf(entry.member);
            if (!owning.contains(index) && !moving.contains(index))
            {
                listener.onCopyDropped(cacheId, partition, entry.member, entry.sameAs(reference) ?
                    "evicted: the ideal owners own" : "LWM " + entry.lwm + " hash " + entry.contentHash +
                    " differs from the reference copy's LWM " + reference.lwm + " hash " + reference.contentHash +
                    " and the member is not an ideal owner");
            }
        }
        final long to = reference.highestClosed();
        for (int i = 0; i < moving.size(); i++)
        {
            plans.add(plan(cache, partition, moving.get(i), owning, holders, reference, to, target, i));
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
        owningOut[partition] = owning.size();
        return result;
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
                result[i] = target.indexOf(holders.get(i).member);
            }
            return result;
        }
        return idealOwners.stream().map(indexById::get).filter(Objects::nonNull).mapToInt(Integer::intValue)
            .toArray();
    }

    /**
     * Whether the primary's report vouches for a backup whose own report lags it. Each member reports once, when its
     * own drain is over; a backup's report can be built before the primary's last updates reached it, though the
     * primary's drain then waited for the backup's acknowledgements. Judged on its report alone the backup was demoted
     * to MOVING, and a primary failure in that window left the partition LOST while the backup held everything. So an
     * OWNING copy of the same incarnation and epoch, whose counters the primary's cover, is up to date when the primary
     * reports that every backup still here acknowledged all its updates.
     */
    private boolean vouchedFor(final ReportEntry entry, final ReportEntry reference, final ReportEntry primary,
        final int cacheId, final int partition)
    {
        return primary != null && reference == primary && primary.backupsComplete && entry != primary &&
            entry.epochId == primary.epochId && entry.highestClosed() <= primary.highestClosed() &&
            wasOwner(cacheId, partition, entry.member);
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
     * A partition lost in the installed map stays lost until an operator resets the cache's lost partitions (which
     * counts one more reset in the topology's cache descriptor than the installed map was decided under).
     */
    private boolean stillLost(final CacheDescriptor cache, final int partition)
    {
        if (in.previous() == null || !in.previous().isActive() || !in.previous().isLost(cache.cacheId(), partition) ||
            cache.lossPolicy() == PartitionLossPolicy.IGNORE)
        {
            return false;
        }
        final CacheDescriptor decidedUnder = in.previous().topology().cache(cache.cacheId());
        return decidedUnder != null && decidedUnder.lostResets() == cache.lostResets();
    }

    /**
     * How one lagging copy catches up: historically from a supplier whose WAL history covers (its LWM, the owners'
     * counter], else fully. Suppliers sharing the demander's value of the cache's backup-filter attribute (its rack or
     * zone) come first; among equals, demand is spread by partition.
     */
    private PartitionMap.RebalancePlan plan(final CacheDescriptor cache, final int partition, final int demanderIndex,
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
            return new PartitionMap.RebalancePlan(cache.cacheId(), partition, demanderIndex, first, true, 0, to,
                "no data here");
        }
        if (copy.lwm >= to || copy.highestClosed() > to)
        {
            return new PartitionMap.RebalancePlan(cache.cacheId(), partition, demanderIndex, first, true, 0, to,
                "counters up to " + copy.highestClosed() + " but data differs from the owners' at " + to);
        }
        long earliest = Long.MAX_VALUE;
        for (final int supplier : suppliers)
        {
            final ReportEntry owner = find(holders, target.members().get(supplier).incarnation());
            if (owner != null && owner.historyFrom >= 0 && owner.historyFrom <= copy.lwm)
            {
                return new PartitionMap.RebalancePlan(cache.cacheId(), partition, demanderIndex, supplier, false,
                    copy.lwm, to, "history covers " + copy.lwm + ".." + to);
            }
            if (owner != null)
            {
                earliest = Math.min(earliest, owner.historyFrom);
            }
        }
        return new PartitionMap.RebalancePlan(cache.cacheId(), partition, demanderIndex, first, true, 0, to,
            "history starts at " + earliest + ", after " + copy.lwm);
    }

    private static ReportEntry find(final List<ReportEntry> entries, final long member)
    {
        if (entries != null)
        {
            for (final ReportEntry entry : entries)
            {
                if (entry.member == member)
                {
                    return entry;
                }
            }
        }
        return null;
    }

    /**
     * How fit a copy is to become the partition's primary at once (smaller is fitter): 0 when it holds every prepare
     * the partition's primary answered "prepared" for. Where the installed map decides ({@code byTable} false), a copy
     * the map listed: prepares go to every copy of the map. Where the durable table of last owners does (the cluster
     * activates, or a lost partition comes back), a copy of one of those owners: a lost map keeps every copy, a
     * member's that was away when a prepare went out too (its data may equal the owners', a prepare changes no
     * counter), and made primary it took "no part here" for "never prepared" and rolled back a transaction another
     * partition had committed (whole-cluster bank seed 0x16acbe2d); such a copy the lost map listed ranks 2, others 3.
     * <p>
     * A last owner's copy that lacks a prepare another last owner's copy holds ranks 1: its member failed before the
     * prepare was durable there, and the primary, that backup gone, answered "prepared" without it; the whole cluster
     * stopped before a map without that member was installed, so the table still lists it. Made primary, it answered
     * the copies holding the prepare "never prepared" and they rolled back a transaction another partition had
     * committed (whole-cluster bank seed 0x16acc13a). A copy holding a prepare the others lack (its transaction ended
     * while the member was away: a rollback changes no counter) is fit: its recovery asks the other participants, who
     * never answer "committed" for a transaction that rolled back.
     *
     * @param peers the partition's up-to-date copies, among which a last owner's prepares count.
     */
    private int leadRank(final boolean byTable, final int cacheId, final int partition, final ReportEntry entry,
        final Topology target, final List<ReportEntry> peers)
    {
        final boolean held = wasHolder(cacheId, partition, entry.member);
        if (!byTable)
        {
            return held ? 0 : 3;
        }
        if (isTableOwner(cacheId, partition, entry, target))
        {
            for (final ReportEntry peer : peers)
            {
                if (peer != entry && isTableOwner(cacheId, partition, peer, target) && !entry.holdsPreparesOf(peer))
                {
                    return 1;
                }
            }
            return 0;
        }
        return held ? 2 : 3;
    }

    private boolean isTableOwner(final int cacheId, final int partition, final ReportEntry entry,
        final Topology target)
    {
        final MemberRecord record = target.member(entry.member);
        return record != null && decisionOwners.isOwner(cacheId, partition, record.memberId());
    }

    private boolean wasHolder(final int cacheId, final int partition, final long member)
    {
        if (in.previous() == null)
        {
            return false;
        }
        final int index = in.previous().topology().indexOf(member);
        return index >= 0 && in.previous().rank(cacheId, partition, index) >= 0;
    }

    /**
     * @return whether a present member's copy is one of the partition's last owners: by the installed map (the same
     *         incarnation owned it) or, where that map cannot say, by the durable table (the same member id).
     */
    private boolean isLastOwner(final boolean byTable, final int cacheId, final int partition, final ReportEntry entry,
        final Topology target)
    {
        if (!byTable)
        {
            return wasOwner(cacheId, partition, entry.member) ||
                (restartedOwners != null && restartedOwners.contains(entry.member));
        }
        final MemberRecord record = target.member(entry.member);
        return lastOwnersBack && record != null && decisionOwners.isOwner(cacheId, partition, record.memberId());
    }

    /**
     * @return whether every last owner of the partition (by the durable table) is here with a copy of it.
     */
    private boolean allLastOwnersBack(final int cacheId, final int partition, final List<ReportEntry> holders,
        final Topology target)
    {
        for (final String memberId : decisionOwners.owners(cacheId, partition))
        {
            boolean back = false;
            for (int i = 0; holders != null && i < holders.size() && !back; i++)
            {
                final MemberRecord record = target.member(holders.get(i).member);
                back = record != null && record.memberId().equals(memberId);
            }
            // A last owner that is here without any copy of the partition recovered none: nothing of it was ever
            // durable there, so it holds nothing the others lack (it crashed before a copy it was given got a record;
            // waiting for its copy would keep the partition lost for good).
            if (!back && target.memberById(memberId) == null)
            {
                return false;
            }
        }
        return true;
    }

    /**
     * The copies that restarted owners of the installed map brought back, where they stand for it: no incarnation the
     * map lists as owning is here, and every owning member came back (same member id, a new incarnation) with the copy
     * it recovered from disk. All of them are needed: an owner that stayed while the others went acknowledged updates
     * alone, so any one of them may be the only copy with every acknowledged update, and the best of them is.
     *
     * @return the incarnations of those copies, or null where they do not stand for the map's owners.
     */
    private LongHashSet restartedOwners(final int cacheId, final int partition, final List<ReportEntry> holders,
        final Topology target)
    {
        if (in.previous() == null || holders == null || holders.isEmpty())
        {
            return null;
        }
        final int owningCount = in.previous().owningCount(cacheId, partition);
        if (owningCount == 0)
        {
            return null;
        }
        for (final ReportEntry entry : holders)
        {
            if (wasOwner(cacheId, partition, entry.member))
            {
                return null;
            }
        }
        final int[] owners = in.previous().owners(cacheId, partition);
        final LongHashSet restarted = new LongHashSet();
        for (int i = 0; i < owningCount; i++)
        {
            final String memberId = in.previous().topology().members().get(owners[i]).memberId();
            ReportEntry back = null;
            for (final ReportEntry entry : holders)
            {
                final MemberRecord record = target.member(entry.member);
                if (record != null && record.memberId().equals(memberId))
                {
                    back = entry;
                }
            }
            if (back == null)
            {
                return null;
            }
            restarted.add(back.member);
        }
        return restarted;
    }

    /**
     * @return whether a holder is a restarted owner of the installed map: another incarnation of a member id that map
     *         lists as owning the partition.
     */
    private boolean restartedOwnerPresent(final int cacheId, final int partition, final List<ReportEntry> holders,
        final Topology target)
    {
        final Topology installed = in.previous().topology();
        for (final ReportEntry entry : holders)
        {
            final MemberRecord record = target.member(entry.member);
            if (record == null || installed.indexOf(entry.member) >= 0)
            {
                continue;
            }
            for (int i = 0; i < installed.members().size(); i++)
            {
                if (installed.members().get(i).memberId().equals(record.memberId()) &&
                    in.previous().isOwning(cacheId, partition, i))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private boolean wasOwner(final int cacheId, final int partition, final long member)
    {
        if (in.previous() == null)
        {
            return false;
        }
        final int index = in.previous().topology().indexOf(member);
        return index >= 0 && in.previous().isOwning(cacheId, partition, index);
    }

    private static int idealRank(final List<String> idealOwners, final Topology target, final ReportEntry entry)
    {
        final int index = target.indexOf(entry.member);
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
    record Inputs(Collection<Exchange.ReportAssembly> reports, PartitionMap previous, OwnershipTable ownTable,
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
    record Decision(PartitionMap map, OwnershipTable adoptTable)
    {
    }

    /**
     * One copy as its holder reported it. Equal counters do not prove equal data (copies of two lineages of a
     * partition, one recovered from an old life, can both stand at LWM 1), so the content hash is compared too.
     */
    record ReportEntry(long member, int cacheId, int partition, long lwm, long hwm, boolean primary,
        long[] gaps, long contentHash, long historyFrom, long epochId, long size, long primaryVersion,
        boolean backupsComplete, long[] prepares)
    {
        /**
         * @return whether this copy holds every prepared transaction {@code other} holds.
         */
        boolean holdsPreparesOf(final ReportEntry other)
        {
            for (int i = 0; i < other.prepares.length; i += 2)
            {
                boolean found = false;
                for (int j = 0; j < prepares.length && !found; j += 2)
                {
                    found = prepares[j] == other.prepares[i] && prepares[j + 1] == other.prepares[i + 1];
                }
                if (!found)
                {
                    return false;
                }
            }
            return true;
        }

        long highestClosed()
        {
            return gaps.length == 0 ? lwm : gaps[gaps.length - 2] + gaps[gaps.length - 1];
        }

        boolean sameAs(final ReportEntry other)
        {
            return lwm == other.lwm && Arrays.equals(gaps, other.gaps) && contentHash == other.contentHash;
        }

        boolean isEmpty()
        {
            return lwm == 0 && hwm == 0 && gaps.length == 0;
        }

        long applied()
        {
            long applied = lwm;
            for (int i = 1; i < gaps.length; i += 2)
            {
                applied += gaps[i];
            }
            return applied;
        }
    }
}
