package dev.grid.node;

import dev.grid.core.BaselineTopology;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.CacheMetrics;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.Codec;
import dev.grid.core.Codecs;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.EntryProcessor;
import dev.grid.core.ErrorCode;
import dev.grid.core.Grid;
import dev.grid.core.GridException;
import dev.grid.core.GridFactory;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.MemberMetrics;
import dev.grid.core.NodeStoppingException;
import dev.grid.core.QuorumStatus;
import dev.grid.core.RebalanceListener;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.Transactions;
import dev.grid.core.engine.TransactionView;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.CopyView;
import dev.grid.core.engine.Engine;
import dev.grid.core.member.Members;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.core.engine.Topology;
import dev.grid.core.spi.SeededRandomSource;
import dev.grid.core.spi.Transport;
import dev.grid.core.spi.WallClock;
import dev.grid.net.AeronTransport;
import dev.grid.persistence.DataDirectory;
import dev.grid.tx.TxManager;
import org.agrona.CloseHelper;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * A cluster member embedded in the application's process: the composition of a {@link Engine} with an Aeron
 * transport, a WAL (Chronicle Queue under the data directory, or volatile for an in-memory member) and one agent thread
 * that runs them. With a data directory, starting recovers the member's copies from its WAL before it joins.
 * <p>
 * <b>Threading:</b> every method may be called from any thread. Calls become commands in the agent's inbox and
 * futures completed by the agent; the engine's state is touched only by the agent thread. Blocking methods wait on
 * those futures; futures returned to users complete on {@link ForkJoinPool#commonPool()}, never on the agent thread,
 * so user callbacks cannot stall the member.
 */
public final class GridMember implements Grid
{
    /** Providing {@link Grid#start(MemberConfiguration)}. */
    public static final class Factory implements GridFactory
    {
        public Grid start(final MemberConfiguration configuration)
        {
            return GridMember.start(configuration);
        }
    }

    static final Logger LOG = LoggerFactory.getLogger(GridMember.class);
    static final long FLUSH_CYCLES_AFTER_STOP = 64;

    final MemberConfiguration config;
    final AeronTransport transport;
    /** What the engine sends and receives through: the transport, or a shard's links beside it (ShardLinks). */
    private final Transport engineTransport;
    final DataDirectory dataDirectory;
    private final MemberStorage storage;
    private final long recoveryNs;
    /**
     * Replaced (on the agent thread) when the cluster expelled this member: a new engine on the same data directory
     * recovers the copies and rejoins. Touched only on the agent thread, and by the constructor.
     */
    Engine engine;
    private volatile long expulsions;
    private final Listener listener = new Listener(this);
    /** Attributes this member advertises beyond its configuration (its client address): given to every engine. */
    private final Map<String, String> advertised = new ConcurrentHashMap<>();
    final Metrics metrics = new Metrics();
    /** The shards of the member this one is part of (see {@link #shardsOfMember()}), set by {@link ShardedMember}. */
    volatile List<GridMember> shardsOfMember = List.of(this);
    final ManyToOneConcurrentArrayQueue<Runnable> commands = new ManyToOneConcurrentArrayQueue<>(1 << 16);
    final MemberCodecs codecs;
    /**
     * Where futures returned to users complete. Not the common pool: with fewer than three cores its parallelism is
     * below two, and CompletableFuture then runs every async completion on a new thread.
     */
    private final ForkJoinPool userExecutor;
    private final Transactions transactions = new MemberTransactions(this);
    final MemberAdmin admin = new MemberAdmin(this);
    final CompletableFuture<Void> joined = new CompletableFuture<>();
    final CompletableFuture<Void> stopped = new CompletableFuture<>();
    private final AgentRunner runner;
    volatile Topology topology;
    volatile boolean closing;
    /** The agent's thread once it started ({@link MemberAgent#onStart()}): it must never wait for its own queue. */
    volatile Thread agentThread;
    /**
     * A fault of a command the agent ran from inside {@link #execute} or {@link MemberAgent#runNow}; the agent stops
     * the member with it.
     */
    RuntimeException deferredFault;
    /** How many more requests {@link MemberAgent#runNow} may run in this duty cycle. Agent thread. */
    int runNowBudget;
    private final AtomicBoolean closeStarted = new AtomicBoolean();
    private final CompletableFuture<Void> closeFinished = new CompletableFuture<>();
    volatile MemberState state = MemberState.JOINING;
    /** Serves thin clients and the admin tool, if the configuration gives a client port. */
    private final ClientService clientService;
    /** Rebalance listeners, and the serial executor (on the user pool) that calls them in order. */
    final List<RebalanceListener> rebalanceListeners = new CopyOnWriteArrayList<>();
    final Executor rebalanceEvents;
    final AutoCloseable clientEndpoint;
    private final int clientEndpointPort;
    private final List<MemberService.Provider> serviceProviders;
    private final List<MemberService> services = new CopyOnWriteArrayList<>();
    private final MemberSnapshots snapshots = new MemberSnapshots(this);
    final MemberActivation activation = new MemberActivation(this);
    private final VerifiedPasswords servicePasswords = new VerifiedPasswords();
    volatile String stopReason = "is stopping";
    long cyclesAfterStop = -1;

    private GridMember(final MemberConfiguration config, final UnaryOperator<Transport> links)
    {
        this.config = config;
        this.userExecutor = new ForkJoinPool(Math.max(2, Runtime.getRuntime().availableProcessors()), pool ->
        {
            final ForkJoinWorkerThread thread = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            thread.setName("grid-user-" + config.memberId() + "-" + thread.getPoolIndex());
            thread.setDaemon(true);
            return thread;
        }, null, true);
        this.rebalanceEvents = new SerialExecutor(userExecutor);
        this.serviceProviders = ServiceLoader.load(MemberService.Provider.class, GridMember.class.getClassLoader())
            .stream().map(ServiceLoader.Provider::get).toList();
        final Map<String, EntryProcessor<?, ?>> serviceProcessors = new HashMap<>();
        serviceProviders.forEach(provider -> serviceProcessors.putAll(provider.entryProcessors()));
        this.codecs = new MemberCodecs(config, serviceProcessors);
        this.storage = MemberStorage.open(config);
        this.dataDirectory = storage.dataDirectory();
        AeronTransport launched = null;
        try
        {
            launched = AeronTransport.launch(config.bindAddress(), config.port(), config.memberId());
            this.transport = launched;
            this.engineTransport = links == null ? launched : links.apply(launched);
            advertised.put(GridVersion.VERSION_ATTRIBUTE, GridVersion.current());
            advertised.put(GridVersion.STARTED_ATTRIBUTE, Long.toString(System.currentTimeMillis()));
            // Recovery (the WAL's replay) runs here, on the starting thread, before the member joins.
            final long recoveryStartNs = System.nanoTime();
            this.engine = newEngine(recoveryStartNs);
            this.recoveryNs = System.nanoTime() - recoveryStartNs;
            if (engine.history().recoveredRecords() > 0)
            {
                LOG.info("member {} replayed {} WAL records in {} ms", config.memberId(),
                    engine.history().recoveredRecords(),
                    TimeUnit.NANOSECONDS.toMillis(recoveryNs));
            }
        }
        catch (final RuntimeException | Error ex)
        {
            CloseHelper.quietClose(launched);
            closePersistence();
            throw ex;
        }
        this.runner = new AgentRunner(new MemberIdleStrategy(config.idleMaxParkNs()), this::onAgentError, null,
            new MemberAgent(this));
        if (config.clientPort() >= 0)
        {
            this.clientService = new ClientService(this);
            try
            {
                final ClientListener listening = ClientListener.open(config, clientService);
                this.clientEndpoint = listening.endpoint();
                this.clientEndpointPort = listening.port();
            }
            catch (final IOException ex)
            {
                clientService.close();
                CloseHelper.quietClose(transport);
                closePersistence();
                throw new InvalidConfigurationException("member " + config.memberId() + " cannot serve clients on " +
                    config.bindAddress() + ":" + config.clientPort() + ": " + ex.getMessage());
            }
            advertised.put(ClientService.CLIENT_ADDRESS_ATTRIBUTE, config.bindAddress() + ":" + clientEndpointPort);
            engine.advertise(ClientService.CLIENT_ADDRESS_ATTRIBUTE, config.bindAddress() + ":" + clientEndpointPort);
        }
        else
        {
            this.clientService = null;
            this.clientEndpoint = null;
            this.clientEndpointPort = -1;
        }
    }

    private Engine newEngine(final long nowNs)
    {
        final Engine created = Members.newEngine(config, engineTransport, storage.wal(), storage.checkpoints(),
            new SeededRandomSource(new SecureRandom().nextLong()), codecs::resolve, codecs::resolveProcessor,
            systemWallClock(nowNs), TxManager::new, listener,
            Engine.RETRY_INTERVAL_DEFAULT_NS, nowNs);
        advertised.forEach(created::advertise);
        return created;
    }

    /** @return the system's wall clock as of {@code nowNs}, following the monotonic time from there. */
    private static WallClock systemWallClock(final long nowNs)
    {
        final long originMs = System.currentTimeMillis();
        return ns -> originMs + Math.floorDiv(ns - nowNs, 1_000_000L);
    }

    /**
     * The cluster removed this member while it ran (a pause, a network split): once the old engine made its WAL
     * durable, a new one recovers the copies from it, as after a restart, and joins again; counters then decide how
     * each copy catches up. An in-memory member's engine rejoins by itself, without its copies.
     */
    void restartExpelledEngine()
    {
        expulsions++;
        final long startNs = System.nanoTime();
        engine = newEngine(startNs);
        state = MemberState.JOINING;
        LOG.warn("member {} was removed from the cluster while running; it recovered {} WAL records in {} ms and " +
            "joins again with its copies", config.memberId(), engine.history().recoveredRecords(),
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs));
    }

    /** @return how often the cluster removed this member while it ran and it rejoined with a new engine. */
    public long expulsions()
    {
        return expulsions;
    }

    /**
     * Start a member and wait until it joined the cluster and installed its partition map.
     *
     * @param configuration of the member.
     * @return the running member.
     * @throws dev.grid.core.JoinFailedException if it could not join; nothing is left running.
     */
    public static GridMember start(final MemberConfiguration configuration)
    {
        return start(configuration, null);
    }

    /** {@link #start(MemberConfiguration)} of a shard whose engine talks to its siblings through {@code links}. */
    static GridMember start(final MemberConfiguration configuration, final UnaryOperator<Transport> links)
    {
        configuration.conclude();
        final GridMember member = new GridMember(configuration, links);
        AgentRunner.startOnThread(member.runner, r -> new Thread(r, "grid-member-" + configuration.memberId()));
        try
        {
            member.joined.get(configuration.joinTimeoutNs() + TimeUnit.SECONDS.toNanos(30), TimeUnit.NANOSECONDS);
            member.startServices();
            return member;
        }
        catch (final RuntimeException | Error ex)
        {
            // A service that cannot start (its settings, a missing library, a port taken) stops the member: it must
            // not run half-configured, nor keep a process alive whose start failed.
            member.close();
            throw ex;
        }
        catch (final ExecutionException ex)
        {
            member.close();
            throw ex.getCause() instanceof GridException ? (GridException)ex.getCause() :
                new GridException(ErrorCode.JOIN_FAILED, "member " + configuration.memberId() + " failed to start: " +
                    ex.getCause(), ex.getCause());
        }
        catch (final TimeoutException | InterruptedException ex)
        {
            member.close();
            throw new GridException(ErrorCode.JOIN_FAILED, "member " + configuration.memberId() +
                " did not join within the join timeout", ex);
        }
    }

    /**
     * Check a user's password against this member's configured users ({@code client.user.NAME}), as the thin-client
     * handshake does: for services that authenticate their own connections. Costs a PBKDF2 the first time a user and
     * password are checked (an unknown user too), little after.
     *
     * @param user     the user's name.
     * @param password the password given.
     * @return the user's role, or null if the user is unknown or the password wrong.
     */
    public MemberConfiguration.ClientRole authenticate(final String user, final String password)
    {
        final MemberConfiguration.ClientUser known = config.clientUsers().get(user);
        if (known == null || password == null)
        {
            servicePasswords.spendAsForAKnownUser(password == null ? "" : password);
            return null;
        }
        return servicePasswords.matches(user, password, known.passwordHash()) ? known.role() : null;
    }

    /** Start the services found on the class path that this member's configuration asks for. */
    private void startServices()
    {
        for (final MemberService.Provider provider : serviceProviders)
        {
            final MemberService service = provider.start(this);
            if (service != null)
            {
                services.add(0, service);
            }
        }
    }

    /** @return this member's configuration. */
    public MemberConfiguration configuration()
    {
        return config;
    }

    /** @return the Aeron driver directory of this member (removed on close). */
    public String driverDirectory()
    {
        return transport.directory();
    }

    /** @return the topology this member installed last. */
    public Topology topology()
    {
        return topology;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Grid.
    // ------------------------------------------------------------------------------------------------------------

    public <K, V> Cache<K, V> createCache(final CacheConfiguration<K, V> configuration)
    {
        Futures.await(createCacheAsync(configuration));
        final CacheDescriptor created = findCache(configuration.name());
        if (created == null)
        {
            throw new CacheNotFoundException("cache '" + configuration.name() + "' was destroyed right after creation");
        }
        return new MemberCache<>(this, created, configuration);
    }

    /** {@link #createCache} without waiting: for the thin client's requests, which no thread waits for. */
    CompletableFuture<OpOutcome> createCacheAsync(final CacheConfiguration<?, ?> configuration)
    {
        configuration.conclude();
        if (configuration.eviction() != null && dataDirectory != null)
        {
            throw new InvalidConfigurationException("cache '" + configuration.name() + "' has an eviction policy, " +
                "but member " + config.memberId() + " is persistent: persistent caches never evict acknowledged " +
                "data (they refuse writes at the memory bound with MEMORY_BOUND_EXCEEDED instead)");
        }
        if (configuration.mergeOperator() != null)
        {
            codecs.register(configuration.mergeOperatorName(), configuration.mergeOperator());
        }
        final CacheDescriptor descriptor = CacheDescriptor.of(configuration, 0, 0);
        final CompletableFuture<OpOutcome> future = new CompletableFuture<>();
        execute(() -> engine.admin().createCache(descriptor, new FutureCallback(future)), future);
        return future;
    }

    public <K, V> Cache<K, V> cache(final String name)
    {
        return MemberCache.open(this, descriptor(name));
    }

    public void destroyCache(final String name)
    {
        Futures.await(destroyCacheAsync(name));
    }

    CompletableFuture<OpOutcome> destroyCacheAsync(final String name)
    {
        final CompletableFuture<OpOutcome> future = new CompletableFuture<>();
        execute(() -> engine.admin().destroyCache(name, new FutureCallback(future)), future);
        return future;
    }

    /**
     * @return the transactions this member coordinates now (its users', and thin clients' served here), oldest
     *         first.
     */
    public List<TransactionView> activeTransactions()
    {
        return Futures.await(admin.activeTransactions());
    }

    /**
     * Roll back a transaction this member coordinates (an operator's kill).
     *
     * @param id the transaction's id in {@link #activeTransactions()}.
     * @throws GridException with {@link ErrorCode#TRANSACTION_NOT_FOUND} if there is none such.
     */
    public void killTransaction(final long id)
    {
        Futures.await(admin.killTransaction(id));
    }

    @Override
    public void addRebalanceListener(final RebalanceListener listener)
    {
        rebalanceListeners.add(Objects.requireNonNull(listener, "listener must not be null"));
    }

    String cacheName(final int cacheId)
    {
        final CacheDescriptor cache = topology == null ? null : topology.cache(cacheId);
        return cache == null ? "#" + cacheId : cache.name();
    }

    @Override
    public BaselineTopology baseline()
    {
        return Futures.await(admin.baseline());
    }

    @Override
    public void setBaseline(final Collection<String> memberIds)
    {
        changeBaseline(Baseline.SET, List.copyOf(memberIds), -1);
    }

    @Override
    public void addToBaseline(final String... memberIds)
    {
        changeBaseline(Baseline.ADD, List.of(memberIds), -1);
    }

    @Override
    public void removeFromBaseline(final String... memberIds)
    {
        changeBaseline(Baseline.REMOVE, List.of(memberIds), -1);
    }

    @Override
    public void baselineAutoAdjust(final long timeoutNs)
    {
        changeBaseline(Baseline.AUTO_ADJUST, List.of(), timeoutNs);
    }

    private void changeBaseline(final int change, final List<String> memberIds, final long timeoutNs)
    {
        Futures.await(admin.changeBaseline(change, memberIds, timeoutNs));
    }

    @Override
    public List<Integer> lostPartitions(final String cacheName)
    {
        return Futures.await(admin.lostPartitions(cacheName));
    }

    @Override
    public void resetLostPartitions(final String... cacheNames)
    {
        for (final String name : cacheNames)
        {
            Futures.await(admin.resetLostPartitions(name));
        }
    }

    @Override
    public void activate()
    {
        // This member's deactivation only: the admin tool (ClientAdmin.activate) lifts every member's.
        activation.activate();
        Futures.await(admin.activate());
    }

    /**
     * @return whether the cluster serves data (false while, restarted from data directories, it waits for the last
     *         owners of its partitions; see {@link #activate}).
     */
    public boolean isActive()
    {
        return Futures.await(query(() -> engine.isActive()));
    }

    public Collection<String> caches()
    {
        final Topology current = topology;
        final List<String> names = new ArrayList<>();
        if (current != null)
        {
            for (final CacheDescriptor cache : current.caches())
            {
                names.add(cache.name());
            }
        }
        return names;
    }

    @Override
    public Transactions transactions()
    {
        return transactions;
    }

    /**
     * @param cacheName a cache.
     * @return its entries, accounted bytes, evictions and expirations on this member.
     * @throws CacheNotFoundException if there is none.
     */
    public CacheMetrics cacheMetrics(final String cacheName)
    {
        final CacheDescriptor cache = descriptor(cacheName);
        return Futures.await(query(() -> engine.status().cacheMetrics(cache.cacheId())));
    }

    public MemberMetrics metrics()
    {
        final Topology current = topology;
        return metrics.snapshot(current == null ? 0 : current.version(), current == null ? 0 :
            current.members().size());
    }

    /**
     * Stop the member: in-flight operations fail with {@link ErrorCode#NODE_STOPPING}, the cluster is told, and the
     * agent, transport and media driver shut down (the driver directory is deleted). Idempotent, and every caller
     * returns only once the member is closed: a JVM ends when its shutdown hooks return, so a hook's close that
     * returned while another thread's close was still under way cut it off, leaving the driver directory behind.
     */
    public void close()
    {
        if (!closeStarted.compareAndSet(false, true))
        {
            awaitClosed();
            return;
        }
        try
        {
            // The agent may have stopped on its own already (a failure): then it needs no stop command.
            final boolean agentStopping = closing;
            for (final MemberService service : services)
            {
                try
                {
                    service.close();
                }
                catch (final RuntimeException ex)
                {
                    LOG.warn("member {}: closing {} failed: {}", config.memberId(), service, ex.toString());
                }
            }
            closing = true;
            snapshots.close();
            if (clientEndpoint != null)
            {
                CloseHelper.quietClose(clientEndpoint);
                clientService.close();
            }
            while (!agentStopping && !commands.offer(this::stopEngine))
            {
                Thread.onSpinWait();
            }
        }
        finally
        {
            try
            {
                awaitStopped();
            }
            finally
            {
                closeFinished.complete(null);
            }
        }
    }

    /** A second caller of {@link #close()} waits for the first to finish, as long as a close may take. */
    private void awaitClosed()
    {
        try
        {
            closeFinished.get(30, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        catch (final ExecutionException | TimeoutException ex)
        {
            LOG.warn("member {} was not closed within 30 s by another caller: {}", config.memberId(), ex.toString());
        }
    }

    private void awaitStopped()
    {
        try
        {
            stopped.get(10, TimeUnit.SECONDS);
        }
        catch (final Exception ex)
        {
            LOG.warn("member {} did not stop cleanly within 10 s: {}", config.memberId(), ex.toString());
        }
        runner.close();
        // Completions already queued still run; the pool's threads end when idle.
        userExecutor.shutdown();
    }

    /** @return this member's side of cluster-wide snapshots (create, list, check, restore). */
    public MemberSnapshots snapshots()
    {
        return snapshots;
    }

    /**
     * @return the shards of the member this one is part of, itself included, the first shard first (just this one
     * for a member of one shard): monitoring started on the first shard reads every shard.
     */
    public List<GridMember> shardsOfMember()
    {
        return shardsOfMember;
    }

    /** @return what monitoring reads beyond {@link #metrics()}: histograms, WAL, checkpoints, clients, transport. */
    public MemberMonitoring monitoring()
    {
        return new MemberMonitoring(metrics, storage, clientService, () -> Futures.await(query(transport::figures)));
    }

    /**
     * @return how many WAL records this member replayed when it started (0 for an in-memory member).
     */
    public long recoveredRecords()
    {
        return engine.history().recoveredRecords();
    }

    /**
     * @return the id of the newest checkpoint this member committed or recovered from (0: none).
     */
    public long committedCheckpointId()
    {
        return storage.checkpoints() == null ? 0 : storage.checkpoints().committedId();
    }

    /**
     * @return how long building the engine took at start, WAL replay included, in nanoseconds.
     */
    public long recoveryNs()
    {
        return recoveryNs;
    }

    /**
     * @return the member's state (STOPPED after close, FAILED if it could not join or lost its transport).
     */
    public MemberState state()
    {
        return state;
    }

    /**
     * @param cacheName of a cache.
     * @return this member's copies of its partitions (counters, size, content hash), by partition.
     * @throws CacheNotFoundException if no such cache exists.
     */
    public SortedMap<Integer, CopyView> localCopies(final String cacheName)
    {
        return Futures.await(admin.localCopies(cacheName));
    }

    /**
     * Compare every OWNING copy of each partition of a cache at the same counter, while the cluster keeps writing:
     * counter conflicts (LWM or closed ranges differ) and data conflicts (same counters, different content).
     *
     * @param cacheName of a cache.
     * @return the report; {@link ConsistencyReport#isClean()} if every partition's copies agree.
     * @throws CacheNotFoundException if no such cache exists.
     */
    @Override
    public ConsistencyReport checkConsistency(final String cacheName)
    {
        return Futures.await(admin.checkConsistency(cacheName));
    }

    /**
     * @return this member's view of the quorum: members heard, members needed, whether it holds it, writes refused
     *         for want of it, and when it lost or regained it lately.
     */
    public QuorumStatus quorum()
    {
        return Futures.await(admin.quorum());
    }

    /**
     * @return what this member's rebalance is doing (MOVING copies it catches up, progress, ETA) and its totals.
     */
    @Override
    public RebalanceStatus rebalanceStatus()
    {
        return Futures.await(admin.rebalanceStatus());
    }

    /**
     * @return true if this member installed the map of its current topology and has nothing in flight (no
     *         operation, update, transaction, rebalance or check).
     */
    public boolean isQuiescent()
    {
        return Futures.await(query(() -> engine.status().isQuiescent()));
    }

    /**
     * Close the Aeron client underneath the member, as a media driver that timed it out would; for tests.
     */
    void simulateTransportClientTimeout()
    {
        while (!commands.offer(transport::simulateClientTimeout))
        {
            Thread.onSpinWait();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Operations, for MemberCache.
    // ------------------------------------------------------------------------------------------------------------

    CompletableFuture<OpOutcome> submit(final int cacheId, final OpType type, final byte[] key, final byte[] value,
        final byte[] expected, final long timeoutNs)
    {
        return submit(cacheId, type, key, value, expected, timeoutNs, ClientIdentity.NONE);
    }

    /**
     * @param identity a thin client's identity for the operation, so that its resends apply once
     *                 ({@link ClientIdentity#NONE} for this member's own).
     */
    CompletableFuture<OpOutcome> submit(final int cacheId, final OpType type, final byte[] key, final byte[] value,
        final byte[] expected, final long timeoutNs, final ClientIdentity identity)
    {
        final CompletableFuture<OpOutcome> future = new CompletableFuture<>();
        execute(() -> refuseIfInactive(future, () -> engine.submit(cacheId, type, key, value, expected, timeoutNs,
            identity.clientId(), identity.sequence(), identity.watermark(), new FutureCallback(future))), future);
        return future;
    }

    /** On the agent thread, in order with the deactivation's quiescence query: run the operation, or refuse it. */
    private void refuseIfInactive(final CompletableFuture<OpOutcome> future, final Runnable operation)
    {
        final GridException inactive = activation.refusal();
        if (inactive != null)
        {
            future.completeExceptionally(inactive);
            return;
        }
        operation.run();
    }

    /** @return a partition's journal read on its primary ({@link Engine#journalRead}), on the agent thread. */
    CompletableFuture<OpOutcome> journalRead(final int cacheId, final int partition, final byte[] request,
        final long timeoutNs)
    {
        final CompletableFuture<OpOutcome> future = new CompletableFuture<>();
        execute(() -> refuseIfInactive(future, () -> engine.journalRead(cacheId, partition, request, timeoutNs,
            new FutureCallback(future))), future);
        return future;
    }

    /** @return a page of a partition from its primary ({@link Engine#scanPage}), completed on the agent thread. */
    CompletableFuture<OpOutcome> scanPage(final int cacheId, final int partition, final byte[] afterKey,
        final byte[] spec, final long timeoutNs)
    {
        final CompletableFuture<OpOutcome> future = new CompletableFuture<>();
        execute(() -> refuseIfInactive(future, () -> engine.scanPage(cacheId, partition, afterKey, spec, timeoutNs,
            new FutureCallback(future))), future);
        return future;
    }

    /**
     * @param future completed on the agent thread.
     * @param <T>    result type.
     * @return a future completed on the user executor.
     */
    <T> CompletableFuture<T> toUser(final CompletableFuture<T> future)
    {
        return future.whenCompleteAsync((v, e) -> { }, userExecutor);
    }

    /**
     * @return where futures returned to users complete.
     */
    Executor userExecutor()
    {
        return userExecutor;
    }

    /**
     * @param error thrown by an engine command.
     * @return whether it refuses the caller's request (configuration, cache, codec or client mistakes, and requests
     *         the member cannot serve now) rather than reports a fault of the member (persistence, counters), after
     *         which its state cannot be trusted.
     */
    static boolean isRefusal(final GridException error)
    {
        return switch (error.errorCode().group())
        {
            case CONFIGURATION, CACHE, OPERATION, CODEC, CLIENT, MEMBERSHIP, TRANSACTION -> true;
            default -> false;
        };
    }

    /**
     * Ask the engine something on the agent thread.
     *
     * @param question run on the agent thread; a {@link GridException} it throws (a request naming a cache that does
     *                 not exist) fails the future.
     * @param <T>      the answer's type.
     * @return the answer, completed on the agent thread.
     */
    <T> CompletableFuture<T> query(final Supplier<T> question)
    {
        final CompletableFuture<T> future = new CompletableFuture<>();
        execute(() -> future.complete(question.get()), future);
        return future;
    }

    /**
     * Run a command on the agent thread; if the member is closing, fail {@code future} instead. Every command ends
     * {@code future}: a refusal it throws (the caller's mistake: a cache that does not exist, an invalid request,
     * {@link #isRefusal}) fails it; any other exception fails it too, then stops the member (a fault of the member's
     * own: a WAL that cannot be written, a counter in a state it must never reach). Called on the agent thread itself
     * (a client request its duty cycle read) while the queue is full, it runs the queued commands first.
     */
    void execute(final Runnable action, final CompletableFuture<?> future)
    {
        final Runnable command = () ->
        {
            try
            {
                action.run();
            }
            catch (final GridException refused)
            {
                future.completeExceptionally(refused);
                if (!isRefusal(refused))
                {
                    throw refused;
                }
            }
            catch (final RuntimeException fault)
            {
                future.completeExceptionally(fault);
                throw fault;
            }
        };
        while (closing || !commands.offer(command))
        {
            if (closing)
            {
                future.completeExceptionally(new NodeStoppingException("member " + config.memberId() + " " +
                    stopReason));
                return;
            }
            if (Thread.currentThread() == agentThread)
            {
                // A request read in the agent's own cycle: it runs what waits, in order, instead of waiting for itself.
                // A fault stops the drain and, after the poll, the member (MemberAgent); nothing is queued meanwhile.
                if (deferredFault == null)
                {
                    try
                    {
                        commands.drain(Runnable::run);
                        continue;
                    }
                    catch (final RuntimeException fault)
                    {
                        deferredFault = fault;
                    }
                }
                future.completeExceptionally(new NodeStoppingException("member " + config.memberId() + " stops: " +
                    deferredFault));
                return;
            }
            Thread.onSpinWait();
        }
    }

    /**
     * @return the port thin clients connect to, or -1 if this member serves none.
     */
    public int clientPort()
    {
        return clientEndpointPort;
    }

    /**
     * @param name of a cache.
     * @return its descriptor.
     * @throws CacheNotFoundException if there is none.
     */
    CacheDescriptor descriptor(final String name)
    {
        final CacheDescriptor descriptor = findCache(name);
        if (descriptor == null)
        {
            throw new CacheNotFoundException("no cache named '" + name + "'");
        }
        return descriptor;
    }

    /**
     * @param name of a cache.
     * @return a view of it whose keys and values are the encoded bytes, as thin clients send them.
     * @throws CacheNotFoundException if there is none.
     */
    MemberCache<byte[], byte[]> rawCache(final String name)
    {
        return rawCache(name, Codecs.BYTES);
    }

    /**
     * @param name     of a cache.
     * @param keyCodec how the encoded key bytes are held (byte arrays, or a type with value equality for maps).
     * @param <K>      the key type.
     * @return a view of it whose values are the encoded bytes.
     * @throws CacheNotFoundException if there is none.
     */
    <K> MemberCache<K, byte[]> rawCache(final String name, final Codec<K> keyCodec)
    {
        final CacheDescriptor descriptor = descriptor(name);
        return new MemberCache<>(this, descriptor, new CacheConfiguration<>(name, keyCodec, Codecs.BYTES)
            .partitions(descriptor.partitions()).backups(descriptor.backups())
            .operationTimeoutNs(descriptor.operationTimeoutNs()));
    }

    private CacheDescriptor findCache(final String name)
    {
        final Topology current = topology;
        return current == null ? null : current.cache(name);
    }

    /**
     * @return the engine; touch it only on the agent thread (inside {@link #execute}).
     */
    Engine engine()
    {
        return engine;
    }

    private void stopEngine()
    {
        engine.stop();
        cyclesAfterStop = 0;
    }

    void closePersistence()
    {
        storage.close();
    }

    private void onAgentError(final Throwable error)
    {
        // The agent's own termination was logged with its reason where it was decided.
        if (!(error instanceof AgentTerminationException))
        {
            LOG.error("member {} agent error", config.memberId(), error);
        }
    }
}
