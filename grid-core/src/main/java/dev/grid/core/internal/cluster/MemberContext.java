package dev.grid.core.internal.cluster;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.NodeStoppingException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.BytesEntryProcessor;
import dev.grid.core.engine.BytesMergeOperator;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.Topology;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.Transactions;
import dev.grid.core.spi.CheckpointStore;
import dev.grid.core.spi.RandomSource;
import dev.grid.core.spi.Transport;
import dev.grid.core.spi.Wal;
import dev.grid.core.spi.WallClock;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * What the components of one member's engine share, and the only way they reach each other: time (as the engine's
 * duty cycle passed it in), identity and configuration, sending, the topology and the installed map, the local copies,
 * the WAL with what it knows and durability, events; and the components themselves, for the calls one makes of
 * another. A component holds this context, never the engine, and no component reads or writes another's fields
 * (ArchitectureTest checks both). The context owns the shared state: the topology, the installed map, the state and
 * the WAL's baseline change through one named method each ({@link #installTopology}, {@link #installMap},
 * {@link #changeState}, {@link #walBaseline(Baseline)}), called by the component that owns that decision; the local
 * copies, the caches the WAL knows and parked messages are collections the components change in place.
 * <p>
 * <b>Threading:</b> the engine's thread only, like everything it holds.
 */
final class MemberContext
{
    static final long[] NO_PREPARES = new long[0];

    /** What the context asks of the engine that composes it: the two steps that reset or route the whole member. */
    interface Host
    {
        /**
         * Drop this member's state and join again (or stop for a restart on a durable WAL).
         *
         * @param why for the log.
         */
        void rejoin(String why);

        /**
         * This member's cluster dissolves into another: join it again, an in-memory member keeping its copies as a
         * restarted persistent member brings its recovered ones (a persistent member stops for that restart).
         *
         * @param why for the log.
         */
        void dissolve(String why);

        /**
         * Route a member message to the component that owns its type, as if it had just arrived.
         *
         * @param type   of the message.
         * @param sender its sender's incarnation.
         * @param source the transport endpoint it came from.
         * @param buffer holding it.
         * @param offset of it.
         * @param length of it.
         */
        void dispatch(int type, long sender, int source, DirectBuffer buffer, int offset, int length);
    }

    /** A message that arrived for a map version this member has not installed yet, replayed once it has. */
    record ParkedMessage(int type, long sender, int source, byte[] bytes, long deadlineNs)
    {
    }

    private final MemberConfiguration config;
    private final Transport transport;
    private final Wal wal;
    private final Function<CacheDescriptor, BytesMergeOperator> mergeOperators;
    private final BiFunction<CacheDescriptor, String, BytesEntryProcessor> entryProcessors;
    private final WallClock wallClock;
    private final EngineListener listener;
    private final long retryIntervalNs;
    private final String localAddress;
    private final Host host;
    private final MessageWriter writer = new MessageWriter();
    private final MemberMessages messages = new MemberMessages(writer);
    private final EngineFlyweights wire = new EngineFlyweights();

    private MemberState state = MemberState.JOINING;
    private GridException failure;
    /** The engine's time: the host's clock reading less {@link #clockOriginNs}, so 1 at the engine's start. */
    private long nowNs;

    /**
     * One less than the host's first clock reading. The engine counts time from its own start: a monotonic clock's
     * origin is arbitrary ({@code System.nanoTime} may read negative by its contract), and timers here take 0 for "due
     * at once" (with readings below 0 a restarted member's exchange never completed, the simulator found). The
     * simulator's members have always started near 0, so this is the time every protocol was tested with.
     */
    private final long clockOriginNs;
    private long incarnation;
    private MemberRecord self;
    private Topology topology;
    private PartitionTable installedMap;
    private final Int2ObjectHashMap<LocalPartition[]> copies = new Int2ObjectHashMap<>();
    /** The caches the WAL knows, by id: recovered at start, then kept in step with installed maps. */
    private final Int2ObjectHashMap<CacheDescriptor> walCaches = new Int2ObjectHashMap<>();
    /** Where in the WAL each copy's recent counters lie, so that a history read scans only that tail. */
    private final HistoryIndex historyIndex = new HistoryIndex();
    /** Durable: the last owners of every partition, as of the last map installed while the cluster was active. */
    private final OwnershipTable ownership = new OwnershipTable();
    /** The baseline the WAL knows: recovered at start, then kept in step with installed maps. */
    private Baseline walBaseline = Baseline.NONE;
    private int inFlightUpdates;
    private final List<ParkedMessage> parkedMessages = new ArrayList<>();
    /** The transaction message being handled (null when none is): where {@link #parkTxMessage()} copies it from. */
    private DirectBuffer txBuffer;
    private int txType;
    private long txSender;
    private int txSource;
    private int txOffset;
    private int txLength;
    /** Messages this member sent itself (a transaction whose coordinator is also a primary), handled in doWork. */
    private final ArrayDeque<byte[]> selfInbox = new ArrayDeque<>();
    private long nextSequence = 1;

    private final Transactions tx;
    private final Rebalancer rebalancer;
    private final ConsistencyChecker checker;
    private final ExchangePlanner planner;
    private final WalRecords walRecords;
    private final Recovery recovery;
    private final Checkpointer checkpointer;
    private final Joining joining;
    private final Membership membership;
    private final Exchange exchange;
    private final NearOps near;
    private final CacheAdmin cacheAdmin;
    private final Replication replication;
    private final KeyOperations keyOperations;
    private final Expirations expirations;
    private final Evictions evictions;
    private final HeldJournalReads heldReads;
    private final RandomSource random;
    private final RebalancedCopies rebalanced;
    private final Origins origins;
    private final Durability durability;
    private final Tombstones tombstones;

    /**
     * Make the shared state and the components over it (none runs yet).
     *
     * @param config          the member's concluded configuration.
     * @param transport       to other members.
     * @param wal             this member's WAL.
     * @param checkpoints     where checkpoints go, or null for none.
     * @param random          seeded randomness.
     * @param mergeOperators  resolves a cache's merge operator.
     * @param entryProcessors resolves an entry processor by cache and name.
     * @param wallClock       turns the engine's time into epoch milliseconds.
     * @param transactions    makes the transaction component from its context.
     * @param listener        receives metrics and events.
     * @param retryIntervalNs between resends of unanswered requests, reports and maps.
     * @param nowNs           the current time.
     * @param host            the engine composing this context.
     */
    MemberContext(
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
        final long nowNs,
        final Host host)
    {
        this.config = config;
        this.transport = transport;
        this.wal = wal;
        this.mergeOperators = mergeOperators;
        this.entryProcessors = entryProcessors;
        this.wallClock = wallClock;
        this.listener = listener;
        this.retryIntervalNs = retryIntervalNs;
        this.localAddress = transport.localAddress();
        this.host = host;
        this.clockOriginNs = nowNs - 1;
        this.nowNs = 1;
        this.checkpointer = new Checkpointer(this, checkpoints);
        this.rebalancer = new Rebalancer(this);
        this.checker = new ConsistencyChecker(this);
        this.recovery = new Recovery(this);
        this.exchange = new Exchange(this);
        this.near = new NearOps(this);
        this.cacheAdmin = new CacheAdmin(this);
        this.replication = new Replication(this);
        this.keyOperations = new KeyOperations(this);
        this.expirations = new Expirations(this);
        this.evictions = new Evictions(this);
        this.heldReads = new HeldJournalReads(this);
        this.random = random;
        this.rebalanced = new RebalancedCopies(this);
        this.origins = new Origins(this);
        this.durability = new Durability(this);
        this.tombstones = new Tombstones(this);
        this.tx = transactions.apply(new EngineTxContext(this));
        this.membership = new Membership(this, config.failureDetectionTimeoutNs() - config.heartbeatIntervalNs());
        this.joining = new Joining(this, config, localAddress);
        if (!wal.retainsRecords())
        {
            historyIndex.noteNothing();
        }
        this.walRecords = new WalRecords(wal, historyIndex, origins.originWatermarks()::get);
        this.planner = new ExchangePlanner(config.memberId(), random, listener);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Time, identity, configuration and events.
    // ------------------------------------------------------------------------------------------------------------

    /** @return the engine's time at the current duty cycle, from 1 at its start (see {@link #clockOriginNs}). */
    long nowNs()
    {
        return nowNs;
    }

    /** @return the wall clock at the current duty cycle's time, epoch milliseconds (entries' expiry times). */
    long epochMs()
    {
        return wallClock.epochMs(nowNs + clockOriginNs);
    }

    /** @param nowNs the host's clock reading at a new duty cycle. */
    void advanceTo(final long nowNs)
    {
        this.nowNs = nowNs - clockOriginNs;
    }

    /** @return the member's concluded configuration. */
    MemberConfiguration config()
    {
        return config;
    }

    /** @return this incarnation (0 before the first join started). */
    long incarnation()
    {
        return incarnation;
    }

    /** @return this incarnation's record, as the topology lists it. */
    MemberRecord self()
    {
        return self;
    }

    /**
     * Start a new life (joining) or change what this life's record says before anyone saw it.
     *
     * @param record this incarnation's record.
     */
    void becomeIncarnation(final MemberRecord record)
    {
        this.incarnation = record.incarnation();
        this.self = record;
    }

    /** @return this member's transport address. */
    String localAddress()
    {
        return localAddress;
    }

    /** @return the member's state. */
    MemberState state()
    {
        return state;
    }

    /** @return why the member failed, or null. */
    GridException failure()
    {
        return failure;
    }

    /**
     * Move the member's state along its transition table (an illegal move throws) and tell the listener.
     *
     * @param to  the next state.
     * @param why for the log.
     */
    void changeState(final MemberState to, final String why)
    {
        final MemberState from = state;
        state = state.moveTo(to);
        membership.quorumStateChanged();
        listener.onStateChange(from, to, why);
    }

    /**
     * The member cannot go on: remember why and move to {@link MemberState#FAILED}.
     *
     * @param error what stopped it; also the detail logged.
     */
    void failWith(final GridException error)
    {
        failure = error;
        changeState(MemberState.FAILED, error.detail());
    }

    /** @return receives metrics and events. */
    EngineListener listener()
    {
        return listener;
    }

    /** @return between resends of unanswered requests, reports and maps. */
    long retryIntervalNs()
    {
        return retryIntervalNs;
    }

    /** @return a cache's merge operator, or null if the member knows none of that name. */
    BytesMergeOperator mergeOperator(final CacheDescriptor cache)
    {
        return mergeOperators.apply(cache);
    }

    /** @return the entry processor registered on this member under {@code name} for a cache, or null. */
    BytesEntryProcessor entryProcessor(final CacheDescriptor cache, final String name)
    {
        return entryProcessors.apply(cache, name);
    }

    /**
     * @return a new sequence of this member's own operations (near operations, cache administration, transactions):
     *         with the incarnation, the identity a retry is recognised by.
     */
    long newSequence()
    {
        return nextSequence++;
    }

    /** @return the sequence {@link #newSequence()} will return next. */
    long nextSequence()
    {
        return nextSequence;
    }

    /** @return the error an operation meets while this member is not active. */
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

    /** @return why a key with a value (or an expected one) is too long to store, or null if neither is. */
    GridException tooLarge(final byte[] key, final byte[] value, final byte[] expected)
    {
        final long keyBytes = key == null ? 0 : key.length;
        final long longest = keyBytes + Math.max(value == null ? 0 : value.length, expected == null ? 0 :
            expected.length);
        return longest <= config.maxEntryBytes() ? null : tooLarge("a key and value of " + longest + " bytes");
    }

    /** @return the error for {@code what} exceeding the member's entry limit. */
    GridException tooLarge(final String what)
    {
        return new GridException(ErrorCode.VALUE_TOO_LARGE, what + " exceed the member's limit of " +
            config.maxEntryBytes() + " bytes (entry.max.bytes); nothing was stored");
    }

    /**
     * Drop this member's state and join again (see the engine's rejoin).
     *
     * @param why for the log.
     */
    void rejoin(final String why)
    {
        host.rejoin(why);
    }

    /**
     * This member's cluster dissolves into another (see the engine's dissolve).
     *
     * @param why for the log.
     */
    void dissolve(final String why)
    {
        host.dissolve(why);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Messages.
    // ------------------------------------------------------------------------------------------------------------

    /** @return the member messages' codec over {@link #writer()}. */
    MemberMessages messages()
    {
        return messages;
    }

    /** @return the flyweights the components share. */
    EngineFlyweights wire()
    {
        return wire;
    }

    /** @return the one writer every outgoing member message is encoded in. */
    MessageWriter writer()
    {
        return writer;
    }

    /** @return to other members, for what goes by address (joiners, probes) rather than to a listed member. */
    Transport transport()
    {
        return transport;
    }

    /** @return the length a message should stay within to travel in one piece. */
    int preferredMessageLength()
    {
        return transport.preferredMessageLength();
    }

    /**
     * Send a message to a member. Most callers ignore the result: the protocol's retries cover a message lost in any
     * way, back pressure included.
     *
     * @param member  its record.
     * @param message the encoded message.
     * @return the transport's answer: {@link Transport#OK}, {@link Transport#BACK_PRESSURED} (not sent: the link is
     * full now, a later duty cycle may succeed) or {@link Transport#NOT_CONNECTED}.
     */
    int send(final MemberRecord member, final MessageWriter message)
    {
        return transport.send(transport.endpointOf(member.address()), message.buffer(), 0, message.length());
    }

    /**
     * @param destination a member's incarnation.
     * @param length      of a message to it.
     * @return whether the transport would take the message now (see {@link Transport#hasRoom}); true for this member
     *         and for one not in the topology.
     */
    boolean hasRoom(final long destination, final int length)
    {
        final MemberRecord member = destination == incarnation ? null : topology.member(destination);
        return member == null || transport.hasRoom(transport.endpointOf(member.address()), length);
    }

    /**
     * Send the message in {@link #writer()} to a member of the topology; to this member itself it goes through the self
     * inbox, handled in the next duty cycle (never re-entering the handler that sends it).
     *
     * @param destination the member's incarnation.
     * @return as {@link #send}; {@link Transport#OK} to this member, {@link Transport#NOT_CONNECTED} to one not in
     * the topology.
     */
    int sendTo(final long destination)
    {
        if (destination == incarnation)
        {
            selfInbox.add(copyOut());
            return Transport.OK;
        }
        final MemberRecord member = topology.member(destination);
        return member == null ? Transport.NOT_CONNECTED : send(member, writer);
    }

    /** @return the next message this member sent itself, or null. */
    byte[] pollSelfInbox()
    {
        return selfInbox.poll();
    }

    /** @return a copy of the message in {@link #writer()}. */
    byte[] copyOut()
    {
        return copyOut(writer);
    }

    static byte[] copyOut(final MessageWriter source)
    {
        final byte[] bytes = new byte[source.length()];
        source.buffer().getBytes(0, bytes);
        return bytes;
    }

    /** @return messages parked until their map version is installed. */
    List<ParkedMessage> parkedMessages()
    {
        return parkedMessages;
    }

    /**
     * Route a member message as if it had just arrived (a parked one, replayed).
     *
     * @param type   of the message.
     * @param sender its sender's incarnation.
     * @param source the transport endpoint it came from.
     * @param buffer holding it.
     * @param offset of it.
     * @param length of it.
     */
    void dispatchBody(final int type, final long sender, final int source, final DirectBuffer buffer, final int offset,
        final int length)
    {
        host.dispatch(type, sender, source, buffer, offset, length);
    }

    // ------------------------------------------------------------------------------------------------------------
    // The cluster: topology and installed map.
    // ------------------------------------------------------------------------------------------------------------

    /** @return the current topology, or null while joining. */
    Topology topology()
    {
        return topology;
    }

    /**
     * Adopt a topology (membership decides which).
     *
     * @param next the topology, or null when leaving for a new join.
     */
    void installTopology(final Topology next)
    {
        topology = next;
    }

    /** @return the installed partition map, or null before the first exchange finished. */
    PartitionTable installedMap()
    {
        return installedMap;
    }

    /**
     * Install a partition map (the exchange decides which).
     *
     * @param map the map, or null when leaving for a new join.
     */
    void installMap(final PartitionTable map)
    {
        installedMap = map;
    }

    /** @return true while the installed map is not the current topology's. */
    boolean isExchanging()
    {
        return installedMap == null || installedMap.version() != topology.version();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Local copies and updates in flight.
    // ------------------------------------------------------------------------------------------------------------

    /** @return this member's copies, by cache id, indexed by partition (null where none is held). */
    Int2ObjectHashMap<LocalPartition[]> copies()
    {
        return copies;
    }

    /** @return a snapshot of {@link #copies()}' values, safe to iterate while copies are added or dropped. */
    List<LocalPartition[]> allCopies()
    {
        return new ArrayList<>(copies.values());
    }

    /** @return this member's copy of a partition, or null. */
    LocalPartition localCopy(final int cacheId, final int partition)
    {
        final LocalPartition[] local = copies.get(cacheId);
        return local == null || partition < 0 || partition >= local.length ? null : local[partition];
    }

    /** @return true if a consistency check holds this member's primary copy of the partition still. */
    boolean isPaused(final int cacheId, final int partition)
    {
        final LocalPartition lp = localCopy(cacheId, partition);
        return lp != null && lp.pausedBy != 0;
    }

    /** An update (single-key or transactional) started on a primary; reports wait until none is in flight. */
    void updateStarted()
    {
        inFlightUpdates++;
    }

    /** An update of {@link #updateStarted()} finished (acknowledged or failed). */
    void updateFinished()
    {
        inFlightUpdates--;
    }

    /** @return updates started and not finished. */
    int inFlightUpdates()
    {
        return inFlightUpdates;
    }

    /**
     * Note the transaction message about to be handled, so that the transaction component may park it; {@code null}
     * buffer once it was.
     */
    void handlingTxMessage(final int type, final long sender, final int source, final DirectBuffer buffer,
        final int offset, final int length)
    {
        txType = type;
        txSender = sender;
        txSource = source;
        txBuffer = buffer;
        txOffset = offset;
        txLength = length;
    }

    /**
     * Park the transaction message being handled until the next map is installed (dropped there if its sender left,
     * and after the join timeout if no map comes). A primary resends its backup messages every retry interval until
     * acknowledged: a copy of one already parked is not kept again.
     */
    void parkTxMessage()
    {
        if (txBuffer == null)
        {
            throw new IllegalStateException("no transaction message is being handled");
        }
        final byte[] bytes = new byte[txLength];
        txBuffer.getBytes(txOffset, bytes);
        for (final ParkedMessage parked : parkedMessages)
        {
            if (parked.type() == txType && parked.sender() == txSender && Arrays.equals(parked.bytes(), bytes))
            {
                return;
            }
        }
        parkedMessages.add(new ParkedMessage(txType, txSender, txSource, bytes,
            TransactionContext.deadlineNs(nowNs(), config.joinTimeoutNs())));
    }

    /** Forget updates in flight and parked messages: the member leaves its topology to join again. */
    void forgetInFlight()
    {
        inFlightUpdates = 0;
        parkedMessages.clear();
    }

    // ------------------------------------------------------------------------------------------------------------
    // The WAL, what it knows, and durability.
    // ------------------------------------------------------------------------------------------------------------

    /** @return this member's WAL. */
    Wal wal()
    {
        return wal;
    }

    /** @return the typed appends of WAL records. */
    WalRecords walRecords()
    {
        return walRecords;
    }

    /** @return where in the WAL each copy's recent counters lie. */
    HistoryIndex historyIndex()
    {
        return historyIndex;
    }

    /** @return the caches the WAL knows, by id. */
    Int2ObjectHashMap<CacheDescriptor> walCaches()
    {
        return walCaches;
    }

    /** @return the baseline the WAL knows. */
    Baseline walBaseline()
    {
        return walBaseline;
    }

    /** @param baseline the baseline the WAL knows now (recovered, or of a map just installed). */
    void walBaseline(final Baseline baseline)
    {
        walBaseline = baseline;
    }

    /** @return the durable table of each partition's last owners. */
    OwnershipTable ownership()
    {
        return ownership;
    }

    /** @return acknowledgements waiting for the WAL's durability. */
    Durability durability()
    {
        return durability;
    }

    // ------------------------------------------------------------------------------------------------------------
    // The components, for the calls one makes of another.
    // ------------------------------------------------------------------------------------------------------------

    Transactions tx()
    {
        return tx;
    }

    Rebalancer rebalancer()
    {
        return rebalancer;
    }

    ConsistencyChecker checker()
    {
        return checker;
    }

    ExchangePlanner planner()
    {
        return planner;
    }

    Recovery recovery()
    {
        return recovery;
    }

    Checkpointer checkpointer()
    {
        return checkpointer;
    }

    Joining joining()
    {
        return joining;
    }

    Membership membership()
    {
        return membership;
    }

    Exchange exchange()
    {
        return exchange;
    }

    NearOps near()
    {
        return near;
    }

    CacheAdmin cacheAdmin()
    {
        return cacheAdmin;
    }

    Replication replication()
    {
        return replication;
    }

    KeyOperations keyOperations()
    {
        return keyOperations;
    }

    Expirations expirations()
    {
        return expirations;
    }

    Evictions evictions()
    {
        return evictions;
    }

    HeldJournalReads heldReads()
    {
        return heldReads;
    }

    /** @return the member's seeded randomness (eviction samples). */
    RandomSource random()
    {
        return random;
    }

    RebalancedCopies rebalanced()
    {
        return rebalanced;
    }

    Origins origins()
    {
        return origins;
    }

    Tombstones tombstones()
    {
        return tombstones;
    }
}
