package dev.grid.core.internal.cluster;

import dev.grid.core.BaselineTopology;
import dev.grid.core.CacheDestroyedException;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.JoinFailedException;
import dev.grid.core.KeptCopy;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.NodeStoppingException;
import dev.grid.core.OperationTimeoutException;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.QuorumReadPolicy;
import dev.grid.core.QuorumStatus;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.internal.affinity.AffinityAssignment;
import dev.grid.core.internal.affinity.AffinityMember;
import dev.grid.core.internal.affinity.RendezvousAffinity;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;
import dev.grid.core.internal.cluster.LocalPartition.Predecessors;
import dev.grid.core.internal.cluster.LocalPartition.PrimaryUpdate;
import dev.grid.core.internal.partition.CounterRange;
import dev.grid.core.internal.partition.PartitionUpdateCounter;
import dev.grid.core.spi.CheckpointStore;
import dev.grid.core.spi.RandomSource;
import dev.grid.core.spi.Transport;
import dev.grid.core.spi.Wal;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongArrayList;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One cluster member's protocol logic: membership (join through seeds, heartbeats, failure detection, the oldest
 * member coordinating), the partition map exchange on every topology change, and replication of single-key
 * operations from primaries to backups with update counters. It also runs this member's own requests ("near"
 * operations): routing each to its partition's primary, retrying on remap or silence, timing out; and, through
 * {@link TxManager}, transactions as coordinator and as participant.
 * <p>
 * <b>Threading:</b> single-threaded and non-blocking. The owner calls {@link #doWork(long)} in a duty cycle and calls
 * {@link #submit}, {@link #createCache}, {@link #destroyCache} and {@link #stop} from the same thread. Time, network,
 * WAL and randomness are injected, so the simulator runs the same code on virtual time.
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
public final class MemberEngine
{
    /** Version of the member-to-member protocol; a message of another version is dropped. */
    public static final int PROTOCOL_VERSION = 2;

    static final int JOIN_REQUEST = 1;
    static final int JOIN_PENDING = 2;
    static final int JOIN_REJECTED = 3;
    static final int TOPOLOGY = 4;
    static final int HEARTBEAT = 5;
    static final int NOT_MEMBER = 6;
    static final int LEAVE = 7;
    static final int EXCHANGE_REPORT = 10;
    static final int REPORT_ACK = 11;
    static final int PARTITION_MAP = 12;
    static final int MAP_INSTALLED = 13;
    static final int REQUEST = 20;
    static final int RESPONSE = 21;
    static final int REPLICATE = 22;
    static final int REPLICATE_ACK = 23;
    static final int SIZE_REQUEST = 24;
    static final int CACHE_ADMIN = 30;
    static final int CACHE_ADMIN_RESPONSE = 31;

    static final int HEADER_LENGTH = 1 + 1 + 8 + 8;

    static final int STATUS_OK = 0;
    static final int STATUS_REMAP = 1;
    static final int STATUS_ERROR = 2;

    static final int ADMIN_CREATE = 1;
    static final int ADMIN_DESTROY = 2;
    static final int ADMIN_RESET_LOST = 3;
    static final int ADMIN_BASELINE = 4;
    static final int ADMIN_ACTIVATE = 5;

    static final long[] NO_PREPARES = new long[0];
    /** The identity of records a historical rebalance wrote: no operation of this life, so no retry memory. */
    private static final OpKey REBALANCED_OP = new OpKey(0, 0);

    /** Default interval between resends of an unanswered request, report or map. */
    public static final long RETRY_INTERVAL_DEFAULT_NS = TimeUnit.MILLISECONDS.toNanos(500);
    /** How long a cache create or destroy may take before it fails with a timeout. */
    public static final long ADMIN_TIMEOUT_DEFAULT_NS = TimeUnit.SECONDS.toNanos(30);

    final MemberConfiguration config;
    final Transport transport;
    final Wal wal;
    final RandomSource random;
    private final Function<CacheDescriptor, BytesMergeOperator> mergeOperators;
    final EngineListener listener;
    final long retryIntervalNs;
    final String localAddress;
    final MessageWriter writer = new MessageWriter();
    final MessageReader reader = new MessageReader();

    MemberState state = MemberState.JOINING;
    GridException failure;
    long nowNs;
    long incarnation;
    MemberRecord self;

    // Membership.
    Topology topology;
    /** Updates complete but not answered until their topology's map is installed (see tryComplete()). */
    private final List<DeferredAnswer> deferredAnswers = new ArrayList<>();
    /** The operations of deferredAnswers: a retry of one is not answered from the memory before them. */
    private final Set<OpKey> deferredOps = new HashSet<>();
    /** Whether an update waits, complete but unacknowledged, for quorum (see tryComplete()). */
    boolean updatesHeldForQuorum;
    // Exchange, member side.
    PartitionMap installedMap;
    final List<PendingAdmin> pendingAdmins = new ArrayList<>();

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
    final ArrayDeque<DurabilityWait> durabilityQueue = new ArrayDeque<>();
    final List<ParkedMessage> parkedMessages = new ArrayList<>();
    /** Transactions, as coordinator and participant. */
    final TxManager tx = new TxManager(this);
    final Rebalancer rebalancer = new Rebalancer(this);
    final ConsistencyChecker checker = new ConsistencyChecker(this);
    final ExchangePlanner planner;
    final WalRecords walRecords;
    final Recovery recovery = new Recovery(this);
    final Checkpointer checkpointer;
    final Joining joining;
    final Membership membership;
    final Exchange mapExchange = new Exchange(this);
    /** Messages this member sent itself (a transaction whose coordinator is also a primary), handled in doWork. */
    private final ArrayDeque<byte[]> selfInbox = new ArrayDeque<>();

    // Near operations.
    long nextSequence = 1;
    final Long2ObjectHashMap<NearOp> nearOps = new Long2ObjectHashMap<>();
    /**
     * Per origin incarnation, the lowest sequence it may still resend (every operation of it below was answered or
     * given up), as its requests and the primaries' replicates carry it: outcomes below it are retired.
     */
    final Long2LongHashMap originWatermarks = new Long2LongHashMap(Long.MIN_VALUE);
    /**
     * Per thin client this member heard of (a request, a replicate or a record carrying its identity), when it last
     * did. A client is no member, so its outcomes cannot be retired when it leaves: they go below its watermark, or
     * {@link ClientProtocol#CLIENT_OUTCOME_RETENTION_NS} after it was last heard of (it resends only within its request
     * timeout, which is shorter). Pruned with the client's watermark once expired.
     */
    private final Long2LongHashMap clientSeenNs = new Long2LongHashMap(Long.MIN_VALUE);
    private long nextClientPruneNs;
    /** {@link #originMayResend}, made once: every remembered outcome passes it to the retirement sweep. */
    private final java.util.function.LongPredicate originMayResend = this::originMayResend;
    /** Copies whose tombstones the next sweeps look at, a few per sweep. */
    private final ArrayDeque<LocalPartition> purgeQueue = new ArrayDeque<>();
    private static final int TOMBSTONE_COPIES_PER_SWEEP = 4;
    private long tombstonesPurged;
    /** The lowest sequence of this member's own operations that may still be resent (see {@link #opWatermark()}). */
    private long opWatermark;
    private final Long2ObjectHashMap<AdminOp> adminOps = new Long2ObjectHashMap<>();
    private long nextSweepNs;

    /**
     * A member without checkpoints (its WAL, if any, is replayed from its start).
     *
     * @param config          the member's concluded configuration.
     * @param transport       to other members; its local address is this member's address.
     * @param wal             this member's WAL.
     * @param random          seeded randomness (incarnations).
     * @param mergeOperators  resolves a cache's merge operator (by its name and codecs); returns null if unknown.
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
        final EngineListener listener,
        final long retryIntervalNs,
        final long nowNs)
    {
        this(config, transport, wal, null, random, mergeOperators, listener, retryIntervalNs, nowNs);
    }

    /**
     * @param config          the member's concluded configuration.
     * @param transport       to other members; its local address is this member's address.
     * @param wal             this member's WAL.
     * @param checkpoints     where checkpoints go, or null for none; recovery starts from the newest committed one.
     * @param random          seeded randomness (incarnations).
     * @param mergeOperators  resolves a cache's merge operator (by its name and codecs); returns null if unknown.
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
        this.membership = new Membership(this, this.config.failureDetectionTimeoutNs() - this.config.heartbeatIntervalNs());
        this.localAddress = transport.localAddress();
        this.joining = new Joining(this, this.config, localAddress);
        this.walRecords = new WalRecords(wal, historyIndex, originWatermarks::get);
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
     * @return the member's state.
     */
    public MemberState state()
    {
        return state;
    }

    /**
     * @return why the member failed to join, or null.
     */
    public GridException failure()
    {
        return failure;
    }

    /**
     * @return this incarnation.
     */
    public long incarnation()
    {
        return incarnation;
    }

    /**
     * @return this member's address.
     */
    public String localAddress()
    {
        return localAddress;
    }

    /**
     * @return the member's configuration.
     */
    public MemberConfiguration configuration()
    {
        return config;
    }

    /**
     * @return the current topology, or null while joining.
     */
    public Topology topology()
    {
        return topology;
    }

    /**
     * @return the installed partition map, or null before the first exchange finished.
     */
    public PartitionMap installedMap()
    {
        return installedMap;
    }

    /**
     * @return true if the member has installed the map of its current topology (no exchange in progress) and holds
     *         quorum.
     */
    public boolean isSettled()
    {
        return hasInstalledCurrentMap() && membership.hasQuorum();
    }

    /**
     * @return true if the member is active and has installed the map of its current topology, with or without quorum.
     */
    public boolean hasInstalledCurrentMap()
    {
        return state == MemberState.ACTIVE && installedMap != null && installedMap.version() == topology.version();
    }

    /**
     * @return this member's view of the quorum.
     */
    public QuorumStatus quorum()
    {
        return new QuorumStatus(membership.quorumHave(), membership.quorumNeed(), membership.hasQuorum(), membership.writesRefusedForQuorum,
            membership.readsWithoutQuorum, List.copyOf(membership.quorumHistory));
    }

    /**
     * @return true once an {@link MemberState#EXPELLED} engine has made its WAL durable and finished its checkpoint:
     *         its host may start a new engine on the same WAL and checkpoints, which recovers and rejoins.
     */
    public boolean isReadyForRestart()
    {
        return state == MemberState.EXPELLED && wal.durablePosition() >= wal.appendedPosition() &&
            checkpointer.checkpointState == CheckpointState.IDLE;
    }

    /**
     * @return true if settled and nothing is in flight: no own operation, no update waiting for backups or WAL.
     */
    public boolean isQuiescent()
    {
        return isSettled() && nearOps.isEmpty() && adminOps.isEmpty() && inFlightUpdates == 0 && tx.isIdle() &&
            installedMap.plans().isEmpty() && rebalancer.isIdle() && checker.isIdle() &&
            durabilityQueue.isEmpty() && parkedMessages.isEmpty() &&
            (mapExchange.exchange == null || mapExchange.exchange.isFinished());
    }

    /**
     * @return what the member is waiting for, for diagnostics: updates in flight, WAL durability, parked messages, the
     * exchange's progress.
     */
    public String describeProgress()
    {
        return tx.describe() + " " + rebalancer.describe() + " plans=" +
            (installedMap == null ? "-" : installedMap.plans().size()) + " inFlightUpdates=" + inFlightUpdates +
            " awaitingDurability=" +
            durabilityQueue.size() + " wal=" +
            wal.durablePosition() + "/" + wal.appendedPosition() + " parked=" + parkedMessages.size() +
            " reportAcked=" + mapExchange.reportAckedVersion + " reportBuilt=" + (mapExchange.reportChunks != null) + " coordinatorExchange=" +
            (mapExchange.exchange == null ? "-" : "v" + mapExchange.exchange.topology.version() + (mapExchange.exchange.map != null ? " map sent" : "") +
            (mapExchange.exchange.isFinished() ? " finished" : "")) + describeInFlight();
    }

    private String describeInFlight()
    {
        if (inFlightUpdates == 0)
        {
            return "";
        }
        final StringBuilder out = new StringBuilder(" quorum=").append(membership.hasQuorum()).append(" inFlight=[");
        for (final LocalPartition[] local : allCopies())
        {
            for (final LocalPartition lp : local)
            {
                if (lp != null)
                {
                    for (final PrimaryUpdate update : lp.inFlight.values())
                    {
                        out.append(" p").append(lp.partition).append('#').append(update.counter).append(" v")
                            .append(update.topologyVersion).append(update.durable ? " durable" : " not durable")
                            .append(" waits for ").append(update.pendingBackups);
                    }
                }
            }
        }
        return out.append(" ]").toString();
    }

    /**
     * Compare every OWNING copy of each partition of a cache at the same counter, while writes go on (see
     * {@link ConsistencyChecker}). The callback runs once, on the engine's thread.
     *
     * @param cacheName the cache.
     * @param callback  the report, or the error (cache not found or destroyed, member not active).
     */
    public void checkConsistency(final String cacheName,
        final BiConsumer<ConsistencyReport, GridException> callback)
    {
        if (state != MemberState.ACTIVE)
        {
            callback.accept(null, notActive());
            return;
        }
        final CacheDescriptor cache = topology.cache(cacheName);
        if (cache == null)
        {
            callback.accept(null, new CacheNotFoundException("no cache named '" + cacheName + "'"));
            return;
        }
        checker.start(cache, callback);
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
     * For tests of the consistency check only: change this member's copy of a key without any counter, as a bug or
     * a disk fault would.
     *
     * @param cacheId of the cache.
     * @param key     encoded key.
     * @param value   encoded value to put in place.
     */
    public void corruptCopyForTest(final int cacheId, final byte[] key, final byte[] value)
    {
        final CacheDescriptor cache = topology.cache(cacheId);
        final LocalPartition lp = localCopy(cacheId, KeyPartitioner.partition(key, cache.partitions()));
        lp.store.apply(key, value, lp.store.counterOf(key) + 1);
    }

    /**
     * For tests of the consistency check only: close a counter on this member's copy that no update carried, as a
     * lost rollback on one copy would.
     *
     * @param cacheId   of the cache.
     * @param partition of the cache.
     */
    public void corruptCounterForTest(final int cacheId, final int partition)
    {
        final LocalPartition lp = localCopy(cacheId, partition);
        lp.counter.rollback(lp.counter.highestClosed(), 1);
    }

    /**
     * @return what this member's rebalance is doing, and its totals since start.
     */
    public RebalanceStatus rebalanceStatus()
    {
        return rebalancer.status();
    }

    /**
     * @return the number of this member's own operations not yet completed.
     */
    public int pendingOperations()
    {
        return nearOps.size() + adminOps.size();
    }

    /**
     * @param name of a cache.
     * @return its descriptor in the current topology, or null.
     */
    public CacheDescriptor cache(final String name)
    {
        return topology == null ? null : topology.cache(name);
    }

    /**
     * @return the caches of the current topology.
     */
    public List<CacheDescriptor> caches()
    {
        return topology == null ? List.of() : topology.caches();
    }

    /**
     * Inspect this member's copy of a partition (for tests, the simulator and admin views).
     *
     * @param cacheId   of the cache.
     * @param partition of the cache.
     * @return a snapshot of the copy, or null if this member holds none.
     */
    public CopyView copy(final int cacheId, final int partition)
    {
        final LocalPartition lp = localCopy(cacheId, partition);
        if (lp == null)
        {
            return null;
        }
        final boolean primary = installedMap != null && installedMap.rank(cacheId, partition,
            installedMap.topology().indexOf(incarnation)) == 0;
        return new CopyView(lp.counter.lwm(), lp.counter.hwm(), lp.counter.gaps(), lp.store.size(),
            lp.store.contentHash(), checkpointer.historyFrom(cacheId, partition), lp.state, primary);
    }

    /**
     * Read a key from this member's own copy, whatever its role (for tests and the simulator's final check).
     *
     * @param cacheId of the cache.
     * @param key     encoded key.
     * @return the value, or null if absent or no copy is held here.
     */
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
     * A snapshot of one copy's counters and content.
     *
     * @param lwm         low watermark.
     * @param hwm         high watermark.
     * @param gaps        applied ranges above LWM.
     * @param size        live entries.
     * @param contentHash order-independent hash of the live entries.
     * @param historyFrom the counter after which this member's retained WAL holds the copy's complete history.
     * @param state       the copy's partition state.
     * @param primary     whether this member is the partition's primary in the installed map.
     */
    public record CopyView(long lwm, long hwm, List<CounterRange> gaps, int size, long contentHash, long historyFrom,
        PartitionState state, boolean primary)
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
        if (clientId != 0 && (!ClientProtocol.isClientId(clientId) || clientSequence < 0))
        {
            throw new IllegalArgumentException("not a thin client's identity: " + Long.toHexString(clientId) + "/" +
                clientSequence);
        }
        if (state != MemberState.ACTIVE)
        {
            final GridException error = notActive();
            listener.onOperationComplete(type, 0, error.errorCode().code());
            callback.onFailure(error);
            return;
        }
        final CacheDescriptor cache = topology.cache(cacheId);
        if (cache == null)
        {
            final GridException error = new CacheDestroyedException("cache id " + cacheId + " was destroyed");
            listener.onOperationComplete(type, 0, error.errorCode().code());
            callback.onFailure(error);
            return;
        }
        final GridException tooLarge = tooLarge(key, value, expected);
        if (tooLarge != null)
        {
            listener.onOperationComplete(type, 0, tooLarge.errorCode().code());
            callback.onFailure(tooLarge);
            return;
        }
        final NearOp op = new NearOp(nextSequence++, cache, type, key, value, expected,
            type == OpType.SIZE ? -1 : KeyPartitioner.partition(key, cache.partitions()), nowNs, deadlineNs(nowNs, timeoutNs),
            callback);
        if (clientId != 0 && type.mayWrite())
        {
            op.identity = new OpKey(clientId, clientSequence);
            op.identityWatermark = clientWatermark;
        }
        nearOps.put(op.sequence, op);
        route(op);
    }

    /**
     * @return why a key with a value (or an expected one) is too long to store, or null if neither is.
     */
    private GridException tooLarge(final byte[] key, final byte[] value, final byte[] expected)
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
     * Begin a transaction coordinated by this member. Its steps are {@link #txEnlist}, then {@link #txCommit} or
     * {@link #txRollback}; see {@link TxManager} for the protocol.
     *
     * @param timeoutNs after which a transaction not yet decided is rolled back ({@link ErrorCode#TX_TIMEOUT}).
     * @param priority  its age for deadlock prevention (smaller is older); 0 for now. A retry passes the first
     *                  attempt's {@link #txPriority}, so it grows older and eventually wins.
     * @return the transaction's id on this member.
     */
    public long txBegin(final long timeoutNs, final long priority)
    {
        return tx.begin(timeoutNs, priority);
    }

    /**
     * @param txId a transaction of this member.
     * @return its priority (0 if unknown).
     */
    public long txPriority(final long txId)
    {
        return tx.priority(txId);
    }

    /**
     * Read keys in a transaction, locking them on their primaries if {@code lock} (until commit or rollback); a read
     * without lock sees the latest committed values. The callback gets the values in the order of {@code keys}.
     *
     * @param txId     the transaction.
     * @param cacheId  the cache.
     * @param keys     encoded keys.
     * @param lock     whether to lock them.
     * @param callback completion; failures abort the transaction.
     */
    public void txEnlist(final long txId, final int cacheId, final byte[][] keys, final boolean lock,
        final TxCallback callback)
    {
        if (state != MemberState.ACTIVE)
        {
            callback.onFailure(notActive());
            return;
        }
        tx.enlist(txId, cacheId, keys, lock, callback);
    }

    /**
     * Commit a transaction with its writes; every written key must have been locked by {@link #txEnlist}.
     *
     * @param txId     the transaction.
     * @param cacheIds per write, the cache.
     * @param keys     per write, the encoded key.
     * @param values   per write, the encoded value, or null to remove.
     * @param callback success once every copy of every written partition applied it durably.
     */
    public void txCommit(final long txId, final int[] cacheIds, final byte[][] keys, final byte[][] values,
        final TxCallback callback)
    {
        if (state != MemberState.ACTIVE)
        {
            callback.onFailure(notActive());
            return;
        }
        long writeBytes = 0;
        for (int i = 0; i < keys.length; i++)
        {
            writeBytes += keys[i].length + (values[i] == null ? 0 : values[i].length);
        }
        if (writeBytes > config.maxEntryBytes())
        {
            // Its prepare carries every write of a partition in one message and one WAL record: refused whole.
            final GridException tooLarge = tooLarge("a transaction's " + keys.length + " writes of " + writeBytes +
                " bytes together");
            tx.rollback(txId, new TxCallback()
            {
                public void onSuccess(final byte[][] ignored)
                {
                    callback.onFailure(tooLarge);
                }

                public void onFailure(final GridException ignored)
                {
                    callback.onFailure(tooLarge);
                }
            });
            return;
        }
        tx.commit(txId, cacheIds, keys, values, callback);
    }

    /**
     * Roll back a transaction not yet committing; succeeds at once, locks are released in the background.
     *
     * @param txId     the transaction.
     * @param callback completion.
     */
    public void txRollback(final long txId, final TxCallback callback)
    {
        tx.rollback(txId, callback);
    }

    /**
     * A transaction this member coordinates, as an operator sees it.
     *
     * @param id         its id on this member.
     * @param state      ACTIVE, PREPARING, COMMITTING, ROLLING_BACK or DONE.
     * @param ageNs      since it began.
     * @param partitions partitions it touched.
     * @param lockedKeys keys it holds locks on.
     */
    public record TransactionView(long id, String state, long ageNs, int partitions, int lockedKeys)
    {
    }

    /**
     * @return the transactions this member coordinates now, oldest first. Engine thread only.
     */
    public List<TransactionView> transactions()
    {
        return tx.views();
    }

    /**
     * Roll back a transaction this member coordinates, as an operator's kill: its user's next call fails with
     * {@link ErrorCode#TX_ROLLED_BACK}. Engine thread only.
     *
     * @param txId     its id.
     * @param callback completed once the rollback is under way; fails with {@link ErrorCode#TRANSACTION_NOT_FOUND}
     *                 if this member coordinates no such transaction, or if it is committing already.
     */
    public void killTransaction(final long txId, final TxCallback callback)
    {
        if (!tx.coordinates(txId))
        {
            callback.onFailure(new GridException(ErrorCode.TRANSACTION_NOT_FOUND, "member " + config.memberId() +
                " coordinates no transaction " + txId));
            return;
        }
        tx.rollback(txId, callback);
    }

    /**
     * Ask the coordinator to create a cache; the callback runs once every member installed the partition map that
     * includes it, so the first request finds a primary ready.
     *
     * @param descriptor of the cache, without an id.
     * @param callback   completion (the outcome carries nothing).
     */
    public void createCache(final CacheDescriptor descriptor, final OpCallback callback)
    {
        submitAdmin(ADMIN_CREATE, descriptor, descriptor.name(), callback);
    }

    /**
     * Ask the coordinator to destroy a cache; destroying a cache that does not exist succeeds. Operations on the
     * cache in flight anywhere fail with {@link ErrorCode#CACHE_DESTROYED}.
     *
     * @param name     of the cache.
     * @param callback completion.
     */
    public void destroyCache(final String name, final OpCallback callback)
    {
        submitAdmin(ADMIN_DESTROY, null, name, callback);
    }

    /**
     * Reset the lost partitions of a cache: the coordinator counts one more reset in the cache's descriptor and
     * publishes a new topology version, whose map serves them again from the copies they have (a returning owner's
     * data, if it came back; empty otherwise). Engine thread only.
     *
     * @param name     of the cache.
     * @param callback completed once the map without the lost flags is installed everywhere.
     */
    public void resetLostPartitions(final String name, final OpCallback callback)
    {
        submitAdmin(ADMIN_RESET_LOST, null, name, callback);
    }

    /**
     * Add an attribute to the ones this member's topology record carries, such as the address it serves clients on.
     * Only before the first {@link #doWork} (the record is made when joining).
     *
     * @param name  of the attribute.
     * @param value of the attribute.
     */
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
     * @param cacheName of a cache.
     * @return per partition, the index in the installed map's topology of its primary, -1 if none; null if no map
     *         is installed. Engine thread only.
     * @throws CacheNotFoundException if there is no cache of that name.
     */
    public int[] primaries(final String cacheName)
    {
        final CacheDescriptor cache = topology == null ? null : topology.cache(cacheName);
        if (cache == null)
        {
            throw new CacheNotFoundException("no cache named '" + cacheName + "'");
        }
        if (installedMap == null || !installedMap.hasCache(cache.cacheId()))
        {
            return null;
        }
        final int[] primaries = new int[cache.partitions()];
        for (int p = 0; p < primaries.length; p++)
        {
            primaries[p] = installedMap.owningCount(cache.cacheId(), p) == 0 ? -1 :
                installedMap.owners(cache.cacheId(), p)[0];
        }
        return primaries;
    }

    /**
     * @return the baseline as this member knows it, or null before it joined. Engine thread only.
     */
    public BaselineTopology baseline()
    {
        if (topology == null)
        {
            return null;
        }
        final List<String> running = new ArrayList<>();
        topology.members().forEach(m -> running.add(m.memberId()));
        Collections.sort(running);
        return new BaselineTopology(topology.baseline().memberIds(), running,
            topology.baseline().autoAdjustTimeoutNs(), topology.version());
    }

    /**
     * Change the baseline (see {@link Baseline}) through the coordinator, which validates the change against the
     * present members and publishes a new topology version with it. Engine thread only.
     *
     * @param change    {@code Baseline.SET}, {@code ADD}, {@code REMOVE} or {@code AUTO_ADJUST}.
     * @param ids       the members the change names.
     * @param timeoutNs the auto-adjust timeout ({@code AUTO_ADJUST} only); negative disables auto-adjust.
     * @param callback  completed once the new map is installed everywhere, or failed with
     *                  {@link ErrorCode#BASELINE_INVALID} naming what is wrong.
     */
    public void changeBaseline(final int change, final List<String> ids, final long timeoutNs,
        final OpCallback callback)
    {
        submitAdmin(ADMIN_BASELINE, null, "baseline", callback, op ->
        {
            op.baselineChange = change;
            op.baselineIds = List.copyOf(ids);
            op.baselineTimeoutNs = timeoutNs;
        });
    }

    /**
     * Activate a cluster that waits for the members of the newest ownership table after a whole-cluster stop, without
     * those still away: the coordinator decides from that table with the members present, so a partition none of whose
     * last owners is here is LOST (and stays so until one returns or {@link #resetLostPartitions} accepts the loss),
     * and the others are served from their last owners' copies. For an operator whose member will never return.
     * Completes at once, changing nothing, if the cluster is active already. Engine thread only.
     *
     * @param callback completed once the map of that decision is installed everywhere.
     */
    public void activate(final OpCallback callback)
    {
        submitAdmin(ADMIN_ACTIVATE, null, "activation", callback);
    }

    /**
     * @return whether the installed map serves data: false while a cluster restarted from data directories waits for
     *         the last members of its newest ownership table (see {@link #activate}), or before any map. Engine
     *         thread only.
     */
    public boolean isActive()
    {
        return installedMap != null && installedMap.isActive();
    }

    /**
     * @param name of a cache.
     * @return its lost partitions in the installed map, ascending; empty if none or no map yet. Engine thread only.
     * @throws CacheNotFoundException if there is no cache of that name.
     */
    public List<Integer> lostPartitions(final String name)
    {
        final CacheDescriptor cache = topology == null ? null : topology.cache(name);
        if (cache == null)
        {
            throw new CacheNotFoundException("no cache named '" + name + "'");
        }
        return installedMap == null ? List.of() : installedMap.lostPartitions(cache.cacheId());
    }

    /**
     * Stop: fail this member's in-flight operations with {@link ErrorCode#NODE_STOPPING}, refuse new ones, and
     * announce the departure so the cluster forms a new topology without waiting for failure detection.
     */
    public void stop()
    {
        if (state == MemberState.STOPPED || state == MemberState.FAILED)
        {
            return;
        }
        changeState(MemberState.STOPPING, "stop requested");
        failAllOwnOperations(new NodeStoppingException("member " + config.memberId() + " is stopping"));
        tx.abandon(new NodeStoppingException("member " + config.memberId() + " is stopping"), false);
        if (topology != null)
        {
            for (final MemberRecord member : topology.members())
            {
                if (member.incarnation() != incarnation)
                {
                    send(member, LEAVE);
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
        work += processDurability();
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
        deferredAnswers.clear();
        deferredOps.clear();
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
        pendingAdmins.clear();
        if (!keepCopies)
        {
            // Images of this life's copies are worthless now; the next checkpoint starts afresh, and history
            // boundaries of the old copies no longer describe anything.
            checkpointer.checkpointState = CheckpointState.IDLE;
            checkpointer.historyBoundaries.clear();
            checkpointer.historyFrom.clear();
        }
        if (!keepCopies && !copies.isEmpty())
        {
            copies.clear();
            walCaches.clear();
            walRecords.walWriter.reset().writeByte(WalRecords.WAL_ALL_DROPPED);
            walRecords.appendMeta();
        }
        inFlightUpdates = 0;
        durabilityQueue.clear();
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
            pruneClients();
            work += sweep();
            work += tx.duty();
            work += purgeTombstones();
        }
        return work;
    }

    /**
     * Drop the tombstones no update can need any more, a few copies per sweep. A tombstone stops an older update of
     * its key from resurrecting it: one arriving out of order (above LWM, not closed yet) or streamed by a full
     * rebalance into a MOVING copy. At or below an OWNING copy's LWM every older update is closed, so a late one is
     * acknowledged without being applied, and such a copy is not streamed into: its tombstones up to LWM can go.
     * History is read from the WAL, not from the store, and checkpoint images that still hold a tombstone stay valid.
     */
    private int purgeTombstones()
    {
        if (isExchanging())
        {
            return 0;
        }
        if (purgeQueue.isEmpty())
        {
            for (final LocalPartition[] local : copies.values())
            {
                for (final LocalPartition lp : local)
                {
                    if (lp != null && lp.store.tombstoneCount() > 0)
                    {
                        purgeQueue.add(lp);
                    }
                }
            }
        }
        int work = 0;
        for (int i = 0; i < TOMBSTONE_COPIES_PER_SWEEP && !purgeQueue.isEmpty(); i++)
        {
            final LocalPartition lp = purgeQueue.poll();
            if (localCopy(lp.cacheId, lp.partition) == lp && lp.state == PartitionState.OWNING && lp.pausedBy == 0)
            {
                final int purged = lp.store.purgeTombstones(lp.counter.lwm());
                tombstonesPurged += purged;
                work += purged > 0 ? 1 : 0;
            }
        }
        return work;
    }

    /**
     * @return tombstones dropped since start (see {@link #purgeTombstones()}).
     */
    public long tombstonesPurged()
    {
        return tombstonesPurged;
    }

    /**
     * @return true while a partition is lost: its last owners may be the absent baseline members, and dropping them
     *         from the baseline would make the loss final (their copies, when they return, would no longer be owners').
     */
    boolean waitsForLostPartitions()
    {
        if (installedMap == null)
        {
            return false;
        }
        for (final CacheDescriptor cache : topology.caches())
        {
            if (!installedMap.lostPartitions(cache.cacheId()).isEmpty())
            {
                return true;
            }
        }
        return false;
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

    /**
     * The copy follows the epoch from now on; logged so that a restart remembers which lineage it holds.
     */
    void adoptEpoch(final LocalPartition lp, final long id, final long floor)
    {
        if (lp.adoptEpoch(id, floor))
        {
            walRecords.walWriter.reset().writeByte(WalRecords.WAL_EPOCH).writeInt(lp.cacheId).writeInt(lp.partition).writeLong(id)
                .writeLong(floor);
            walRecords.appendMeta();
        }
    }

    /**
     * Clear a MOVING copy for a full rebalance: a new, empty copy of the partition's current epoch replaces it (logged
     * as dropped, so a restart never mixes the two).
     *
     * @return the new copy.
     */
    LocalPartition resetForFullRebalance(final LocalPartition old)
    {
        final LocalPartition lp = new LocalPartition(old.cacheId, old.partition);
        lp.state = PartitionState.MOVING;
        copies.get(old.cacheId)[old.partition] = lp;
        old.state = old.state.moveTo(PartitionState.RENTING).moveTo(PartitionState.EVICTED);
        checkpointer.logCopyDropped(old.cacheId, old.partition);
        tx.relogPrepared(old.cacheId, old.partition);
        adoptEpoch(lp, installedMap.epochId(old.cacheId, old.partition),
            installedMap.epochFloor(old.cacheId, old.partition));
        return lp;
    }

    /**
     * Apply one record of a supplier's history: logged like a replicated update (so this copy's own history goes on)
     * and closed once durable; a hole closes at once.
     */
    void applyRebalancedRecord(final LocalPartition lp, final HistoryRecord record)
    {
        final long counter = record.counter();
        if (record.key() == null)
        {
            closeRange(lp, counter - 1, 1);
            return;
        }
        if (lp.counter.isClosed(counter))
        {
            return;
        }
        // The operation's identity travels with its record: once primary, this copy answers a retry of it instead
        // of applying it again, and a late commit of its transaction finds the part finished.
        final OpKey opKey = record.origin() == 0 ? REBALANCED_OP : new OpKey(record.origin(), record.sequence());
        final OpOutcome outcome = new OpOutcome(record.flag(), record.outcome(), 0);
        final long position = walRecords.appendWal(lp, counter, record.transaction(), opKey, outcome, record.key(),
            record.value(), record.predecessors());
        lp.store.apply(record.key(), record.value(), counter);
        // The value carries the effect of the predecessors too, which the supplier may hold only as a hole (it missed
        // them as a backup and finalized the gap): without their identities, a retry of one after failover to this
        // copy would apply it a second time (persistent seed 0x17662a18e).
        rememberPredecessors(lp, record.predecessors());
        if (opKey != REBALANCED_OP)
        {
            lp.recent.put(opKey, outcome);
            noteClientSeen(opKey.originIncarnation());
        }
        if (record.transaction() != WalRecords.NO_TRANSACTION)
        {
            tx.rememberFinished(record.origin(), record.transaction(), lp.cacheId, lp.partition, true);
        }
        durabilityQueue.add(new DurabilityWait(position, lp, counter, null, 0, 0, null));
    }

    /**
     * Apply one entry of a full rebalance if it is newer than what the key holds (a live update or remove that
     * arrived first wins; a remove left a tombstone with its counter).
     */
    void applyRebalancedEntry(final LocalPartition lp, final long counter, final byte[] key, final byte[] value)
    {
        if (lp.store.counterOf(key) >= counter)
        {
            return;
        }
        walRecords.walWriter.reset().writeByte(WalRecords.WAL_REBALANCE_ENTRY).writeInt(lp.cacheId).writeInt(lp.partition)
            .writeLong(counter).writeBytes(key).writeBytes(value);
        walRecords.appendMeta();
        lp.store.apply(key, value, counter);
    }

    /**
     * Every entry of a full rebalance arrived: once the closing record is durable (and with it every entry before
     * it), the counters up to {@code to} close and the copy's history starts at {@code to}.
     */
    void finishFullRebalance(final LocalPartition lp, final long to)
    {
        walRecords.walWriter.reset().writeByte(WalRecords.WAL_REBALANCE_DONE).writeInt(lp.cacheId).writeInt(lp.partition).writeLong(to);
        final long position = wal.append(walRecords.walWriter.buffer(), 0, walRecords.walWriter.length());
        if (position < 0)
        {
            throw new IllegalStateException("WAL refused a record (back pressure is not handled yet)");
        }
        walRecords.appendsSinceCheckpoint++;
        walRecords.totalAppends++;
        durabilityQueue.add(new DurabilityWait(position, lp, 0, null, 0, 0, () -> closeRebalanced(lp, to)));
    }

    /**
     * Remember what the supplier remembered about the partition's recent operations and transactions (logged, so a
     * restart remembers it too).
     */
    void applyRebalancedMemory(final LocalPartition lp, final List<Rebalancer.MemoryItem> items)
    {
        walRecords.walWriter.reset().writeByte(WalRecords.WAL_REBALANCE_MEMORY).writeInt(lp.cacheId).writeInt(lp.partition)
            .writeInt(items.size());
        final List<OpKey> keys = new ArrayList<>();
        final List<OpOutcome> outcomes = new ArrayList<>();
        for (final Rebalancer.MemoryItem item : items)
        {
            item.write(walRecords.walWriter);
            if (item.transaction())
            {
                tx.rememberFinished(item.origin(), item.sequence(), lp.cacheId, lp.partition, item.flag());
            }
            else
            {
                keys.add(new OpKey(item.origin(), item.sequence()));
                outcomes.add(new OpOutcome(item.flag(), item.value(), 0));
            }
        }
        walRecords.appendMeta();
        lp.rememberOlder(keys, outcomes);
    }

    TxManager txManager()
    {
        return tx;
    }

    private void closeRebalanced(final LocalPartition lp, final long to)
    {
        for (final CounterRange open : openRanges(lp.counter, to))
        {
            lp.counter.rollback(open.start(), open.count());
        }
        // Records below the target are not in this copy's WAL: its history starts there, whatever a checkpoint
        // boundary taken during the rebalance recorded.
        final long packed = packCopy(lp.cacheId, lp.partition);
        checkpointer.historyFrom.put(packed, Math.max(checkpointer.historyFrom.get(packed), to));
        // Also into the checkpoint in progress, whose boundary would otherwise say nothing of this copy (its image,
        // if any, was of the copy before the clear): nothing would mean "complete from the start".
        checkpointer.checkpointHwms.put(packed, Math.max(checkpointer.checkpointHwms.get(packed), to));
        for (final Checkpointer.HistoryBoundary boundary : checkpointer.historyBoundaries)
        {
            boundary.hwms().put(packed, Math.max(boundary.hwms().get(packed), to));
        }
    }

    /**
     * @return the counters of {@code (0, to]} not yet closed, as ranges.
     */
    static List<CounterRange> openRanges(final PartitionUpdateCounter counter, final long to)
    {
        final List<CounterRange> open = new ArrayList<>();
        long next = counter.lwm();
        for (final CounterRange closed : counter.gaps())
        {
            if (next >= to)
            {
                break;
            }
            if (closed.start() > next)
            {
                open.add(new CounterRange(next, Math.min(closed.start(), to) - next));
            }
            next = Math.max(next, closed.start() + closed.count());
        }
        if (next < to)
        {
            open.add(new CounterRange(next, to - next));
        }
        return open;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Operations: near side.
    // ------------------------------------------------------------------------------------------------------------

    void route(final NearOp op)
    {
        if (topology.cache(op.cache.cacheId()) == null)
        {
            completeNear(op, null, new CacheDestroyedException("cache '" + op.cache.name() + "' was destroyed"));
            return;
        }
        if (isExchanging())
        {
            op.parked = true;
            return;
        }
        op.parked = false;
        if (!membership.hasQuorum())
        {
            if (membership.refusesForQuorum() && readLocally(op))
            {
                return;
            }
            if ((op.target == null || !op.type.mayWrite()) && membership.refusesForQuorum())
            {
                // Never sent (or a read, which changes nothing): nothing was applied, and the caller can go to a member
                // of the majority. Reads too: without quorum this member's map may name a primary the majority
                // replaced, and a member cut off would only time out.
                completeNear(op, null, membership.noQuorum(op.type.name().toLowerCase() + " on cache '" + op.cache.name() + "'"));
                return;
            }
            // Quorum may be back in a moment (a member just joined); one sent before keeps its fate open: it waits,
            // and ends in its answer or a timeout, never in a refusal that would say it was not applied.
            op.nextResendNs = nowNs + Math.max(1, retryIntervalNs / 4);
            return;
        }
        op.sentVersion = installedMap.version();
        op.nextResendNs = nowNs + retryIntervalNs;
        if (op.type == OpType.SIZE)
        {
            op.sizeAwaiting.clear();
            op.sizeSum = 0;
            for (final MemberRecord member : topology.members())
            {
                op.sizeAwaiting.add(member.incarnation());
            }
            for (final MemberRecord member : topology.members())
            {
                if (member.incarnation() == incarnation)
                {
                    answerSize(incarnation, op.sequence, op.cache.cacheId(), op.sentVersion);
                }
                else
                {
                    header(SIZE_REQUEST, member.incarnation());
                    writer.writeLong(op.sequence).writeInt(op.cache.cacheId()).writeLong(op.sentVersion);
                    send(member, writer);
                }
                if (!nearOps.containsKey(op.sequence) || op.sentVersion != installedMap.version())
                {
                    return;
                }
            }
            return;
        }
        final MemberRecord primary = installedMap.primary(op.cache.cacheId(), op.partition);
        if (primary == null)
        {
            op.parked = true;
            return;
        }
        op.target = primary;
        op.sends++;
        listener.onRouted(primary.incarnation() == incarnation);
        if (primary.incarnation() == incarnation)
        {
            noteWatermark(incarnation, opWatermark());
            if (op.identity != null)
            {
                noteWatermark(op.identity.originIncarnation(), op.identityWatermark);
            }
            handleRequest(incarnation, op.sequence, op.cache.cacheId(), op.partition, op.sentVersion, op.type,
                op.deadlineNs - nowNs, op.key, op.value, op.expected, op.identity, null);
        }
        else
        {
            header(REQUEST, primary.incarnation());
            writer.writeLong(op.sequence).writeLong(opWatermark()).writeInt(op.cache.cacheId()).writeInt(op.partition)
                .writeLong(op.sentVersion).writeByte(op.type.code()).writeLong(Math.max(0, op.deadlineNs - nowNs))
                .writeBytes(op.key).writeBytes(op.value).writeBytes(op.expected);
            // A thin client's identity (0 if none), its number and its watermark.
            writer.writeLong(op.identity == null ? 0 : op.identity.originIncarnation())
                .writeLong(op.identity == null ? 0 : op.identity.sequence()).writeLong(op.identityWatermark);
            send(primary, writer);
        }
    }

    /**
     * Answer a read from this member's own copy while it holds no quorum, for a cache whose policy is
     * {@link QuorumReadPolicy#SERVE_LOCAL}: only an OWNING copy (a MOVING one may lack what its owners had) of a
     * partition the loss policy serves, flagged {@link OpOutcome#withoutQuorum()}.
     *
     * @return whether the read was answered (false: not a read of such a cache, or no such copy here).
     */
    private boolean readLocally(final NearOp op)
    {
        if (op.type != OpType.GET || op.cache.readsWithoutQuorum() != QuorumReadPolicy.SERVE_LOCAL || membership.hasQuorum())
        {
            return false;
        }
        final LocalPartition lp = localCopy(op.cache.cacheId(), op.partition);
        if (lp == null || lp.state != PartitionState.OWNING || lossRefusal(op.cache, op.partition, false) != null)
        {
            return false;
        }
        final byte[] value = lp.store.get(op.key);
        membership.readsWithoutQuorum++;
        completeNear(op, new OpOutcome(value != null, value, 0, true), null);
        return true;
    }

    private void onResponse(final long sender)
    {
        final long sequence = reader.readLong("sequence");
        final int status = reader.readByte("status");
        final NearOp op = nearOps.get(sequence);
        if (status == STATUS_OK)
        {
            final boolean flag = reader.readBoolean("flag");
            final byte[] value = reader.readBytes("value");
            final long count = reader.readLong("count");
            if (op == null)
            {
                return;
            }
            if (op.type == OpType.SIZE)
            {
                final long version = reader.readLong("version");
                if (version == op.sentVersion && op.sizeAwaiting.remove(sender))
                {
                    op.sizeSum += count;
                    if (op.sizeAwaiting.isEmpty())
                    {
                        completeNear(op, new OpOutcome(true, null, op.sizeSum), null);
                    }
                }
                return;
            }
            completeNear(op, new OpOutcome(flag, value, count), null);
        }
        else if (status == STATUS_REMAP)
        {
            final long version = reader.readLong("version");
            if (op == null)
            {
                return;
            }
            listener.onRemap();
            if (version > installedMap.version() || isExchanging())
            {
                op.parked = true;
            }
            else
            {
                // The primary lags this member's map, or this member lags; try again shortly.
                op.nextResendNs = nowNs + Math.max(1, retryIntervalNs / 8);
            }
        }
        else if (status == STATUS_ERROR)
        {
            final int code = reader.readInt("errorCode");
            final String message = reader.readString("message");
            if (op != null && code == ErrorCode.NO_QUORUM.code() &&
                (membership.hasQuorum() || (op.type.mayWrite() && op.sends > 1)))
            {
                // The primary lacks quorum while this member holds it: the majority is about to replace that primary
                // (or it is a moment behind); ask again shortly. A write sent more than once may have been applied
                // by an earlier attempt: it never ends in a refusal, only in its answer or a timeout.
                op.nextResendNs = nowNs + Math.max(1, retryIntervalNs / 4);
            }
            else if (op != null && !(code == ErrorCode.NO_QUORUM.code() && readLocally(op)))
            {
                completeNear(op, null, GridException.of(errorCode(code), message));
            }
        }
        else
        {
            throw new MalformedMessageException("unknown response status " + status);
        }
    }

    private static ErrorCode errorCode(final int code)
    {
        try
        {
            return ErrorCode.ofCode(code);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new MalformedMessageException("unknown error code " + code);
        }
    }

    private void completeNear(final NearOp op, final OpOutcome outcome, final GridException error)
    {
        if (nearOps.remove(op.sequence) == null)
        {
            return;
        }
        listener.onOperationComplete(op.type, nowNs - op.submittedNs, error == null ? 0 : error.errorCode().code());
        if (error == null)
        {
            op.callback.onSuccess(outcome);
        }
        else
        {
            op.callback.onFailure(error);
        }
    }

    private int sweep()
    {
        int work = 0;
        if (!nearOps.isEmpty())
        {
            final List<NearOp> ops = new ArrayList<>(nearOps.values());
            for (final NearOp op : ops)
            {
                if (nowNs >= op.deadlineNs)
                {
                    completeNear(op, null, new OperationTimeoutException(describeWait(op)));
                    work++;
                }
                else if (!op.parked && nowNs >= op.nextResendNs && nearOps.containsKey(op.sequence))
                {
                    route(op);
                    work++;
                }
            }
        }
        if (!adminOps.isEmpty())
        {
            final List<AdminOp> ops = new ArrayList<>(adminOps.values());
            for (final AdminOp op : ops)
            {
                if (nowNs >= op.deadlineNs)
                {
                    adminOps.remove(op.sequence);
                    op.callback.onFailure(new OperationTimeoutException((op.kind == ADMIN_CREATE ? "create" :
                        op.kind == ADMIN_DESTROY ? "destroy" : op.kind == ADMIN_BASELINE ? "baseline change" :
                        op.kind == ADMIN_ACTIVATE ? "activation" : "lost partitions reset") + " of '" + op.name +
                        "' timed out after " +
                        TimeUnit.NANOSECONDS.toMillis(op.deadlineNs - op.submittedNs) +
                        " ms waiting for coordinator " + topology.coordinator() + " (topology " +
                        topology.version() + ")"));
                    work++;
                }
                else if (nowNs >= op.nextResendNs)
                {
                    sendAdmin(op);
                    work++;
                }
            }
        }
        if (!parkedMessages.isEmpty())
        {
            parkedMessages.removeIf(m -> m.deadlineNs <= nowNs);
        }
        work += retransmitUpdates();
        return work;
    }

    private String describeWait(final NearOp op)
    {
        final String what = op.type.name().toLowerCase() + " on cache '" + op.cache.name() + "'" +
            (op.partition >= 0 ? " (partition " + op.partition + ")" : "") + " timed out after " +
            TimeUnit.NANOSECONDS.toMillis(op.deadlineNs - op.submittedNs) + " ms waiting for ";
        if (op.parked)
        {
            return what + "the partition map exchange of topology " + topology.version() + " to finish";
        }
        if (op.type == OpType.SIZE)
        {
            return what + "the counts of " + op.sizeAwaiting.size() + " member(s) (topology " + op.sentVersion + ")";
        }
        return what + "the answer of primary " + op.target + " (topology " + op.sentVersion + ")";
    }

    private void submitAdmin(final int kind, final CacheDescriptor descriptor, final String name,
        final OpCallback callback)
    {
        submitAdmin(kind, descriptor, name, callback, null);
    }

    private void submitAdmin(final int kind, final CacheDescriptor descriptor, final String name,
        final OpCallback callback, final Consumer<AdminOp> details)
    {
        if (state != MemberState.ACTIVE)
        {
            callback.onFailure(notActive());
            return;
        }
        if (membership.refusesForQuorum())
        {
            callback.onFailure(membership.noQuorum("a change of caches or baseline"));
            return;
        }
        final long sequence = nextSequence++;
        final CacheDescriptor stamped = descriptor == null ? null : descriptor.withCreator(incarnation, sequence);
        final AdminOp op = new AdminOp(sequence, kind, name, stamped, nowNs, nowNs + ADMIN_TIMEOUT_DEFAULT_NS,
            callback);
        if (details != null)
        {
            details.accept(op);
        }
        adminOps.put(sequence, op);
        sendAdmin(op);
    }

    private void sendAdmin(final AdminOp op)
    {
        op.nextResendNs = nowNs + retryIntervalNs;
        header(CACHE_ADMIN, topology.coordinator().incarnation());
        writer.writeLong(op.sequence).writeByte(op.kind).writeString(op.name);
        writer.writeBoolean(op.descriptor != null);
        if (op.descriptor != null)
        {
            op.descriptor.encode(writer);
        }
        if (op.kind == ADMIN_BASELINE)
        {
            writer.writeByte(op.baselineChange).writeLong(op.baselineTimeoutNs).writeInt(op.baselineIds.size());
            op.baselineIds.forEach(writer::writeString);
        }
        if (membership.isCoordinator())
        {
            final byte[] bytes = copyOut();
            reader.wrap(new UnsafeBuffer(bytes), HEADER_LENGTH, bytes.length - HEADER_LENGTH);
            onCacheAdmin(incarnation);
        }
        else
        {
            send(topology.coordinator(), writer);
        }
    }

    private void onCacheAdmin(final long sender)
    {
        final long sequence = reader.readLong("sequence");
        final int kind = reader.readByte("kind");
        final String name = reader.readString("name");
        final CacheDescriptor descriptor = reader.readBoolean("hasDescriptor") ? CacheDescriptor.decode(reader) : null;
        int baselineChange = 0;
        long baselineTimeoutNs = -1;
        final List<String> baselineIds = new ArrayList<>();
        if (kind == ADMIN_BASELINE)
        {
            baselineChange = reader.readByte("baseline.change");
            baselineTimeoutNs = reader.readLong("baseline.timeoutNs");
            final int count = reader.readInt("baseline.ids", 0, 65_535);
            for (int i = 0; i < count; i++)
            {
                baselineIds.add(CacheDescriptor.nonNull(reader.readString("baseline.id"), "baseline.id"));
            }
        }
        if (!membership.isCoordinator())
        {
            return;
        }
        for (final PendingAdmin admin : pendingAdmins)
        {
            if (admin.origin == sender && admin.sequence == sequence)
            {
                return;
            }
        }
        if (!membership.hasQuorum())
        {
            answerAdmin(sender, sequence, ErrorCode.NO_QUORUM.code(), membership.noQuorum("a change of caches or baseline")
                .detail());
            return;
        }
        final CacheDescriptor existing = topology.cache(name);
        if (kind == ADMIN_CREATE)
        {
            if (descriptor == null)
            {
                throw new MalformedMessageException("cache create without a descriptor");
            }
            if (existing != null)
            {
                if (existing.creatorIncarnation() == sender && existing.creatorSequence() == sequence)
                {
                    // A retry of a create that went through: answer once the current map is everywhere.
                    pendingAdmins.add(new PendingAdmin(sender, sequence, topology.version()));
                    completeAdminsIfSettled();
                    return;
                }
                answerAdmin(sender, sequence, ErrorCode.CACHE_ALREADY_EXISTS.code(), "cache '" + name +
                    "' already exists" + (existing.sameSettings(descriptor) ? "" : " with other settings: " + existing));
                return;
            }
            listener.onEvent("coordinator " + config.memberId() + " creates cache " + descriptor.name());
            membership.publishTopology(topology.withCache(descriptor));
        }
        else if (kind == ADMIN_DESTROY)
        {
            if (existing != null)
            {
                listener.onEvent("coordinator " + config.memberId() + " destroys cache " + name);
                membership.publishTopology(topology.withoutCache(existing.cacheId()));
            }
        }
        else if (kind == ADMIN_BASELINE)
        {
            final Baseline next;
            try
            {
                next = topology.baseline().change(baselineChange, baselineIds, baselineTimeoutNs,
                    topology.members());
            }
            catch (final IllegalArgumentException ex)
            {
                answerAdmin(sender, sequence, ErrorCode.BASELINE_INVALID.code(), ex.getMessage());
                return;
            }
            if (!next.equals(topology.baseline()))
            {
                listener.onEvent("coordinator " + config.memberId() + " sets the baseline to " + next.memberIds() +
                    (next.autoAdjustTimeoutNs() < 0 ? "" : ", auto-adjust after " +
                    TimeUnit.NANOSECONDS.toMillis(next.autoAdjustTimeoutNs()) + " ms"));
                membership.publishTopology(topology.withBaseline(next));
            }
        }
        else if (kind == ADMIN_ACTIVATE)
        {
            if (installedMap == null || !installedMap.isActive())
            {
                // Remembered until an active map is installed: an exchange that starts over decides the same way.
                activationForced = true;
                listener.onEvent("coordinator " + config.memberId() + " activates the cluster at an operator's " +
                    "request, without the members still away");
                membership.publishTopology(topology.withBaseline(topology.baseline()));
            }
        }
        else if (kind == ADMIN_RESET_LOST)
        {
            if (existing == null)
            {
                answerAdmin(sender, sequence, ErrorCode.CACHE_NOT_FOUND.code(), "no cache named '" + name + "'");
                return;
            }
            listener.onEvent("coordinator " + config.memberId() + " resets the lost partitions of cache " + name +
                " " + (installedMap == null ? "[]" : installedMap.lostPartitions(existing.cacheId())));
            membership.publishTopology(topology.withCacheReplaced(existing.withLostReset()));
        }
        else
        {
            throw new MalformedMessageException("unknown cache admin kind " + kind);
        }
        pendingAdmins.add(new PendingAdmin(sender, sequence, topology.version()));
        completeAdminsIfSettled();
    }

    private void completeAdminsIfSettled()
    {
        if (mapExchange.exchange != null && mapExchange.exchange.isFinished())
        {
            mapExchange.onMapInstalled(incarnation, mapExchange.exchange.topology.version());
        }
    }

    void answerAdmin(final long origin, final long sequence, final int errorCode, final String message)
    {
        if (origin == incarnation)
        {
            onAdminAnswer(sequence, errorCode, message);
            return;
        }
        final MemberRecord member = topology.member(origin);
        if (member == null)
        {
            return;
        }
        header(CACHE_ADMIN_RESPONSE, origin);
        writer.writeLong(sequence).writeInt(errorCode).writeString(message);
        send(member, writer);
    }

    private void onAdminAnswer(final long sequence, final int errorCode, final String message)
    {
        final AdminOp op = adminOps.remove(sequence);
        if (op == null)
        {
            return;
        }
        if (errorCode == 0)
        {
            op.callback.onSuccess(OpOutcome.TRUE);
        }
        else
        {
            op.callback.onFailure(GridException.of(errorCode(errorCode), message));
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Operations: primary side.
    // ------------------------------------------------------------------------------------------------------------

    private void onRequest(final long sender, final int source, final DirectBuffer buffer, final int offset,
        final int length)
    {
        final long sequence = reader.readLong("sequence");
        noteWatermark(sender, reader.readLong("watermark"));
        final int cacheId = reader.readInt("cacheId");
        final int partition = reader.readInt("partition", 0, 65_535);
        final long version = reader.readLong("version");
        final OpType type = OpType.ofCode(reader.readByte("type"));
        final long timeoutNs = reader.readLong("timeoutNs");
        final byte[] key = reader.readBytes("key");
        final byte[] value = reader.readBytes("value");
        final byte[] expected = reader.readBytes("expected");
        final long clientId = reader.readLong("clientId");
        final long clientSequence = reader.readLong("clientSequence");
        final long clientWatermark = reader.readLong("clientWatermark");
        if (key == null)
        {
            throw new MalformedMessageException("request without a key");
        }
        if (clientId != 0 && (!ClientProtocol.isClientId(clientId) || clientSequence < 0 || !type.mayWrite()))
        {
            throw new MalformedMessageException("request with a client identity " + Long.toHexString(clientId) + "/" +
                clientSequence + " that is not a thin client's write");
        }
        final OpKey identity = clientId == 0 ? null : new OpKey(clientId, clientSequence);
        if (identity != null)
        {
            noteWatermark(clientId, clientWatermark);
        }
        final Runnable park = () -> park(REQUEST, sender, source, buffer, offset, length, timeoutNs);
        handleRequest(sender, sequence, cacheId, partition, version, type, timeoutNs, key, value, expected, identity,
            park);
    }

    private void park(final int type, final long sender, final int source, final DirectBuffer buffer,
        final int offset, final int length, final long timeoutNs)
    {
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset, bytes);
        parkedMessages.add(new ParkedMessage(type, sender, source, bytes, deadlineNs(nowNs, timeoutNs)));
    }

    private void handleRequest(
        final long origin,
        final long sequence,
        final int cacheId,
        final int partition,
        final long version,
        final OpType type,
        final long timeoutNs,
        final byte[] key,
        final byte[] value,
        final byte[] expected,
        final OpKey identity,
        final Runnable park)
    {
        final CacheDescriptor cache = topology.cache(cacheId);
        if (cache == null)
        {
            answerError(origin, sequence, ErrorCode.CACHE_DESTROYED, "cache id " + cacheId + " was destroyed");
            return;
        }
        if (partition >= cache.partitions())
        {
            answerError(origin, sequence, ErrorCode.CONFIGURATION_INVALID, "partition " + partition +
                " out of range for cache '" + cache.name() + "'");
            return;
        }
        if (isExchanging() || version > installedMap.version())
        {
            if (park != null)
            {
                park.run();
            }
            else
            {
                answerRemap(origin, sequence);
            }
            return;
        }
        final int myIndex = installedMap.topology().indexOf(incarnation);
        if (version < installedMap.version() || installedMap.rank(cacheId, partition, myIndex) != 0)
        {
            answerRemap(origin, sequence);
            return;
        }
        final LocalPartition lp = localCopy(cacheId, partition);
        // Its identity across resends: a thin client's own, or the submitting member's. Answers go to the member that
        // sent this request (origin, sequence), which a client's resend through another member changes.
        final OpKey opKey = identity != null ? identity : new OpKey(origin, sequence);
        if (type.mayWrite() && opKey.sequence() < originWatermarks.get(opKey.originIncarnation()))
        {
            // A late copy of a request its origin no longer waits for (it was answered or given up, and its outcome
            // may be retired here): applying it now would apply it twice, or after its caller was told it failed.
            return;
        }
        // Refused before the retry memory is asked: a lost partition's copy may be one that was never an owner (a
        // MOVING copy that got the update, unacknowledged, before every owner went), and answering a retry from its
        // memory would acknowledge an update the returning owners do not hold (the simulator found a merge lost so).
        final String lossRefusal = lossRefusal(cache, partition, type.mayWrite());
        if (lossRefusal != null)
        {
            answerError(origin, sequence, ErrorCode.PARTITION_LOST, lossRefusal);
            return;
        }
        if (type.mayWrite() && lp.recent.containsKey(opKey))
        {
            final OpOutcome known = lp.recent.get(opKey);
            if (known != null && !deferredOps.contains(opKey))
            {
                answerOk(origin, sequence, known, 0);
            }
            return;
        }
        if (!membership.hasQuorum())
        {
            // Reads too: a primary without quorum may be one the majority replaced, and its value stale.
            answerError(origin, sequence, ErrorCode.NO_QUORUM, membership.noQuorum(type.name().toLowerCase() + " on cache '" +
                cache.name() + "' (partition " + partition + ")").detail());
            return;
        }
        if (type.mayWrite() && lp.pausedBy != 0)
        {
            // A consistency check holds the partition still until every copy reported: the write waits.
            lp.pausedOps.add(() ->
            {
                if (state == MemberState.ACTIVE && (origin == incarnation ? nearOps.containsKey(sequence) :
                    topology.indexOf(origin) >= 0))
                {
                    handleRequest(origin, sequence, cacheId, partition, version, type, timeoutNs, key, value,
                        expected, identity, null);
                }
            });
            return;
        }
        if (type.mayWrite() && tx.isLocked(cacheId, key))
        {
            // A transaction holds the key: this write waits for it, as an implicit transaction would.
            tx.block(cacheId, key, () ->
            {
                if (state == MemberState.ACTIVE && (origin == incarnation ? nearOps.containsKey(sequence) :
                    topology.indexOf(origin) >= 0))
                {
                    handleRequest(origin, sequence, cacheId, partition, version, type, timeoutNs, key, value,
                        expected, identity, null);
                }
            });
            return;
        }
        final byte[] current = lp.store.get(key);
        final OpOutcome outcome;
        final byte[] newValue;
        switch (type)
        {
            case GET ->
            {
                answerOk(origin, sequence, OpOutcome.value(current), 0);
                return;
            }
            case PUT ->
            {
                outcome = OpOutcome.TRUE;
                newValue = requireValue(value, type);
            }
            case PUT_IF_ABSENT ->
            {
                if (current != null)
                {
                    answerNoOp(lp, opKey, origin, sequence, OpOutcome.FALSE);
                    return;
                }
                outcome = OpOutcome.TRUE;
                newValue = requireValue(value, type);
            }
            case REPLACE, REMOVE_IF_EQUALS ->
            {
                if (current == null || !Arrays.equals(current, requireValue(expected, type)))
                {
                    answerNoOp(lp, opKey, origin, sequence, OpOutcome.FALSE);
                    return;
                }
                outcome = OpOutcome.TRUE;
                newValue = type == OpType.REPLACE ? requireValue(value, type) : null;
            }
            case REMOVE ->
            {
                if (current == null)
                {
                    answerNoOp(lp, opKey, origin, sequence, OpOutcome.FALSE);
                    return;
                }
                outcome = OpOutcome.TRUE;
                newValue = null;
            }
            case MERGE ->
            {
                final BytesMergeOperator operator = cache.mergeOperator() == null ? null :
                    mergeOperators.apply(cache);
                if (operator == null)
                {
                    answerError(origin, sequence, ErrorCode.MERGE_FAILED, cache.mergeOperator() == null ?
                        "cache '" + cache.name() + "' has no merge operator" :
                        "merge operator '" + cache.mergeOperator() + "' of cache '" + cache.name() +
                        "' is not registered on member " + config.memberId());
                    return;
                }
                byte[] merged;
                try
                {
                    merged = operator.merge(key, current, requireValue(value, type));
                }
                catch (final RuntimeException ex)
                {
                    answerError(origin, sequence, ErrorCode.MERGE_FAILED, "merge operator '" +
                        cache.mergeOperator() + "' of cache '" + cache.name() + "' threw " + ex);
                    return;
                }
                if (merged == null && current == null)
                {
                    answerNoOp(lp, opKey, origin, sequence, OpOutcome.value(null));
                    return;
                }
                if (merged != null && (long)key.length + merged.length > config.maxEntryBytes())
                {
                    answerError(origin, sequence, ErrorCode.VALUE_TOO_LARGE, tooLarge("the merged value of " +
                        merged.length + " bytes and its key").detail());
                    return;
                }
                outcome = OpOutcome.value(merged);
                newValue = merged;
            }
            default ->
            {
                answerError(origin, sequence, ErrorCode.CONFIGURATION_INVALID, "operation " + type +
                    " is not a single-key operation");
                return;
            }
        }
        startUpdate(lp, cache, opKey, origin, sequence, outcome, key, newValue, deadlineNs(nowNs, timeoutNs));
    }

    /**
     * What the cache's {@link PartitionLossPolicy} says of an operation on a partition, by the installed map.
     *
     * @param cache     the partition's cache.
     * @param partition the key's partition.
     * @param write     whether the operation may write (a transaction's lock counts as a write).
     * @return why the operation is refused, or null if it may run.
     */
    String lossRefusal(final CacheDescriptor cache, final int partition, final boolean write)
    {
        if (installedMap != null && !installedMap.isActive())
        {
            // Whatever the policy: a copy here may lack acknowledged updates a member still away holds.
            return "partition " + partition + " of cache '" + cache.name() + "' is not served yet: the cluster " +
                "restarted from its data directories and waits for the members of its newest ownership table";
        }
        if (installedMap == null || cache.lossPolicy() == PartitionLossPolicy.IGNORE)
        {
            return null;
        }
        if (installedMap.isLost(cache.cacheId(), partition))
        {
            return "partition " + partition + " of cache '" + cache.name() + "' is lost (every member that owned " +
                "it last is away): " + (write ? "writes" : "reads") + " fail under policy " + cache.lossPolicy() +
                " until one of them returns or an operator resets it";
        }
        if (write && cache.lossPolicy() == PartitionLossPolicy.READ_ONLY_SAFE &&
            installedMap.lostCount(cache.cacheId()) > 0)
        {
            return "cache '" + cache.name() + "' is read-only under policy READ_ONLY_SAFE while " +
                installedMap.lostCount(cache.cacheId()) + " of its partitions are lost " +
                installedMap.lostPartitions(cache.cacheId());
        }
        return null;
    }

    /**
     * Answer a write that changed nothing (a condition did not hold), and remember its outcome like any write's: if the
     * answer is slow and the origin asks again, the retry gets this answer instead of being evaluated anew, which
     * could apply it (a later write made the condition hold) while the first answer, arriving too, says it did not
     * (the simulator found a remove that removed a value its caller was told was absent).
     */
    /**
     * @return the lowest sequence of this member's single-key operations that may still be resent: every lower one
     *         was answered or given up. Sequences only grow, so this only grows (amortized constant time).
     */
    private long opWatermark()
    {
        while (opWatermark < nextSequence && !nearOps.containsKey(opWatermark))
        {
            opWatermark++;
        }
        return opWatermark;
    }

    void noteWatermark(final long origin, final long watermark)
    {
        if (watermark > originWatermarks.get(origin))
        {
            originWatermarks.put(origin, watermark);
        }
        noteClientSeen(origin);
    }

    private void rememberPredecessors(final LocalPartition lp, final Predecessors predecessors)
    {
        predecessors.rememberIn(lp);
        for (final OpKey key : predecessors.keys())
        {
            noteClientSeen(key.originIncarnation());
        }
    }

    void noteClientSeen(final long origin)
    {
        if (ClientProtocol.isClientId(origin))
        {
            clientSeenNs.put(origin, nowNs);
        }
    }

    /**
     * @return whether an operation's origin may still resend operations: a member still in the cluster, or a thin
     *         client heard of within {@link ClientProtocol#CLIENT_OUTCOME_RETENTION_NS}.
     */
    private boolean originMayResend(final long origin)
    {
        if (topology != null && topology.member(origin) != null)
        {
            return true;
        }
        final long seenNs = clientSeenNs.get(origin);
        return seenNs != Long.MIN_VALUE && nowNs - seenNs < ClientProtocol.CLIENT_OUTCOME_RETENTION_NS;
    }

    /** Forget the thin clients not heard of for longer than their outcomes are kept, with their watermarks. */
    private void pruneClients()
    {
        if (nowNs < nextClientPruneNs || clientSeenNs.isEmpty())
        {
            return;
        }
        nextClientPruneNs = nowNs + ClientProtocol.CLIENT_OUTCOME_RETENTION_NS / 8;
        for (final Long2LongHashMap.EntryIterator it = clientSeenNs.entrySet().iterator(); it.hasNext(); )
        {
            it.next();
            if (nowNs - it.getLongValue() >= ClientProtocol.CLIENT_OUTCOME_RETENTION_NS)
            {
                originWatermarks.remove(it.getLongKey());
                it.remove();
            }
        }
    }

    /**
     * Remember an outcome (null: in flight) for retries, and retire those no origin can resend any more.
     */
    private void remember(final LocalPartition lp, final OpKey opKey, final OpOutcome outcome)
    {
        lp.recent.put(opKey, outcome);
        lp.retireOutcomes(originWatermarks, originMayResend);
    }

    private void answerNoOp(final LocalPartition lp, final OpKey opKey, final long replyTo, final long replySequence,
        final OpOutcome outcome)
    {
        remember(lp, opKey, outcome);
        answerOk(replyTo, replySequence, outcome, 0);
    }

    private static byte[] requireValue(final byte[] value, final OpType type)
    {
        if (value == null)
        {
            throw new MalformedMessageException(type + " request without its value");
        }
        return value;
    }

    private void startUpdate(
        final LocalPartition lp,
        final CacheDescriptor cache,
        final OpKey opKey,
        final long replyTo,
        final long replySequence,
        final OpOutcome outcome,
        final byte[] key,
        final byte[] newValue,
        final long deadlineNs)
    {
        final long counter = lp.counter.reserve(1) + 1;
        final PrimaryUpdate update = new PrimaryUpdate(counter, opKey, replyTo, replySequence, outcome, key, newValue,
            installedMap.version(), deadlineNs);
        final long position = walRecords.appendWal(lp, counter, opKey, outcome, key, newValue, Predecessors.NONE);
        lp.store.apply(key, newValue, counter);
        remember(lp, opKey, null);
        lp.inFlight.put(counter, update);
        inFlightUpdates++;
        final int[] owners = installedMap.owners(cache.cacheId(), lp.partition);
        for (int i = 1; i < owners.length; i++)
        {
            update.pendingBackups.add(installedMap.topology().members().get(owners[i]).incarnation());
        }
        sendReplicates(lp, update);
        durabilityQueue.add(new DurabilityWait(position, lp, counter, update, 0, 0, null));
        processDurability();
    }

    private void sendReplicates(final LocalPartition lp, final PrimaryUpdate update)
    {
        update.lastSentNs = nowNs;
        // A backup that misses an earlier update of this key still receives its effect inside this update's value,
        // so it must also learn that update's identity, or a retry of it after failover would apply it twice.
        final List<PrimaryUpdate> earlier = new ArrayList<>(0);
        for (final PrimaryUpdate other : lp.inFlight.values())
        {
            if (other.counter < update.counter && Arrays.equals(other.key, update.key))
            {
                earlier.add(other);
            }
        }
        Predecessors predecessors = Predecessors.NONE;
        if (!earlier.isEmpty())
        {
            final OpKey[] keys = new OpKey[earlier.size()];
            final OpOutcome[] outcomes = new OpOutcome[earlier.size()];
            for (int i = 0; i < keys.length; i++)
            {
                keys[i] = earlier.get(i).opKey;
                outcomes[i] = earlier.get(i).outcome;
            }
            predecessors = new Predecessors(keys, outcomes);
        }
        for (final LongHashSet.LongIterator it = update.pendingBackups.iterator(); it.hasNext(); )
        {
            final long backup = it.nextValue();
            final MemberRecord member = topology.member(backup);
            if (member == null)
            {
                continue;
            }
            header(REPLICATE, backup);
            writer.writeInt(lp.cacheId).writeInt(lp.partition).writeLong(update.topologyVersion)
                .writeLong(update.counter).writeLong(update.opKey.originIncarnation())
                .writeLong(update.opKey.sequence()).writeLong(originWatermarks.get(update.opKey.originIncarnation()))
                .writeBoolean(update.outcome.flag())
                .writeBytes(update.outcome.value()).writeBytes(update.key).writeBytes(update.value);
            predecessors.write(writer);
            send(member, writer);
        }
    }

    /**
     * Once the WAL holds {@code position} durably, close {@code counter} on the copy (LWM may move), then run
     * {@code onDurable} if given.
     */
    void awaitDurable(final long position, final LocalPartition lp, final long counter, final Runnable onDurable)
    {
        durabilityQueue.add(new DurabilityWait(position, lp, counter, null, 0, 0, onDurable));
    }

    /**
     * Close the counters of {@code (start, start + count]} that are still open, without data (a rolled back
     * reservation), and log it so replay closes them too.
     */
    void closeRange(final LocalPartition lp, final long start, final long count)
    {
        final List<CounterRange> closed = new ArrayList<>();
        long runStart = -1;
        for (long c = start + 1; c <= start + count + 1; c++)
        {
            final boolean open = c <= start + count && !lp.counter.isClosed(c);
            if (open && runStart < 0)
            {
                runStart = c - 1;
            }
            else if (!open && runStart >= 0)
            {
                closed.add(new CounterRange(runStart, c - 1 - runStart));
                runStart = -1;
            }
        }
        if (closed.isEmpty())
        {
            return;
        }
        walRecords.walWriter.reset().writeByte(WalRecords.WAL_ROLLBACK).writeInt(lp.cacheId).writeInt(lp.partition).writeInt(closed.size());
        long highest = 0;
        for (final CounterRange range : closed)
        {
            lp.counter.rollback(range.start(), range.count());
            walRecords.walWriter.writeLong(range.start()).writeLong(range.count());
            highest = Math.max(highest, range.start() + range.count());
        }
        historyIndex.note(packCopy(lp.cacheId, lp.partition), wal.appendedPosition(), highest);
        walRecords.appendMeta();
    }

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
        if (timeoutNs <= 0)
        {
            return nowNs;
        }
        final long deadline = nowNs + timeoutNs;
        return deadline < nowNs ? Long.MAX_VALUE : deadline;
    }

    static long packCopy(final int cacheId, final int partition)
    {
        return ((long)cacheId << 32) | (partition & 0xFFFF_FFFFL);
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

    /**
     * The outcome of {@link #readHistory}: whether every counter of the range is present, and the records in counter
     * order (an update carries its key and value, null for a remove; a closed hole carries neither).
     *
     * @param complete whether the retained WAL covers every counter of the range.
     * @param records  in counter order, one per counter found.
     * @param why      when incomplete, what is missing.
     */
    public record HistoryRead(boolean complete, List<HistoryRecord> records, String why)
    {
    }

    /**
     * One counter of a copy's history.
     *
     * @param counter     the update counter.
     * @param key         the key, or null for a hole closed without data.
     * @param value       the value, or null for a remove or a closed hole.
     * @param transaction the transaction that wrote it, or {@link #NO_TRANSACTION}.
     * @param origin      the incarnation of the operation's (or transaction's coordinator's) member.
     * @param sequence    the operation's (or transaction's) sequence there.
     * @param flag        the operation's outcome flag.
     * @param outcome     the operation's outcome value.
     * @param predecessors earlier updates of the key whose effect this value carries (the copy that logged it may
     *                     have missed them, as a hole).
     */
    record HistoryRecord(long counter, byte[] key, byte[] value, long transaction, long origin, long sequence,
        boolean flag, byte[] outcome, Predecessors predecessors)
    {
        /**
         * A hole closed without data.
         *
         * @param counter the update counter.
         */
        HistoryRecord(final long counter)
        {
            this(counter, null, null, WalRecords.NO_TRANSACTION, 0, 0, false, null, Predecessors.NONE);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Recovery.
    // ------------------------------------------------------------------------------------------------------------

    private int processDurability()
    {
        int work = 0;
        final long durable = wal.durablePosition();
        while (!durabilityQueue.isEmpty() && durabilityQueue.peek().position <= durable)
        {
            final DurabilityWait wait = durabilityQueue.poll();
            work++;
            if (wait.lp == null || localCopy(wait.lp.cacheId, wait.lp.partition) != wait.lp)
            {
                // The copy was dropped, or cleared for a full rebalance: its counter is gone, but whoever waits is
                // still answered (a cleared MOVING copy is not trusted until an exchange finds it identical to the
                // owners, so an update the stream does not bring it only delays its ownership).
                if (wait.onDurable != null)
                {
                    wait.onDurable.run();
                }
                else if (wait.lp != null && wait.update == null && wait.primary != 0 &&
                    topology.member(wait.primary) != null)
                {
                    header(REPLICATE_ACK, wait.primary);
                    writer.writeInt(wait.lp.cacheId).writeInt(wait.lp.partition).writeLong(wait.counter)
                        .writeLong(wait.version).writeBoolean(true);
                    send(topology.member(wait.primary), writer);
                }
                continue;
            }
            if (wait.counter > 0)
            {
                wait.lp.counter.apply(wait.counter - 1, 1);
            }
            if (wait.onDurable != null)
            {
                wait.onDurable.run();
            }
            else if (wait.update != null)
            {
                wait.update.durable = true;
                tryComplete(wait.lp, wait.update);
            }
            else
            {
                final MemberRecord primary = topology.member(wait.primary);
                if (primary != null)
                {
                    header(REPLICATE_ACK, wait.primary);
                    writer.writeInt(wait.lp.cacheId).writeInt(wait.lp.partition).writeLong(wait.counter)
                        .writeLong(wait.version).writeBoolean(true);
                    send(primary, writer);
                }
            }
        }
        return work;
    }

    private void tryComplete(final LocalPartition lp, final PrimaryUpdate update)
    {
        if (!update.durable || !update.pendingBackups.isEmpty() || !lp.inFlight.containsKey(update.counter))
        {
            return;
        }
        if (!membership.hasQuorum())
        {
            // Held until quorum returns (then noteQuorum completes it) or the member is expelled (its origin retries
            // through the majority, whose copies know the update if it got that far): a member that may be on the
            // minority side, or paused while the majority moved on, acknowledges nothing.
            updatesHeldForQuorum = true;
            return;
        }
        lp.inFlight.remove(update.counter);
        inFlightUpdates--;
        if (update.backupForgotten && (installedMap == null || installedMap.version() < topology.version()))
        {
            // A backup left before acknowledging: the update is on fewer copies than its map said, and the topology
            // without that backup may exist only here (a member about to be cut off removes a silent backup, then
            // acknowledges alone and is removed itself: seed 0xa9391db lost an acknowledged merge so). Done for the
            // drain, but answered only once every member of that topology installed its map: then the exchange knows
            // this copy. The outcome is remembered now (a full rebalance from this copy carries it, so a retry through
            // the copy it builds is not applied twice), but a retry that reaches this member waits for the answer too.
            lp.recent.remove(update.opKey);
            remember(lp, update.opKey, update.outcome);
            deferredOps.add(update.opKey);
            deferredAnswers.add(new DeferredAnswer(lp, update, topology.version()));
            return;
        }
        acknowledge(lp, update);
    }

    private void acknowledge(final LocalPartition lp, final PrimaryUpdate update)
    {
        // Reported under the map the update was applied in: an answer deferred past a newer map still belongs to it.
        listener.onWriteAcknowledged(lp.cacheId, lp.partition, installedMap.lifeId(), update.topologyVersion,
            incarnation);
        // Re-inserted, so that the memory stays ordered by completion.
        lp.recent.remove(update.opKey);
        remember(lp, update.opKey, update.outcome);
        answerOk(update.replyTo, update.replySequence, update.outcome, 0);
    }

    /**
     * Answer the updates deferred by tryComplete() whose topology's map is installed, while this member holds quorum
     * and still owns the copy as it was (a copy dropped or rebuilt since may have lost the update: its origin retries).
     */
    void answerDeferredUpdates()
    {
        if (deferredAnswers.isEmpty() || installedMap == null || !membership.hasQuorum())
        {
            return;
        }
        for (final java.util.Iterator<DeferredAnswer> it = deferredAnswers.iterator(); it.hasNext(); )
        {
            final DeferredAnswer deferred = it.next();
            if (deferred.topologyVersion > installedMap.version())
            {
                continue;
            }
            it.remove();
            deferredOps.remove(deferred.update.opKey);
            if (localCopy(deferred.lp.cacheId, deferred.lp.partition) == deferred.lp &&
                deferred.lp.counter.isClosed(deferred.update.counter))
            {
                acknowledge(deferred.lp, deferred.update);
            }
        }
    }

    /** An update complete but not answered yet (see tryComplete()). */
    private record DeferredAnswer(LocalPartition lp, PrimaryUpdate update, long topologyVersion)
    {
    }

    void completeUpdatesHeldForQuorum()
    {
        if (inFlightUpdates == 0)
        {
            return;
        }
        for (final LocalPartition[] local : allCopies())
        {
            for (final LocalPartition lp : local)
            {
                if (lp != null && !lp.inFlight.isEmpty())
                {
                    for (final PrimaryUpdate update : new ArrayList<>(lp.inFlight.values()))
                    {
                        tryComplete(lp, update);
                    }
                }
            }
        }
    }

    void forgetBackup(final long departed)
    {
        for (final LocalPartition[] local : allCopies())
        {
            for (final LocalPartition lp : local)
            {
                if (lp == null || lp.inFlight.isEmpty())
                {
                    continue;
                }
                for (final PrimaryUpdate update : new ArrayList<>(lp.inFlight.values()))
                {
                    if (update.pendingBackups.remove(departed))
                    {
                        update.backupForgotten = true;
                        tryComplete(lp, update);
                    }
                }
            }
        }
    }

    private int retransmitUpdates()
    {
        if (inFlightUpdates == 0)
        {
            return 0;
        }
        int work = 0;
        for (final LocalPartition[] local : allCopies())
        {
            for (final LocalPartition lp : local)
            {
                if (lp == null || lp.inFlight.isEmpty())
                {
                    continue;
                }
                for (final PrimaryUpdate update : new ArrayList<>(lp.inFlight.values()))
                {
                    if (nowNs - update.lastSentNs >= retryIntervalNs && !update.pendingBackups.isEmpty())
                    {
                        sendReplicates(lp, update);
                        work++;
                    }
                }
            }
        }
        return work;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Operations: backup side.
    // ------------------------------------------------------------------------------------------------------------

    private void onReplicate(final long sender, final int source, final DirectBuffer buffer, final int offset,
        final int length)
    {
        final int cacheId = reader.readInt("cacheId");
        final int partition = reader.readInt("partition", 0, 65_535);
        final long version = reader.readLong("version");
        final long counter = reader.readLong("counter");
        final long origin = reader.readLong("origin");
        final long sequence = reader.readLong("sequence");
        noteWatermark(origin, reader.readLong("watermark"));
        final boolean flag = reader.readBoolean("flag");
        final byte[] outcomeValue = reader.readBytes("outcomeValue");
        final byte[] key = reader.readBytes("key");
        final byte[] value = reader.readBytes("value");
        final Predecessors predecessors = Predecessors.read(reader);
        if (key == null || counter <= 0)
        {
            throw new MalformedMessageException("replicate without a key or with counter " + counter);
        }
        if ((installedMap == null || version > installedMap.version()) && version < topology.version())
        {
            // A map this member skipped: only the current topology's map is ever installed, so this update can never
            // be applied here. Say so, or the primary would wait for this backup through every exchange to come (a
            // joiner that had installed no map yet parked it for good, and the primary's drain held the next
            // exchange forever: persistent seed 0x17662ab06); the exchange then finds this copy behind and drops it.
            header(REPLICATE_ACK, sender);
            writer.writeInt(cacheId).writeInt(partition).writeLong(counter).writeLong(version).writeBoolean(false);
            send(topology.member(sender), writer);
            return;
        }
        if (installedMap == null || version > installedMap.version())
        {
            park(REPLICATE, sender, source, buffer, offset, length, retryIntervalNs * 4);
            return;
        }
        if (version < installedMap.version())
        {
            return;
        }
        final int senderIndex = installedMap.topology().indexOf(sender);
        if (installedMap.rank(cacheId, partition, senderIndex) != 0)
        {
            return;
        }
        final LocalPartition lp = localCopy(cacheId, partition);
        if (lp == null)
        {
            return;
        }
        if (lp.counter.isClosed(counter))
        {
            header(REPLICATE_ACK, sender);
            writer.writeInt(cacheId).writeInt(partition).writeLong(counter).writeLong(version).writeBoolean(true);
            send(topology.member(sender), writer);
            return;
        }
        final OpKey opKey = new OpKey(origin, sequence);
        final long position = walRecords.appendWal(lp, counter, opKey, new OpOutcome(flag, outcomeValue, 0), key, value,
            predecessors);
        lp.store.apply(key, value, counter);
        rememberPredecessors(lp, predecessors);
        remember(lp, opKey, new OpOutcome(flag, outcomeValue, 0));
        durabilityQueue.add(new DurabilityWait(position, lp, counter, null, sender, version, null));
        processDurability();
    }

    private void onReplicateAck(final long sender)
    {
        final int cacheId = reader.readInt("cacheId");
        final int partition = reader.readInt("partition", 0, 65_535);
        final long counter = reader.readLong("counter");
        final long version = reader.readLong("version");
        final boolean applied = reader.readBoolean("applied");
        final LocalPartition lp = localCopy(cacheId, partition);
        if (lp == null)
        {
            return;
        }
        final PrimaryUpdate update = lp.inFlight.get(counter);
        if (update != null && update.pendingBackups.remove(sender))
        {
            if (!applied)
            {
                lp.refusedBackups.add(sender);
                listener.onEvent("member " + config.memberId() + ": backup " + Long.toHexString(sender) +
                    " skipped topology " + version + " and cannot apply update " + counter + " of cache id " +
                    cacheId + " partition " + partition + "; its copy will be dropped at the next exchange");
            }
            tryComplete(lp, update);
        }
    }

    private void onSizeRequest(final long sender)
    {
        final long sequence = reader.readLong("sequence");
        final int cacheId = reader.readInt("cacheId");
        final long version = reader.readLong("version");
        answerSize(sender, sequence, cacheId, version);
    }

    private void answerSize(final long origin, final long sequence, final int cacheId, final long version)
    {
        if (topology.cache(cacheId) == null)
        {
            answerError(origin, sequence, ErrorCode.CACHE_DESTROYED, "cache id " + cacheId + " was destroyed");
            return;
        }
        if (isExchanging() || version != installedMap.version())
        {
            answerRemap(origin, sequence);
            return;
        }
        long count = 0;
        final LocalPartition[] local = copies.get(cacheId);
        final int myIndex = installedMap.topology().indexOf(incarnation);
        if (local != null)
        {
            for (final LocalPartition lp : local)
            {
                if (lp != null && installedMap.rank(cacheId, lp.partition, myIndex) == 0)
                {
                    count += lp.store.size();
                }
            }
        }
        answerOk(origin, sequence, new OpOutcome(true, null, count), version);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Answers.
    // ------------------------------------------------------------------------------------------------------------

    private void answerOk(final long origin, final long sequence, final OpOutcome outcome, final long version)
    {
        header(RESPONSE, origin);
        writer.writeLong(sequence).writeByte(STATUS_OK).writeBoolean(outcome.flag()).writeBytes(outcome.value())
            .writeLong(outcome.count()).writeLong(version);
        answer(origin);
    }

    private void answerRemap(final long origin, final long sequence)
    {
        header(RESPONSE, origin);
        writer.writeLong(sequence).writeByte(STATUS_REMAP)
            .writeLong(installedMap == null ? 0 : Math.max(installedMap.version(), topology.version()));
        answer(origin);
    }

    private void answerError(final long origin, final long sequence, final ErrorCode code, final String message)
    {
        header(RESPONSE, origin);
        writer.writeLong(sequence).writeByte(STATUS_ERROR).writeInt(code.code()).writeString(message);
        answer(origin);
    }

    private void answer(final long origin)
    {
        if (origin == incarnation)
        {
            final byte[] bytes = copyOut();
            reader.wrap(new UnsafeBuffer(bytes), HEADER_LENGTH, bytes.length - HEADER_LENGTH);
            onResponse(incarnation);
            return;
        }
        final MemberRecord member = topology.member(origin);
        if (member != null)
        {
            send(member, writer);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Messages.
    // ------------------------------------------------------------------------------------------------------------

    void header(final int type, final long destinationIncarnation)
    {
        writer.reset().writeByte(type).writeByte(PROTOCOL_VERSION).writeLong(incarnation)
            .writeLong(destinationIncarnation);
    }

    private void send(final MemberRecord member, final int type)
    {
        header(type, member.incarnation());
        send(member, writer);
    }

    void send(final MemberRecord member, final MessageWriter message)
    {
        transport.send(transport.endpointOf(member.address()), message.buffer(), 0, message.length());
    }

    private void onMessage(final int source, final DirectBuffer buffer, final int offset, final int length)
    {
        try
        {
            reader.wrap(buffer, offset, length);
            final int type = reader.readByte("type");
            final int version = reader.readByte("protocolVersion");
            final long sender = reader.readLong("sender");
            final long destination = reader.readLong("destination");
            if (version != PROTOCOL_VERSION)
            {
                throw new MalformedMessageException("protocol version " + version + ", expected " + PROTOCOL_VERSION);
            }
            if (destination != 0 && destination != incarnation)
            {
                return;
            }
            switch (type)
            {
                case JOIN_REQUEST -> joining.onJoinRequest();
                case JOIN_PENDING -> joining.onJoinPending();
                case JOIN_REJECTED -> joining.onJoinRejected(destination);
                case TOPOLOGY -> membership.onTopology(sender);
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
            if (type == HEARTBEAT)
            {
                // A member of another cluster probing for merges (see probeForOtherClusters()) gets the same answer.
                // Every member says so, not only the coordinator: a member the majority removed while it was paused or
                // cut off may list only non-coordinators (it took itself for coordinator of its stale topology), and
                // would otherwise never learn that it must rejoin. The version keeps a lagging member's answer from
                // sending a newer joiner away.
                header(NOT_MEMBER, sender);
                writer.writeLong(topology.version()).writeLong(membership.clusterLifeId()).writeInt(topology.members().size())
                    .writeLong(topology.coordinator().incarnation());
                transport.send(source, writer.buffer(), 0, writer.length());
            }
            else if (type == NOT_MEMBER)
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
            case HEARTBEAT -> membership.onHeartbeat(sender);
            case NOT_MEMBER -> membership.onNotMember(sender);
            case LEAVE -> membership.onLeave(sender);
            case EXCHANGE_REPORT -> mapExchange.onExchangeReport(sender);
            case REPORT_ACK -> mapExchange.onReportAck();
            case PARTITION_MAP -> mapExchange.onPartitionMap();
            case MAP_INSTALLED -> mapExchange.onMapInstalled(sender, reader.readLong("version"));
            case REQUEST -> onRequest(sender, source, buffer, offset, length);
            case RESPONSE -> onResponse(sender);
            case REPLICATE -> onReplicate(sender, source, buffer, offset, length);
            case REPLICATE_ACK -> onReplicateAck(sender);
            case SIZE_REQUEST -> onSizeRequest(sender);
            case CACHE_ADMIN -> onCacheAdmin(sender);
            case TxManager.TX_LOCK -> tx.onLock(sender);
            case TxManager.TX_PREPARE -> tx.onPrepare(sender);
            case TxManager.TX_COMMIT -> tx.onCommit(sender);
            case TxManager.TX_ROLLBACK -> tx.onRollback(sender);
            case TxManager.TX_ANSWER -> tx.onAnswer(sender);
            case TxManager.TX_BACKUP -> tx.onBackup(sender);
            case TxManager.TX_BACKUP_ACK -> tx.onBackupAck(sender);
            case TxManager.TX_STATUS -> tx.onStatus(sender);
            case TxManager.TX_STATUS_ANSWER -> tx.onStatusAnswer(sender);
            case TxManager.TX_QUERY -> tx.onQuery(sender);
            case TxManager.TX_QUERY_ANSWER -> tx.onQueryAnswer(sender);
            case Rebalancer.REBALANCE_DEMAND -> rebalancer.onDemand(sender);
            case Rebalancer.REBALANCE_SUPPLY -> rebalancer.onSupply(sender);
            case Rebalancer.REBALANCE_DONE -> mapExchange.onRebalanceDone(sender);
            case ConsistencyChecker.VERIFY_REQUEST -> checker.onRequest(sender);
            case ConsistencyChecker.VERIFY_COPY -> checker.onCopyRequest(sender);
            case ConsistencyChecker.VERIFY_COPY_ANSWER -> checker.onCopyAnswer(sender);
            case ConsistencyChecker.VERIFY_ANSWER -> checker.onAnswer(sender);
            case CACHE_ADMIN_RESPONSE -> onAdminAnswer(reader.readLong("sequence"), reader.readInt("errorCode"),
                reader.readString("message"));
            default -> throw new MalformedMessageException("unknown message type " + type);
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

    private GridException notActive()
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
        final List<NearOp> ops = new ArrayList<>(nearOps.values());
        for (final NearOp op : ops)
        {
            completeNear(op, null, error);
        }
        final List<AdminOp> admins = new ArrayList<>(adminOps.values());
        adminOps.clear();
        for (final AdminOp op : admins)
        {
            op.callback.onFailure(error);
        }
    }

    void failOperationsOnCache(final CacheDescriptor cache)
    {
        final List<NearOp> ops = new ArrayList<>(nearOps.values());
        for (final NearOp op : ops)
        {
            if (op.cache.cacheId() == cache.cacheId())
            {
                completeNear(op, null, new CacheDestroyedException("cache '" + cache.name() +
                    "' was destroyed while a " + op.type.name().toLowerCase() + " on it was in flight"));
            }
        }
    }

    void changeState(final MemberState to, final String why)
    {
        final MemberState from = state;
        state = to;
        membership.quorumCheckedNs = Long.MIN_VALUE;
        listener.onStateChange(from, to, why);
    }

    // ------------------------------------------------------------------------------------------------------------
    // State records.
    // ------------------------------------------------------------------------------------------------------------

    static final class NearOp
    {
        final long sequence;
        final CacheDescriptor cache;
        final OpType type;
        final byte[] key;
        final byte[] value;
        final byte[] expected;
        final int partition;
        final long submittedNs;
        final long deadlineNs;
        final OpCallback callback;
        final LongHashSet sizeAwaiting = new LongHashSet();
        long sizeSum;
        boolean parked;
        MemberRecord target;
        /** How often it was sent to a primary (or handled here as one). */
        int sends;
        long sentVersion;
        long nextResendNs;

        /** A thin client's identity for the operation (null: this member's own, by its sequence). */
        OpKey identity;
        long identityWatermark;

        NearOp(final long sequence, final CacheDescriptor cache, final OpType type, final byte[] key,
            final byte[] value, final byte[] expected, final int partition, final long submittedNs,
            final long deadlineNs, final OpCallback callback)
        {
            this.sequence = sequence;
            this.cache = cache;
            this.type = type;
            this.key = key;
            this.value = value;
            this.expected = expected;
            this.partition = partition;
            this.submittedNs = submittedNs;
            this.deadlineNs = deadlineNs;
            this.callback = callback;
        }
    }

    private static final class AdminOp
    {
        final long sequence;
        final int kind;
        final String name;
        final CacheDescriptor descriptor;
        final long submittedNs;
        final long deadlineNs;
        final OpCallback callback;
        long nextResendNs;
        /** {@link #ADMIN_BASELINE} only: the change, the members it names and the auto-adjust timeout. */
        int baselineChange;
        List<String> baselineIds = List.of();
        long baselineTimeoutNs;

        AdminOp(final long sequence, final int kind, final String name, final CacheDescriptor descriptor,
            final long submittedNs, final long deadlineNs, final OpCallback callback)
        {
            this.sequence = sequence;
            this.kind = kind;
            this.name = name;
            this.descriptor = descriptor;
            this.submittedNs = submittedNs;
            this.deadlineNs = deadlineNs;
            this.callback = callback;
        }
    }

    record PendingAdmin(long origin, long sequence, long targetVersion)
    {
    }

    record ParkedMessage(int type, long sender, int source, byte[] bytes, long deadlineNs)
    {
    }

    private record DurabilityWait(long position, LocalPartition lp, long counter, PrimaryUpdate update, long primary,
        long version, Runnable onDurable)
    {
    }

    /**
     * @return the id of the newest checkpoint this member committed or recovered from, or 0.
     */
    public long committedCheckpointId()
    {
        return checkpointer.committedCheckpointId();
    }

    /**
     * @param cacheId   of the cache.
     * @param partition of the cache.
     * @return the counter after which this member's WAL holds the copy's complete history (0: all of it), or -1 if
     *         this member holds no copy.
     */
    public long historyFrom(final int cacheId, final int partition)
    {
        return checkpointer.historyFrom(cacheId, partition);
    }

    /**
     * Stop WAL release until {@link #unpinHistory()}, so that a history reader never loses what it reads.
     */
    public void pinHistory()
    {
        checkpointer.pinHistory();
    }

    /**
     * Undo one {@link #pinHistory()}; release resumes at the next checkpoint when no pin is left.
     */
    public void unpinHistory()
    {
        checkpointer.unpinHistory();
    }

    /**
     * @return how many history pins are held.
     */
    public int historyPins()
    {
        return checkpointer.historyPins();
    }

    /**
     * Read one copy's history in a counter range from the retained WAL, in counter order. Only the copy's current life
     * counts: records before the copy was last dropped here belong to another lineage. Runs on the engine's thread and
     * scans the retained WAL (a sparse counter index would avoid the scan); history is pinned meanwhile.
     *
     * @param cacheId       of the cache.
     * @param partition     of the cache.
     * @param fromExclusive the last counter the reader has.
     * @param toInclusive   the last counter wanted.
     * @return the records, and whether the range is complete.
     */
    public MemberEngine.HistoryRead readHistory(final int cacheId, final int partition, final long fromExclusive,
        final long toInclusive)
    {
        return checkpointer.readHistory(cacheId, partition, fromExclusive, toInclusive);
    }

    /**
     * @return the number of WAL records replayed when this engine started.
     */
    public long recoveredRecords()
    {
        return recovery.recoveredRecords();
    }
}
