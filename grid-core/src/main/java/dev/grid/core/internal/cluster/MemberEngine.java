package dev.grid.core.internal.cluster;

import dev.grid.core.BaselineTopology;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.NodeStoppingException;
import dev.grid.core.QuorumStatus;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.MessageTypes;
import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.TransactionView;
import dev.grid.core.engine.Transactions;
import dev.grid.core.engine.TxCallback;
import dev.grid.core.internal.cluster.LocalPartition.PrimaryUpdate;
import dev.grid.core.internal.partition.CounterRange;
import dev.grid.core.spi.CheckpointStore;
import dev.grid.core.spi.RandomSource;
import dev.grid.core.spi.Transport;
import dev.grid.core.spi.Wal;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * One cluster member's protocol: a thin engine that routes each message by its {@link MessageTypes type} to the
 * component that owns that slice of the protocol and drives their duty cycles. {@link Joining} and
 * {@link Membership} keep the member in the cluster (join through seeds, heartbeats, failure detection, quorum, the
 * oldest member coordinating); {@link Exchange} runs the partition map exchange on every topology change, with the
 * decision made by {@link ExchangePlanner}; {@link NearOps} routes this member's own operations and
 * {@link Replication} serves them as primary and backup with update counters; {@link TxManager} runs transactions;
 * {@link Rebalancer} and {@link RebalancedCopies} catch lagging copies up; {@link Checkpointer}, {@link Recovery}
 * and {@link WalRecords} make it all durable and bring it back. The engine keeps what they share: configuration,
 * time (passed in by {@link #doWork}), the transport, the topology, the installed map, the local copies and what the
 * WAL knows; and it is the facade its host calls.
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

    static final int HEADER_LENGTH = 1 + 1 + 8 + 8;

    static final int STATUS_OK = 0;
    static final int STATUS_REMAP = 1;
    static final int STATUS_ERROR = 2;

    static final long[] NO_PREPARES = new long[0];
    /** Default interval between resends of an unanswered request, report or map. */
    public static final long RETRY_INTERVAL_DEFAULT_NS = TimeUnit.MILLISECONDS.toNanos(500);
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

    MemberState state = MemberState.JOINING;
    GridException failure;
    long nowNs;
    long incarnation;
    MemberRecord self;

    // Membership.
    Topology topology;
    // Exchange, member side.
    PartitionMap installedMap;
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
        return new QuorumStatus(membership.quorumHave(), membership.quorumNeed(), membership.hasQuorum(),
            membership.writesRefusedForQuorum,
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
        return isSettled() && near.nearOps.isEmpty() && cacheAdmin.adminOps.isEmpty() &&
            inFlightUpdates == 0 && tx.isIdle() &&
            installedMap.plans().isEmpty() && rebalancer.isIdle() && checker.isIdle() &&
            durability.durabilityQueue.isEmpty() && parkedMessages.isEmpty() &&
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
            durability.durabilityQueue.size() + " wal=" +
            wal.durablePosition() + "/" + wal.appendedPosition() + " parked=" + parkedMessages.size() +
            " reportAcked=" + mapExchange.reportAckedVersion + " reportBuilt=" + (mapExchange.reportChunks != null) +
            " coordinatorExchange=" +
            (mapExchange.exchange == null ? "-" : "v" + mapExchange.exchange.topology.version() +
            (mapExchange.exchange.map != null ? " map sent" : "") +
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
        return near.nearOps.size() + cacheAdmin.adminOps.size();
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
                    send(member, MessageTypes.LEAVE);
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
            walRecords.walWriter.reset().writeByte(WalRecords.WAL_ALL_DROPPED);
            walRecords.appendMeta();
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
        walRecords.walWriter.reset().writeByte(WalRecords.WAL_ROLLBACK).writeInt(lp.cacheId).writeInt(lp.partition)
            .writeInt(closed.size());
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
                header(MessageTypes.NOT_MEMBER, sender);
                writer.writeLong(topology.version()).writeLong(membership.clusterLifeId())
                    .writeInt(topology.members().size())
                    .writeLong(topology.coordinator().incarnation());
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
            case MessageTypes.MAP_INSTALLED -> mapExchange.onMapInstalled(sender, reader.readLong("version"));
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
            case MessageTypes.CACHE_ADMIN_RESPONSE -> cacheAdmin.onAdminAnswer(reader.readLong("sequence"),
                reader.readInt("errorCode"),
                reader.readString("message"));
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
    public HistoryRead readHistory(final int cacheId, final int partition, final long fromExclusive,
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
        near.submit(cacheId, type, key, value, expected, timeoutNs, clientId, clientSequence,
            clientWatermark, callback);
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
        cacheAdmin.createCache(descriptor, callback);
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
        cacheAdmin.destroyCache(name, callback);
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
        cacheAdmin.resetLostPartitions(name, callback);
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
        cacheAdmin.changeBaseline(change, ids, timeoutNs, callback);
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
        cacheAdmin.activate(callback);
    }

    /**
     * @return tombstones dropped since start (see {@link #purgeTombstones()}).
     */
    public long tombstonesPurged()
    {
        return tombstones.tombstonesPurged();
    }
}
