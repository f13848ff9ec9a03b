package dev.grid.core.internal.cluster;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.NodeStoppingException;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.engine.BytesEntryProcessor;
import dev.grid.core.engine.BytesMergeOperator;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.EngineAdmin;
import dev.grid.core.engine.EngineHistory;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.EngineStatus;
import dev.grid.core.engine.EngineTransactions;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.MessageTypes;
import dev.grid.core.engine.OpCallback;
import dev.grid.core.engine.OpType;
import dev.grid.core.engine.PartitionMap;
import dev.grid.core.engine.PartitionState;
import dev.grid.core.engine.Topology;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.Transactions;
import dev.grid.core.spi.CheckpointStore;
import dev.grid.core.spi.RandomSource;
import dev.grid.core.spi.Transport;
import dev.grid.core.spi.Wal;
import dev.grid.core.spi.WallClock;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * One cluster member's protocol: a thin engine that routes each message by its {@link MessageTypes type} to the
 * component that owns that slice of the protocol and drives their duty cycles. {@link Joining} and
 * {@link Membership} keep the member in the cluster (join through seeds, heartbeats, failure detection, quorum, the
 * oldest member coordinating); {@link Exchange} runs the partition map exchange on every topology change, with the
 * decision made by {@link ExchangePlanner}; {@link NearOps} routes this member's own operations and
 * {@link Replication} serves them as primary and backup with update counters; the {@code Transactions} component
 * (grid-tx's, made by the factory given to the constructor) runs transactions;
 * {@link Rebalancer} and {@link RebalancedCopies} catch lagging copies up; {@link Checkpointer}, {@link Recovery}
 * and {@link WalRecords} make it all durable and bring it back. What they share (configuration, time as
 * {@link #doWork} passes it in, sending, the topology, the installed map, the local copies, the WAL and what it knows)
 * is their {@link MemberContext}, which also holds them; the engine holds the context, the host API and the routing.
 * Its host calls it directly for a member's life and single-key operations ({@link #submit}, {@link #stop}), and
 * through facades by concern for the rest: {@link #transactions}, {@link #admin}, {@link #history} and
 * {@link #status}.
 * <p>
 * <b>Threading:</b> single-threaded and non-blocking. The owner calls {@link #doWork(long)} in a duty cycle and calls
 * everything else from the same thread. Time, network, WAL and randomness are injected, so the simulator runs the
 * same code on virtual time.
 * <p>
 * <b>Invariants</b> (see DESIGN.md):
 * <ul>
 *     <li>a write is acknowledged only after its record is durable in this member's WAL and every backup of the
 *     partition in the installed map acknowledged it (or left the topology);</li>
 *     <li>a primary serves requests only for the map version it installed and only outside an exchange; a request
 *     stamped otherwise is parked or answered with a remap;</li>
 *     <li>a member reports its copies to the exchange only after its in-flight updates drained, so the coordinator
 *     decides on counters that no longer move;</li>
 *     <li>copies of one partition in an installed map have the same LWM and content (copies that disagree are
 *     dropped at the exchange: catching up is the rebalance issue's work).</li>
 * </ul>
 * Messages from incarnations that are not in the current topology are ignored (a restarted member is a new member),
 * and every exchange and request carries its own retries, so nothing relies on the transport to report loss.
 */
public final class MemberEngine implements Engine
{
    private final MemberContext context;
    private final RandomSource random;
    /** Attributes this member adds to its configured ones (where it serves clients), see {@link #advertise}. */
    private final Map<String, String> advertised = new TreeMap<>();
    private final TransactionsFacade transactionsFacade;
    private final HistoryFacade historyFacade;
    private final AdminFacade adminFacade;
    private final StatusFacade statusFacade;
    private long nextSweepNs;
    /** Made once: a method reference per duty cycle was garbage on every poll. */
    private final Transport.MessageHandler onMessage = this::onMessage;

    /**
     * A member without checkpoints (its WAL, if any, is replayed from its start).
     *
     * @param config          the member's concluded configuration.
     * @param transport       to other members; its local address is this member's address.
     * @param wal             this member's WAL.
     * @param random          seeded randomness (incarnations).
     * @param mergeOperators  resolves a cache's merge operator (by its name and codecs); returns null if unknown.
     * @param transactions    makes the member's transaction component (grid-tx's {@code TxManager::new}) from the
     *                        context the engine gives it.
     * @param listener        receives metrics and events.
     * @param retryIntervalNs between resends of unanswered requests, reports and maps.
     * @param nowNs           the current time.
     */
    public MemberEngine(
        final MemberConfiguration config,
        final Transport transport,
        final Wal wal,
        final RandomSource random,
        final Function<CacheDescriptor, BytesMergeOperator> mergeOperators,
        final Function<TransactionContext, Transactions> transactions,
        final EngineListener listener,
        final long retryIntervalNs,
        final long nowNs)
    {
        this(config, transport, wal, null, random, mergeOperators, (cache, name) -> null, WallClock.MONOTONIC,
            transactions, listener, retryIntervalNs, nowNs);
    }

    /**
     * @param config          the member's concluded configuration.
     * @param transport       to other members; its local address is this member's address.
     * @param wal             this member's WAL.
     * @param checkpoints     where checkpoints go, or null for none; recovery starts from the newest committed one.
     * @param random          seeded randomness (incarnations).
     * @param mergeOperators  resolves a cache's merge operator (by its name and codecs); returns null if unknown.
     * @param entryProcessors resolves an entry processor by cache and name; returns null if unknown.
     * @param wallClock       turns the engine's time into epoch milliseconds (entries' expiry times).
     * @param transactions    makes the member's transaction component (grid-tx's {@code TxManager::new}) from the
     *                        context the engine gives it.
     * @param listener        receives metrics and events.
     * @param retryIntervalNs between resends of unanswered requests, reports and maps.
     * @param nowNs           the current time.
     */
    public MemberEngine(
        final MemberConfiguration config,
        final Transport transport,
        final Wal wal,
        final CheckpointStore checkpoints,
        final RandomSource random,
        final Function<CacheDescriptor, BytesMergeOperator> mergeOperators,
        final BiFunction<CacheDescriptor, String, BytesEntryProcessor> entryProcessors,
        final WallClock wallClock,
        final Function<TransactionContext, Transactions> transactions,
        final EngineListener listener,
        final long retryIntervalNs,
        final long nowNs)
    {
        final MemberConfiguration concluded = config.conclude();
        this.random = random;
        this.context = new MemberContext(concluded, transport, wal, checkpoints, random, mergeOperators,
            entryProcessors, wallClock, transactions, listener, retryIntervalNs, nowNs, new MemberContext.Host()
            {
                @Override
                public void rejoin(final String why)
                {
                    MemberEngine.this.rejoin(why);
                }

                @Override
                public void dissolve(final String why)
                {
                    MemberEngine.this.dissolve(why);
                }

                @Override
                public void dispatch(final int type, final long sender, final int source, final DirectBuffer buffer,
                    final int offset, final int length)
                {
                    dispatchBody(type, sender, source, buffer, offset, length);
                }
            });
        this.transactionsFacade = new TransactionsFacade(context);
        this.historyFacade = new HistoryFacade(context);
        this.adminFacade = new AdminFacade(context);
        this.statusFacade = new StatusFacade(context);
        context.recovery().recover();
        context.checkpointer().scheduleFirst();
        startJoining("start", true);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Public API (engine thread only).
    // ------------------------------------------------------------------------------------------------------------

    /**
     * @return the transactions this member coordinates: begin, enlist, commit, roll back, list, kill.
     */
    @Override
    public EngineTransactions transactions()
    {
        return transactionsFacade;
    }

    /**
     * @return the WAL history and checkpoints this member keeps (rebalance suppliers read it; tests inspect it).
     */
    @Override
    public EngineHistory history()
    {
        return historyFacade;
    }

    /**
     * @return cache administration, baseline changes, activation and lost-partition resets, via the coordinator.
     */
    @Override
    public EngineAdmin admin()
    {
        return adminFacade;
    }

    /**
     * @return what the member's state looks like: settledness, quorum, the map, copies, progress and checks.
     */
    @Override
    public EngineStatus status()
    {
        return statusFacade;
    }

    /**
     * @return the member's state.
     */
    @Override
    public MemberState state()
    {
        return context.state();
    }

    /**
     * @return why the member failed to join, or null.
     */
    @Override
    public GridException failure()
    {
        return context.failure();
    }

    /**
     * @return this incarnation.
     */
    @Override
    public long incarnation()
    {
        return context.incarnation();
    }

    /**
     * @return this member's address.
     */
    @Override
    public String localAddress()
    {
        return context.localAddress();
    }

    /**
     * @return the member's configuration.
     */
    @Override
    public MemberConfiguration configuration()
    {
        return context.config();
    }

    /**
     * @return the current topology, or null while joining.
     */
    @Override
    public Topology topology()
    {
        return context.topology();
    }

    /**
     * @return the installed partition map, or null before the first exchange finished.
     */
    @Override
    public PartitionMap installedMap()
    {
        return context.installedMap();
    }

    /**
     * @param name of a cache.
     * @return its descriptor in the current topology, or null.
     */
    @Override
    public CacheDescriptor cache(final String name)
    {
        return context.topology() == null ? null : context.topology().cache(name);
    }

    /**
     * @return the caches of the current topology.
     */
    @Override
    public List<CacheDescriptor> caches()
    {
        return context.topology() == null ? List.of() : context.topology().caches();
    }

    /**
     * Read a key from this member's own copy, whatever its role (for tests and the simulator's final check).
     *
     * @param cacheId of the cache.
     * @param key     encoded key.
     * @return the value, or null if absent or no copy is held here.
     */
    @Override
    public byte[] readLocal(final int cacheId, final byte[] key)
    {
        final CacheDescriptor cache = context.topology() == null ? null : context.topology().cache(cacheId);
        if (cache == null)
        {
            return null;
        }
        final LocalPartition lp = context.localCopy(cacheId, KeyPartitioner.partition(key, cache.partitions()));
        return lp == null ? null : lp.store.get(key);
    }

    /**
     * Add an attribute to the ones this member's topology record carries, such as the address it serves clients on.
     * Only before the first {@link #doWork} (the record is made when joining).
     *
     * @param name  of the attribute.
     * @param value of the attribute.
     */
    @Override
    public void advertise(final String name, final String value)
    {
        advertised.put(name, value);
        final MemberRecord self = context.self();
        if (self != null)
        {
            // The record was made when the constructor started joining; nobody has seen it yet.
            final Map<String, String> attributes = new TreeMap<>(self.attributes());
            attributes.put(name, value);
            context.becomeIncarnation(new MemberRecord(self.memberId(), self.incarnation(), self.address(),
                attributes));
        }
    }

    /**
     * @return whether the installed map serves data: false while a cluster restarted from data directories waits for
     *         the last members of its newest ownership table (see {@link EngineAdmin#activate}), or before any map.
     *         Engine thread only.
     */
    @Override
    public boolean isActive()
    {
        return context.installedMap() != null && context.installedMap().isActive();
    }

    /**
     * Stop: fail this member's in-flight operations with {@link ErrorCode#NODE_STOPPING}, refuse new ones, and
     * announce the departure so the cluster forms a new topology without waiting for failure detection.
     */
    @Override
    public void stop()
    {
        final MemberState state = context.state();
        if (state == MemberState.STOPPED || state == MemberState.FAILED)
        {
            return;
        }
        if (state != MemberState.STOPPING)
        {
            // A stop that failed half way (STOPPING) is finished by the next one.
            context.changeState(MemberState.STOPPING, "stop requested");
        }
        final String memberId = context.config().memberId();
        failAllOwnOperations(new NodeStoppingException("member " + memberId + " is stopping"));
        context.tx().abandon(new NodeStoppingException("member " + memberId + " is stopping"), false);
        if (context.topology() != null)
        {
            final MemberMessages messages = context.messages();
            for (final MemberRecord member : context.topology().members())
            {
                if (member.incarnation() != context.incarnation())
                {
                    context.send(member, messages.finish(messages.encode(context.wire().leaveOut,
                        context.incarnation(), member.incarnation())));
                }
            }
        }
        context.changeState(MemberState.STOPPED, "left the cluster");
    }

    /**
     * The member cannot go on (its transport died): every operation in flight fails with {@code error}, new ones are
     * refused, and the state becomes {@link MemberState#FAILED}. Nothing is announced: the peers notice through
     * failure detection, as for a crash.
     *
     * @param error given to every operation in flight; also {@link #failure()} from now on.
     */
    @Override
    public void fail(final GridException error)
    {
        if (context.state() == MemberState.STOPPED || context.state() == MemberState.FAILED)
        {
            return;
        }
        context.failWith(error);
        failAllOwnOperations(error);
        context.tx().abandon(error, true);
    }

    /**
     * One duty cycle: take messages, advance durability, run due timers.
     *
     * @param nowNs the current time.
     * @return the amount of work done (0 when idle).
     */
    @Override
    public int doWork(final long nowNs)
    {
        context.advanceTo(nowNs);
        final MemberState state = context.state();
        if (state == MemberState.STOPPED || state == MemberState.FAILED)
        {
            return 0;
        }
        final Wal wal = context.wal();
        if (state == MemberState.EXPELLED)
        {
            // Nothing is served or answered any more: the WAL is made durable and a checkpoint under way finishes,
            // so that the engine that replaces this one recovers everything this one appended.
            if (wal.durablePosition() < wal.appendedPosition())
            {
                wal.requestDurability();
            }
            return context.checkpointer().checkpointDuty();
        }
        int work = context.transport().poll(onMessage, 256);
        work += drainSelfInbox();
        if (wal.durablePosition() < wal.appendedPosition())
        {
            // Group commit: one request per duty cycle covers everything appended since the last one.
            wal.requestDurability();
        }
        work += context.durability().processDurability();
        // Here every record at or below the durable position processDurability read is reflected in its copy's
        // counter: images take that position (Durability.reflectedPosition) as where their replay starts.
        work += context.checkpointer().checkpointDuty();
        if (context.state() == MemberState.JOINING)
        {
            work += context.joining().joinDuty();
        }
        else if (context.state() == MemberState.ACTIVE)
        {
            work += activeDuty();
        }
        return work;
    }

    /** @return the context the components share, for this package's tests. */
    MemberContext context()
    {
        return context;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Joining.
    // ------------------------------------------------------------------------------------------------------------

    private void startJoining(final String why, final boolean keepCopies)
    {
        long inc;
        do
        {
            inc = random.nextLong();
        }
        while (inc == 0 || inc == context.incarnation());
        final MemberConfiguration config = context.config();
        final Map<String, String> attributes = new TreeMap<>(config.attributes());
        attributes.putAll(advertised);
        context.becomeIncarnation(new MemberRecord(config.memberId(), inc, context.localAddress(), attributes));
        context.recovery().incarnationStarts(inc);
        context.joining().restart();
        context.replication().reset();
        context.expirations().reset();
        if (!keepCopies)
        {
            context.evictions().reset();
        }
        context.heldReads().clear();
        context.membership().reset();
        context.installTopology(null);
        context.installMap(null);
        // Catch-up sessions end with the map; a supplier's history scan (started when a map is installed) unpins the
        // WAL now, not when the member adopts a topology again.
        context.rebalancer().onTopologyChanged();
        context.exchange().reset();
        context.cacheAdmin().reset();
        if (!keepCopies)
        {
            // Images of this life's copies are worthless now; the next checkpoint starts afresh, and history
            // boundaries of the old copies no longer describe anything.
            context.checkpointer().abandon();
        }
        if (!keepCopies && !context.copies().isEmpty())
        {
            // The caches stay known, with the ownership table that names their last owners: a cluster that formed
            // afresh while every member holding them crashed or dropped them (in-memory soak seed 0x181cb2396) then
            // adopts them and reports their partitions lost, where they vanished without a word before.
            context.copies().clear();
            context.walRecords().appendAllDropped();
        }
        context.forgetInFlight();
        context.durability().reset();
        if (context.state() != MemberState.JOINING)
        {
            context.changeState(MemberState.JOINING, why);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Duty while active.
    // ------------------------------------------------------------------------------------------------------------

    private int activeDuty()
    {
        int work = context.membership().heartbeatDuty();
        if (context.state() != MemberState.ACTIVE)
        {
            return work;
        }
        if (context.membership().isCoordinator())
        {
            work += context.membership().baselineAutoAdjust();
        }
        work += context.exchange().exchangeDuty();
        work += context.rebalancer().duty();
        work += context.expirations().duty();
        work += context.evictions().duty();
        work += context.heldReads().duty(work > 0);
        if (!context.checker().isIdle())
        {
            work += context.checker().duty();
        }
        if (context.nowNs() >= nextSweepNs)
        {
            nextSweepNs = context.nowNs() + Math.max(1, context.retryIntervalNs() / 4);
            context.origins().pruneClients();
            work += sweep();
            work += context.tx().duty();
            work += context.tombstones().purgeTombstones();
        }
        return work;
    }

    private void rejoin(final String why)
    {
        final String memberId = context.config().memberId();
        context.listener().onEvent("member " + memberId + " was removed from the cluster: " + why +
            "; dropping its state and joining again");
        final GridException rejoining = new GridException(ErrorCode.MEMBER_REJOINING, "member " + memberId +
            " was removed from the cluster (" + why + ") and is joining again");
        failAllOwnOperations(rejoining);
        context.tx().abandon(rejoining, true);
        if (context.wal().retainsRecords())
        {
            // Its durable copies are kept: the host starts a new engine on this WAL, which recovers them and rejoins
            // as a restarted member does, so counters decide between historical and full catch-up.
            context.changeState(MemberState.EXPELLED, why);
            return;
        }
        startJoining(why, false);
    }

    /**
     * This member's cluster dissolves into another (two formed, or a split's sides both went on). A persistent member
     * stops for its host to restart it on its WAL, as when removed. An in-memory member joins again keeping its
     * complete copies, the prepares of its transactions' parts, its caches and ownership table, in the state a restart
     * on a WAL would recover them: the other cluster adopts its caches if its ownership table is newer (and serves
     * them once every member of that table is back), and judges its copies as any returning member's; copies of caches
     * the other cluster cannot take in go to {@link dev.grid.core.engine.EngineListener#onCopyKept}. Dropping them
     * here lost the only copies of acknowledged updates when the members of the other cluster had restarted empty
     * (in-memory soak seeds 0x181c815b7, 0x181c50ab9, 0x181ce2623, 0x181d13f8e).
     */
    private void dissolve(final String why)
    {
        if (context.wal().retainsRecords())
        {
            rejoin(why);
            return;
        }
        // Updates applied in this poll wait for durability (immediate without a WAL) to close their counters and
        // finish their transactions' parts: act on it before the waits are dropped with the life.
        context.durability().processDurability();
        final String memberId = context.config().memberId();
        context.listener().onEvent("member " + memberId + " leaves its cluster: " + why +
            "; joining again with its copies");
        final GridException rejoining = new GridException(ErrorCode.MEMBER_REJOINING, "member " + memberId +
            " leaves its cluster (" + why + ") and is joining again");
        failAllOwnOperations(rejoining);
        context.tx().abandonKeepingPrepares(rejoining);
        int dropped = 0;
        for (final LocalPartition[] local : context.copies().values())
        {
            for (int p = 0; p < local.length; p++)
            {
                final LocalPartition lp = local[p];
                if (lp == null)
                {
                    continue;
                }
                if (lp.state == PartitionState.MOVING || lp.state == PartitionState.EVICTED)
                {
                    // Still catching up, or given up: not a copy the exchange may take for complete. Dropped as
                    // recovery replays a drop: the commits it remembered and the prepares it held go with it.
                    local[p] = null;
                    context.checkpointer().logCopyDropped(lp.cacheId, lp.partition);
                    context.tx().forgetPrepared(lp.cacheId, lp.partition);
                    dropped++;
                }
                else
                {
                    // OWNING, or LOST (a last owner's full copy waiting for the others may be one).
                    lp.forgetLiveState();
                }
            }
        }
        if (dropped > 0)
        {
            context.listener().onEvent("member " + memberId + " drops " + dropped + " incomplete partition copies");
        }
        startJoining(why, true);
    }

    private int sweep()
    {
        int work = 0;
        work += context.near().sweep();
        work += context.cacheAdmin().sweep();
        final List<MemberContext.ParkedMessage> parked = context.parkedMessages();
        if (!parked.isEmpty())
        {
            parked.removeIf(m -> m.deadlineNs() <= context.nowNs());
        }
        work += context.replication().retransmitUpdates();
        return work;
    }

    private int drainSelfInbox()
    {
        int work = 0;
        byte[] message;
        while ((message = context.pollSelfInbox()) != null && work < 4096)
        {
            onMessage(-1, new UnsafeBuffer(message), 0, message.length);
            work++;
        }
        return work;
    }

    private void failAllOwnOperations(final GridException error)
    {
        context.near().failAll(error);
        context.cacheAdmin().failAll(error);
        context.checker().failAll(error);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Messages: each type to the component that owns it.
    // ------------------------------------------------------------------------------------------------------------

    private void onMessage(final int source, final DirectBuffer buffer, final int offset, final int length)
    {
        final MemberMessages messages = context.messages();
        try
        {
            messages.open(buffer, offset, length);
            final int type = messages.type();
            final long sender = messages.sender();
            final long destination = messages.destination();
            if (destination != 0 && destination != context.incarnation())
            {
                return;
            }
            switch (type)
            {
                case MessageTypes.JOIN_REQUEST -> context.joining().onJoinRequest();
                case MessageTypes.JOIN_PENDING -> context.joining().onJoinPending();
                case MessageTypes.JOIN_REJECTED -> context.joining().onJoinRejected(destination);
                case MessageTypes.TOPOLOGY -> context.membership().onTopology(sender);
                default -> onMemberMessage(type, sender, source, buffer, offset, length);
            }
        }
        catch (final MalformedMessageException ex)
        {
            context.listener().onMalformedMessage(source, ex.getMessage());
        }
    }

    private void onMemberMessage(final int type, final long sender, final int source, final DirectBuffer buffer,
        final int offset, final int length)
    {
        if (context.state() != MemberState.ACTIVE)
        {
            return;
        }
        final Topology topology = context.topology();
        if (topology.indexOf(sender) < 0)
        {
            if (type == MessageTypes.HEARTBEAT)
            {
                // A member of another cluster probing for merges (see probeForOtherClusters()) gets the same answer.
                // Every member says so, not only the coordinator: a member the majority removed while it was paused or
                // cut off may list only non-coordinators (it took itself for coordinator of its stale topology), and
                // would otherwise never learn that it must rejoin. The version keeps a lagging member's answer from
                // sending a newer joiner away.
                final MemberMessages messages = context.messages();
                messages.finish(messages.encode(context.wire().notMemberOut, context.incarnation(), sender)
                    .version(topology.version()).lifeId(context.membership().clusterLifeId())
                    .members(topology.members().size()).coordinator(topology.coordinator().incarnation()));
                context.transport().send(source, context.writer().buffer(), 0, context.writer().length());
            }
            else if (type == MessageTypes.NOT_MEMBER)
            {
                context.membership().onNotMember(sender);
            }
            return;
        }
        context.membership().heard(sender);
        dispatchBody(type, sender, source, buffer, offset, length);
    }

    private void dispatchBody(final int type, final long sender, final int source, final DirectBuffer buffer,
        final int offset, final int length)
    {
        final Membership membership = context.membership();
        final Exchange exchange = context.exchange();
        final Replication replication = context.replication();
        final ConsistencyChecker checker = context.checker();
        switch (type)
        {
            case MessageTypes.HEARTBEAT -> membership.onHeartbeat(sender);
            case MessageTypes.NOT_MEMBER -> membership.onNotMember(sender);
            case MessageTypes.LEAVE -> membership.onLeave(sender);
            case MessageTypes.EXCHANGE_REPORT -> exchange.onExchangeReport(sender);
            case MessageTypes.REPORT_ACK -> exchange.onReportAck();
            case MessageTypes.PARTITION_MAP -> exchange.onPartitionMap();
            case MessageTypes.MAP_INSTALLED -> exchange.onMapInstalled(sender,
                context.messages().decode(context.wire().mapInstalledIn).version());
            case MessageTypes.REQUEST -> replication.onRequest(sender, source, buffer, offset, length);
            case MessageTypes.RESPONSE -> context.near().onResponse(sender);
            case MessageTypes.REPLICATE -> replication.onReplicate(sender, source, buffer, offset, length);
            case MessageTypes.REPLICATE_ACK -> replication.onReplicateAck(sender);
            case MessageTypes.SIZE_REQUEST -> replication.onSizeRequest(sender);
            case MessageTypes.CACHE_ADMIN -> context.cacheAdmin().onCacheAdmin(sender);
            case MessageTypes.REBALANCE_DEMAND -> context.rebalancer().onDemand(sender);
            case MessageTypes.REBALANCE_SUPPLY -> context.rebalancer().onSupply(sender);
            case MessageTypes.REBALANCE_DONE -> exchange.onRebalanceDone(sender);
            case MessageTypes.VERIFY_REQUEST -> checker.onRequest(sender);
            case MessageTypes.VERIFY_COPY -> checker.onCopyRequest(sender);
            case MessageTypes.VERIFY_COPY_ANSWER -> checker.onCopyAnswer(sender);
            case MessageTypes.VERIFY_ANSWER -> checker.onAnswer(sender);
            case MessageTypes.CACHE_ADMIN_RESPONSE -> context.cacheAdmin().onAdminAnswer();
            default ->
            {
                context.handlingTxMessage(type, sender, source, buffer, offset, length);
                try
                {
                    if (!context.tx().onMessage(type, sender))
                    {
                        throw new MalformedMessageException("unknown message type " + type);
                    }
                }
                finally
                {
                    context.handlingTxMessage(0, 0, 0, null, 0, 0);
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Single-key operations.
    // ------------------------------------------------------------------------------------------------------------

    /**
     * Submit an operation of this member's user. The callback runs exactly once, on the engine's thread.
     *
     * @param cacheId   the cache, as looked up by name when the user opened it.
     * @param type      of operation.
     * @param key       encoded key (null for {@link OpType#SIZE}).
     * @param value     encoded value or operand, or null.
     * @param expected  encoded expected value for conditional operations, or null.
     * @param timeoutNs after which the operation fails with {@link ErrorCode#OPERATION_TIMEOUT}.
     * @param callback  completion.
     */
    @Override
    public void submit(
        final int cacheId,
        final OpType type,
        final byte[] key,
        final byte[] value,
        final byte[] expected,
        final long timeoutNs,
        final OpCallback callback)
    {
        submit(cacheId, type, key, value, expected, timeoutNs, 0, 0, 0, callback);
    }

    /**
     * Submit an operation on behalf of a thin client, under the client's identity: however often the client resends
     * it (after a broken connection, through any member), and across a primary's failure, it is applied once, and a
     * resend gets the first application's outcome. Without an identity ({@code clientId} 0) the operation is this
     * member's, known by this member's incarnation and its own sequence.
     *
     * @param clientId        the client's identity ({@link ClientProtocol#isClientId}), or 0.
     * @param clientSequence  the operation's number at the client, the same in every resend.
     * @param clientWatermark the lowest number the client may still resend: outcomes below it are retired.
     */
    @Override
    public void submit(
        final int cacheId,
        final OpType type,
        final byte[] key,
        final byte[] value,
        final byte[] expected,
        final long timeoutNs,
        final long clientId,
        final long clientSequence,
        final long clientWatermark,
        final OpCallback callback)
    {
        context.near().submit(cacheId, type, key, value, expected, timeoutNs, clientId, clientSequence,
            clientWatermark, callback);
    }

    @Override
    public byte[] readNow(final int cacheId, final OpType type, final byte[] key)
    {
        return context.near().readNow(cacheId, type, key);
    }

    @Override
    public void scanPage(final int cacheId, final int partition, final byte[] afterKey, final byte[] spec,
        final long timeoutNs, final OpCallback callback)
    {
        context.near().scanPage(cacheId, partition, afterKey, spec, timeoutNs, callback);
    }

    @Override
    public void journalRead(final int cacheId, final int partition, final byte[] request, final long timeoutNs,
        final OpCallback callback)
    {
        context.near().partitionRead(cacheId, partition, OpType.JOURNAL_READ, new byte[0], request, timeoutNs,
            callback);
    }

}
