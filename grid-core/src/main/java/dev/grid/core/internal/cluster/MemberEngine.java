package dev.grid.core.internal.cluster;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.NodeStoppingException;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.Baseline;
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
import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.Topology;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.Transactions;
import dev.grid.core.spi.CheckpointStore;
import dev.grid.core.spi.RandomSource;
import dev.grid.core.spi.Transport;
import dev.grid.core.spi.Wal;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
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
 * and {@link WalRecords} make it all durable and bring it back. The engine keeps what they share: configuration,
 * time (passed in by {@link #doWork}), the transport, the topology, the installed map, the local copies and what the
 * WAL knows. Its host calls it directly for a member's life and single-key operations ({@link #submit},
 * {@link #stop}), and through facades by concern for the rest: {@link #transactions}, {@link #admin},
 * {@link #history} and {@link #status}.
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
    static final long[] NO_PREPARES = new long[0];
    /** How long a cache create or destroy may take before it fails with a timeout. */
    public static final long ADMIN_TIMEOUT_DEFAULT_NS = TimeUnit.SECONDS.toNanos(30);

    final MemberConfiguration config;
    final Transport transport;
    final Wal wal;
    final RandomSource random;
    final Function<CacheDescriptor, BytesMergeOperator> mergeOperators;
    final EngineListener listener;
    final long retryIntervalNs;
    final String localAddress;
    final MessageWriter writer = new MessageWriter();
    final MessageReader reader = new MessageReader();
    final MemberMessages messages = new MemberMessages(writer);
    final EngineFlyweights wire = new EngineFlyweights();

    MemberState state = MemberState.JOINING;
    GridException failure;
    long nowNs;
    long incarnation;
    MemberRecord self;

    // Membership.
    Topology topology;
    // Exchange, member side.
    PartitionTable installedMap;
    // Data.
    final Int2ObjectHashMap<LocalPartition[]> copies = new Int2ObjectHashMap<>();
    /** The caches the WAL knows, by id: recovered at start, then kept in step with installed maps. */
    final Int2ObjectHashMap<CacheDescriptor> walCaches = new Int2ObjectHashMap<>();
    /** Where in the WAL each copy's recent counters lie, so that a history read scans only that tail. */
    final HistoryIndex historyIndex = new HistoryIndex();
    /** Durable: the last owners of every partition, as of the last map installed while the cluster was active. */
    final OwnershipTable ownership = new OwnershipTable();
    /** Coordinator only: an operator asked to activate without the members still away (see {@link #activate}). */
    boolean activationForced;
    /** Attributes this member adds to its configured ones (where it serves clients), see {@link #advertise}. */
    private final Map<String, String> advertised = new TreeMap<>();
    /** The baseline the WAL knows: recovered at start, then kept in step with installed maps. */
    Baseline walBaseline = Baseline.NONE;
    int inFlightUpdates;
    final List<ParkedMessage> parkedMessages = new ArrayList<>();
    /** Transactions, as coordinator and participant: grid-tx's component, made by the factory given. */
    final Transactions tx;
    final Rebalancer rebalancer = new Rebalancer(this);
    final ConsistencyChecker checker = new ConsistencyChecker(this);
    final ExchangePlanner planner;
    final WalRecords walRecords;
    final Recovery recovery = new Recovery(this);
    final Checkpointer checkpointer;
    final Joining joining;
    final Membership membership;
    final Exchange mapExchange = new Exchange(this);
    final NearOps near = new NearOps(this);
    final CacheAdmin cacheAdmin = new CacheAdmin(this);
    final Replication replication = new Replication(this);
    final RebalancedCopies rebalanced = new RebalancedCopies(this);
    final Origins origins = new Origins(this);
    final Durability durability = new Durability(this);
    final Tombstones tombstones = new Tombstones(this);
    private final TransactionsFacade transactionsFacade = new TransactionsFacade(this);
    private final HistoryFacade historyFacade = new HistoryFacade(this);
    private final AdminFacade adminFacade = new AdminFacade(this);
    private final StatusFacade statusFacade = new StatusFacade(this);
    /** Messages this member sent itself (a transaction whose coordinator is also a primary), handled in doWork. */
    private final ArrayDeque<byte[]> selfInbox = new ArrayDeque<>();

    // Near operations.
    private long nextSequence = 1;
    private long nextSweepNs;

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
        this(config, transport, wal, null, random, mergeOperators, transactions, listener, retryIntervalNs, nowNs);
    }

    /**
     * @param config          the member's concluded configuration.
     * @param transport       to other members; its local address is this member's address.
     * @param wal             this member's WAL.
     * @param checkpoints     where checkpoints go, or null for none; recovery starts from the newest committed one.
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
        final CheckpointStore checkpoints,
        final RandomSource random,
        final Function<CacheDescriptor, BytesMergeOperator> mergeOperators,
        final Function<TransactionContext, Transactions> transactions,
        final EngineListener listener,
        final long retryIntervalNs,
        final long nowNs)
    {
        this.checkpointer = new Checkpointer(this, checkpoints);
        this.config = config.conclude();
        this.transport = transport;
        this.wal = wal;
        this.random = random;
        this.mergeOperators = mergeOperators;
        this.listener = listener;
        this.retryIntervalNs = retryIntervalNs;
        this.tx = transactions.apply(new EngineTxContext(this));
        this.membership = new Membership(this,
            this.config.failureDetectionTimeoutNs() - this.config.heartbeatIntervalNs());
        this.localAddress = transport.localAddress();
        this.joining = new Joining(this, this.config, localAddress);
        this.walRecords = new WalRecords(wal, historyIndex, origins.originWatermarks::get);
        this.planner = new ExchangePlanner(this.config.memberId(), random, listener);
        this.nowNs = nowNs;
        recovery.recover();
        checkpointer.nextCheckpointNs = nowNs + config.checkpointIntervalNs();
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
        return state;
    }

    /**
     * @return why the member failed to join, or null.
     */
    @Override
    public GridException failure()
    {
        return failure;
    }

    /**
     * @return this incarnation.
     */
    @Override
    public long incarnation()
    {
        return incarnation;
    }

    /**
     * @return this member's address.
     */
    @Override
    public String localAddress()
    {
        return localAddress;
    }

    /**
     * @return the member's configuration.
     */
    @Override
    public MemberConfiguration configuration()
    {
        return config;
    }

    /**
     * @return the current topology, or null while joining.
     */
    @Override
    public Topology topology()
    {
        return topology;
    }

    /**
     * @return the installed partition map, or null before the first exchange finished.
     */
    @Override
    public PartitionTable installedMap()
    {
        return installedMap;
    }

    /**
     * @return true if a consistency check holds this member's primary copy of the partition still.
     */
    boolean isPaused(final int cacheId, final int partition)
    {
        final LocalPartition lp = localCopy(cacheId, partition);
        return lp != null && lp.pausedBy != 0;
    }

    /**
     * @param name of a cache.
     * @return its descriptor in the current topology, or null.
     */
    @Override
    public CacheDescriptor cache(final String name)
    {
        return topology == null ? null : topology.cache(name);
    }

    /**
     * @return the caches of the current topology.
     */
    @Override
    public List<CacheDescriptor> caches()
    {
        return topology == null ? List.of() : topology.caches();
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
        final CacheDescriptor cache = topology == null ? null : topology.cache(cacheId);
        if (cache == null)
        {
            return null;
        }
        final LocalPartition lp = localCopy(cacheId, KeyPartitioner.partition(key, cache.partitions()));
        return lp == null ? null : lp.store.get(key);
    }

    /**
     * @return why a key with a value (or an expected one) is too long to store, or null if neither is.
     */
    GridException tooLarge(final byte[] key, final byte[] value, final byte[] expected)
    {
        final long keyBytes = key == null ? 0 : key.length;
        final long longest = keyBytes + Math.max(value == null ? 0 : value.length, expected == null ? 0 :
            expected.length);
        return longest <= config.maxEntryBytes() ? null : tooLarge("a key and value of " + longest + " bytes");
    }

    GridException tooLarge(final String what)
    {
        return new GridException(ErrorCode.VALUE_TOO_LARGE, what + " exceed the member's limit of " +
            config.maxEntryBytes() + " bytes (entry.max.bytes); nothing was stored");
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
        if (self != null)
        {
            // The record was made when the constructor started joining; nobody has seen it yet.
            final Map<String, String> attributes = new TreeMap<>(self.attributes());
            attributes.put(name, value);
            self = new MemberRecord(self.memberId(), self.incarnation(), self.address(), attributes);
        }
    }

    /**
     * @return whether the installed map serves data: false while a cluster restarted from data directories waits for
     *         the last members of its newest ownership table (see {@link #activate}), or before any map. Engine
     *         thread only.
     */
    @Override
    public boolean isActive()
    {
        return installedMap != null && installedMap.isActive();
    }

    /**
     * Stop: fail this member's in-flight operations with {@link ErrorCode#NODE_STOPPING}, refuse new ones, and
     * announce the departure so the cluster forms a new topology without waiting for failure detection.
     */
    @Override
    public void stop()
    {
        if (state == MemberState.STOPPED || state == MemberState.FAILED)
        {
            return;
        }
        if (state != MemberState.STOPPING)
        {
            // A stop that failed half way (STOPPING) is finished by the next one.
            changeState(MemberState.STOPPING, "stop requested");
        }
        failAllOwnOperations(new NodeStoppingException("member " + config.memberId() + " is stopping"));
        tx.abandon(new NodeStoppingException("member " + config.memberId() + " is stopping"), false);
        if (topology != null)
        {
            for (final MemberRecord member : topology.members())
            {
                if (member.incarnation() != incarnation)
                {
                    send(member, messages.finish(messages.encode(wire.leaveOut, incarnation,
                        member.incarnation())));
                }
            }
        }
        changeState(MemberState.STOPPED, "left the cluster");
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
        if (state == MemberState.STOPPED || state == MemberState.FAILED)
        {
            return;
        }
        failure = error;
        changeState(MemberState.FAILED, error.detail());
        failAllOwnOperations(error);
        tx.abandon(error, true);
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
        this.nowNs = nowNs;
        if (state == MemberState.STOPPED || state == MemberState.FAILED)
        {
            return 0;
        }
        if (state == MemberState.EXPELLED)
        {
            // Nothing is served or answered any more: the WAL is made durable and a checkpoint under way finishes,
            // so that the engine that replaces this one recovers everything this one appended.
            if (wal.durablePosition() < wal.appendedPosition())
            {
                wal.requestDurability();
            }
            return checkpointer.checkpointDuty();
        }
        int work = transport.poll(this::onMessage, 256);
        work += drainSelfInbox();
        if (wal.durablePosition() < wal.appendedPosition())
        {
            // Group commit: one request per duty cycle covers everything appended since the last one.
            wal.requestDurability();
        }
        work += durability.processDurability();
        // Here every record at or below the WAL's durable position is reflected in its copy's counter: the one
        // moment an image may take that position as where its replay starts.
        work += checkpointer.checkpointDuty();
        if (state == MemberState.JOINING)
        {
            work += joining.joinDuty();
        }
        else if (state == MemberState.ACTIVE)
        {
            work += activeDuty();
        }
        return work;
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
        while (inc == 0 || inc == incarnation);
        incarnation = inc;
        final Map<String, String> attributes = new TreeMap<>(config.attributes());
        attributes.putAll(advertised);
        self = new MemberRecord(config.memberId(), incarnation, localAddress, attributes);
        joining.joinStartedNs = nowNs;
        joining.joinDeadlineNs = nowNs + config.joinTimeoutNs();
        joining.nextJoinSendNs = nowNs;
        joining.heardActiveClusterNs = Long.MIN_VALUE;
        joining.joiningSeedsHeardNs.clear();
        joining.joinVia = null;
        joining.joinViaHeardNs = Long.MIN_VALUE;
        replication.deferredAnswers.clear();
        replication.deferredOps.clear();
        joining.joiningMembersHeardNs.clear();
        membership.echoedNs.clear();
        membership.peerHeartbeatNs.clear();
        membership.coordinatorVotes.clear();
        membership.addedNs.clear();
        membership.quorumCheckedNs = Long.MIN_VALUE;
        membership.quorumMissingSinceNs = Long.MIN_VALUE;
        topology = null;
        installedMap = null;
        mapExchange.pendingMap = null;
        mapExchange.reportChunks = null;
        mapExchange.reportAckedVersion = 0;
        mapExchange.exchange = null;
        cacheAdmin.pendingAdmins.clear();
        if (!keepCopies)
        {
            // Images of this life's copies are worthless now; the next checkpoint starts afresh, and history
            // boundaries of the old copies no longer describe anything.
            checkpointer.abandon();
        }
        if (!keepCopies && !copies.isEmpty())
        {
            copies.clear();
            walCaches.clear();
            walRecords.appendAllDropped();
        }
        inFlightUpdates = 0;
        durability.durabilityQueue.clear();
        parkedMessages.clear();
        membership.lastHeardNs.clear();
        if (state != MemberState.JOINING)
        {
            changeState(MemberState.JOINING, why);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Membership while active.
    // ------------------------------------------------------------------------------------------------------------

    private int activeDuty()
    {
        int work = 0;
        if (nowNs >= membership.nextHeartbeatNs)
        {
            membership.nextHeartbeatNs = nowNs + config.heartbeatIntervalNs();
            for (final MemberRecord member : topology.members())
            {
                if (member.incarnation() != incarnation)
                {
                    membership.sendHeartbeat(member);
                }
            }
            membership.noteQuorum();
            membership.detectFailures();
            membership.probeForOtherClusters();
            work++;
        }
        if (state != MemberState.ACTIVE)
        {
            return work;
        }
        if (membership.isCoordinator())
        {
            work += membership.baselineAutoAdjust();
        }
        work += mapExchange.exchangeDuty();
        work += rebalancer.duty();
        if (!checker.isIdle())
        {
            work += checker.duty();
        }
        if (nowNs >= nextSweepNs)
        {
            nextSweepNs = nowNs + Math.max(1, retryIntervalNs / 4);
            origins.pruneClients();
            work += sweep();
            work += tx.duty();
            work += tombstones.purgeTombstones();
        }
        return work;
    }

    void rejoin(final String why)
    {
        listener.onEvent("member " + config.memberId() + " was removed from the cluster: " + why +
            "; dropping its state and joining again");
        final GridException rejoining = new GridException(ErrorCode.MEMBER_REJOINING, "member " +
            config.memberId() + " was removed from the cluster (" + why + ") and is joining again");
        failAllOwnOperations(rejoining);
        tx.abandon(rejoining, true);
        if (wal.retainsRecords())
        {
            // Its durable copies are kept: the host starts a new engine on this WAL, which recovers them and rejoins
            // as a restarted member does, so counters decide between historical and full catch-up.
            changeState(MemberState.EXPELLED, why);
            return;
        }
        startJoining(why, false);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Partition map exchange.
    // ------------------------------------------------------------------------------------------------------------

    boolean isExchanging()
    {
        return installedMap == null || installedMap.version() != topology.version();
    }

    byte[] copyOut()
    {
        return copyOut(writer);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Rebalance: what the Rebalancer asks of the engine.
    // ------------------------------------------------------------------------------------------------------------

    int preferredMessageLength()
    {
        return transport.preferredMessageLength();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Operations: near side.
    // ------------------------------------------------------------------------------------------------------------

    private int sweep()
    {
        int work = 0;
        work += near.sweep();
        work += cacheAdmin.sweep();
        if (!parkedMessages.isEmpty())
        {
            parkedMessages.removeIf(m -> m.deadlineNs <= nowNs);
        }
        work += replication.retransmitUpdates();
        return work;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Operations: primary side.
    // ------------------------------------------------------------------------------------------------------------

    /**
     * Send the message in {@link #writer} to a member; to this member itself it goes through the self inbox, handled
     * in the next duty cycle (never re-entering the handler that sends it).
     */
    void sendTx(final long destination)
    {
        if (destination == incarnation)
        {
            selfInbox.add(copyOut());
            return;
        }
        final MemberRecord member = topology.member(destination);
        if (member != null)
        {
            send(member, writer);
        }
    }

    private int drainSelfInbox()
    {
        int work = 0;
        byte[] message;
        while ((message = selfInbox.poll()) != null && work < 4096)
        {
            onMessage(-1, new UnsafeBuffer(message), 0, message.length);
            work++;
        }
        return work;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Checkpoints.
    // ------------------------------------------------------------------------------------------------------------

    /**
     * @return the deadline {@code timeoutNs} after {@code nowNs}, saturating: a huge timeout (Long.MAX_VALUE for "no
     *         limit") must not wrap around into the past and fail the operation at once.
     */
    static long deadlineNs(final long nowNs, final long timeoutNs)
    {
        return TransactionContext.deadlineNs(nowNs, timeoutNs);
    }

    static long packCopy(final int cacheId, final int partition)
    {
        return PartitionCopy.pack(cacheId, partition);
    }

    static byte[] copyOut(final MessageWriter source)
    {
        final byte[] bytes = new byte[source.length()];
        source.buffer().getBytes(0, bytes);
        return bytes;
    }

    // ------------------------------------------------------------------------------------------------------------
    // WAL history.
    // ------------------------------------------------------------------------------------------------------------

    // ------------------------------------------------------------------------------------------------------------
    // Recovery.
    // ------------------------------------------------------------------------------------------------------------

    // ------------------------------------------------------------------------------------------------------------
    // Operations: backup side.
    // ------------------------------------------------------------------------------------------------------------

    // ------------------------------------------------------------------------------------------------------------
    // Answers.
    // ------------------------------------------------------------------------------------------------------------

    // ------------------------------------------------------------------------------------------------------------
    // Messages.
    // ------------------------------------------------------------------------------------------------------------

    void send(final MemberRecord member, final MessageWriter message)
    {
        transport.send(transport.endpointOf(member.address()), message.buffer(), 0, message.length());
    }

    private void onMessage(final int source, final DirectBuffer buffer, final int offset, final int length)
    {
        try
        {
            messages.open(buffer, offset, length);
            final int type = messages.type();
            final long sender = messages.sender();
            final long destination = messages.destination();
            if (destination != 0 && destination != incarnation)
            {
                return;
            }
            switch (type)
            {
                case MessageTypes.JOIN_REQUEST -> joining.onJoinRequest();
                case MessageTypes.JOIN_PENDING -> joining.onJoinPending();
                case MessageTypes.JOIN_REJECTED -> joining.onJoinRejected(destination);
                case MessageTypes.TOPOLOGY -> membership.onTopology(sender);
                default -> onMemberMessage(type, sender, source, buffer, offset, length);
            }
        }
        catch (final MalformedMessageException ex)
        {
            listener.onMalformedMessage(source, ex.getMessage());
        }
    }

    private void onMemberMessage(final int type, final long sender, final int source, final DirectBuffer buffer,
        final int offset, final int length)
    {
        if (state != MemberState.ACTIVE)
        {
            return;
        }
        if (topology.indexOf(sender) < 0)
        {
            if (type == MessageTypes.HEARTBEAT)
            {
                // A member of another cluster probing for merges (see probeForOtherClusters()) gets the same answer.
                // Every member says so, not only the coordinator: a member the majority removed while it was paused or
                // cut off may list only non-coordinators (it took itself for coordinator of its stale topology), and
                // would otherwise never learn that it must rejoin. The version keeps a lagging member's answer from
                // sending a newer joiner away.
                messages.finish(messages.encode(wire.notMemberOut, incarnation, sender).version(topology.version())
                    .lifeId(membership.clusterLifeId()).members(topology.members().size())
                    .coordinator(topology.coordinator().incarnation()));
                transport.send(source, writer.buffer(), 0, writer.length());
            }
            else if (type == MessageTypes.NOT_MEMBER)
            {
                membership.onNotMember(sender);
            }
            return;
        }
        membership.lastHeardNs.put(sender, nowNs);
        dispatchBody(type, sender, source, buffer, offset, length);
    }

    void dispatchBody(final int type, final long sender, final int source, final DirectBuffer buffer,
        final int offset, final int length)
    {
        switch (type)
        {
            case MessageTypes.HEARTBEAT -> membership.onHeartbeat(sender);
            case MessageTypes.NOT_MEMBER -> membership.onNotMember(sender);
            case MessageTypes.LEAVE -> membership.onLeave(sender);
            case MessageTypes.EXCHANGE_REPORT -> mapExchange.onExchangeReport(sender);
            case MessageTypes.REPORT_ACK -> mapExchange.onReportAck();
            case MessageTypes.PARTITION_MAP -> mapExchange.onPartitionMap();
            case MessageTypes.MAP_INSTALLED -> mapExchange.onMapInstalled(sender,
                messages.decode(wire.mapInstalledIn).version());
            case MessageTypes.REQUEST -> replication.onRequest(sender, source, buffer, offset, length);
            case MessageTypes.RESPONSE -> near.onResponse(sender);
            case MessageTypes.REPLICATE -> replication.onReplicate(sender, source, buffer, offset, length);
            case MessageTypes.REPLICATE_ACK -> replication.onReplicateAck(sender);
            case MessageTypes.SIZE_REQUEST -> replication.onSizeRequest(sender);
            case MessageTypes.CACHE_ADMIN -> cacheAdmin.onCacheAdmin(sender);
            case MessageTypes.REBALANCE_DEMAND -> rebalancer.onDemand(sender);
            case MessageTypes.REBALANCE_SUPPLY -> rebalancer.onSupply(sender);
            case MessageTypes.REBALANCE_DONE -> mapExchange.onRebalanceDone(sender);
            case MessageTypes.VERIFY_REQUEST -> checker.onRequest(sender);
            case MessageTypes.VERIFY_COPY -> checker.onCopyRequest(sender);
            case MessageTypes.VERIFY_COPY_ANSWER -> checker.onCopyAnswer(sender);
            case MessageTypes.VERIFY_ANSWER -> checker.onAnswer(sender);
            case MessageTypes.CACHE_ADMIN_RESPONSE -> cacheAdmin.onAdminAnswer();
            default ->
            {
                if (!tx.onMessage(type, sender))
                {
                    throw new MalformedMessageException("unknown message type " + type);
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Helpers.
    // ------------------------------------------------------------------------------------------------------------

    List<LocalPartition[]> allCopies()
    {
        return new ArrayList<>(copies.values());
    }

    LocalPartition localCopy(final int cacheId, final int partition)
    {
        final LocalPartition[] local = copies.get(cacheId);
        return local == null || partition < 0 || partition >= local.length ? null : local[partition];
    }

    GridException notActive()
    {
        return switch (state)
        {
            case STOPPING, STOPPED -> new NodeStoppingException("member " + config.memberId() + " is stopping");
            case FAILED -> new NodeStoppingException("member " + config.memberId() + " failed to join: " +
                (failure == null ? "" : failure.detail()));
            default -> new GridException(ErrorCode.MEMBER_REJOINING, "member " + config.memberId() +
                " is not in the cluster yet (joining)");
        };
    }

    private void failAllOwnOperations(final GridException error)
    {
        near.failAll(error);
        cacheAdmin.failAll(error);
    }

    /**
     * @return a new sequence of this member's own operations (near operations, cache administration, transactions):
     *         with the incarnation, the identity a retry is recognised by.
     */
    long newSequence()
    {
        return nextSequence++;
    }

    /**
     * @return the sequence {@link #newSequence()} will return next.
     */
    long nextSequence()
    {
        return nextSequence;
    }

    void changeState(final MemberState to, final String why)
    {
        final MemberState from = state;
        state = state.moveTo(to);
        membership.quorumCheckedNs = Long.MIN_VALUE;
        listener.onStateChange(from, to, why);
    }

    // ------------------------------------------------------------------------------------------------------------
    // State records.
    // ------------------------------------------------------------------------------------------------------------

    record ParkedMessage(int type, long sender, int source, byte[] bytes, long deadlineNs)
    {
    }

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
        near.submit(cacheId, type, key, value, expected, timeoutNs, clientId, clientSequence,
            clientWatermark, callback);
    }

}
