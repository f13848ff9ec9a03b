package dev.grid.core.internal.cluster;

import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.PartitionState;
import dev.grid.core.engine.RebalancePlan;
import dev.grid.core.engine.Topology;
import dev.grid.core.internal.partition.CounterRange;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The partition map exchange on every topology version: each member, once its updates in flight drained, reports its
 * copies to the coordinator in chunks; the coordinator assembles the reports, has {@link ExchangePlanner} decide the
 * map, makes a newer ownership table durable, and publishes the map; each member installs it (finalizing gaps of
 * partitions whose primary left, dropping copies it no longer owns, starting rebalances) and says so. Messages of a
 * version not installed yet are parked and replayed after the install.
 * <p>
 * <b>Settled maps.</b> Once every member of a topology said it installed the topology's map, the coordinator calls the
 * map settled and tells every member (a heartbeat at once, and in every heartbeat after: {@link #settledVersion()}).
 * A primary answers an update applied under map V only once V settled (see {@code Replication.tryComplete}): deciding
 * a map needs every member's report, but installing it needs no one else, so a map installed only by members a cut
 * had just isolated could take acknowledged updates that the majority, deciding the next map from the map before,
 * would never know of (soak seed 0x181c50033). A settled map is known to every member of its topology, so the next
 * decision, whichever members make it, starts from it or a newer one.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class Exchange
{
    private static final int MAP_IGNORED = 0;
    private static final int MAP_READ = 1;
    private static final int MAP_INSTALLED_ALREADY = 2;

    private final MemberContext context;
    private final ExchangeCodec codec;
    PartitionTable pendingMap;

    List<byte[]> reportChunks;
    long reportAckedVersion;

    long nextReportSendNs;

    // Exchange, coordinator side.
    CoordinatorExchange exchange;
    /** Coordinator only: an operator asked to activate without the members still away (see CacheAdmin). */
    private boolean activationForced;

    /** The newest topology version this member knows every member of installed the map of (0: none yet). */
    private long settledVersion;

    Exchange(final MemberContext context)
    {
        this.context = context;
        this.codec = new ExchangeCodec(context);
    }

    /** Forget any exchange under way, either side: the member leaves its topology to join again. */
    void reset()
    {
        pendingMap = null;
        reportChunks = null;
        reportAckedVersion = 0;
        exchange = null;
        settledVersion = 0;
    }

    /** @return the newest topology version whose map this member knows every member of that topology installed. */
    long settledVersion()
    {
        return settledVersion;
    }

    /**
     * @return whether every member of the installed map's topology is known to have installed it: until then a primary
     *         holds answers (writes' and reads'), since the next exchange may still rebuild what was done under it.
     */
    boolean installedMapSettled()
    {
        return context.installedMap() != null && context.installedMap().version() <= settledVersion;
    }

    /**
     * A map is known to be settled (this member coordinated it, or a heartbeat said so): answer the updates that
     * waited for it.
     *
     * @param version the topology version whose map every member of that topology installed.
     */
    void noteSettled(final long version)
    {
        if (version > settledVersion)
        {
            settledVersion = version;
            context.membership().onMapSettled(version);
            context.replication().answerDeferredUpdates();
            context.tx().onMapSettled();
        }
    }

    /**
     * A new topology was adopted: the member exchanges for it from now, as coordinator if it is one.
     *
     * @param next        the topology.
     * @param coordinator whether this member coordinates its exchange.
     */
    void startFor(final Topology next, final boolean coordinator)
    {
        pendingMap = new PartitionTable(next);
        reportChunks = null;
        nextReportSendNs = context.nowNs();
        exchange = coordinator ? new CoordinatorExchange(next) : null;
    }

    /** @return whether this member coordinates an exchange that not every member has finished. */
    boolean isCoordinating()
    {
        return exchange != null && !exchange.isFinished();
    }

    /** A coordinator's exchange that finished already completes what waits for it (administration requests). */
    void recheckFinished()
    {
        if (exchange != null && exchange.isFinished())
        {
            onMapInstalled(context.incarnation(), exchange.topology.version());
        }
    }

    /** @return the exchange's progress on this member, for diagnostics. */
    String describe()
    {
        return "reportAcked=" + reportAckedVersion + " reportBuilt=" + (reportChunks != null) +
            " coordinatorExchange=" + (exchange == null ? "-" : "v" + exchange.topology.version() +
            (exchange.map != null ? " map sent" : "") + (exchange.isFinished() ? " finished" : ""));
    }

    /**
     * An operator asked to activate the cluster without the members still away: remembered until an active map is
     * installed, so an exchange that starts over decides the same way.
     */
    void forceActivation()
    {
        activationForced = true;
    }

    int exchangeDuty()
    {
        int work = 0;
        if (context.isExchanging() && reportAckedVersion != context.topology().version())
        {
            if (reportChunks == null && context.inFlightUpdates() == 0 && context.durability().waiting() == 0 &&
                !context.tx().hasUnacknowledgedPrepares())
            {
                reportChunks = codec.buildReport();
                nextReportSendNs = context.nowNs();
            }
            if (reportChunks != null && context.nowNs() >= nextReportSendNs)
            {
                nextReportSendNs = context.nowNs() + context.retryIntervalNs();
                for (final byte[] chunk : reportChunks)
                {
                    if (context.membership().isCoordinator())
                    {
                        context.messages().open(new UnsafeBuffer(chunk), 0, chunk.length);
                        onExchangeReport(context.incarnation());
                    }
                    else
                    {
                        final MemberRecord coordinator = context.topology().coordinator();
                        context.transport().send(context.transport().endpointOf(coordinator.address()),
                            new UnsafeBuffer(chunk), 0, chunk.length);
                    }
                }
                work++;
            }
        }
        if (exchange != null && exchange.map != null && !exchange.isFinished() &&
            context.nowNs() >= exchange.nextResendNs)
        {
            exchange.nextResendNs = context.nowNs() + context.retryIntervalNs();
            for (final MemberRecord member : context.topology().members())
            {
                if (!exchange.installed.contains(member.incarnation()))
                {
                    sendMap(member);
                }
            }
            work++;
        }
        return work;
    }

    void onExchangeReport(final long sender)
    {
        final ReportAssembly[] wanted = new ReportAssembly[1];
        final ExchangeCodec.ReportPiece piece = codec.readReport(sender, p ->
        {
            if (exchange == null || p.version() != exchange.topology.version() ||
                exchange.topology.indexOf(sender) < 0)
            {
                return null;
            }
            final ReportAssembly assembly = exchange.reports.computeIfAbsent(sender, s -> new ReportAssembly());
            assembly.member = sender;
            assembly.previousIncarnation = p.previousIncarnation();
            wanted[0] = assembly;
            return assembly.isComplete() || assembly.chunks.containsKey(p.chunkIndex()) ? null : assembly.table;
        });
        final ReportAssembly assembly = wanted[0];
        if (assembly == null)
        {
            return;
        }
        final long version = piece.version();
        if (!assembly.isComplete() && !assembly.chunks.containsKey(piece.chunkIndex()))
        {
            assembly.chunks.put(piece.chunkIndex(), piece.entries());
            if (piece.last())
            {
                assembly.lastIndex = piece.chunkIndex();
            }
        }
        if (assembly.isComplete())
        {
            if (sender == context.incarnation())
            {
                reportAckedVersion = version;
            }
            else
            {
                context.send(exchange.topology.member(sender), context.messages().finish(context.messages().encode(
                    context.wire().reportAckOut, context.incarnation(), sender).version(version)));
            }
            maybeDecide();
        }
    }

    void onReportAck()
    {
        final long version = context.messages().decode(context.wire().reportAckIn).version();
        if (context.topology() != null && version == context.topology().version())
        {
            reportAckedVersion = version;
        }
    }

    private void maybeDecide()
    {
        if (exchange.map != null)
        {
            return;
        }
        for (final MemberRecord member : exchange.topology.members())
        {
            final ReportAssembly assembly = exchange.reports.get(member.incarnation());
            if (assembly == null || !assembly.isComplete())
            {
                return;
            }
        }
        final ExchangePlanner.Inputs inputs = new ExchangePlanner.Inputs(exchange.reports.values(),
            context.installedMap(), context.ownership(), activationForced, context.walCaches()::containsKey,
            context.wal().retainsRecords());
        final ExchangePlanner.Decision decision = context.planner().decide(exchange.topology, inputs);
        if (decision.adoptTable() != null)
        {
            // Remembered, durably, as this member's own table: the member that reported it may go before its table's
            // members are back, and this coordinator, alone with an older table, then activated from it and
            // acknowledged writes that the newer owners' return discarded (whole-cluster seed 0xa845178). Its
            // reports carry the newest table from now on, and so does a restart.
            context.walRecords().appendOwnership(decision.adoptTable(), context.incarnation());
            context.ownership().replaceWith(decision.adoptTable());
        }
        exchange.map = decision.map();
        // Sent now, and again only to members that have not said they installed it a retry interval later.
        exchange.nextResendNs = context.nowNs() + context.retryIntervalNs();
        exchange.encodedMap = codec.encodeMap(exchange.map);
        // The other members first, and on the wire before this one installs: they install meanwhile, not after it.
        for (final MemberRecord member : context.topology().members())
        {
            if (member.incarnation() != context.incarnation())
            {
                sendMap(member);
            }
        }
        context.transport().flush();
        sendMap(context.topology().member(context.incarnation()));
    }

    private void sendMap(final MemberRecord member)
    {
        for (final byte[] message : exchange.encodedMap)
        {
            if (member.incarnation() == context.incarnation())
            {
                context.messages().open(new UnsafeBuffer(message), 0, message.length);
                onPartitionMap();
            }
            else
            {
                context.transport().send(context.transport().endpointOf(member.address()), new UnsafeBuffer(message),
                    0, message.length);
            }
        }
    }

    void onPartitionMap()
    {
        // Read into the pending map only a piece of the version this member is exchanging to.
        final int[] outcome = {MAP_IGNORED};
        codec.readMap(piece ->
        {
            if (context.state() != MemberState.ACTIVE || piece.version() != context.topology().version())
            {
                return false;
            }
            outcome[0] = context.isExchanging() ? MAP_READ : MAP_INSTALLED_ALREADY;
            return outcome[0] == MAP_READ;
        }, pendingMap);
        if (outcome[0] == MAP_INSTALLED_ALREADY)
        {
            sendMapInstalledOnceDurable();
            return;
        }
        if (outcome[0] == MAP_IGNORED)
        {
            return;
        }
        if (pendingMap.isComplete())
        {
            install(pendingMap);
            sendMapInstalledOnceDurable();
        }
    }

    /**
     * Say this member installed the current map once its WAL holds what the installation appended (the ownership
     * table, and the baseline and caches if they changed) durably. The coordinator calls a map settled, and primaries
     * answer updates under it, once every member said so: a member that crashed before its record was durable would
     * come back with the map before, and if a majority crashed in that moment, the cluster would decide again from
     * maps older than one it acknowledged writes under. Dropped if the topology moved on meanwhile (the next map is
     * said installed in its turn).
     */
    private void sendMapInstalledOnceDurable()
    {
        final long incarnation = context.incarnation();
        final long version = context.topology().version();
        context.durability().awaitDurable(context.wal().appendedPosition(), null, 0, () ->
        {
            if (context.state() == MemberState.ACTIVE && context.incarnation() == incarnation &&
                context.topology().version() == version && !context.isExchanging())
            {
                sendMapInstalled();
            }
        });
    }

    private void sendMapInstalled()
    {
        if (context.membership().isCoordinator())
        {
            onMapInstalled(context.incarnation(), context.topology().version());
            return;
        }
        context.send(context.topology().coordinator(), context.messages().finish(context.messages().encode(
            context.wire().mapInstalledOut, context.incarnation(), context.topology().coordinator().incarnation())
            .version(context.topology().version())));
    }

    private void install(final PartitionTable map)
    {
        context.installMap(map);
        context.membership().onMapInstalled(map.version(), map.topology().baseline());
        pendingMap = null;
        if (map.isActive())
        {
            activationForced = false;
        }
        final int myIndex = map.topology().indexOf(context.incarnation());
        final Map<Long, RebalancePlan> plans = new HashMap<>();
        for (final RebalancePlan plan : map.plans())
        {
            if (plan.demander() == myIndex)
            {
                plans.put(PartitionCopy.pack(plan.cacheId(), plan.partition()), plan);
            }
        }
        if (!map.topology().baseline().equals(context.walBaseline()))
        {
            context.walBaseline(map.topology().baseline());
            context.walRecords().appendBaseline(context.walBaseline());
        }
        for (final CacheDescriptor cache : map.topology().caches())
        {
            // A cluster that is not active yet records no cache it did not know: the member knows nothing of the
            // cache's owners, and a restart must not take it for a cache without history (it would serve it empty).
            if (!cache.equals(context.walCaches().get(cache.cacheId())) &&
                (map.isActive() || context.walCaches().containsKey(cache.cacheId())))
            {
                context.walCaches().put(cache.cacheId(), cache);
                context.walRecords().appendCache(cache);
            }
            final LocalPartition[] local = context.copies().computeIfAbsent(cache.cacheId(),
                id -> new LocalPartition[cache.partitions()]);
            for (int p = 0; p < cache.partitions(); p++)
            {
                installCopy(map, cache, local, p, myIndex, plans);
            }
        }
        forgetCachesAndLogOwners(map);
        context.rebalancer().logStarted();
        context.rebalancer().onMapInstalled();
        context.listener().onMapInstalled(map.topology());
        context.tx().onInstalled();
        context.replication().answerDeferredUpdates();
        // Work that waited for this map: this member's own operations, and requests and updates parked here.
        replayParked();
        context.near().routeParked();
    }

    /**
     * Install one partition's copy as the map says: create it (a new lineage), drop it, let it own (finalizing the
     * gaps of a partition whose primary left) or start its rebalance.
     */
    private void installCopy(final PartitionTable map, final CacheDescriptor cache, final LocalPartition[] local,
        final int p, final int myIndex, final Map<Long, RebalancePlan> plans)
    {
        final int rank = map.rank(cache.cacheId(), p, myIndex);
        final boolean holds = rank >= 0;
        final boolean moving = holds && rank >= map.owningCount(cache.cacheId(), p);
        final long epochId = map.epochId(cache.cacheId(), p);
        final long epochFloor = map.epochFloor(cache.cacheId(), p);
        final PartitionState owningState = map.isLost(cache.cacheId(), p) ? PartitionState.LOST :
            PartitionState.OWNING;
        boolean created = false;
        if (local[p] != null)
        {
            // Refusals were about the maps before this one, and were reported.
            local[p].refusedBackups.clear();
        }
        if (holds && local[p] == null)
        {
            local[p] = new LocalPartition(cache.cacheId(), p);
            local[p].state = moving ? PartitionState.MOVING : owningState;
            // A new lineage: its history is complete from its first counter.
            context.checkpointer().newLineage(PartitionCopy.pack(cache.cacheId(), p));
            context.rebalanced().adoptEpoch(local[p], epochId, epochFloor);
            created = true;
        }
        else if (!holds && local[p] != null)
        {
            local[p].state = local[p].state.moveTo(PartitionState.RENTING).moveTo(PartitionState.EVICTED);
            local[p] = null;
            context.checkpointer().logCopyDropped(cache.cacheId(), p);
        }
        if (holds && !moving && !map.isActive())
        {
            // The cluster waits for its last members: the copy stays exactly as recovered.
            local[p].state = local[p].state.moveTo(owningState);
        }
        else if (holds && !moving)
        {
            if (local[p].counter.hwm() == 0 && local[p].counter.lwm() == 0 && local[p].store.size() > 0)
            {
                // Entries without a counter: what a full rebalance received before the map moved on. The
                // exchange took this copy for empty (counters decide), so it owns nothing of them; kept, they
                // made it differ from its peers at every counter, and every exchange rebuilt another copy from
                // it (seed 0x176628c8a reached topology 5494).
                local[p].store.clear();
                // Its counters start again from 0: so does its journal (a reader ahead is told, see journalRead).
                local[p].journal = null;
                local[p].journalFloor = 0;
            }
            local[p].state = local[p].state.moveTo(owningState);
            // A lost partition serves nothing and its copies wait, as they are, for its last owners: a gap
            // closed here as a hole would make this copy look complete beside one that has the update.
            if (local[p].counter.hwm() > local[p].counter.lwm() && owningState != PartitionState.LOST)
            {
                finalizeGaps(cache, local[p]);
            }
            context.rebalanced().adoptEpoch(local[p], epochId, epochFloor);
            if (cache.journalCapacity() > 0)
            {
                // Before any transaction writes here: they journal only into a journal that exists.
                EventJournal.journalOf(local[p], cache);
            }
        }
        else if (moving)
        {
            LocalPartition lp = local[p];
            final long epochBefore = lp.epochId;
            final long highestBefore = lp.counter.highestClosed();
            lp.state = lp.state.moveTo(PartitionState.MOVING);
            final RebalancePlan plan = plans.get(PartitionCopy.pack(cache.cacheId(), p));
            if (plan == null)
            {
                throw new IllegalStateException("map " + map.version() + " lists a MOVING copy of cache " +
                    cache.name() + " partition " + p + " here without a rebalance plan");
            }
            if (plan.full() && !created)
            {
                lp = context.rebalanced().resetForFullRebalance(lp);
            }
            context.rebalancer().start(lp, plan, epochBefore, highestBefore);
        }
    }

    /** Forget the caches an active cluster's map no longer has, and log the map's owners if they changed. */
    private void forgetCachesAndLogOwners(final PartitionTable map)
    {
        for (final CacheDescriptor known : new ArrayList<>(context.walCaches().values()))
        {
            // A cluster that is not active yet may lack caches the members it waits for will bring back.
            if (map.isActive() && map.topology().cache(known.cacheId()) == null)
            {
                context.walCaches().remove(known.cacheId());
                context.copies().remove(known.cacheId());
                context.walRecords().appendCacheDestroyed(known.cacheId());
            }
        }
        if (map.isActive() && context.ownership().update(map, map.stamp()))
        {
            context.walRecords().appendOwnership(context.ownership(), context.incarnation());
        }
    }

    /** Handle again the messages parked until a map was installed, those not expired. */
    private void replayParked()
    {
        final List<MemberContext.ParkedMessage> parked = new ArrayList<>(context.parkedMessages());
        context.parkedMessages().clear();
        for (final MemberContext.ParkedMessage message : parked)
        {
            if (message.deadlineNs() > context.nowNs())
            {
                final UnsafeBuffer buffer = new UnsafeBuffer(message.bytes());
                context.messages().open(buffer, 0, message.bytes().length);
                if (context.topology().indexOf(message.sender()) >= 0)
                {
                    context.dispatchBody(message.type(), message.sender(), message.source(), buffer, 0,
                        message.bytes().length);
                }
            }
        }
    }

    private void finalizeGaps(final CacheDescriptor cache, final LocalPartition lp)
    {
        final List<CounterRange> holes = lp.counter.finalizeGaps();
        if (!holes.isEmpty())
        {
            long highest = 0;
            for (final CounterRange hole : holes)
            {
                highest = Math.max(highest, hole.start() + hole.count());
            }
            // Closed without the updates: if one was delivered from another copy's journal, this one cannot vouch
            // for what follows it, so a reader behind the holes is told instead of served a gap.
            lp.unjournaled(highest);
            context.historyIndex().note(PartitionCopy.pack(cache.cacheId(), lp.partition),
                context.wal().appendedPosition(), highest);
            context.walRecords().appendRollback(cache.cacheId(), lp.partition, holes);
            context.listener().onEvent("member " + context.config().memberId() + " finalized gaps " + holes +
                " of cache " +
                cache.name() + " partition " + lp.partition);
        }
        context.checkpointer().clampHistory(cache.cacheId(), lp.partition, lp.counter.lwm());
    }

    void onRebalanceDone(final long sender)
    {
        if (context.membership().isCoordinator() && context.rebalancer().onDone(sender))
        {
            context.listener().onEvent("coordinator " + context.config().memberId() +
                ": every MOVING copy of topology " +
                context.topology().version() + " caught up; switching to the ideal owners");
            context.membership().publishTopology(context.topology().withMembers(context.topology().members()));
        }
    }

    void onMapInstalled(final long sender, final long version)
    {
        if (exchange == null || version != exchange.topology.version())
        {
            return;
        }
        exchange.installed.add(sender);
        if (exchange.isFinished())
        {
            context.cacheAdmin().completeInstalled(version);
            if (version > settledVersion)
            {
                noteSettled(version);
                // At once rather than at the next heartbeat: primaries hold their answers until they hear it.
                for (final MemberRecord member : context.topology().members())
                {
                    if (member.incarnation() != context.incarnation())
                    {
                        context.membership().sendHeartbeat(member);
                    }
                }
            }
        }
    }

    static final class CoordinatorExchange
    {
        final Topology topology;
        final Long2ObjectHashMap<ReportAssembly> reports = new Long2ObjectHashMap<>();
        final LongHashSet installed = new LongHashSet();
        PartitionTable map;
        List<byte[]> encodedMap = Collections.emptyList();
        long nextResendNs;

        CoordinatorExchange(final Topology topology)
        {
            this.topology = topology;
        }

        boolean isFinished()
        {
            if (map == null)
            {
                return false;
            }
            // Indexed: asked every duty cycle while the exchange is kept, so no iterator per call.
            final List<MemberRecord> members = topology.members();
            for (int i = 0, n = members.size(); i < n; i++)
            {
                if (!installed.contains(members.get(i).incarnation()))
                {
                    return false;
                }
            }
            return true;
        }
    }
}
