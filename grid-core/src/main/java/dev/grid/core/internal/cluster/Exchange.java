package dev.grid.core.internal.cluster;

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
import java.util.TreeMap;

/**
 * The partition map exchange on every topology version: each member, once its updates in flight drained, reports its
 * copies to the coordinator in chunks; the coordinator assembles the reports, has {@link ExchangePlanner} decide the
 * map, makes a newer ownership table durable, and publishes the map; each member installs it (finalizing gaps of
 * partitions whose primary left, dropping copies it no longer owns, starting rebalances) and says so. Messages of a
 * version not installed yet are parked and replayed after the install.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class Exchange
{
    private static final int MAP_IGNORED = 0;
    private static final int MAP_READ = 1;
    private static final int MAP_INSTALLED_ALREADY = 2;

    private final MemberEngine engine;
    private final ExchangeCodec codec;
    PartitionTable pendingMap;

    List<byte[]> reportChunks;
    long reportAckedVersion;

    long nextReportSendNs;

    // Exchange, coordinator side.
    CoordinatorExchange exchange;

    Exchange(final MemberEngine engine)
    {
        this.engine = engine;
        this.codec = new ExchangeCodec(engine);
    }

    int exchangeDuty()
    {
        int work = 0;
        if (engine.isExchanging() && reportAckedVersion != engine.topology.version())
        {
            if (reportChunks == null && engine.inFlightUpdates == 0 && engine.durability.durabilityQueue.isEmpty() &&
                !engine.tx.hasUnacknowledgedPrepares())
            {
                reportChunks = codec.buildReport();
                nextReportSendNs = engine.nowNs;
            }
            if (reportChunks != null && engine.nowNs >= nextReportSendNs)
            {
                nextReportSendNs = engine.nowNs + engine.retryIntervalNs;
                for (final byte[] chunk : reportChunks)
                {
                    if (engine.membership.isCoordinator())
                    {
                        engine.messages.open(new UnsafeBuffer(chunk), 0, chunk.length);
                        onExchangeReport(engine.incarnation);
                    }
                    else
                    {
                        final MemberRecord coordinator = engine.topology.coordinator();
                        engine.transport.send(engine.transport.endpointOf(coordinator.address()),
                            new UnsafeBuffer(chunk), 0, chunk.length);
                    }
                }
                work++;
            }
        }
        if (exchange != null && exchange.map != null && !exchange.isFinished() && engine.nowNs >= exchange.nextResendNs)
        {
            exchange.nextResendNs = engine.nowNs + engine.retryIntervalNs;
            for (final MemberRecord member : engine.topology.members())
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
            if (sender == engine.incarnation)
            {
                reportAckedVersion = version;
            }
            else
            {
                engine.send(exchange.topology.member(sender), engine.messages.finish(engine.messages.encode(
                    engine.wire.reportAckOut, engine.incarnation, sender).version(version)));
            }
            maybeDecide();
        }
    }

    void onReportAck()
    {
        final long version = engine.messages.decode(engine.wire.reportAckIn).version();
        if (engine.topology != null && version == engine.topology.version())
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
        final ExchangePlanner.Decision decision = engine.planner.decide(exchange.topology, new ExchangePlanner.Inputs(
            exchange.reports.values(), engine.installedMap, engine.ownership, engine.activationForced,
            engine.walCaches::containsKey,
            engine.wal.retainsRecords()));
        if (decision.adoptTable() != null)
        {
            // Remembered, durably, as this member's own table: the member that reported it may go before its table's
            // members are back, and this coordinator, alone with an older table, then activated from it and
            // acknowledged writes that the newer owners' return discarded (whole-cluster seed 0xa845178). Its
            // reports carry the newest table from now on, and so does a restart.
            engine.walRecords.appendOwnership(decision.adoptTable());
            engine.ownership.replaceWith(decision.adoptTable());
        }
        exchange.map = decision.map();
        exchange.nextResendNs = engine.nowNs;
        exchange.encodedMap = codec.encodeMap(exchange.map);
        for (final MemberRecord member : engine.topology.members())
        {
            sendMap(member);
        }
    }

    private void sendMap(final MemberRecord member)
    {
        for (final byte[] message : exchange.encodedMap)
        {
            if (member.incarnation() == engine.incarnation)
            {
                engine.messages.open(new UnsafeBuffer(message), 0, message.length);
                onPartitionMap();
            }
            else
            {
                engine.transport.send(engine.transport.endpointOf(member.address()), new UnsafeBuffer(message),
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
            if (engine.state != MemberState.ACTIVE || piece.version() != engine.topology.version())
            {
                return false;
            }
            outcome[0] = engine.isExchanging() ? MAP_READ : MAP_INSTALLED_ALREADY;
            return outcome[0] == MAP_READ;
        }, pendingMap);
        if (outcome[0] == MAP_INSTALLED_ALREADY)
        {
            sendMapInstalled();
            return;
        }
        if (outcome[0] == MAP_IGNORED)
        {
            return;
        }
        if (pendingMap.isComplete())
        {
            install(pendingMap);
            sendMapInstalled();
        }
    }

    private void sendMapInstalled()
    {
        if (engine.membership.isCoordinator())
        {
            onMapInstalled(engine.incarnation, engine.topology.version());
            return;
        }
        engine.send(engine.topology.coordinator(), engine.messages.finish(engine.messages.encode(
            engine.wire.mapInstalledOut, engine.incarnation, engine.topology.coordinator().incarnation())
            .version(engine.topology.version())));
    }

    private void install(final PartitionTable map)
    {
        engine.installedMap = map;
        pendingMap = null;
        if (map.isActive())
        {
            engine.activationForced = false;
        }
        final int myIndex = map.topology().indexOf(engine.incarnation);
        final Map<Long, RebalancePlan> plans = new HashMap<>();
        for (final RebalancePlan plan : map.plans())
        {
            if (plan.demander() == myIndex)
            {
                plans.put(MemberEngine.packCopy(plan.cacheId(), plan.partition()), plan);
            }
        }
        if (!map.topology().baseline().equals(engine.walBaseline))
        {
            engine.walBaseline = map.topology().baseline();
            engine.walRecords.appendBaseline(engine.walBaseline);
        }
        for (final CacheDescriptor cache : map.topology().caches())
        {
            // A cluster that is not active yet records no cache it did not know: the member knows nothing of the
            // cache's owners, and a restart must not take it for a cache without history (it would serve it empty).
            if (!cache.equals(engine.walCaches.get(cache.cacheId())) &&
                (map.isActive() || engine.walCaches.containsKey(cache.cacheId())))
            {
                engine.walCaches.put(cache.cacheId(), cache);
                engine.walRecords.appendCache(cache);
            }
            final LocalPartition[] local = engine.copies.computeIfAbsent(cache.cacheId(),
                id -> new LocalPartition[cache.partitions()]);
            for (int p = 0; p < cache.partitions(); p++)
            {
                installCopy(map, cache, local, p, myIndex, plans);
            }
        }
        forgetCachesAndLogOwners(map);
        engine.rebalancer.logStarted();
        engine.listener.onMapInstalled(map.topology());
        engine.tx.onInstalled();
        engine.replication.answerDeferredUpdates();
        // Work that waited for this map: this member's own operations, and requests and updates parked here.
        replayParked();
        engine.near.routeParked();
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
            engine.checkpointer.historyFrom.remove(MemberEngine.packCopy(cache.cacheId(), p));
            engine.rebalanced.adoptEpoch(local[p], epochId, epochFloor);
            created = true;
        }
        else if (!holds && local[p] != null)
        {
            local[p].state = local[p].state.moveTo(PartitionState.RENTING).moveTo(PartitionState.EVICTED);
            local[p] = null;
            engine.checkpointer.logCopyDropped(cache.cacheId(), p);
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
            }
            local[p].state = local[p].state.moveTo(owningState);
            // A lost partition serves nothing and its copies wait, as they are, for its last owners: a gap
            // closed here as a hole would make this copy look complete beside one that has the update.
            if (local[p].counter.hwm() > local[p].counter.lwm() && owningState != PartitionState.LOST)
            {
                finalizeGaps(cache, local[p]);
            }
            engine.rebalanced.adoptEpoch(local[p], epochId, epochFloor);
        }
        else if (moving)
        {
            LocalPartition lp = local[p];
            final long epochBefore = lp.epochId;
            final long highestBefore = lp.counter.highestClosed();
            lp.state = lp.state.moveTo(PartitionState.MOVING);
            final RebalancePlan plan = plans.get(MemberEngine.packCopy(cache.cacheId(), p));
            if (plan == null)
            {
                throw new IllegalStateException("map " + map.version() + " lists a MOVING copy of cache " +
                    cache.name() + " partition " + p + " here without a rebalance plan");
            }
            if (plan.full() && !created)
            {
                lp = engine.rebalanced.resetForFullRebalance(lp);
            }
            engine.rebalancer.start(lp, plan, epochBefore, highestBefore);
        }
    }

    /** Forget the caches an active cluster's map no longer has, and log the map's owners if they changed. */
    private void forgetCachesAndLogOwners(final PartitionTable map)
    {
        for (final CacheDescriptor known : new ArrayList<>(engine.walCaches.values()))
        {
            // A cluster that is not active yet may lack caches the members it waits for will bring back.
            if (map.isActive() && map.topology().cache(known.cacheId()) == null)
            {
                engine.walCaches.remove(known.cacheId());
                engine.copies.remove(known.cacheId());
                engine.walRecords.appendCacheDestroyed(known.cacheId());
            }
        }
        if (map.isActive() && engine.ownership.update(map, map.stamp()))
        {
            engine.walRecords.appendOwnership(engine.ownership);
        }
    }

    /** Handle again the messages parked until a map was installed, those not expired. */
    private void replayParked()
    {
        final List<MemberEngine.ParkedMessage> parked = new ArrayList<>(engine.parkedMessages);
        engine.parkedMessages.clear();
        for (final MemberEngine.ParkedMessage message : parked)
        {
            if (message.deadlineNs() > engine.nowNs)
            {
                final UnsafeBuffer buffer = new UnsafeBuffer(message.bytes());
                engine.messages.open(buffer, 0, message.bytes().length);
                if (engine.topology.indexOf(message.sender()) >= 0)
                {
                    engine.dispatchBody(message.type(), message.sender(), message.source(), buffer, 0,
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
            engine.historyIndex.note(MemberEngine.packCopy(cache.cacheId(), lp.partition),
                engine.wal.appendedPosition(), highest);
            engine.walRecords.appendRollback(cache.cacheId(), lp.partition, holes);
            engine.listener.onEvent("member " + engine.config.memberId() + " finalized gaps " + holes + " of cache " +
                cache.name() + " partition " + lp.partition);
        }
        engine.checkpointer.clampHistory(cache.cacheId(), lp.partition, lp.counter.lwm());
    }

    void onRebalanceDone(final long sender)
    {
        if (engine.membership.isCoordinator() && engine.rebalancer.onDone(sender))
        {
            engine.listener.onEvent("coordinator " + engine.config.memberId() + ": every MOVING copy of topology " +
                engine.topology.version() + " caught up; switching to the ideal owners");
            engine.membership.publishTopology(engine.topology.withMembers(engine.topology.members()));
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
            final List<CacheAdmin.PendingAdmin> done = new ArrayList<>();
            for (final CacheAdmin.PendingAdmin admin : engine.cacheAdmin.pendingAdmins)
            {
                if (admin.targetVersion() <= version)
                {
                    done.add(admin);
                }
            }
            engine.cacheAdmin.pendingAdmins.removeAll(done);
            for (final CacheAdmin.PendingAdmin admin : done)
            {
                engine.cacheAdmin.answerAdmin(admin.origin(), admin.sequence(), 0, null);
            }
        }
    }

    static final class ReportAssembly
    {
        final Map<Integer, List<ReportEntry>> chunks = new TreeMap<>();
        /** The reporter's ownership table, assembled from the chunks that carry it. */
        final OwnershipTable table = new OwnershipTable();
        int lastIndex = -1;

        boolean isComplete()
        {
            return lastIndex >= 0 && chunks.size() == lastIndex + 1;
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
            for (final MemberRecord member : topology.members())
            {
                if (!installed.contains(member.incarnation()))
                {
                    return false;
                }
            }
            return true;
        }
    }
}
