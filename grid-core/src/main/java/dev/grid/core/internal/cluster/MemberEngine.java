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

    /*
     * WAL records: a type byte, then fields in the wire codec's encoding. Replayed in order at start, they rebuild every
     * copy's store and counter exactly (gaps and closed holes too) and the caches the member knew.
     */
    /**
     * An update: cacheId, partition, counter, transaction id ({@link #NO_TRANSACTION} outside transactions), origin
     * incarnation, sequence, key, value (null: a remove), outcome flag and value, then the count and (origin, sequence,
     * flag, value) of the predecessors it carries, then the origin's watermark as known here when it was logged (the
     * lowest sequence the origin may still resend; {@code Long.MIN_VALUE}: none known), so that recovery keeps the
     * outcomes an origin may still resend and no others.
     */
    static final int WAL_DATA = 1;
    /** The transaction id of an update made outside a transaction. */
    static final long NO_TRANSACTION = 0;
    /** Holes closed without data: cacheId, partition, count, then (start, count) per range. */
    static final int WAL_ROLLBACK = 2;
    /** This member no longer holds the copy: cacheId, partition. */
    static final int WAL_COPY_DROPPED = 3;
    /** A cache this member knows: its descriptor. */
    static final int WAL_CACHE = 4;
    /** A cache destroyed, with every copy of it here: cacheId. */
    static final int WAL_CACHE_DESTROYED = 5;
    /** Every copy dropped (the member rejoined under a new incarnation). */
    static final int WAL_ALL_DROPPED = 6;
    /**
     * A checkpoint committed: its id and the position after which its recovery replays. Informational: recovery takes
     * both from the checkpoint's manifest, which is the authority, and skips this record.
     */
    static final int WAL_CHECKPOINT = 7;
    /** The copy follows a new epoch of its partition's lineage: cacheId, partition, epoch id, floor. */
    static final int WAL_EPOCH = 8;
    /**
     * An entry a full rebalance streamed: cacheId, partition, counter, key, value. Installed if newer than what the
     * key holds; closes no counter (the entry's counter may since have been overwritten elsewhere).
     */
    static final int WAL_REBALANCE_ENTRY = 9;
    /**
     * A full rebalance streamed every entry: cacheId, partition, target counter. Every counter up to the target that
     * is still open closes without data, and the copy's history starts at the target.
     */
    static final int WAL_REBALANCE_DONE = 10;
    /**
     * A supplier's memory of a partition a rebalance brought: cacheId, partition, count, then per item a
     * {@link Rebalancer.MemoryItem} (an operation's outcome, or a finished transaction part).
     */
    static final int WAL_REBALANCE_MEMORY = 11;
    /** The cluster's baseline changed: the new one (a cluster restarting from its data directories keeps it). */
    static final int WAL_BASELINE = 12;
    /** The owners of every partition changed in an installed map: the whole {@link OwnershipTable}. */
    static final int WAL_OWNERSHIP = 13;
    /**
     * A transaction part prepared on this copy (primary or backup), logged before the prepare is acknowledged, so that
     * recovery after any crash, the whole cluster's included, finds it: coordinator, sequence, cacheId, partition,
     * priority, the participants, and the writes (count, then key and value each).
     */
    static final int WAL_TX_PREPARE = 14;
    private static final long[] NO_PREPARES = new long[0];
    /** A prepared transaction part finished: coordinator, sequence, cacheId, partition, committed. */
    static final int WAL_TX_END = 15;
    /**
     * A prepare this member recovered from its WAL is void, its outcome unknown here: coordinator, sequence, cacheId,
     * partition. Logged when a rebalance's supplier, an owner of the partition, holds no such prepare open.
     */
    static final int WAL_TX_VOID = 16;
    /** The identity of records a historical rebalance wrote: no operation of this life, so no retry memory. */
    private static final OpKey REBALANCED_OP = new OpKey(0, 0);

    /** Default interval between resends of an unanswered request, report or map. */
    public static final long RETRY_INTERVAL_DEFAULT_NS = TimeUnit.MILLISECONDS.toNanos(500);
    /** How long a cache create or destroy may take before it fails with a timeout. */
    public static final long ADMIN_TIMEOUT_DEFAULT_NS = TimeUnit.SECONDS.toNanos(30);

    final MemberConfiguration config;
    private final Transport transport;
    private final Wal wal;
    private final RandomSource random;
    private final Function<CacheDescriptor, BytesMergeOperator> mergeOperators;
    final EngineListener listener;
    final long retryIntervalNs;
    private final long bootstrapDelayNs;
    private final String localAddress;
    private final List<String> seedAddresses = new ArrayList<>();
    private final boolean isSeed;

    final MessageWriter writer = new MessageWriter();
    private final MessageWriter walWriter = new MessageWriter();
    final MessageReader reader = new MessageReader();

    private MemberState state = MemberState.JOINING;
    private GridException failure;
    long nowNs;
    long incarnation;
    private MemberRecord self;

    // Joining.
    private long joinStartedNs;
    private long joinDeadlineNs;
    private long nextJoinSendNs;
    /**
     * When a member of a running cluster last told this joiner the cluster exists; {@link Long#MIN_VALUE} if never.
     * It counts for a failure-detection timeout only: that cluster may stop before it admits the joiner (a seed that
     * remembered it forever never started the cluster again: the simulator found a member failing to join so).
     */
    private long heardActiveClusterNs = Long.MIN_VALUE;
    /**
     * The active member this joiner joins through (the first that answered "a cluster exists"), and when it last
     * answered: while it answers, join requests go to it alone and name it, so that only its side of a split counts
     * this joiner toward a quorum (see admitWithoutQuorum()).
     */
    private String joinVia;
    private long joinViaHeardNs = Long.MIN_VALUE;
    private final Map<String, Long> joiningSeedsHeardNs = new HashMap<>();
    /** Members (by id) heard starting too, while this one joins, and when: a seed bootstraps only with a quorum. */
    private final Map<String, Long> joiningMembersHeardNs = new HashMap<>();
    /** Joiners a member without quorum holds, by address (see admitWithoutQuorum). */
    private final Map<String, WaitingJoiner> waitingJoiners = new TreeMap<>();

    // Membership.
    Topology topology;
    private final Long2LongHashMap lastHeardNs = new Long2LongHashMap(Long.MIN_VALUE);
    private long nextHeartbeatNs;

    // Quorum (see hasQuorum()).
    /** Per member: the send time, on this member's clock, of the newest of this member's heartbeats it echoed back. */
    private final Long2LongHashMap echoedNs = new Long2LongHashMap(Long.MIN_VALUE);
    /** Per member: the send time, on its clock, of its newest heartbeat here: echoed back in this member's. */
    private final Long2LongHashMap peerHeartbeatNs = new Long2LongHashMap(Long.MIN_VALUE);
    /** Per member: whom its newest heartbeat here names as coordinator (see holdsCoordinatorVotes()). */
    private final Long2LongHashMap coordinatorVotes = new Long2LongHashMap(Long.MIN_VALUE);
    /** Updates complete but not answered until their topology's map is installed (see tryComplete()). */
    private final List<DeferredAnswer> deferredAnswers = new ArrayList<>();
    /** The operations of deferredAnswers: a retry of one is not answered from the memory before them. */
    private final Set<OpKey> deferredOps = new HashSet<>();
    /** When the coordinator next probes the seeds for another cluster (see probeForOtherClusters()). */
    private long nextMergeProbeNs;
    /** Whether an update waits, complete but unacknowledged, for quorum (see tryComplete()). */
    private boolean updatesHeldForQuorum;
    /** Per member: when this member adopted a topology that added it (its echoes are awaited from then). */
    private final Long2LongHashMap addedNs = new Long2LongHashMap(Long.MIN_VALUE);
    /** How fresh an echo must be to count toward the quorum: failure detection less one heartbeat interval. */
    private final long quorumLeaseNs;
    /** {@link #hasQuorum()} as of {@link #quorumCheckedNs}; recomputed when time moves or an echo arrives. */
    private boolean quorumHeld;
    private long quorumCheckedNs = Long.MIN_VALUE;
    /** When this member last went without quorum while active ({@link Long#MIN_VALUE}: it holds quorum). */
    private long quorumMissingSinceNs = Long.MIN_VALUE;
    private long writesRefusedForQuorum;
    private long readsWithoutQuorum;
    private final ArrayDeque<String> quorumHistory = new ArrayDeque<>();

    // Exchange, member side.
    PartitionMap installedMap;
    private PartitionMap pendingMap;
    private List<byte[]> reportChunks;
    private long reportAckedVersion;
    private long nextReportSendNs;

    // Exchange, coordinator side.
    private CoordinatorExchange exchange;
    private final List<PendingAdmin> pendingAdmins = new ArrayList<>();

    // Data.
    private final Int2ObjectHashMap<LocalPartition[]> copies = new Int2ObjectHashMap<>();
    // Checkpoints (see CheckpointState).
    private final CheckpointStore checkpoints;
    private CheckpointState checkpointState = CheckpointState.IDLE;
    private long checkpointId;
    private long committedCheckpointId;
    private long nextCheckpointNs;
    private long appendsSinceCheckpoint;
    private final LongArrayList checkpointCursor = new LongArrayList();
    private int checkpointCursorIndex;
    private long checkpointRequiredDurable;
    private long checkpointReplayFrom;
    private final MessageWriter manifestWriter = new MessageWriter();
    // WAL history (see HistoryBoundary): committed checkpoints not yet released, and per copy the counter after which
    // its history is complete in the retained WAL (absent: from its start).
    private final Long2LongHashMap checkpointHwms = new Long2LongHashMap(-1);
    private final ArrayDeque<HistoryBoundary> historyBoundaries = new ArrayDeque<>();
    private final Long2LongHashMap historyFrom = new Long2LongHashMap(-1);
    private long totalAppends;
    private long releasedPosition;
    private int historyPins;
    // Recovery: per copy (packed cache and partition), the WAL position its checkpoint image already reflects.
    private final Long2LongHashMap imageReplayFrom = new Long2LongHashMap(-1);
    // During recovery: copies a replayed full rebalance filled, with the counter their history starts after.
    private final Long2LongHashMap rebalancedHistoryFrom = new Long2LongHashMap(-1);
    private long replayPosition;
    private int recoveredImages;
    private final Long2ObjectHashMap<LocalPartition> imagedCopies = new Long2ObjectHashMap<>();

    /** The caches the WAL knows, by id: recovered at start, then kept in step with installed maps. */
    private final Int2ObjectHashMap<CacheDescriptor> walCaches = new Int2ObjectHashMap<>();
    /** Where in the WAL each copy's recent counters lie, so that a history read scans only that tail. */
    private final HistoryIndex historyIndex = new HistoryIndex();
    /** Durable: the last owners of every partition, as of the last map installed while the cluster was active. */
    private final OwnershipTable ownership = new OwnershipTable();
    /**
     * While the coordinator decides: whose last owners it trusts (its own table, or at activation the newest table
     * a member reported).
     */
    private OwnershipTable decisionOwners = ownership;
    /** While the coordinator decides: whether the installed map's owners count (the cluster was active). */
    private boolean decidingActive;
    /** Set by {@link #decidePartition} while it runs: a last owner of the lost partition it decides is back. */
    private boolean ownerBack;
    /** Set by {@link #decidePartition} while it runs: see {@link #restartedOwners}. */
    private LongHashSet restartedOwners;
    /** Set by {@link #decidePartition} while it runs: false while a lost partition waits for some of its last owners. */
    private boolean lastOwnersBack = true;
    private long previousReplayPosition;
    /** Coordinator only: an operator asked to activate without the members still away (see {@link #activate}). */
    private boolean activationForced;
    /** During recovery: per origin incarnation, the highest watermark the replayed WAL records carry. */
    private final Long2LongHashMap replayWatermarks = new Long2LongHashMap(Long.MIN_VALUE);
    /** Attributes this member adds to its configured ones (where it serves clients), see {@link #advertise}. */
    private final Map<String, String> advertised = new TreeMap<>();
    /** The baseline the WAL knows: recovered at start, then kept in step with installed maps. */
    private Baseline walBaseline = Baseline.NONE;
    /** Coordinator: since when membership differs from a baseline that auto-adjusts; -1 while it does not. */
    private long baselineDifferentSinceNs = -1;
    /** Coordinator: the membership that {@link #baselineDifferentSinceNs} was measured against. */
    private List<MemberRecord> baselineDifferentMembers = List.of();
    /** Set by {@link #partitionLost} while {@link #decidePartition} runs: the partition it decides was lost now. */
    private boolean lostNow;
    private long recoveredRecords;
    int inFlightUpdates;
    private final ArrayDeque<DurabilityWait> durabilityQueue = new ArrayDeque<>();
    private final List<ParkedMessage> parkedMessages = new ArrayList<>();
    /** Transactions, as coordinator and participant. */
    private final TxManager tx = new TxManager(this);
    private final Rebalancer rebalancer = new Rebalancer(this);
    private final ConsistencyChecker checker = new ConsistencyChecker(this);
    /** Messages this member sent itself (a transaction whose coordinator is also a primary), handled in doWork. */
    private final ArrayDeque<byte[]> selfInbox = new ArrayDeque<>();

    // Near operations.
    long nextSequence = 1;
    private final Long2ObjectHashMap<NearOp> nearOps = new Long2ObjectHashMap<>();
    /**
     * Per origin incarnation, the lowest sequence it may still resend (every operation of it below was answered or
     * given up), as its requests and the primaries' replicates carry it: outcomes below it are retired.
     */
    private final Long2LongHashMap originWatermarks = new Long2LongHashMap(Long.MIN_VALUE);
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
        this.checkpoints = checkpoints;
        this.config = config.conclude();
        this.transport = transport;
        this.wal = wal;
        this.random = random;
        this.mergeOperators = mergeOperators;
        this.listener = listener;
        this.retryIntervalNs = retryIntervalNs;
        this.bootstrapDelayNs = 5 * config.heartbeatIntervalNs();
        this.quorumLeaseNs = this.config.failureDetectionTimeoutNs() - this.config.heartbeatIntervalNs();
        this.localAddress = transport.localAddress();
        boolean seed = false;
        for (final String address : config.seeds())
        {
            if (address.equals(localAddress))
            {
                seed = true;
            }
            else
            {
                seedAddresses.add(address);
            }
        }
        this.isSeed = seed || seedAddresses.isEmpty();
        this.nowNs = nowNs;
        recover();
        this.nextCheckpointNs = nowNs + config.checkpointIntervalNs();
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
        return hasInstalledCurrentMap() && hasQuorum();
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
        return new QuorumStatus(quorumHave(), quorumNeed(), hasQuorum(), writesRefusedForQuorum,
            readsWithoutQuorum, List.copyOf(quorumHistory));
    }

    /**
     * @return true once an {@link MemberState#EXPELLED} engine has made its WAL durable and finished its checkpoint:
     *         its host may start a new engine on the same WAL and checkpoints, which recovers and rejoins.
     */
    public boolean isReadyForRestart()
    {
        return state == MemberState.EXPELLED && wal.durablePosition() >= wal.appendedPosition() &&
            checkpointState == CheckpointState.IDLE;
    }

    /**
     * @return true if settled and nothing is in flight: no own operation, no update waiting for backups or WAL.
     */
    public boolean isQuiescent()
    {
        return isSettled() && nearOps.isEmpty() && adminOps.isEmpty() && inFlightUpdates == 0 && tx.isIdle() &&
            installedMap.plans().isEmpty() && rebalancer.isIdle() && checker.isIdle() &&
            durabilityQueue.isEmpty() && parkedMessages.isEmpty() &&
            (exchange == null || exchange.isFinished());
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
            " reportAcked=" + reportAckedVersion + " reportBuilt=" + (reportChunks != null) + " coordinatorExchange=" +
            (exchange == null ? "-" : "v" + exchange.topology.version() + (exchange.map != null ? " map sent" : "") +
            (exchange.isFinished() ? " finished" : "")) + describeInFlight();
    }

    private String describeInFlight()
    {
        if (inFlightUpdates == 0)
        {
            return "";
        }
        final StringBuilder out = new StringBuilder(" quorum=").append(hasQuorum()).append(" inFlight=[");
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
            lp.store.contentHash(), historyFrom(cacheId, partition), lp.state, primary);
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
            return checkpointDuty();
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
        work += checkpointDuty();
        if (state == MemberState.JOINING)
        {
            work += joinDuty();
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
        joinStartedNs = nowNs;
        joinDeadlineNs = nowNs + config.joinTimeoutNs();
        nextJoinSendNs = nowNs;
        heardActiveClusterNs = Long.MIN_VALUE;
        joiningSeedsHeardNs.clear();
        joinVia = null;
        joinViaHeardNs = Long.MIN_VALUE;
        deferredAnswers.clear();
        deferredOps.clear();
        joiningMembersHeardNs.clear();
        echoedNs.clear();
        peerHeartbeatNs.clear();
        coordinatorVotes.clear();
        addedNs.clear();
        quorumCheckedNs = Long.MIN_VALUE;
        quorumMissingSinceNs = Long.MIN_VALUE;
        topology = null;
        installedMap = null;
        pendingMap = null;
        reportChunks = null;
        reportAckedVersion = 0;
        exchange = null;
        pendingAdmins.clear();
        if (!keepCopies)
        {
            // Images of this life's copies are worthless now; the next checkpoint starts afresh, and history
            // boundaries of the old copies no longer describe anything.
            checkpointState = CheckpointState.IDLE;
            historyBoundaries.clear();
            historyFrom.clear();
        }
        if (!keepCopies && !copies.isEmpty())
        {
            copies.clear();
            walCaches.clear();
            walWriter.reset().writeByte(WAL_ALL_DROPPED);
            appendMeta();
        }
        inFlightUpdates = 0;
        durabilityQueue.clear();
        parkedMessages.clear();
        lastHeardNs.clear();
        if (state != MemberState.JOINING)
        {
            changeState(MemberState.JOINING, why);
        }
    }

    private int joinDuty()
    {
        final boolean heardActiveCluster = heardActiveClusterNs != Long.MIN_VALUE &&
            nowNs - heardActiveClusterNs <= config.failureDetectionTimeoutNs();
        if (nowNs >= joinDeadlineNs && !(isSeed && !heardActiveCluster))
        {
            failure = new JoinFailedException(ErrorCode.JOIN_FAILED, "member " + config.memberId() + " reached no " +
                "seed of " + config.seeds() + " within " + TimeUnit.NANOSECONDS.toMillis(config.joinTimeoutNs()) +
                " ms (cluster '" + config.clusterName() + "')");
            changeState(MemberState.FAILED, failure.detail());
            return 1;
        }
        int work = 0;
        if (nowNs >= nextJoinSendNs)
        {
            nextJoinSendNs = nowNs + config.heartbeatIntervalNs();
            if (joinVia != null && nowNs - joinViaHeardNs <= config.failureDetectionTimeoutNs())
            {
                sendJoinRequest(transport.endpointOf(joinVia));
            }
            else
            {
                joinVia = null;
                for (final String seed : seedAddresses)
                {
                    sendJoinRequest(transport.endpointOf(seed));
                }
            }
            work++;
        }
        // A member that recovered data was part of a cluster that may still run (it restarted alone): it gives that
        // cluster a failure-detection timeout to answer before starting its own, since two clusters do not merge.
        final long delayNs = walCaches.isEmpty() ? bootstrapDelayNs :
            Math.max(bootstrapDelayNs, config.failureDetectionTimeoutNs());
        final long waitingSinceNs = heardActiveClusterNs == Long.MIN_VALUE ? joinStartedNs :
            Math.max(joinStartedNs, heardActiveClusterNs);
        if (isSeed && !heardActiveCluster && nowNs - waitingSinceNs >= delayNs && isSmallestJoiningSeed() &&
            joiningQuorum())
        {
            bootstrap();
            work++;
        }
        return work;
    }

    /**
     * A seed starts a cluster only when it hears a quorum of members starting (itself included): a majority of the
     * baseline its data directory recorded, or {@code cluster.min.members}. A seed that reaches too few others (a slow
     * start, a network split) waits instead of starting a cluster of its own that could not merge.
     */
    private boolean joiningQuorum()
    {
        final Baseline baseline = walBaseline;
        int have = !baseline.isSet() || baseline.contains(config.memberId()) ? 1 : 0;
        for (final Map.Entry<String, Long> e : joiningMembersHeardNs.entrySet())
        {
            if (nowNs - e.getValue() <= bootstrapDelayNs && !e.getKey().equals(config.memberId()) &&
                (!baseline.isSet() || baseline.contains(e.getKey())))
            {
                have++;
            }
        }
        return have >= quorumNeed(baseline);
    }

    private boolean isSmallestJoiningSeed()
    {
        for (final Map.Entry<String, Long> e : joiningSeedsHeardNs.entrySet())
        {
            if (nowNs - e.getValue() <= bootstrapDelayNs && e.getKey().compareTo(localAddress) < 0)
            {
                return false;
            }
        }
        return true;
    }

    private void bootstrap()
    {
        listener.onEvent("member " + self + " found no running cluster and starts one");
        changeState(MemberState.ACTIVE, "bootstrapped a new cluster");
        // The caches recovered from the WAL are the new cluster's caches: their copies here hold their data.
        final List<CacheDescriptor> recovered = new ArrayList<>(walCaches.values());
        recovered.sort((a, b) -> Integer.compare(a.cacheId(), b.cacheId()));
        final int nextCacheId = recovered.isEmpty() ? 1 : recovered.get(recovered.size() - 1).cacheId() + 1;
        adoptTopology(new Topology(1, List.of(self), List.copyOf(recovered), nextCacheId, walBaseline));
    }

    private void sendJoinRequest(final int endpoint)
    {
        header(JOIN_REQUEST, 0);
        writer.writeLong(incarnation).writeString(config.clusterName());
        self.encode(writer);
        // What this member's data directory holds: a cluster that started afresh while it was away adopts it.
        writer.writeLong(ownership.stamp()).writeInt(walCaches.size());
        for (final CacheDescriptor cache : walCaches.values())
        {
            cache.encode(writer);
        }
        writer.writeString(joinVia);
        transport.send(endpoint, writer.buffer(), 0, writer.length());
    }

    private void onJoinRequest()
    {
        final long joinerIncarnation = reader.readLong("joiner.incarnation");
        final String clusterName = reader.readString("clusterName");
        final MemberRecord joiner = MemberRecord.decode(reader);
        if (joiner.incarnation() != joinerIncarnation)
        {
            throw new MalformedMessageException("join request incarnation mismatch");
        }
        final long joinerStamp = reader.readLong("joiner.ownershipStamp");
        final List<CacheDescriptor> joinerCaches = new ArrayList<>();
        final int joinerCacheCount = reader.readInt("joiner.caches", 0, 1 << 16);
        for (int i = 0; i < joinerCacheCount; i++)
        {
            joinerCaches.add(CacheDescriptor.decode(reader));
        }
        final String joinVia = reader.readString("joiner.via");
        final int joinerEndpoint = transport.endpointOf(joiner.address());
        if (state == MemberState.JOINING)
        {
            if (config.seeds().contains(joiner.address()))
            {
                joiningSeedsHeardNs.put(joiner.address(), nowNs);
            }
            if (Objects.equals(clusterName, config.clusterName()))
            {
                joiningMembersHeardNs.put(joiner.memberId(), nowNs);
            }
            if (isSeed)
            {
                header(JOIN_PENDING, joinerIncarnation);
                writer.writeString(localAddress).writeBoolean(false);
                transport.send(joinerEndpoint, writer.buffer(), 0, writer.length());
            }
            return;
        }
        if (state != MemberState.ACTIVE)
        {
            return;
        }
        if (!Objects.equals(clusterName, config.clusterName()))
        {
            rejectJoin(joinerEndpoint, joinerIncarnation, "cluster name '" + clusterName + "' differs from '" +
                config.clusterName() + "'");
            return;
        }
        // Tell the joiner a cluster exists, so that a joining seed never starts a second one.
        header(JOIN_PENDING, joinerIncarnation);
        writer.writeString(localAddress).writeBoolean(true);
        transport.send(joinerEndpoint, writer.buffer(), 0, writer.length());
        final MemberRecord admitter = actingCoordinator();
        if (admitter.incarnation() != incarnation)
        {
            // Forward the request to the coordinator, which answers the joiner directly.
            header(JOIN_REQUEST, 0);
            writer.writeLong(joinerIncarnation).writeString(clusterName);
            joiner.encode(writer);
            writer.writeLong(joinerStamp).writeInt(joinerCaches.size());
            for (final CacheDescriptor cache : joinerCaches)
            {
                cache.encode(writer);
            }
            writer.writeString(joinVia);
            send(admitter, writer);
            return;
        }
        if (topology.indexOf(joinerIncarnation) >= 0)
        {
            sendTopology(joiner);
            return;
        }
        final List<MemberRecord> members = new ArrayList<>(topology.members());
        for (final MemberRecord existing : topology.members())
        {
            if (existing.address().equals(joiner.address()))
            {
                // The same address with a new incarnation: the member restarted; its old life is over.
                members.remove(existing);
            }
            else if (existing.memberId().equals(joiner.memberId()))
            {
                rejectJoin(joinerEndpoint, joinerIncarnation, "member id '" + joiner.memberId() +
                    "' is used by live member " + existing);
                return;
            }
        }
        if (isCoordinator() && hasQuorum())
        {
            members.add(joiner);
            listener.onEvent("coordinator " + config.memberId() + " admits " + joiner);
            publishTopology(adoptRecoveredCaches(topology, joiner, joinerStamp, joinerCaches).withMembers(members));
            return;
        }
        admitWithoutQuorum(new WaitingJoiner(joiner, joinerStamp, joinerCaches, nowNs, joinVia));
    }

    /**
     * Admission by a member without quorum: a cluster forming, or survivors that could not remove a crashed
     * coordinator. Joiners are added, listed members replaced by their restarts (an address runs one incarnation at a
     * time) and failed members removed only once a quorum is complete without the failed ones, counting this member,
     * the members that echoed it lately and name it their coordinator, and the joiners that join through this side:
     * none of them can count on another side of a split. Joiners wait here until enough of them are heard (the members
     * of a cluster that crashed restart one by one).
     */
    private void admitWithoutQuorum(final WaitingJoiner arrived)
    {
        if (arrived.stamp > ownership.stamp() && installedMap != null && installedMap.isActive())
        {
            // The joiner recovered an ownership table newer than the one this active member serves by: the cluster went
            // on without this one (it was cut off or paused and removed), and its view is stale. It must not rebuild a
            // cluster around that view (whole-cluster seed 0xa93937e: a member removed while deaf admitted a restarted
            // member and served from its stale copies, losing an acknowledged put); it joins again, and whoever holds
            // the cluster's newest state admits both. (A cluster not active yet, starting after a whole-cluster stop,
            // adopts a newer table at its exchange instead.)
            rejoin("joiner " + arrived.record + " knows a newer state of the cluster (ownership " + arrived.stamp +
                " > " + ownership.stamp() + ") than this member without quorum");
            return;
        }
        final boolean isNew = waitingJoiners.put(arrived.record.address(), arrived) == null;
        waitingJoiners.values().removeIf(w -> nowNs - w.heardNs > config.failureDetectionTimeoutNs());
        final Baseline baseline = topology.baseline();
        final List<MemberRecord> next = new ArrayList<>();
        final List<MemberRecord> failed = new ArrayList<>();
        int have = 0;
        for (final MemberRecord member : topology.members())
        {
            if (waitingJoiners.containsKey(member.address()))
            {
                continue;
            }
            if (member.incarnation() != incarnation && !heardWithin(member, config.failureDetectionTimeoutNs()))
            {
                failed.add(member);
                continue;
            }
            next.add(member);
            // A member counts only if it names this one its coordinator: a member that hears two would-be
            // coordinators (each cut off from the other) names one of them, so only one side can admit with it.
            if ((!baseline.isSet() || baseline.contains(member.memberId())) && (member.incarnation() == incarnation ||
                heardEchoWithin(member) && coordinatorVotes.get(member.incarnation()) == incarnation))
            {
                have++;
            }
        }
        Topology admitted = topology;
        for (final WaitingJoiner waiting : waitingJoiners.values())
        {
            next.add(waiting.record);
            if ((!baseline.isSet() || baseline.contains(waiting.record.memberId())) && joinsThroughHere(waiting))
            {
                have++;
            }
            admitted = adoptRecoveredCaches(admitted, waiting.record, waiting.stamp, waiting.caches);
        }
        if (have < quorumNeed())
        {
            // Not even to add members: a member without quorum that published a topology could fork the cluster (the
            // majority, elsewhere, publishing the same version without it). Joiners wait until enough of them arrive.
            if (isNew)
            {
                listener.onEvent("member " + config.memberId() + " cannot admit " + arrived.record + " yet: without " +
                    "quorum it admits members" + (failed.isEmpty() ? "" : " and removes failed members " + failed) +
                    " only once joiners complete one (" + have + " of " + quorumNeed() + ")");
            }
            return;
        }
        listener.onEvent("member " + config.memberId() + " admits " + waitingJoiners.values().stream()
            .map(w -> w.record.toString()).toList() + " without quorum" + (failed.isEmpty() ? "" :
            ", removing failed members " + failed + ": they complete one (" + have + " of " + quorumNeed() + ")"));
        waitingJoiners.clear();
        publishTopology(admitted.withMembers(next));
    }

    /** A join request a member without quorum holds until enough joiners complete one. */
    private record WaitingJoiner(MemberRecord record, long stamp, List<CacheDescriptor> caches, long heardNs,
        String via)
    {
    }

    /**
     * Whether a waiting joiner joins through this member or a member of its topology: only then does it count toward
     * the quorum an admission without quorum needs. Joiners first ask every seed, so both sides of a split hear them;
     * counted by both, they let two sides without quorum each complete one (whole-cluster seed 0xa939413 lost an
     * acknowledged write so). A joiner names the member it joins through once one answered, and asks it alone.
     */
    private boolean joinsThroughHere(final WaitingJoiner waiting)
    {
        if (waiting.via == null)
        {
            return false;
        }
        if (waiting.via.equals(localAddress))
        {
            return true;
        }
        for (final MemberRecord member : topology.members())
        {
            if (member.address().equals(waiting.via))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * A joiner whose ownership table is newer than this cluster's knows a newer state of the data than the cluster
     * does: the cluster started afresh (or from older data directories) while it was away. Its caches the cluster
     * lacks join the topology with their ids, so that its copies are kept, and the exchange then waits for the
     * members of the newest table before serving them. A joiner with an older table missed the cluster's later
     * changes, cache destructions included: its unknown caches are dropped.
     */
    private Topology adoptRecoveredCaches(final Topology current, final MemberRecord joiner, final long joinerStamp,
        final List<CacheDescriptor> joinerCaches)
    {
        // A table of the same stamp as this coordinator's is newer than the cluster's too while the cluster waits: the
        // coordinator may have adopted that table from another member's report without the caches it names (seed
        // 0xa845031: the caches were never adopted, and the activated cluster had none).
        final boolean waiting = installedMap == null || !installedMap.isActive();
        if (joinerStamp < ownership.stamp() || (joinerStamp == ownership.stamp() && !waiting) ||
            joinerCaches.isEmpty())
        {
            return current;
        }
        final List<CacheDescriptor> adopted = new ArrayList<>();
        for (final CacheDescriptor cache : joinerCaches)
        {
            if (current.cache(cache.name()) != null || current.cache(cache.cacheId()) != null)
            {
                listener.onEvent("coordinator " + config.memberId() + " cannot adopt cache " + cache.name() +
                    " (id " + cache.cacheId() + ") that " + joiner.memberId() + " recovered: the cluster has a " +
                    "cache with that name or id");
                continue;
            }
            adopted.add(cache);
        }
        if (adopted.isEmpty())
        {
            return current;
        }
        listener.onEvent("coordinator " + config.memberId() + " adopts caches " +
            adopted.stream().map(CacheDescriptor::name).toList() + " that " + joiner.memberId() +
            " recovered: its ownership table (stamp " + joinerStamp + ") is newer than the cluster's (" +
            ownership.stamp() + ")");
        return current.withRecoveredCaches(adopted);
    }

    private void rejectJoin(final int endpoint, final long joinerIncarnation, final String why)
    {
        header(JOIN_REJECTED, joinerIncarnation);
        writer.writeString(why);
        transport.send(endpoint, writer.buffer(), 0, writer.length());
    }

    private void onJoinPending()
    {
        final String address = reader.readString("address");
        final boolean active = reader.readBoolean("active");
        if (state != MemberState.JOINING)
        {
            return;
        }
        if (active)
        {
            heardActiveClusterNs = nowNs;
            if (address != null && (joinVia == null || nowNs - joinViaHeardNs > config.failureDetectionTimeoutNs()))
            {
                joinVia = address;
            }
            if (address != null && address.equals(joinVia))
            {
                joinViaHeardNs = nowNs;
            }
        }
        else if (address != null)
        {
            joiningSeedsHeardNs.put(address, nowNs);
        }
    }

    private void onJoinRejected(final long destinationIncarnation)
    {
        final String why = reader.readString("reason");
        if (state != MemberState.JOINING || destinationIncarnation != incarnation)
        {
            return;
        }
        failure = new JoinFailedException(ErrorCode.JOIN_REJECTED, "member " + config.memberId() +
            " was refused by the cluster: " + why);
        changeState(MemberState.FAILED, failure.detail());
    }

    // ------------------------------------------------------------------------------------------------------------
    // Membership while active.
    // ------------------------------------------------------------------------------------------------------------

    private boolean isCoordinator()
    {
        return topology != null && topology.coordinator().incarnation() == incarnation;
    }

    /**
     * @return the oldest member this one heard within failure detection, itself at the latest: the coordinator, unless
     *         the coordinator failed and the survivors could not remove it (no quorum). It admits joiners meanwhile.
     */
    private MemberRecord actingCoordinator()
    {
        for (final MemberRecord member : topology.members())
        {
            if (member.incarnation() == incarnation || heardWithin(member, config.failureDetectionTimeoutNs()))
            {
                return member;
            }
        }
        return topology.coordinator();
    }

    /**
     * Whether a quorum of members (itself included) name this member as their coordinator in their newest heartbeats,
     * echoed within the lease: each names the oldest member of its topology it hears. Quorum alone does not make a
     * member's removals safe: when two members cannot hear each other but both hear the rest (a cut of one link), each
     * holds quorum and each would remove the other, forking the topology. The rest name only one of them.
     */
    private boolean holdsCoordinatorVotes()
    {
        final Baseline baseline = topology.baseline();
        int votes = 0;
        for (final MemberRecord member : topology.members())
        {
            if (baseline.isSet() && !baseline.contains(member.memberId()))
            {
                continue;
            }
            if (member.incarnation() == incarnation ||
                heardEchoWithin(member) && coordinatorVotes.get(member.incarnation()) == incarnation)
            {
                votes++;
            }
        }
        return votes >= quorumNeed();
    }

    private boolean heardWithin(final MemberRecord member, final long windowNs)
    {
        final long heard = lastHeardNs.get(member.incarnation());
        return heard != Long.MIN_VALUE && nowNs - heard <= windowNs;
    }

    private boolean heardEchoWithin(final MemberRecord member)
    {
        final long echoed = echoedNs.get(member.incarnation());
        return echoed != Long.MIN_VALUE && nowNs - echoed <= quorumLeaseNs;
    }

    private int activeDuty()
    {
        int work = 0;
        if (nowNs >= nextHeartbeatNs)
        {
            nextHeartbeatNs = nowNs + config.heartbeatIntervalNs();
            for (final MemberRecord member : topology.members())
            {
                if (member.incarnation() != incarnation)
                {
                    sendHeartbeat(member);
                }
            }
            noteQuorum();
            detectFailures();
            probeForOtherClusters();
            work++;
        }
        if (state != MemberState.ACTIVE)
        {
            return work;
        }
        if (isCoordinator())
        {
            work += baselineAutoAdjust();
        }
        work += exchangeDuty();
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
     * Coordinator: once membership stayed different from a baseline that auto-adjusts for its timeout (every
     * membership change restarts the wait), set the baseline to the present members, which moves data for good.
     */
    private int baselineAutoAdjust()
    {
        final Baseline baseline = topology.baseline();
        if (baseline.autoAdjustTimeoutNs() < 0 || baseline.matches(topology.members()) || !hasQuorum())
        {
            baselineDifferentSinceNs = -1;
            return 0;
        }
        if (baselineDifferentSinceNs < 0 || !topology.members().equals(baselineDifferentMembers))
        {
            baselineDifferentSinceNs = nowNs;
            baselineDifferentMembers = topology.members();
            return 0;
        }
        if (nowNs - baselineDifferentSinceNs < baseline.autoAdjustTimeoutNs() || exchange != null &&
            !exchange.isFinished() || waitsForLostPartitions())
        {
            return 0;
        }
        baselineDifferentSinceNs = -1;
        final Baseline next = baseline.ofPresent(topology.members());
        listener.onEvent("coordinator " + config.memberId() + " auto-adjusts the baseline from " +
            baseline.memberIds() + " to " + next.memberIds() + " after " +
            TimeUnit.NANOSECONDS.toMillis(baseline.autoAdjustTimeoutNs()) + " ms");
        publishTopology(topology.withBaseline(next));
        return 1;
    }

    private void sendHeartbeat(final MemberRecord member)
    {
        writeHeartbeat(member.incarnation(), peerHeartbeatNs.get(member.incarnation()));
        send(member, writer);
    }

    /**
     * A heartbeat: topology version, send time (the peer echoes it back: an echo proves the peer took this member for
     * a member after then), the echo of the peer's newest heartbeat, and this member's coordinator vote.
     */
    private void writeHeartbeat(final long destinationIncarnation, final long echoNs)
    {
        header(HEARTBEAT, destinationIncarnation);
        writer.writeLong(topology.version()).writeLong(nowNs).writeLong(echoNs)
            .writeLong(actingCoordinator().incarnation());
    }

    /**
     * Whether this member holds its cluster's quorum: enough members that count toward it (the baseline's, or any
     * without a baseline) echoed a heartbeat this member sent within the lease (failure detection less one heartbeat
     * interval), itself included. Only then does it serve writes, complete updates, change membership or caches.
     * <p>
     * Echoes, not mere messages, because a member that resumes after a pause finds its peers' heartbeats of before the
     * pause waiting for it: those say nothing about whether they still count it as a member, an echo of a heartbeat
     * sent after the pause does. A peer echoes only while it lists this member, and the coordinator removes a member
     * only after a failure-detection timeout of silence, so a member that lost its majority loses quorum (and stops
     * acknowledging) before that majority can have moved on without it.
     */
    boolean hasQuorum()
    {
        if (quorumCheckedNs != nowNs)
        {
            quorumCheckedNs = nowNs;
            quorumHeld = state == MemberState.ACTIVE && quorumHave() >= quorumNeed();
        }
        return quorumHeld;
    }

    private int quorumHave()
    {
        if (state != MemberState.ACTIVE || topology == null)
        {
            return 0;
        }
        final Baseline baseline = topology.baseline();
        int have = 0;
        for (final MemberRecord member : topology.members())
        {
            if (baseline.isSet() && !baseline.contains(member.memberId()))
            {
                continue;
            }
            if (member.incarnation() == incarnation || heardEchoWithin(member))
            {
                have++;
            }
        }
        return have;
    }

    private int quorumNeed()
    {
        return quorumNeed(topology == null ? walBaseline : topology.baseline());
    }

    /**
     * @return {@code cluster.min.members} if configured, else a majority of the baseline if one is set, else a
     *         majority of the seeds.
     */
    private int quorumNeed(final Baseline baseline)
    {
        if (config.minMembers() > 0 || !baseline.isSet())
        {
            return config.quorumMinMembers();
        }
        return baseline.members().size() / 2 + 1;
    }

    /**
     * Log and remember when quorum is lost or regained; on regaining it, complete the updates that waited for it.
     */
    private void noteQuorum()
    {
        final boolean held = hasQuorum();
        if (!held && quorumMissingSinceNs == Long.MIN_VALUE)
        {
            quorumMissingSinceNs = nowNs;
            if (installedMap != null)
            {
                // Not news while the member first meets its peers (no echo yet).
                final String event = "member " + config.memberId() + " lost quorum: " + quorumHave() +
                    " members heard, " + quorumNeed() + " needed (topology " + topology.version() + ")";
                listener.onEvent(event);
                rememberQuorumEvent(event);
            }
        }
        else if (held && quorumMissingSinceNs != Long.MIN_VALUE)
        {
            if (installedMap != null)
            {
                final String event = "member " + config.memberId() + " regained quorum after " +
                    TimeUnit.NANOSECONDS.toMillis(nowNs - quorumMissingSinceNs) + " ms: " + quorumHave() +
                    " members heard, " + quorumNeed() + " needed (topology " + topology.version() + ")";
                listener.onEvent(event);
                rememberQuorumEvent(event);
            }
            quorumMissingSinceNs = Long.MIN_VALUE;
        }
        if (held)
        {
            answerDeferredUpdates();
        }
        if (held && updatesHeldForQuorum)
        {
            // Not only when quorum comes back after being noticed missing: an update may have been held in a moment
            // without quorum between two of these checks (a member resumed from a pause shorter than the lease).
            updatesHeldForQuorum = false;
            completeUpdatesHeldForQuorum();
        }
    }

    private void rememberQuorumEvent(final String event)
    {
        if (quorumHistory.size() == 16)
        {
            quorumHistory.removeFirst();
        }
        quorumHistory.addLast(event);
    }

    /**
     * A write is refused for want of quorum only once quorum has been missing for two heartbeat intervals: a member
     * that just joined, or whose peers' echoes are a moment late on a busy machine, waits a little instead.
     */
    boolean refusesForQuorum()
    {
        if (hasQuorum())
        {
            return false;
        }
        noteQuorum();
        return nowNs - quorumMissingSinceNs > 2 * config.heartbeatIntervalNs();
    }

    GridException noQuorum(final String what)
    {
        writesRefusedForQuorum++;
        return new GridException(ErrorCode.NO_QUORUM, "member " + config.memberId() + " refuses " + what +
            ": it holds no quorum (" + quorumHave() + " members heard within " +
            TimeUnit.NANOSECONDS.toMillis(quorumLeaseNs) + " ms, " + quorumNeed() + " needed; topology " +
            (topology == null ? 0 : topology.version()) + "); retry through a member of the majority");
    }

    /**
     * @return true while a partition is lost: its last owners may be the absent baseline members, and dropping them
     *         from the baseline would make the loss final (their copies, when they return, would no longer be owners').
     */
    private boolean waitsForLostPartitions()
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

    private void detectFailures()
    {
        if (!hasQuorum())
        {
            // A member without quorum removes no one: after a pause or on the minority side of a split, its view is
            // stale, and the majority (if any) decides. It learns where it stands from the echoes or from the
            // coordinator's "not a member" answer to its heartbeats.
            return;
        }
        final List<MemberRecord> alive = new ArrayList<>();
        boolean olderAllFailed = true;
        boolean anyFailed = false;
        boolean seenSelf = false;
        for (final MemberRecord member : topology.members())
        {
            if (member.incarnation() == incarnation)
            {
                seenSelf = true;
                alive.add(member);
                continue;
            }
            // Failed: silent, or deaf (its heartbeats arrive but echo none of this member's for as long): a member that
            // cannot hear the cluster keeps talking to it, and without quorum removes no one, so only this way does it
            // leave a topology it cannot serve (an asymmetric cut).
            final long echoOrAddedNs = Math.max(echoedNs.get(member.incarnation()), addedNs.get(member.incarnation()));
            final boolean failed = nowNs - lastHeardNs.get(member.incarnation()) > config.failureDetectionTimeoutNs() ||
                nowNs - echoOrAddedNs > config.failureDetectionTimeoutNs();
            if (failed)
            {
                anyFailed = true;
            }
            else
            {
                alive.add(member);
                if (!seenSelf)
                {
                    olderAllFailed = false;
                }
            }
        }
        if (anyFailed && (isCoordinator() || olderAllFailed) && holdsCoordinatorVotes())
        {
            final List<String> gone = new ArrayList<>();
            for (final MemberRecord member : topology.members())
            {
                if (!alive.contains(member))
                {
                    gone.add(member.toString());
                }
            }
            listener.onEvent("member " + config.memberId() + " removes failed members " + gone);
            publishTopology(topology.withMembers(alive));
        }
    }

    private void publishTopology(final Topology next)
    {
        adoptTopology(next);
        for (final MemberRecord member : next.members())
        {
            if (member.incarnation() != incarnation)
            {
                sendTopology(member);
            }
        }
    }

    private void sendTopology(final MemberRecord member)
    {
        header(TOPOLOGY, member.incarnation());
        topology.encode(writer);
        send(member, writer);
    }

    private void onTopology(final long sender)
    {
        final Topology received = Topology.decode(reader);
        if (state == MemberState.JOINING)
        {
            if (received.indexOf(incarnation) < 0)
            {
                return;
            }
            changeState(MemberState.ACTIVE, "joined topology " + received.version());
            adoptTopology(received);
            return;
        }
        if (state != MemberState.ACTIVE || received.version() <= topology.version())
        {
            return;
        }
        if (topology.indexOf(sender) < 0)
        {
            // Another cluster's topology (one that admitted a restarted member this one still lists, say): a member
            // follows only its own cluster's coordinators, who are members of its current topology.
            return;
        }
        if (received.indexOf(incarnation) < 0)
        {
            rejoin("topology " + received.version() + " no longer lists this member");
            return;
        }
        // The coordinator was heard: without this, a member that installs a topology from a coordinator it had not
        // heard for a while (a cut that just healed) could take it for failed in the same breath.
        lastHeardNs.put(sender, nowNs);
        adoptTopology(received);
    }

    private void adoptTopology(final Topology next)
    {
        final Topology previous = topology;
        if (previous == null)
        {
            dropRecoveredCopiesUnknownTo(next);
        }
        topology = next;
        quorumCheckedNs = Long.MIN_VALUE;
        waitingJoiners.clear();
        for (final MemberRecord member : next.members())
        {
            if (previous == null || previous.indexOf(member.incarnation()) < 0 || !lastHeardNs.containsKey(
                member.incarnation()))
            {
                lastHeardNs.put(member.incarnation(), nowNs);
                addedNs.put(member.incarnation(), nowNs);
            }
        }
        if (previous != null)
        {
            for (final MemberRecord member : previous.members())
            {
                if (next.indexOf(member.incarnation()) < 0)
                {
                    lastHeardNs.remove(member.incarnation());
                    echoedNs.remove(member.incarnation());
                    peerHeartbeatNs.remove(member.incarnation());
                    coordinatorVotes.remove(member.incarnation());
                    addedNs.remove(member.incarnation());
                    forgetBackup(member.incarnation());
                    tx.forgetMember(member.incarnation());
                }
            }
            for (final CacheDescriptor cache : previous.caches())
            {
                if (next.cache(cache.cacheId()) == null)
                {
                    failOperationsOnCache(cache);
                }
            }
            tx.onTopologyChanged(previous, next);
        }
        rebalancer.onTopologyChanged();
        checker.onTopologyChanged();
        pendingMap = new PartitionMap(next);
        reportChunks = null;
        nextReportSendNs = nowNs;
        exchange = isCoordinator() ? new CoordinatorExchange(next) : null;
        if (!isCoordinator())
        {
            pendingAdmins.clear();
        }
        nextHeartbeatNs = nowNs;
    }

    private void onHeartbeat(final long sender)
    {
        final long version = reader.readLong("version");
        final long sentNs = reader.readLong("sentNs");
        final long echoNs = reader.readLong("echoNs");
        coordinatorVotes.put(sender, reader.readLong("coordinatorVote"));
        final boolean firstFromSender = peerHeartbeatNs.get(sender) == Long.MIN_VALUE;
        peerHeartbeatNs.put(sender, sentNs);
        if (echoNs != Long.MIN_VALUE && echoNs <= nowNs && echoNs > echoedNs.get(sender))
        {
            echoedNs.put(sender, echoNs);
            quorumCheckedNs = Long.MIN_VALUE;
        }
        if (firstFromSender)
        {
            // Echo at once: a member that just joined (or rejoined) holds quorum one round trip later, not a heartbeat
            // interval later.
            sendHeartbeat(topology.member(sender));
        }
        if (isCoordinator() && version < topology.version())
        {
            sendTopology(topology.member(sender));
        }
    }

    private void onLeave(final long sender)
    {
        listener.onEvent("member " + config.memberId() + " hears that " + topology.member(sender) + " leaves");
        lastHeardNs.put(sender, Long.MIN_VALUE / 2);
        detectFailures();
    }

    /**
     * A member that does not list this one says so, with its topology's version, its cluster life, its size and its
     * coordinator. Of the same cluster: this member was removed (a newer topology, or the same version from its
     * coordinator, or the same version with other members while this one holds no quorum: a fork it is on the wrong
     * side of; or any version once it has been without quorum for failure detection: each side of a fork may have
     * numbered on), and rejoins. Of another cluster (two formed, or one split and both sides went on): the smaller one
     * dissolves, ties going against the one whose coordinator's incarnation is greater, and a side without quorum
     * always; its members rejoin the other, their persistent copies judged by counters as any rejoining member's.
     */
    private void onNotMember(final long sender)
    {
        final long version = reader.readLong("version");
        final long lifeId = reader.readLong("lifeId");
        final int members = reader.readInt("members", 1, 65_535);
        final long coordinator = reader.readLong("coordinator");
        if (state != MemberState.ACTIVE)
        {
            return;
        }
        final long ownLifeId = clusterLifeId();
        if (lifeId != 0 && ownLifeId != 0 && lifeId != ownLifeId)
        {
            final int own = topology.members().size();
            if (!hasQuorum() || members > own || (members == own &&
                Long.compareUnsigned(coordinator, topology.coordinator().incarnation()) < 0))
            {
                final String why = "another cluster (" + members + " members, topology " + version + ") " +
                    "answered at a seed address; this cluster of " + own + " dissolves into it";
                if (!wal.retainsRecords())
                {
                    // An in-memory member rejoins without its copies: what they held is reported (the host has
                    // nowhere durable to keep it). A persistent one recovers them, and keeps for the operator those
                    // the other cluster cannot take in (dropRecoveredCopiesUnknownTo()).
                    for (final CacheDescriptor cache : topology.caches())
                    {
                        keepCopiesOf(cache, "this in-memory member's cluster dissolved into another: " + why);
                    }
                }
                rejoin(why);
            }
            return;
        }
        // Without quorum for failure detection, any version: the two may have forked, each side numbering on (a member
        // that published topologies nobody installed is ahead of the cluster that went on without it).
        if (version > topology.version() || quorumLostForFailureDetection() ||
            (version == topology.version() && (topology.coordinator().incarnation() == sender || !hasQuorum())))
        {
            rejoin("member " + Long.toHexString(sender) + " of topology " + version + " does not list this member");
        }
    }

    private boolean quorumLostForFailureDetection()
    {
        return quorumMissingSinceNs != Long.MIN_VALUE &&
            nowNs - quorumMissingSinceNs > config.failureDetectionTimeoutNs();
    }

    /** @return the cluster life of the installed map (0 before one is installed): what tells two clusters apart. */
    private long clusterLifeId()
    {
        return installedMap == null ? 0 : installedMap.lifeId();
    }

    /**
     * Once a second or so, the coordinator sends a heartbeat to every seed address its topology does not list, and a
     * member that has been without quorum for failure detection to every seed address: a member that does not list
     * the sender answers that it is not a member (see onNotMember()), so two clusters merge, and a member the others
     * removed while it was away learns it even if every member it lists is gone (their addresses now other
     * incarnations', which drop the heartbeats addressed to the old ones).
     */
    private void probeForOtherClusters()
    {
        final boolean lost = quorumLostForFailureDetection();
        if (!(isCoordinator() || lost) || nowNs < nextMergeProbeNs)
        {
            return;
        }
        nextMergeProbeNs = nowNs + 10 * config.heartbeatIntervalNs();
        for (final String address : seedAddresses)
        {
            boolean listed = false;
            for (final MemberRecord member : topology.members())
            {
                listed |= member.address().equals(address);
            }
            if (!listed || lost)
            {
                // Addressed to no incarnation in particular; a member that lists this one takes it for a heartbeat.
                writeHeartbeat(0, Long.MIN_VALUE);
                transport.send(transport.endpointOf(address), writer.buffer(), 0, writer.length());
            }
        }
    }

    private void rejoin(final String why)
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

    private int exchangeDuty()
    {
        int work = 0;
        if (isExchanging() && reportAckedVersion != topology.version())
        {
            if (reportChunks == null && inFlightUpdates == 0 && durabilityQueue.isEmpty() &&
                !tx.hasUnacknowledgedPrepares())
            {
                reportChunks = buildReport();
                nextReportSendNs = nowNs;
            }
            if (reportChunks != null && nowNs >= nextReportSendNs)
            {
                nextReportSendNs = nowNs + retryIntervalNs;
                for (final byte[] chunk : reportChunks)
                {
                    if (isCoordinator())
                    {
                        reader.wrap(new UnsafeBuffer(chunk), HEADER_LENGTH,
                            chunk.length - HEADER_LENGTH);
                        onExchangeReport(incarnation);
                    }
                    else
                    {
                        final MemberRecord coordinator = topology.coordinator();
                        transport.send(transport.endpointOf(coordinator.address()),
                            new UnsafeBuffer(chunk), 0, chunk.length);
                    }
                }
                work++;
            }
        }
        if (exchange != null && exchange.map != null && !exchange.isFinished() && nowNs >= exchange.nextResendNs)
        {
            exchange.nextResendNs = nowNs + retryIntervalNs;
            for (final MemberRecord member : topology.members())
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

    private List<byte[]> buildReport()
    {
        final List<byte[]> chunks = new ArrayList<>();
        final int limit = Math.max(256, transport.preferredMessageLength() - 64);
        final int myIndex = topology.indexOf(incarnation);
        int chunkIndex = 0;
        int countAt = startReportChunk(chunkIndex);
        int count = 0;
        final Map<Long, long[]> preparesByCopy = tx.preparesByCopy();
        for (final LocalPartition[] local : allCopies())
        {
            for (final LocalPartition lp : local)
            {
                if (lp == null)
                {
                    continue;
                }
                final List<CounterRange> gaps = lp.counter.gaps();
                final long[] prepares = preparesByCopy.getOrDefault(packCopy(lp.cacheId, lp.partition), NO_PREPARES);
                if (writer.length() + 80 + 16 * gaps.size() + 8 * prepares.length > limit && count > 0)
                {
                    writer.patchInt(countAt, count);
                    writer.writeBoolean(false).writeInt(0);
                    chunks.add(finishChunk(false));
                    countAt = startReportChunk(++chunkIndex);
                    count = 0;
                }
                final boolean primary = installedMap != null && installedMap.rank(lp.cacheId, lp.partition,
                    installedMap.topology().indexOf(incarnation)) == 0;
                writer.writeInt(lp.cacheId).writeInt(lp.partition).writeLong(lp.counter.lwm())
                    .writeLong(lp.counter.hwm()).writeBoolean(primary).writeInt(gaps.size());
                for (final CounterRange gap : gaps)
                {
                    writer.writeLong(gap.start()).writeLong(gap.count());
                }
                // Without a WAL on disk there is no history to serve: such copies catch up fully.
                final long history = wal.retainsRecords() ? historyFrom(lp.cacheId, lp.partition) : Long.MAX_VALUE;
                // A member may have missed maps (it adopted a newer topology before one arrived): the version its
                // primary role comes from lets the coordinator prefer the newest claim.
                writer.writeLong(lp.store.contentHash()).writeLong(history)
                    .writeLong(lp.epochId).writeLong(lp.store.size())
                    .writeLong(primary ? installedMap.version() : 0)
                    // The report is built once the drain is over: every update of this primary was acknowledged by
                    // every backup still here, unless one refused it. Then the backups hold what this copy holds,
                    // whatever their own reports, built earlier, say.
                    .writeBoolean(primary && lp.inFlight.isEmpty() && lp.refusedBackups.isEmpty());
                // The prepared transactions this copy holds (coordinator, seq pairs), for the choice of a primary
                // where the durable table decides (see leadRank).
                writer.writeInt(prepares.length / 2);
                for (final long value : prepares)
                {
                    writer.writeLong(value);
                }
                count++;
            }
        }
        // Then this member's ownership table (what it knows of the last owners of every partition), which a
        // coordinator that is not active yet needs: after the entries, each chunk says whether it carries the
        // table's header and how many of its caches; a cache that does not fit goes to the next chunk.
        writer.patchInt(countAt, count);
        writer.writeBoolean(true);
        ownership.encodeHeader(writer);
        int sectionsAt = writer.length();
        writer.writeInt(0);
        int sections = 0;
        for (final int cacheId : ownership.cacheIds())
        {
            if (writer.length() + ownership.encodedCacheLength(cacheId) > limit && (sections > 0 || count > 0))
            {
                writer.patchInt(sectionsAt, sections);
                chunks.add(finishChunk(false));
                startReportChunk(++chunkIndex);
                count = 0;
                writer.writeBoolean(false);
                sectionsAt = writer.length();
                writer.writeInt(0);
                sections = 0;
            }
            ownership.encodeCache(writer, cacheId);
            sections++;
        }
        writer.patchInt(sectionsAt, sections);
        chunks.add(finishChunk(true));
        return chunks;
    }

    private int startReportChunk(final int chunkIndex)
    {
        header(EXCHANGE_REPORT, topology.coordinator().incarnation());
        writer.writeLong(topology.version()).writeInt(chunkIndex).writeBoolean(false);
        final int countAt = writer.length();
        writer.writeInt(0);
        return countAt;
    }

    private byte[] finishChunk(final boolean last)
    {
        // The "last" flag sits right after version (8) and chunk index (4).
        writer.mutableBuffer().putByte(HEADER_LENGTH + 12, (byte)(last ? 1 : 0));
        final byte[] bytes = new byte[writer.length()];
        writer.buffer().getBytes(0, bytes);
        return bytes;
    }

    private void onExchangeReport(final long sender)
    {
        final long version = reader.readLong("version");
        final int chunkIndex = reader.readInt("chunkIndex", 0, 1 << 20);
        final boolean last = reader.readBoolean("last");
        final int count = reader.readInt("entries", 0, 1 << 24);
        if (exchange == null || version != exchange.topology.version() || exchange.topology.indexOf(sender) < 0)
        {
            return;
        }
        final ReportAssembly assembly = exchange.reports.computeIfAbsent(sender, s -> new ReportAssembly());
        if (!assembly.isComplete() && !assembly.chunks.containsKey(chunkIndex))
        {
            final List<ReportEntry> entries = new ArrayList<>(count);
            for (int i = 0; i < count; i++)
            {
                final int cacheId = reader.readInt("cacheId");
                final int partition = reader.readInt("partition", 0, 65_535);
                final long lwm = reader.readLong("lwm");
                final long hwm = reader.readLong("hwm");
                final boolean primary = reader.readBoolean("primary");
                final int gapCount = reader.readInt("gaps", 0, 1 << 20);
                final long[] gaps = new long[gapCount * 2];
                for (int g = 0; g < gaps.length; g++)
                {
                    gaps[g] = reader.readLong("gap");
                }
                final long contentHash = reader.readLong("contentHash");
                final long historyFrom = reader.readLong("historyFrom");
                final long epochId = reader.readLong("epochId");
                final long size = reader.readLong("size");
                final long primaryVersion = reader.readLong("primaryVersion");
                final boolean backupsComplete = reader.readBoolean("backupsComplete");
                final long[] prepares = new long[2 * reader.readInt("prepares", 0, 1 << 20)];
                for (int p = 0; p < prepares.length; p++)
                {
                    prepares[p] = reader.readLong("prepare");
                }
                entries.add(new ReportEntry(sender, cacheId, partition, lwm, hwm, primary, gaps, contentHash,
                    historyFrom, epochId, size, primaryVersion, backupsComplete, prepares));
            }
            assembly.chunks.put(chunkIndex, entries);
            if (reader.readBoolean("ownership.header"))
            {
                assembly.table.decodeHeader(reader);
            }
            final int sections = reader.readInt("ownership.caches", 0, 1 << 20);
            for (int i = 0; i < sections; i++)
            {
                assembly.table.decodeCache(reader);
            }
            if (last)
            {
                assembly.lastIndex = chunkIndex;
            }
        }
        if (assembly.isComplete())
        {
            if (sender == incarnation)
            {
                reportAckedVersion = version;
            }
            else
            {
                header(REPORT_ACK, sender);
                writer.writeLong(version);
                send(exchange.topology.member(sender), writer);
            }
            maybeDecide();
        }
    }

    private void onReportAck()
    {
        final long version = reader.readLong("version");
        if (topology != null && version == topology.version())
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
        exchange.map = decide(exchange.topology);
        exchange.nextResendNs = nowNs;
        exchange.encodedMap = encodeMap(exchange.map);
        for (final MemberRecord member : topology.members())
        {
            sendMap(member);
        }
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
    private PartitionMap decide(final Topology target)
    {
        final PartitionMap map = new PartitionMap(target);
        final Map<Integer, List<ReportEntry>[]> holdersByCache = new HashMap<>();
        for (final CacheDescriptor cache : target.caches())
        {
            @SuppressWarnings("unchecked")
            final List<ReportEntry>[] holders = new List[cache.partitions()];
            holdersByCache.put(cache.cacheId(), holders);
        }
        for (final ReportAssembly assembly : exchange.reports.values())
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
        for (final ReportAssembly assembly : exchange.reports.values())
        {
            if (assembly.table != null && !assembly.table.isEmpty() &&
                (newest == null || assembly.table.stamp() > newest.stamp()))
            {
                newest = assembly.table;
            }
        }
        final boolean wasActive = installedMap != null && installedMap.isActive() &&
            (newest == null || newest.stamp() <= installedMap.stamp() || newest.lifeId() == installedMap.lifeId());
        boolean waiting = false;
        decisionOwners = ownership;
        decidingActive = wasActive;
        if (wasActive)
        {
            final long reported = newest == null ? 0 : newest.stamp();
            map.stamp(Math.max(installedMap.stamp() + Math.max(1, target.version() - installedMap.version()),
                reported + 1), installedMap.lifeId());
        }
        else
        {
            final List<String> unknownCaches = new ArrayList<>();
            for (final CacheDescriptor cache : target.caches())
            {
                if (!walCaches.containsKey(cache.cacheId()))
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
            else if (newest == null && !wal.retainsRecords())
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
                listener.onEvent("coordinator " + config.memberId() + " knows no owner of caches " + unknownCaches +
                    ": it waits for a member whose ownership table does");
            }
            else if (newest.allMembersIn(indexById.keySet()))
            {
                map.stamp(Math.max(newest.stamp(), installedMap == null ? 0 : installedMap.stamp()) + 1,
                    random.nextLong());
                decisionOwners = newest;
                listener.onEvent("coordinator " + config.memberId() + " activates the cluster from the ownership " +
                    "table of stamp " + newest.stamp() + " (members " + newest.members() + ")");
            }
            else if (activationForced)
            {
                final List<String> away = new ArrayList<>(newest.members());
                away.removeAll(indexById.keySet());
                map.stamp(Math.max(newest.stamp(), installedMap == null ? 0 : installedMap.stamp()) + 1,
                    random.nextLong());
                decisionOwners = newest;
                listener.onEvent("coordinator " + config.memberId() + " activates the cluster from the ownership " +
                    "table of stamp " + newest.stamp() + " without " + away + ", as an operator asked: partitions " +
                    "none of whose last owners is here are lost");
            }
            else
            {
                waiting = true;
                if (newest.stamp() > ownership.stamp())
                {
                    // Remembered, durably, as this member's own table: the member that reported it may go before
                    // its table's members are back, and this coordinator, alone with an older table, then activated
                    // from it and acknowledged writes that the newer owners' return discarded (whole-cluster seed
                    // 0xa845178). Its reports carry the newest table from now on, and so does a restart.
                    walWriter.reset().writeByte(WAL_OWNERSHIP);
                    newest.encode(walWriter);
                    ownership.decode(new MessageReader().wrap(walWriter.mutableBuffer(), 1, walWriter.length() - 1));
                    appendMeta();
                }
                final List<String> away = new ArrayList<>(newest.members());
                away.removeAll(indexById.keySet());
                listener.onEvent("coordinator " + config.memberId() + " waits for " + away + " before serving " +
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
            listener.onEvent("coordinator " + config.memberId() + " plans rebalance for topology " +
                target.version() + ": " + historical + " copies historical, " + full + " full" +
                (fullReasons.isEmpty() ? "" : " " + fullReasons));
        }
        return map;
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
        final boolean known = decidingActive && installedMap.hasCache(cacheId);
        // Where the installed map cannot say whose copies hold the acknowledged updates (the cluster was not active,
        // or the partition is lost and its owning copies stand in empty), the durable table of last owners does, by
        // member id: a last owner that restarted is one still.
        // An operator's reset accepts the loss: the stand-in copies are the partition's owners from now on.
        final CacheDescriptor decidedUnder = known ? installedMap.topology().cache(cacheId) : null;
        final boolean reset = decidedUnder != null && decidedUnder.lostResets() != cache.lostResets();
        final boolean byTable = !known || (installedMap.isLost(cacheId, partition) && !reset);
        final boolean hadOwners = byTable ? decisionOwners.owners(cacheId, partition).length > 0 :
            installedMap.owningCount(cacheId, partition) > 0;
        final long previousEpoch = known ? installedMap.epochId(cacheId, partition) : 0;
        restartedOwners = byTable ? null : restartedOwners(cacheId, partition, holders, target);
        // A partition lost in an active cluster comes back only with every last owner: one that left first may hold
        // less than the one that stayed, which acknowledged updates alone before it went too (the simulator's
        // whole-cluster seed 0xa845126 lost an acknowledged merge to such an early owner's copy).
        // So does one lost when the whole cluster stopped: the table a cluster activates from names its last owners,
        // who may be away though every member of that table's map is back (they had left it); served from the one
        // that was back, it lost writes the other had acknowledged (whole-cluster seed 0xa8453eb). An operator who
        // activates without the members still away accepts what they held.
        final boolean lostByTable = !known && !activationForced;
        lastOwnersBack = !((known && installedMap.isLost(cacheId, partition) && !reset) || lostByTable) ||
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
            epochFloors[partition] = known ? installedMap.epochFloor(cacheId, partition) : 0;
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
            epochFloors[partition] = installedMap.epochFloor(cacheId, partition);
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
                        epochFloors[partition] = installedMap.epochFloor(cacheId, partition);
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
        if (installedMap == null || !installedMap.isActive() || !installedMap.isLost(cache.cacheId(), partition) ||
            cache.lossPolicy() == PartitionLossPolicy.IGNORE)
        {
            return false;
        }
        final CacheDescriptor decidedUnder = installedMap.topology().cache(cache.cacheId());
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
        if (installedMap == null)
        {
            return false;
        }
        final int index = installedMap.topology().indexOf(member);
        return index >= 0 && installedMap.rank(cacheId, partition, index) >= 0;
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
        if (installedMap == null || holders == null || holders.isEmpty())
        {
            return null;
        }
        final int owningCount = installedMap.owningCount(cacheId, partition);
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
        final int[] owners = installedMap.owners(cacheId, partition);
        final LongHashSet restarted = new LongHashSet();
        for (int i = 0; i < owningCount; i++)
        {
            final String memberId = installedMap.topology().members().get(owners[i]).memberId();
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
        final Topology installed = installedMap.topology();
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
                    installedMap.isOwning(cacheId, partition, i))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private boolean wasOwner(final int cacheId, final int partition, final long member)
    {
        if (installedMap == null)
        {
            return false;
        }
        final int index = installedMap.topology().indexOf(member);
        return index >= 0 && installedMap.isOwning(cacheId, partition, index);
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

    private List<byte[]> encodeMap(final PartitionMap map)
    {
        // Each message: version, then chunks of partitions, then at most one chunk of rebalance plans; sized to fit.
        final List<byte[]> messages = new ArrayList<>();
        final int limit = Math.max(512, transport.preferredMessageLength() - 64);
        int countAt = startMapMessage(map.version(), map.stamp(), map.lifeId());
        int chunksInMessage = 0;
        for (final CacheDescriptor cache : map.topology().caches())
        {
            int from = 0;
            while (from < cache.partitions())
            {
                int count = 0;
                int length = 16;
                while (from + count < cache.partitions() &&
                    length + map.encodedLength(cache.cacheId(), from + count) <= limit - 64)
                {
                    length += map.encodedLength(cache.cacheId(), from + count);
                    count++;
                }
                if (chunksInMessage > 0 && writer.length() + length > limit)
                {
                    writer.patchInt(countAt, chunksInMessage);
                    writer.writeBoolean(false);
                    messages.add(copyOut());
                    countAt = startMapMessage(map.version(), map.stamp(), map.lifeId());
                    chunksInMessage = 0;
                }
                map.encodeChunk(writer, cache.cacheId(), from, count);
                chunksInMessage++;
                from += count;
            }
        }
        writer.patchInt(countAt, chunksInMessage);
        int planFrom = 0;
        final int plans = map.plans().size();
        do
        {
            int count = 0;
            int length = writer.length() + 16;
            while (planFrom + count < plans && length + map.encodedPlanLength(planFrom + count) <= limit)
            {
                length += map.encodedPlanLength(planFrom + count);
                count++;
            }
            writer.writeBoolean(true);
            map.encodePlans(writer, planFrom, count);
            messages.add(copyOut());
            planFrom += count;
            if (planFrom < plans)
            {
                countAt = startMapMessage(map.version(), map.stamp(), map.lifeId());
                writer.patchInt(countAt, 0);
            }
        }
        while (planFrom < plans);
        return messages;
    }

    private int startMapMessage(final long version, final long stamp, final long lifeId)
    {
        header(PARTITION_MAP, 0);
        writer.writeLong(version).writeLong(stamp).writeLong(lifeId);
        final int countAt = writer.length();
        writer.writeInt(0);
        return countAt;
    }

    private byte[] copyOut()
    {
        return copyOut(writer);
    }

    private void sendMap(final MemberRecord member)
    {
        for (final byte[] message : exchange.encodedMap)
        {
            if (member.incarnation() == incarnation)
            {
                reader.wrap(new UnsafeBuffer(message), HEADER_LENGTH,
                    message.length - HEADER_LENGTH);
                onPartitionMap();
            }
            else
            {
                transport.send(transport.endpointOf(member.address()), new UnsafeBuffer(message),
                    0, message.length);
            }
        }
    }

    private void onPartitionMap()
    {
        final long version = reader.readLong("version");
        final long stamp = reader.readLong("stamp");
        final long lifeId = reader.readLong("lifeId");
        final int chunks = reader.readInt("chunks", 0, 1 << 20);
        if (state != MemberState.ACTIVE || version != topology.version())
        {
            return;
        }
        if (!isExchanging())
        {
            sendMapInstalled();
            return;
        }
        pendingMap.stamp(stamp, lifeId);
        for (int i = 0; i < chunks; i++)
        {
            pendingMap.decodeChunk(reader);
        }
        if (reader.readBoolean("map.hasPlans"))
        {
            pendingMap.decodePlans(reader);
        }
        if (pendingMap.isComplete())
        {
            install(pendingMap);
            sendMapInstalled();
        }
    }

    private void sendMapInstalled()
    {
        if (isCoordinator())
        {
            onMapInstalled(incarnation, topology.version());
            return;
        }
        header(MAP_INSTALLED, topology.coordinator().incarnation());
        writer.writeLong(topology.version());
        send(topology.coordinator(), writer);
    }

    private void install(final PartitionMap map)
    {
        installedMap = map;
        pendingMap = null;
        if (map.isActive())
        {
            activationForced = false;
        }
        final int myIndex = map.topology().indexOf(incarnation);
        final Map<Long, PartitionMap.RebalancePlan> plans = new HashMap<>();
        for (final PartitionMap.RebalancePlan plan : map.plans())
        {
            if (plan.demander() == myIndex)
            {
                plans.put(packCopy(plan.cacheId(), plan.partition()), plan);
            }
        }
        if (!map.topology().baseline().equals(walBaseline))
        {
            walBaseline = map.topology().baseline();
            walWriter.reset().writeByte(WAL_BASELINE);
            walBaseline.encode(walWriter);
            appendMeta();
        }
        for (final CacheDescriptor cache : map.topology().caches())
        {
            // A cluster that is not active yet records no cache it did not know: the member knows nothing of the
            // cache's owners, and a restart must not take it for a cache without history (it would serve it empty).
            if (!cache.equals(walCaches.get(cache.cacheId())) &&
                (map.isActive() || walCaches.containsKey(cache.cacheId())))
            {
                walCaches.put(cache.cacheId(), cache);
                walWriter.reset().writeByte(WAL_CACHE);
                cache.encode(walWriter);
                appendMeta();
            }
            final LocalPartition[] local = copies.computeIfAbsent(cache.cacheId(),
                id -> new LocalPartition[cache.partitions()]);
            for (int p = 0; p < cache.partitions(); p++)
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
                    historyFrom.remove(packCopy(cache.cacheId(), p));
                    adoptEpoch(local[p], epochId, epochFloor);
                    created = true;
                }
                else if (!holds && local[p] != null)
                {
                    local[p].state = local[p].state.moveTo(PartitionState.RENTING).moveTo(PartitionState.EVICTED);
                    local[p] = null;
                    logCopyDropped(cache.cacheId(), p);
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
                    adoptEpoch(local[p], epochId, epochFloor);
                }
                else if (moving)
                {
                    LocalPartition lp = local[p];
                    final long epochBefore = lp.epochId;
                    final long highestBefore = lp.counter.highestClosed();
                    lp.state = lp.state.moveTo(PartitionState.MOVING);
                    final PartitionMap.RebalancePlan plan = plans.get(packCopy(cache.cacheId(), p));
                    if (plan == null)
                    {
                        throw new IllegalStateException("map " + map.version() + " lists a MOVING copy of cache " +
                            cache.name() + " partition " + p + " here without a rebalance plan");
                    }
                    if (plan.full() && !created)
                    {
                        lp = resetForFullRebalance(lp);
                    }
                    rebalancer.start(lp, plan, epochBefore, highestBefore);
                }
            }
        }
        for (final CacheDescriptor known : new ArrayList<>(walCaches.values()))
        {
            // A cluster that is not active yet may lack caches the members it waits for will bring back.
            if (map.isActive() && map.topology().cache(known.cacheId()) == null)
            {
                walCaches.remove(known.cacheId());
                copies.remove(known.cacheId());
                walWriter.reset().writeByte(WAL_CACHE_DESTROYED).writeInt(known.cacheId());
                appendMeta();
            }
        }
        if (map.isActive() && ownership.update(map, map.stamp()))
        {
            walWriter.reset().writeByte(WAL_OWNERSHIP);
            ownership.encode(walWriter);
            appendMeta();
        }
        rebalancer.logStarted();
        listener.onMapInstalled(map.topology());
        tx.onInstalled();
        answerDeferredUpdates();
        // Work that waited for this map: this member's own operations, and requests and updates parked here.
        final List<ParkedMessage> parked = new ArrayList<>(parkedMessages);
        parkedMessages.clear();
        for (final ParkedMessage message : parked)
        {
            if (message.deadlineNs > nowNs)
            {
                final UnsafeBuffer buffer = new UnsafeBuffer(message.bytes);
                reader.wrap(buffer, HEADER_LENGTH, message.bytes.length - HEADER_LENGTH);
                if (topology.indexOf(message.sender) >= 0)
                {
                    dispatchBody(message.type, message.sender, message.source, buffer, 0, message.bytes.length);
                }
            }
        }
        final List<NearOp> ops = new ArrayList<>(nearOps.values());
        for (final NearOp op : ops)
        {
            if (op.parked)
            {
                route(op);
            }
        }
    }

    private void finalizeGaps(final CacheDescriptor cache, final LocalPartition lp)
    {
        final List<CounterRange> holes = lp.counter.finalizeGaps();
        if (!holes.isEmpty())
        {
            walWriter.reset().writeByte(WAL_ROLLBACK).writeInt(cache.cacheId()).writeInt(lp.partition)
                .writeInt(holes.size());
            long highest = 0;
            for (final CounterRange hole : holes)
            {
                walWriter.writeLong(hole.start()).writeLong(hole.count());
                highest = Math.max(highest, hole.start() + hole.count());
            }
            historyIndex.note(packCopy(cache.cacheId(), lp.partition), wal.appendedPosition(), highest);
            appendMeta();
            listener.onEvent("member " + config.memberId() + " finalized gaps " + holes + " of cache " +
                cache.name() + " partition " + lp.partition);
        }
        clampHistory(cache.cacheId(), lp.partition, lp.counter.lwm());
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
            walWriter.reset().writeByte(WAL_EPOCH).writeInt(lp.cacheId).writeInt(lp.partition).writeLong(id)
                .writeLong(floor);
            appendMeta();
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
        logCopyDropped(old.cacheId, old.partition);
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
        final long position = appendWal(lp, counter, record.transaction(), opKey, outcome, record.key(),
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
        if (record.transaction() != NO_TRANSACTION)
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
        walWriter.reset().writeByte(WAL_REBALANCE_ENTRY).writeInt(lp.cacheId).writeInt(lp.partition)
            .writeLong(counter).writeBytes(key).writeBytes(value);
        appendMeta();
        lp.store.apply(key, value, counter);
    }

    /**
     * Every entry of a full rebalance arrived: once the closing record is durable (and with it every entry before
     * it), the counters up to {@code to} close and the copy's history starts at {@code to}.
     */
    void finishFullRebalance(final LocalPartition lp, final long to)
    {
        walWriter.reset().writeByte(WAL_REBALANCE_DONE).writeInt(lp.cacheId).writeInt(lp.partition).writeLong(to);
        final long position = wal.append(walWriter.buffer(), 0, walWriter.length());
        if (position < 0)
        {
            throw new IllegalStateException("WAL refused a record (back pressure is not handled yet)");
        }
        appendsSinceCheckpoint++;
        totalAppends++;
        durabilityQueue.add(new DurabilityWait(position, lp, 0, null, 0, 0, () -> closeRebalanced(lp, to)));
    }

    /**
     * Remember what the supplier remembered about the partition's recent operations and transactions (logged, so a
     * restart remembers it too).
     */
    void applyRebalancedMemory(final LocalPartition lp, final List<Rebalancer.MemoryItem> items)
    {
        walWriter.reset().writeByte(WAL_REBALANCE_MEMORY).writeInt(lp.cacheId).writeInt(lp.partition)
            .writeInt(items.size());
        final List<OpKey> keys = new ArrayList<>();
        final List<OpOutcome> outcomes = new ArrayList<>();
        for (final Rebalancer.MemoryItem item : items)
        {
            item.write(walWriter);
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
        appendMeta();
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
        historyFrom.put(packed, Math.max(historyFrom.get(packed), to));
        // Also into the checkpoint in progress, whose boundary would otherwise say nothing of this copy (its image,
        // if any, was of the copy before the clear): nothing would mean "complete from the start".
        checkpointHwms.put(packed, Math.max(checkpointHwms.get(packed), to));
        for (final HistoryBoundary boundary : historyBoundaries)
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

    private void onRebalanceDone(final long sender)
    {
        if (isCoordinator() && rebalancer.onDone(sender))
        {
            listener.onEvent("coordinator " + config.memberId() + ": every MOVING copy of topology " +
                topology.version() + " caught up; switching to the ideal owners");
            publishTopology(topology.withMembers(topology.members()));
        }
    }

    private void onMapInstalled(final long sender, final long version)
    {
        if (exchange == null || version != exchange.topology.version())
        {
            return;
        }
        exchange.installed.add(sender);
        if (exchange.isFinished())
        {
            final List<PendingAdmin> done = new ArrayList<>();
            for (final PendingAdmin admin : pendingAdmins)
            {
                if (admin.targetVersion <= version)
                {
                    done.add(admin);
                }
            }
            pendingAdmins.removeAll(done);
            for (final PendingAdmin admin : done)
            {
                answerAdmin(admin.origin, admin.sequence, 0, null);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Operations: near side.
    // ------------------------------------------------------------------------------------------------------------

    private void route(final NearOp op)
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
        if (!hasQuorum())
        {
            if (refusesForQuorum() && readLocally(op))
            {
                return;
            }
            if ((op.target == null || !op.type.mayWrite()) && refusesForQuorum())
            {
                // Never sent (or a read, which changes nothing): nothing was applied, and the caller can go to a member
                // of the majority. Reads too: without quorum this member's map may name a primary the majority
                // replaced, and a member cut off would only time out.
                completeNear(op, null, noQuorum(op.type.name().toLowerCase() + " on cache '" + op.cache.name() + "'"));
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
        if (op.type != OpType.GET || op.cache.readsWithoutQuorum() != QuorumReadPolicy.SERVE_LOCAL || hasQuorum())
        {
            return false;
        }
        final LocalPartition lp = localCopy(op.cache.cacheId(), op.partition);
        if (lp == null || lp.state != PartitionState.OWNING || lossRefusal(op.cache, op.partition, false) != null)
        {
            return false;
        }
        final byte[] value = lp.store.get(op.key);
        readsWithoutQuorum++;
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
                (hasQuorum() || (op.type.mayWrite() && op.sends > 1)))
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
        if (refusesForQuorum())
        {
            callback.onFailure(noQuorum("a change of caches or baseline"));
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
        if (isCoordinator())
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
        if (!isCoordinator())
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
        if (!hasQuorum())
        {
            answerAdmin(sender, sequence, ErrorCode.NO_QUORUM.code(), noQuorum("a change of caches or baseline")
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
            publishTopology(topology.withCache(descriptor));
        }
        else if (kind == ADMIN_DESTROY)
        {
            if (existing != null)
            {
                listener.onEvent("coordinator " + config.memberId() + " destroys cache " + name);
                publishTopology(topology.withoutCache(existing.cacheId()));
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
                publishTopology(topology.withBaseline(next));
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
                publishTopology(topology.withBaseline(topology.baseline()));
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
            publishTopology(topology.withCacheReplaced(existing.withLostReset()));
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
        if (exchange != null && exchange.isFinished())
        {
            onMapInstalled(incarnation, exchange.topology.version());
        }
    }

    private void answerAdmin(final long origin, final long sequence, final int errorCode, final String message)
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
        if (!hasQuorum())
        {
            // Reads too: a primary without quorum may be one the majority replaced, and its value stale.
            answerError(origin, sequence, ErrorCode.NO_QUORUM, noQuorum(type.name().toLowerCase() + " on cache '" +
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

    private void noteWatermark(final long origin, final long watermark)
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

    private void noteClientSeen(final long origin)
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
        final long position = appendWal(lp, counter, opKey, outcome, key, newValue, Predecessors.NONE);
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
     * Log an update with what exactly-once retries need after a restart: the operation's identity and outcome, and the
     * identities and outcomes of earlier updates of the key whose effect this value carries (a backup may have missed
     * them).
     */
    private long appendWal(final LocalPartition lp, final long counter, final OpKey opKey, final OpOutcome outcome,
        final byte[] key, final byte[] value, final Predecessors predecessors)
    {
        return appendWal(lp, counter, NO_TRANSACTION, opKey, outcome, key, value, predecessors);
    }

    private long appendWal(final LocalPartition lp, final long counter, final long transaction, final OpKey opKey,
        final OpOutcome outcome, final byte[] key, final byte[] value, final Predecessors predecessors)
    {
        walWriter.reset().writeByte(WAL_DATA).writeInt(lp.cacheId).writeInt(lp.partition).writeLong(counter)
            .writeLong(transaction).writeLong(opKey.originIncarnation()).writeLong(opKey.sequence()).writeBytes(key)
            .writeBytes(value)
            .writeBoolean(outcome.flag()).writeBytes(outcome.value());
        predecessors.write(walWriter);
        walWriter.writeLong(originWatermarks.get(opKey.originIncarnation()));
        historyIndex.note(packCopy(lp.cacheId, lp.partition), wal.appendedPosition(), counter);
        return appendRecord();
    }

    /**
     * Append the record in {@code walWriter} that describes state rather than an update: nobody waits for it, and
     * the next duty cycle's durability request covers it.
     */
    private void appendMeta()
    {
        appendRecord();
    }

    /**
     * Append the record in {@code walWriter}.
     *
     * @return its position.
     */
    private long appendRecord()
    {
        final long position = wal.append(walWriter.buffer(), 0, walWriter.length());
        if (position < 0)
        {
            throw new IllegalStateException("WAL refused a record (back pressure is not handled yet)");
        }
        appendsSinceCheckpoint++;
        totalAppends++;
        return position;
    }

    /**
     * Finalization dropped the copy's reservations above {@code lwm} (a prepare whose transaction the map change
     * voided): no record exists above it, because the exchange drained every append first. History recorded as
     * starting above it (an image taken while the reservation stood) is therefore complete from {@code lwm}.
     */
    private void clampHistory(final int cacheId, final int partition, final long lwm)
    {
        final long packed = packCopy(cacheId, partition);
        if (historyFrom.get(packed) > lwm)
        {
            historyFrom.put(packed, lwm);
        }
        if (checkpointHwms.get(packed) > lwm)
        {
            checkpointHwms.put(packed, lwm);
        }
        for (final HistoryBoundary boundary : historyBoundaries)
        {
            if (boundary.hwms().get(packed) > lwm)
            {
                boundary.hwms().put(packed, lwm);
            }
        }
    }

    private void logCopyDropped(final int cacheId, final int partition)
    {
        // Whatever this copy had is gone: a later copy here is a new lineage, whose history starts at its creation.
        historyFrom.remove(packCopy(cacheId, partition));
        checkpointHwms.remove(packCopy(cacheId, partition));
        for (final HistoryBoundary boundary : historyBoundaries)
        {
            boundary.hwms().remove(packCopy(cacheId, partition));
        }
        tx.forgetCommitted(cacheId, partition);
        walWriter.reset().writeByte(WAL_COPY_DROPPED).writeInt(cacheId).writeInt(partition);
        appendMeta();
    }

    /**
     * Log a transaction's write: its identity (coordinator incarnation and sequence, which is also the transaction
     * id) rides in the record, so replay remembers the transaction as committed on this copy.
     */
    long appendTxData(final LocalPartition lp, final long counter, final long coordinator, final long txSeq,
        final byte[] key, final byte[] value)
    {
        return appendWal(lp, counter, txSeq, new OpKey(coordinator, txSeq), OpOutcome.TRUE, key, value,
            Predecessors.NONE);
    }

    /**
     * Log a prepared transaction part ({@link #WAL_TX_PREPARE}).
     *
     * @return its position: the prepare may be acknowledged once the WAL holds it durably.
     */
    long appendTxPrepare(final TxManager.PartKey key, final long priority, final long[] participants,
        final byte[][] keys, final byte[][] values)
    {
        walWriter.reset().writeByte(WAL_TX_PREPARE).writeLong(key.coordinator()).writeLong(key.seq())
            .writeInt(key.cacheId()).writeInt(key.partition()).writeLong(priority);
        final long[] list = participants == null ? new long[0] : participants;
        walWriter.writeInt(list.length);
        for (final long participant : list)
        {
            walWriter.writeLong(participant);
        }
        walWriter.writeInt(keys.length);
        for (int i = 0; i < keys.length; i++)
        {
            walWriter.writeBytes(keys[i]).writeBytes(values[i]);
        }
        return appendRecord();
    }

    /**
     * @return the WAL position of the last record appended.
     */
    long appendedPosition()
    {
        return wal.appendedPosition();
    }

    /**
     * Log that a prepare recovered from the WAL is void ({@link #WAL_TX_VOID}).
     *
     * @return its position.
     */
    long appendTxVoid(final TxManager.PartKey key)
    {
        walWriter.reset().writeByte(WAL_TX_VOID).writeLong(key.coordinator()).writeLong(key.seq())
            .writeInt(key.cacheId()).writeInt(key.partition());
        appendMeta();
        return wal.appendedPosition();
    }

    /**
     * Log that a prepared transaction part finished ({@link #WAL_TX_END}).
     *
     * @return its position: whoever is told the part finished is told once the WAL holds it durably, or a crash
     *         before would bring the prepare back with nobody left to finish it.
     */
    long appendTxEnd(final TxManager.PartKey key, final boolean committed)
    {
        walWriter.reset().writeByte(WAL_TX_END).writeLong(key.coordinator()).writeLong(key.seq())
            .writeInt(key.cacheId()).writeInt(key.partition()).writeBoolean(committed);
        appendMeta();
        return wal.appendedPosition();
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
        walWriter.reset().writeByte(WAL_ROLLBACK).writeInt(lp.cacheId).writeInt(lp.partition).writeInt(closed.size());
        long highest = 0;
        for (final CounterRange range : closed)
        {
            lp.counter.rollback(range.start(), range.count());
            walWriter.writeLong(range.start()).writeLong(range.count());
            highest = Math.max(highest, range.start() + range.count());
        }
        historyIndex.note(packCopy(lp.cacheId, lp.partition), wal.appendedPosition(), highest);
        appendMeta();
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

    /** Copies imaged per duty cycle: each costs one pass over its entries, so writes keep flowing between them. */
    private static final int IMAGES_PER_CYCLE = 16;
    private static final int MANIFEST_VERSION = 5;
    /** The oldest manifest this build reads (3 had no ownership table, 4 no prepared transaction parts). */
    private static final int MANIFEST_VERSION_MIN = 3;

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

    private int checkpointDuty()
    {
        if (checkpoints == null)
        {
            return 0;
        }
        if (checkpointState != CheckpointState.IDLE && checkpoints.failure() != null)
        {
            listener.onEvent("member " + config.memberId() + ": checkpoint " + checkpointId + " failed: " +
                checkpoints.failure() + "; the next one starts after the checkpoint interval");
            checkpointState = CheckpointState.IDLE;
            nextCheckpointNs = nowNs + config.checkpointIntervalNs();
            // What the failed checkpoint would have covered still needs one, even if nothing new arrives.
            appendsSinceCheckpoint = Math.max(appendsSinceCheckpoint, 1);
            return 1;
        }
        switch (checkpointState)
        {
            case IDLE ->
            {
                if (state != MemberState.ACTIVE ||
                    (nowNs < nextCheckpointNs && appendsSinceCheckpoint < config.checkpointWalRecords()))
                {
                    return 0;
                }
                if (appendsSinceCheckpoint == 0)
                {
                    nextCheckpointNs = nowNs + config.checkpointIntervalNs();
                    return 0;
                }
                beginCheckpoint();
                return 1;
            }
            case SNAPSHOTTING ->
            {
                int imaged = 0;
                while (imaged < IMAGES_PER_CYCLE && checkpointCursorIndex < checkpointCursor.size())
                {
                    final long packed = checkpointCursor.getLong(checkpointCursorIndex++);
                    final LocalPartition lp = localCopy((int)(packed >>> 32), (int)packed);
                    if (lp != null)
                    {
                        checkpoints.write(image(lp));
                        imaged++;
                    }
                }
                if (checkpointCursorIndex == checkpointCursor.size())
                {
                    checkpointState = CheckpointState.AWAITING_DURABILITY;
                }
                return Math.max(imaged, 1);
            }
            case AWAITING_DURABILITY ->
            {
                if (wal.durablePosition() < checkpointRequiredDurable)
                {
                    return 0;
                }
                checkpoints.commit(checkpointId, manifest());
                checkpointState = CheckpointState.COMMITTING;
                return 1;
            }
            case COMMITTING ->
            {
                if (checkpoints.committedId() < checkpointId)
                {
                    return 0;
                }
                committedCheckpointId = checkpointId;
                checkpointState = CheckpointState.IDLE;
                nextCheckpointNs = nowNs + config.checkpointIntervalNs();
                final Long2LongHashMap hwms = new Long2LongHashMap(-1);
                hwms.putAll(checkpointHwms);
                historyBoundaries.addLast(new HistoryBoundary(checkpointReplayFrom, nowNs, totalAppends, hwms));
                walWriter.reset().writeByte(WAL_CHECKPOINT).writeLong(checkpointId).writeLong(checkpointReplayFrom);
                appendMeta();
                // The marker is not news: an idle member must not checkpoint again because of it.
                appendsSinceCheckpoint--;
                releaseHistory();
                listener.onEvent("member " + config.memberId() + " committed checkpoint " + checkpointId + " of " +
                    checkpointCursor.size() + " copies; recovery replays the WAL after position " +
                    checkpointReplayFrom);
                return 1;
            }
            default -> throw new IllegalStateException("checkpoint state " + checkpointState);
        }
    }

    private void beginCheckpoint()
    {
        checkpointId = Math.max(checkpointId, committedCheckpointId) + 1;
        checkpoints.begin(checkpointId);
        checkpointCursor.clear();
        for (final LocalPartition[] local : copies.values())
        {
            for (final LocalPartition lp : local)
            {
                if (lp != null)
                {
                    checkpointCursor.addLong(packCopy(lp.cacheId, lp.partition));
                }
            }
        }
        checkpointCursorIndex = 0;
        checkpointHwms.clear();
        checkpointRequiredDurable = wal.appendedPosition();
        // Records at or below this are reflected in every image (taken later) and in no copy created later.
        checkpointReplayFrom = wal.durablePosition();
        appendsSinceCheckpoint = 0;
        checkpointState = CheckpointState.SNAPSHOTTING;
    }

    /**
     * Image a copy as it is now: contents (applied, perhaps not yet durable), counter (durable only) and recent
     * outcomes. Replay of this copy resumes after the WAL's durable position, whose records the counter reflects; the
     * commit waits until the WAL holds everything appended so far, which covers every update in the contents.
     */
    private CheckpointStore.PartitionImage image(final LocalPartition lp)
    {
        final int entries = lp.store.entryCount();
        final byte[][] keys = new byte[entries][];
        final byte[][] values = new byte[entries][];
        final long[] counters = new long[entries];
        lp.store.snapshot(keys, values, counters);
        final byte[] counterState = new byte[lp.counter.encodedLength()];
        lp.counter.encode(new UnsafeBuffer(counterState), 0);
        // An update in flight on the primary has its outcome on the update, not yet in recent: its WAL record may
        // precede the image's replay position, so the image must carry it or a restart forgets the operation.
        final Map<OpKey, OpOutcome> inFlight = new HashMap<>();
        for (final PrimaryUpdate update : lp.inFlight.values())
        {
            inFlight.put(update.opKey, update.outcome);
        }
        int outcomes = 0;
        for (final Map.Entry<OpKey, OpOutcome> recent : lp.recent.entrySet())
        {
            outcomes += recent.getValue() != null || inFlight.containsKey(recent.getKey()) ? 1 : 0;
        }
        // References only: the store serializes on its own thread (outcomes are immutable).
        final long[] origins = new long[outcomes];
        final long[] sequences = new long[outcomes];
        final boolean[] flags = new boolean[outcomes];
        final byte[][] outcomeValues = new byte[outcomes][];
        int i = 0;
        for (final Map.Entry<OpKey, OpOutcome> recent : lp.recent.entrySet())
        {
            final OpOutcome outcome = recent.getValue() != null ? recent.getValue() : inFlight.get(recent.getKey());
            if (outcome != null)
            {
                origins[i] = recent.getKey().originIncarnation();
                sequences[i] = recent.getKey().sequence();
                flags[i] = outcome.flag();
                outcomeValues[i] = outcome.value();
                i++;
            }
        }
        checkpointRequiredDurable = Math.max(checkpointRequiredDurable, wal.appendedPosition());
        checkpointHwms.put(packCopy(lp.cacheId, lp.partition), lp.counter.hwm());
        return new CheckpointStore.PartitionImage(lp.cacheId, lp.partition, wal.durablePosition(),
            lp.counter.hwm(), counterState, keys, values, counters, origins, sequences, flags, outcomeValues);
    }

    private byte[] manifest()
    {
        manifestWriter.reset().writeByte(MANIFEST_VERSION).writeLong(checkpointReplayFrom).writeInt(walCaches.size());
        for (final CacheDescriptor cache : walCaches.values())
        {
            cache.encode(manifestWriter);
        }
        // The lineage epochs of every copy (images do not carry them, and the WAL records may be released).
        int count = 0;
        final int countAt = manifestWriter.length();
        manifestWriter.writeInt(0);
        for (final LocalPartition[] local : copies.values())
        {
            for (final LocalPartition lp : local)
            {
                if (lp != null && !lp.epochs.isEmpty())
                {
                    manifestWriter.writeInt(lp.cacheId).writeInt(lp.partition).writeInt(lp.epochs.size());
                    for (final long[] epoch : lp.epochs)
                    {
                        manifestWriter.writeLong(epoch[0]).writeLong(epoch[1]);
                    }
                    count++;
                }
            }
        }
        manifestWriter.patchInt(countAt, count);
        walBaseline.encode(manifestWriter);
        ownership.encode(manifestWriter);
        // Transaction parts prepared here and not finished: their WAL records may be released.
        tx.encodePrepared(manifestWriter);
        tx.encodeCommitted(manifestWriter);
        return copyOut(manifestWriter);
    }

    private static byte[] copyOut(final MessageWriter source)
    {
        final byte[] bytes = new byte[source.length()];
        source.buffer().getBytes(0, bytes);
        return bytes;
    }

    /**
     * @return the id of the newest checkpoint this member committed or recovered from, or 0.
     */
    public long committedCheckpointId()
    {
        return committedCheckpointId;
    }

    // ------------------------------------------------------------------------------------------------------------
    // WAL history.
    // ------------------------------------------------------------------------------------------------------------

    /**
     * A committed checkpoint whose WAL position is a candidate for release, with each imaged copy's HWM at its image.
     * Once the WAL is released up to it, a copy's history is complete only above that HWM, not above its LWM: updates
     * above LWM applied out of order sit in the WAL before the image (Ignite's IGNITE-17793).
     */
    private record HistoryBoundary(long position, long committedNs, long appendsAtCommit, Long2LongHashMap hwms)
    {
    }

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
            this(counter, null, null, NO_TRANSACTION, 0, 0, false, null, Predecessors.NONE);
        }
    }

    /**
     * Release WAL up to the newest committed checkpoint that is older than the history age and more than the history
     * size back, unless a reader pinned history.
     */
    private void releaseHistory()
    {
        if (historyPins > 0)
        {
            return;
        }
        HistoryBoundary target = null;
        for (final HistoryBoundary boundary : historyBoundaries)
        {
            if (nowNs - boundary.committedNs() >= config.walHistoryAgeNs() &&
                totalAppends - boundary.appendsAtCommit() >= config.walHistoryRecords())
            {
                target = boundary;
            }
        }
        if (target == null || target.position() <= releasedPosition)
        {
            return;
        }
        while (historyBoundaries.peekFirst() != target)
        {
            historyBoundaries.removeFirst();
        }
        releasedPosition = target.position();
        wal.release(releasedPosition);
        historyIndex.trim(releasedPosition);
        historyFrom.clear();
        historyFrom.putAll(target.hwms());
    }

    /**
     * @param cacheId   of the cache.
     * @param partition of the cache.
     * @return the counter after which this member's WAL holds the copy's complete history (0: all of it), or -1 if
     *         this member holds no copy.
     */
    public long historyFrom(final int cacheId, final int partition)
    {
        return localCopy(cacheId, partition) == null ? -1 : Math.max(0, historyFrom.get(packCopy(cacheId, partition)));
    }

    /**
     * Stop WAL release until {@link #unpinHistory()}, so that a history reader never loses what it reads.
     */
    public void pinHistory()
    {
        historyPins++;
    }

    /**
     * Undo one {@link #pinHistory()}; release resumes at the next checkpoint when no pin is left.
     */
    public void unpinHistory()
    {
        if (historyPins == 0)
        {
            throw new IllegalStateException("history is not pinned");
        }
        historyPins--;
    }

    /**
     * @return how many history pins are held.
     */
    public int historyPins()
    {
        return historyPins;
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
    public HistoryRead readHistory(final int cacheId, final int partition, final long fromExclusive,
        final long toInclusive)
    {
        final long packed = packCopy(cacheId, partition);
        return readHistories(Map.of(packed, new long[] {fromExclusive, toInclusive})).get(packed);
    }

    /**
     * {@link #readHistory} for many copies in one scan of the retained WAL, all at once (tests and checks; a supplier
     * reads in bounded steps through {@link #startHistoryScan}).
     *
     * @param ranges per copy ({@code cacheId << 32 | partition}), {fromExclusive, toInclusive}.
     * @return per copy, its records and whether the range is complete.
     */
    Map<Long, HistoryRead> readHistories(final Map<Long, long[]> ranges)
    {
        final HistoryScan scan = startHistoryScan(ranges);
        while (!scan.isDone())
        {
            scan.step(Integer.MAX_VALUE);
        }
        return scan.result();
    }

    /**
     * Start reading copies' histories from the retained WAL; the caller steps the scan (history stays pinned until it
     * is done or closed). Ranges this member cannot serve (no copy here, or history released) are answered at once.
     *
     * @param ranges per copy ({@code cacheId << 32 | partition}), {fromExclusive, toInclusive}.
     * @return the scan.
     */
    HistoryScan startHistoryScan(final Map<Long, long[]> ranges)
    {
        final Map<Long, HistoryRead> refused = new HashMap<>();
        long scanFrom = Long.MAX_VALUE;
        for (final Map.Entry<Long, long[]> range : ranges.entrySet())
        {
            final int cacheId = (int)(range.getKey() >>> 32);
            final int partition = (int)(long)range.getKey();
            final long available = historyFrom(cacheId, partition);
            if (available < 0)
            {
                refused.put(range.getKey(), new HistoryRead(false, List.of(), "this member holds no copy of cache " +
                    "id " + cacheId + " partition " + partition));
            }
            else if (range.getValue()[0] < available)
            {
                listener.onEvent("member " + config.memberId() + " cannot serve history of cache id " + cacheId +
                    " partition " + partition + " from counter " + range.getValue()[0] + ": the WAL keeps it " +
                    "only after " + available);
                refused.put(range.getKey(), new HistoryRead(false, List.of(), "the WAL keeps this copy's history " +
                    "only after counter " + available + " (released up to position " + releasedPosition + ")"));
            }
            else
            {
                scanFrom = Math.min(scanFrom, historyIndex.scanStart(range.getKey(), range.getValue()[0]));
            }
        }
        final long after = scanFrom == Long.MAX_VALUE ? 0 :
            Math.max(scanFrom, Math.max(releasedPosition, wal.firstRetainedPosition()));
        return new HistoryScan(this, wal, ranges, after, refused);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Recovery.
    // ------------------------------------------------------------------------------------------------------------

    /**
     * Rebuild the copies and caches this member had from its WAL: every update is applied by counter (newest wins per
     * key; a counter already closed is a duplicate and skipped), holes closed by rollback records close again, and
     * dropped copies and destroyed caches stay dropped. The copies are then reported to the first exchange like any
     * other, where the coordinator decides whether they are kept.
     */
    private void recover()
    {
        final long replayFrom = loadCheckpoint();
        replayPosition = replayFrom;
        final long replayed = wal.replay(replayFrom, (position, buffer, offset, length) ->
        {
            previousReplayPosition = replayPosition;
            replayPosition = position;
            reader.wrap(buffer, offset, length);
            replayRecord();
        });
        imageReplayFrom.clear();
        // A copy dropped after its image (and perhaps created again) has a new lineage: its history is its own.
        for (final Long2ObjectHashMap<LocalPartition>.EntryIterator it = imagedCopies.entrySet().iterator();
            it.hasNext(); )
        {
            it.next();
            final long packed = it.getLongKey();
            if (localCopy((int)(packed >>> 32), (int)packed) != it.getValue())
            {
                historyFrom.remove(packed);
            }
        }
        imagedCopies.clear();
        // ...except that a copy a full rebalance filled has history only after the rebalance's target.
        for (final Long2LongHashMap.EntryIterator it = rebalancedHistoryFrom.entrySet().iterator(); it.hasNext(); )
        {
            it.next();
            historyFrom.put(it.getLongKey(), Math.max(historyFrom.get(it.getLongKey()), it.getLongValue()));
        }
        rebalancedHistoryFrom.clear();
        recoveredRecords = replayed;
        long updates = 0;
        int partitions = 0;
        for (final LocalPartition[] local : copies.values())
        {
            for (final LocalPartition lp : local)
            {
                if (lp != null)
                {
                    lp.finishReplay(replayWatermarks);
                    // A thin client's outcomes recovered here are kept as long as if it had just been heard of.
                    lp.recent.keySet().forEach(key -> noteClientSeen(key.originIncarnation()));
                    partitions++;
                    updates += lp.counter.lwm();
                }
            }
        }
        // What origins promised before the crash still holds: a request below its origin's watermark is a late copy.
        for (final Long2LongHashMap.EntryIterator it = replayWatermarks.entrySet().iterator(); it.hasNext(); )
        {
            it.next();
            noteWatermark(it.getLongKey(), it.getLongValue());
        }
        replayWatermarks.clear();
        if (replayed == 0 && recoveredImages == 0)
        {
            return;
        }
        listener.onEvent("member " + config.memberId() + " recovered checkpoint " + committedCheckpointId + " (" +
            recoveredImages + " images) and " + replayed + " WAL records after position " + replayFrom + ": " +
            walCaches.size() + " cache(s), " + partitions + " partition copies, LWMs summing to " + updates);
    }

    /**
     * Load the newest committed checkpoint, if any: its caches, and a copy per image with contents, counter and
     * recent outcomes.
     *
     * @return the WAL position after which replay must start.
     */
    private long loadCheckpoint()
    {
        final CheckpointStore.Checkpoint checkpoint = checkpoints == null ? null : checkpoints.loadLatest();
        if (checkpoint == null)
        {
            return 0;
        }
        committedCheckpointId = checkpoint.id();
        checkpointId = checkpoint.id();
        reader.wrap(new UnsafeBuffer(checkpoint.manifest()), 0, checkpoint.manifest().length);
        final int version = reader.readByte("manifestVersion");
        if (version < MANIFEST_VERSION_MIN || version > MANIFEST_VERSION)
        {
            throw new MalformedMessageException("checkpoint " + checkpoint.id() + " has manifest version " + version +
                " (this build reads " + MANIFEST_VERSION_MIN + " to " + MANIFEST_VERSION + ")");
        }
        final long replayFrom = reader.readLong("replayFrom");
        releasedPosition = replayFrom;
        final int caches = reader.readInt("caches", 0, 1 << 20);
        for (int i = 0; i < caches; i++)
        {
            final CacheDescriptor cache = CacheDescriptor.decode(reader);
            walCaches.put(cache.cacheId(), cache);
        }
        final Long2ObjectHashMap<long[][]> epochs = new Long2ObjectHashMap<>();
        final int epochCopies = reader.readInt("epochCopies", 0, 1 << 24);
        for (int i = 0; i < epochCopies; i++)
        {
            final long packed = packCopy(reader.readInt("cacheId"), reader.readInt("partition", 0, 65_535));
            final long[][] list = new long[reader.readInt("epochs", 0, LocalPartition.EPOCHS_KEPT)][];
            for (int e = 0; e < list.length; e++)
            {
                list[e] = new long[] {reader.readLong("epochId"), reader.readLong("epochFloor")};
            }
            epochs.put(packed, list);
        }
        walBaseline = Baseline.decode(reader);
        if (version >= 4)
        {
            ownership.decode(reader);
        }
        if (version >= 5)
        {
            tx.decodePrepared(reader);
        }
        for (final CheckpointStore.PartitionImage image : checkpoint.images())
        {
            final CacheDescriptor cache = walCaches.get(image.cacheId());
            if (cache == null || image.partition() >= cache.partitions())
            {
                continue;
            }
            final LocalPartition lp = new LocalPartition(image.cacheId(), image.partition(),
                PartitionUpdateCounter.decode(image.partition(), PartitionUpdateCounter.GAPS_MAX_DEFAULT,
                    new UnsafeBuffer(image.counterState()), 0, image.counterState().length));
            for (int i = 0; i < image.keys().length; i++)
            {
                lp.store.apply(image.keys()[i], image.values()[i], image.counters()[i]);
            }
            for (int i = 0; i < image.recentOrigins().length; i++)
            {
                lp.recent.put(new OpKey(image.recentOrigins()[i], image.recentSequences()[i]),
                    new OpOutcome(image.recentFlags()[i], image.recentValues()[i], 0));
            }
            copies.computeIfAbsent(image.cacheId(), id -> new LocalPartition[cache.partitions()])[image.partition()] =
                lp;
            imageReplayFrom.put(packCopy(image.cacheId(), image.partition()), image.replayFromPosition());
            // The WAL before this checkpoint may be gone: history is complete only above the image's HWM.
            historyFrom.put(packCopy(image.cacheId(), image.partition()), image.hwm());
            historyIndex.raiseHighest(packCopy(image.cacheId(), image.partition()), image.hwm());
            imagedCopies.put(packCopy(image.cacheId(), image.partition()), lp);
            final long[][] lineage = epochs.get(packCopy(image.cacheId(), image.partition()));
            for (int e = 0; lineage != null && e < lineage.length; e++)
            {
                lp.adoptEpoch(lineage[e][0], lineage[e][1]);
            }
            recoveredImages++;
        }
        return replayFrom;
    }

    /**
     * @return whether the checkpoint image of this copy already reflects the WAL record being replayed.
     */
    private boolean reflectedByImage(final int cacheId, final int partition)
    {
        return imageReplayFrom.get(packCopy(cacheId, partition)) >= replayPosition;
    }

    private void replayRecord()
    {
        final int type = reader.readByte("walRecordType");
        switch (type)
        {
            case WAL_DATA ->
            {
                final int cacheId = reader.readInt("cacheId");
                final int partition = reader.readInt("partition", 0, 65_535);
                final long counter = reader.readLong("counter");
                historyIndex.note(packCopy(cacheId, partition), previousReplayPosition, counter);
                final long transaction = reader.readLong("transaction");
                final OpKey opKey = new OpKey(reader.readLong("origin"), reader.readLong("sequence"));
                if (transaction != NO_TRANSACTION)
                {
                    tx.replayCommitted(opKey.originIncarnation(), transaction, cacheId, partition);
                }
                final byte[] key = reader.readBytes("key");
                final byte[] value = reader.readBytes("value");
                final OpOutcome outcome = new OpOutcome(reader.readBoolean("flag"), reader.readBytes("outcome"), 0);
                final LocalPartition lp = reflectedByImage(cacheId, partition) ? null :
                    recoveredCopy(cacheId, partition);
                final Predecessors predecessors = Predecessors.read(reader);
                final long watermark = reader.readLong("watermark");
                if (watermark > replayWatermarks.get(opKey.originIncarnation()))
                {
                    replayWatermarks.put(opKey.originIncarnation(), watermark);
                }
                for (int i = 0; i < predecessors.count() && lp != null; i++)
                {
                    lp.replayRecent(predecessors.keys()[i], predecessors.outcomes()[i], true, replayWatermarks);
                }
                if (lp != null && !lp.counter.isClosed(counter))
                {
                    lp.store.apply(key, value, counter);
                    lp.counter.apply(counter - 1, 1);
                    // A retry of this operation after the restart is answered from here, never applied again.
                    lp.replayRecent(opKey, outcome, false, replayWatermarks);
                }
            }
            case WAL_ROLLBACK ->
            {
                final int cacheId = reader.readInt("cacheId");
                final int partition = reader.readInt("partition", 0, 65_535);
                final LocalPartition lp = reflectedByImage(cacheId, partition) ? null :
                    recoveredCopy(cacheId, partition);
                final int ranges = reader.readInt("ranges", 0, 1 << 20);
                long highest = 0;
                for (int i = 0; i < ranges; i++)
                {
                    final long start = reader.readLong("start");
                    final long count = reader.readLong("count");
                    highest = Math.max(highest, start + count);
                    if (lp != null && count > 0 && !lp.counter.isClosed(start + 1))
                    {
                        lp.counter.rollback(start, count);
                    }
                }
                historyIndex.note(packCopy(cacheId, partition), previousReplayPosition, highest);
            }
            case WAL_COPY_DROPPED ->
            {
                final int cacheId = reader.readInt("cacheId");
                final int partition = reader.readInt("partition", 0, 65_535);
                final LocalPartition[] local = copies.get(cacheId);
                if (reflectedByImage(cacheId, partition))
                {
                    // The image is of a later copy: the commits replayed so far were the dropped copy's.
                    tx.forgetCommittedBeforeImage(cacheId, partition);
                }
                else
                {
                    tx.forgetCommitted(cacheId, partition);
                    if (local != null && partition < local.length)
                    {
                        local[partition] = null;
                        rebalancedHistoryFrom.remove(packCopy(cacheId, partition));
                        tx.forgetPrepared(cacheId, partition);
                    }
                }
            }
            case WAL_CACHE ->
            {
                final CacheDescriptor cache = CacheDescriptor.decode(reader);
                walCaches.put(cache.cacheId(), cache);
            }
            case WAL_BASELINE -> walBaseline = Baseline.decode(reader);
            case WAL_OWNERSHIP -> ownership.decode(reader);
            case WAL_TX_PREPARE -> tx.replayPrepare(reader);
            case WAL_TX_END -> tx.replayEnd(new TxManager.PartKey(reader.readLong("coordinator"),
                reader.readLong("tx"), reader.readInt("cacheId"), reader.readInt("partition", 0, 65_535)),
                reader.readBoolean("committed"));
            case WAL_TX_VOID -> tx.replayVoid(new TxManager.PartKey(reader.readLong("coordinator"),
                reader.readLong("tx"), reader.readInt("cacheId"), reader.readInt("partition", 0, 65_535)));
            case WAL_CACHE_DESTROYED ->
            {
                final int cacheId = reader.readInt("cacheId");
                walCaches.remove(cacheId);
                copies.remove(cacheId);
                ownership.remove(cacheId);
                tx.forgetPrepared(cacheId, -1);
            }
            case WAL_ALL_DROPPED ->
            {
                // Copies imaged after the drop belong to the member's next life and stay; caches left without any
                // copy are forgotten, as they were when the member dropped its state.
                for (final Integer cacheId : new ArrayList<>(walCaches.keySet()))
                {
                    final LocalPartition[] local = copies.get(cacheId);
                    boolean any = false;
                    for (int p = 0; local != null && p < local.length; p++)
                    {
                        if (local[p] != null && !reflectedByImage(cacheId, p))
                        {
                            local[p] = null;
                            tx.forgetPrepared(cacheId, p);
                        }
                        any |= local[p] != null;
                    }
                    if (!any)
                    {
                        copies.remove(cacheId);
                        walCaches.remove(cacheId);
                    }
                }
            }
            case WAL_CHECKPOINT ->
            {
                // Informational; the manifest is the authority.
            }
            case WAL_EPOCH ->
            {
                final LocalPartition lp = recoveredCopy(reader.readInt("cacheId"),
                    reader.readInt("partition", 0, 65_535));
                final long id = reader.readLong("epochId");
                final long floor = reader.readLong("epochFloor");
                if (lp != null)
                {
                    lp.adoptEpoch(id, floor);
                }
            }
            case WAL_REBALANCE_ENTRY ->
            {
                final int cacheId = reader.readInt("cacheId");
                final int partition = reader.readInt("partition", 0, 65_535);
                final long counter = reader.readLong("counter");
                final byte[] key = reader.readBytes("key");
                final byte[] value = reader.readBytes("value");
                final LocalPartition lp = reflectedByImage(cacheId, partition) ? null :
                    recoveredCopy(cacheId, partition);
                if (lp != null && key != null && counter > 0)
                {
                    lp.store.apply(key, value, counter);
                }
            }
            case WAL_REBALANCE_MEMORY ->
            {
                final int cacheId = reader.readInt("cacheId");
                final int partition = reader.readInt("partition", 0, 65_535);
                final LocalPartition lp = reflectedByImage(cacheId, partition) ? null :
                    recoveredCopy(cacheId, partition);
                final int count = reader.readInt("items", 0, 1 << 24);
                for (int i = 0; i < count; i++)
                {
                    final Rebalancer.MemoryItem item = Rebalancer.MemoryItem.read(reader);
                    if (lp != null && item.transaction())
                    {
                        tx.rememberFinished(item.origin(), item.sequence(), cacheId, partition, item.flag());
                    }
                    else if (lp != null)
                    {
                        lp.replayOlder(new OpKey(item.origin(), item.sequence()),
                            new OpOutcome(item.flag(), item.value(), 0));
                    }
                }
            }
            case WAL_REBALANCE_DONE ->
            {
                final int cacheId = reader.readInt("cacheId");
                final int partition = reader.readInt("partition", 0, 65_535);
                final long to = reader.readLong("to");
                final LocalPartition lp = reflectedByImage(cacheId, partition) ? null :
                    recoveredCopy(cacheId, partition);
                if (lp != null)
                {
                    for (final CounterRange open : openRanges(lp.counter, to))
                    {
                        lp.counter.rollback(open.start(), open.count());
                    }
                    final long packed = packCopy(cacheId, partition);
                    historyFrom.put(packed, Math.max(historyFrom.get(packed), to));
                    rebalancedHistoryFrom.put(packed, to);
                }
            }
            default -> throw new MalformedMessageException("unknown WAL record type " + type);
        }
    }

    private LocalPartition recoveredCopy(final int cacheId, final int partition)
    {
        final CacheDescriptor cache = walCaches.get(cacheId);
        if (cache == null || partition >= cache.partitions())
        {
            return null;
        }
        final LocalPartition[] local = copies.computeIfAbsent(cacheId, id -> new LocalPartition[cache.partitions()]);
        if (local[partition] == null)
        {
            local[partition] = new LocalPartition(cacheId, partition);
        }
        return local[partition];
    }

    /**
     * On the first topology after start: recovered copies of caches the cluster does not have (destroyed while this
     * member was away, or another cache under the same id, as after two clusters that formed apart merged) are
     * dropped before they could be reported, each non-empty one kept for the operator first
     * ({@link EngineListener#onCopyKept}).
     */
    private void dropRecoveredCopiesUnknownTo(final Topology joined)
    {
        for (final CacheDescriptor recovered : new ArrayList<>(walCaches.values()))
        {
            final CacheDescriptor current = joined.cache(recovered.cacheId());
            if (current == null || !current.sameSettings(recovered) ||
                current.creatorIncarnation() != recovered.creatorIncarnation() ||
                current.creatorSequence() != recovered.creatorSequence())
            {
                final CacheDescriptor sameName = joined.cache(recovered.name());
                final String reason = "the cluster " + (current == null ? "has no cache under its id " +
                    recovered.cacheId() : "has another cache under its id: '" + current.name() + "'") + ", and " +
                    (sameName == null ? "none named '" + recovered.name() + "' (destroyed while this member was " +
                    "away, or another cluster's cache)" : "its cache named '" + recovered.name() + "' is another " +
                    "cache (created by another cluster, or again after a destroy)");
                listener.onEvent("member " + config.memberId() + " drops its recovered copies of cache " +
                    recovered.name() + " (id " + recovered.cacheId() + "): " + reason);
                keepCopiesOf(recovered, reason);
                walCaches.remove(recovered.cacheId());
                copies.remove(recovered.cacheId());
                walWriter.reset().writeByte(WAL_CACHE_DESTROYED).writeInt(recovered.cacheId());
                appendMeta();
            }
        }
    }

    /**
     * Hand every non-empty copy of a cache about to be dropped for want of a cache to take it in to
     * {@link EngineListener#onCopyKept}, and say so where an operator looks after a split (the quorum history of
     * {@code state}).
     */
    private void keepCopiesOf(final CacheDescriptor recovered, final String reason)
    {
        final LocalPartition[] local = copies.get(recovered.cacheId());
        int keptCopies = 0;
        long keptEntries = 0;
        for (int p = 0; local != null && p < local.length; p++)
        {
            final LocalPartition lp = local[p];
            if (lp == null || lp.store.size() == 0)
            {
                continue;
            }
            final List<byte[]> keys = new ArrayList<>(lp.store.size());
            final List<byte[]> values = new ArrayList<>(lp.store.size());
            lp.store.forEach((key, value, counter) ->
            {
                if (value != null)
                {
                    keys.add(key);
                    values.add(value);
                }
            });
            listener.onCopyKept(new KeptCopy(recovered.name(), recovered.cacheId(), recovered.keyCodec(),
                recovered.valueCodec(), p, lp.counter.highestClosed(), reason, keys, values));
            keptCopies++;
            keptEntries += keys.size();
        }
        if (keptCopies > 0)
        {
            final String event = "kept " + keptEntries + " entries of " + keptCopies + " copies of cache '" +
                recovered.name() + "' for the operator (" + reason + ")";
            listener.onEvent("member " + config.memberId() + " " + event);
            rememberQuorumEvent(event);
        }
    }

    /**
     * @return the number of WAL records replayed when this engine started.
     */
    public long recoveredRecords()
    {
        return recoveredRecords;
    }

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
        if (!hasQuorum())
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
    private void answerDeferredUpdates()
    {
        if (deferredAnswers.isEmpty() || installedMap == null || !hasQuorum())
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

    private void completeUpdatesHeldForQuorum()
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

    private void forgetBackup(final long departed)
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
        final long position = appendWal(lp, counter, opKey, new OpOutcome(flag, outcomeValue, 0), key, value,
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

    private void send(final MemberRecord member, final MessageWriter message)
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
                case JOIN_REQUEST -> onJoinRequest();
                case JOIN_PENDING -> onJoinPending();
                case JOIN_REJECTED -> onJoinRejected(destination);
                case TOPOLOGY -> onTopology(sender);
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
                writer.writeLong(topology.version()).writeLong(clusterLifeId()).writeInt(topology.members().size())
                    .writeLong(topology.coordinator().incarnation());
                transport.send(source, writer.buffer(), 0, writer.length());
            }
            else if (type == NOT_MEMBER)
            {
                onNotMember(sender);
            }
            return;
        }
        lastHeardNs.put(sender, nowNs);
        dispatchBody(type, sender, source, buffer, offset, length);
    }

    private void dispatchBody(final int type, final long sender, final int source, final DirectBuffer buffer,
        final int offset, final int length)
    {
        switch (type)
        {
            case HEARTBEAT -> onHeartbeat(sender);
            case NOT_MEMBER -> onNotMember(sender);
            case LEAVE -> onLeave(sender);
            case EXCHANGE_REPORT -> onExchangeReport(sender);
            case REPORT_ACK -> onReportAck();
            case PARTITION_MAP -> onPartitionMap();
            case MAP_INSTALLED -> onMapInstalled(sender, reader.readLong("version"));
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
            case Rebalancer.REBALANCE_DONE -> onRebalanceDone(sender);
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

    private List<LocalPartition[]> allCopies()
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

    private void failOperationsOnCache(final CacheDescriptor cache)
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

    private void changeState(final MemberState to, final String why)
    {
        final MemberState from = state;
        state = to;
        quorumCheckedNs = Long.MIN_VALUE;
        listener.onStateChange(from, to, why);
    }

    // ------------------------------------------------------------------------------------------------------------
    // State records.
    // ------------------------------------------------------------------------------------------------------------

    private static final class NearOp
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

    private record PendingAdmin(long origin, long sequence, long targetVersion)
    {
    }

    private record ParkedMessage(int type, long sender, int source, byte[] bytes, long deadlineNs)
    {
    }

    private record DurabilityWait(long position, LocalPartition lp, long counter, PrimaryUpdate update, long primary,
        long version, Runnable onDurable)
    {
    }

    /**
     * One copy as its holder reported it. Equal counters do not prove equal data (copies of two lineages of a
     * partition, one recovered from an old life, can both stand at LWM 1), so the content hash is compared too.
     */
    private record ReportEntry(long member, int cacheId, int partition, long lwm, long hwm, boolean primary,
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

    private static final class ReportAssembly
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

    private static final class CoordinatorExchange
    {
        final Topology topology;
        final Long2ObjectHashMap<ReportAssembly> reports = new Long2ObjectHashMap<>();
        final LongHashSet installed = new LongHashSet();
        PartitionMap map;
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
