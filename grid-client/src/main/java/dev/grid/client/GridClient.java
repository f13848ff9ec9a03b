package dev.grid.client;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.Codec;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.OperationTimeoutException;
import dev.grid.core.PredicateTransaction;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.core.ValuePredicate;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.client.FrameWriter;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The thin client: Grid for an application that does not embed a member. It connects to any of the configured
 * members over TCP ({@code docs/protocol.md}), learns the other members' client addresses, and sends each key's
 * request straight to its partition's primary (partition awareness; the map is refreshed when a member's answer
 * carries a newer topology version). Many requests travel on one connection at once (pipelining).
 * <p>
 * When a connection breaks, a cache request is sent again to another member (up to three attempts, within its
 * timeout): reads change nothing, and every write carries this client's identity and a number, by which members
 * apply it once however often it arrives ({@link ClientProtocol#PUT}). A predicate transaction or a transaction's
 * commit fails with {@link ErrorCode#OUTCOME_UNKNOWN} (or {@link ErrorCode#TX_COMMIT_STATUS_UNKNOWN}): it may have
 * been applied.
 * <p>
 * A member without quorum (on the minority side of a split, or just resumed from a long pause) refuses requests with
 * {@link ErrorCode#NO_QUORUM} and applies nothing: the request is sent again, after a short wait, through another
 * member (the refusing one is avoided for two seconds), up to three attempts in all; the last refusal is the answer.
 * <p>
 * <b>Threading:</b> thread-safe. Futures of the {@code ...Async} methods complete on a connection's reader thread;
 * chain heavy work with {@code ...Async} continuations.
 */
public final class GridClient implements AutoCloseable
{
    private final ClientConfiguration config;
    private final Map<String, ClientConnection> connections = new ConcurrentHashMap<>();
    private final Map<String, PartitionMapView> maps = new ConcurrentHashMap<>();
    private final AtomicLong newestTopology = new AtomicLong();
    /** Members that answered NO_QUORUM, by client address, and until when (System.nanoTime()) they are avoided. */
    private final Map<String, Long> avoidedUntilNs = new ConcurrentHashMap<>();
    /** The bytes {@link #numberWrites} writes: client id, sequence and watermark, an i64 each. */
    static final int WRITE_IDENTITY_BYTES = 24;
    private static final long NO_QUORUM_RETRY_DELAY_MS = 100;
    /** Threads that send requests again; retries beyond them wait their turn (their deadlines still hold). */
    private static final int RETRY_THREADS = 4;
    private static final long AVOID_NO_QUORUM_MEMBER_NS = TimeUnit.SECONDS.toNanos(2);
    /**
     * This client's identity: with a number per write, it makes every write apply once however often it is resent
     * after a broken connection (members remember outcomes by it; see {@link ClientProtocol#PUT}).
     */
    private final long clientId = ClientProtocol.newClientId(new java.security.SecureRandom()::nextLong);
    /** Guarded by itself: the next write number, and the numbers of writes not yet finished. */
    private final java.util.TreeSet<Long> outstandingWrites = new java.util.TreeSet<>();
    private long nextWriteSequence;
    private final ScheduledExecutorService timer;
    /** The timer's thread, which gives up overdue requests and so must never wait for an answer itself. */
    private volatile Thread timerThread;
    /** Where requests are sent again (see {@link #retry}): a few threads, as a retry may block while it connects. */
    private final ThreadPoolExecutor retries;
    private final ClientAdmin admin = new ClientAdmin(this, null);
    private volatile boolean closed;

    /**
     * A cache's partition map as a client uses it.
     *
     * @param checkedAt      the newest topology version known when it was fetched (it is fetched again only once a
     *                       newer one is seen, so a member answering with an older map costs one fetch, not one per
     *                       request).
     * @param primaryAddress per partition, the primary's client address; null if the map could not be had (requests
     *                       then go to any member, which forwards them).
     */
    record PartitionMapView(long checkedAt, String[] primaryAddress)
    {
    }

    private GridClient(final ClientConfiguration config)
    {
        this.config = config;
        final ThreadFactory timerThreads = daemonThreads("grid-client-timer");
        final ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r ->
        {
            final Thread thread = timerThreads.newThread(r);
            timerThread = thread;
            return thread;
        });
        executor.setRemoveOnCancelPolicy(true);
        this.timer = executor;
        this.retries = new ThreadPoolExecutor(RETRY_THREADS, RETRY_THREADS, 30, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), daemonThreads("grid-client-retry"));
        retries.allowCoreThreadTimeOut(true);
        // No timer task per request (two heap operations under the timer's lock per request, from every calling
        // thread): each request carries its deadline, and one periodic sweep gives up the overdue ones.
        // The shorter timeout sets how late a request may be given up (a transaction's deadlines are never shorter).
        final long sweepNs = expirySweepNs(Math.min(config.requestTimeoutNs(), config.operatorTimeoutNs()));
        executor.scheduleWithFixedDelay(this::expireRequests, sweepNs, sweepNs, TimeUnit.NANOSECONDS);
    }

    /**
     * How often overdue requests are looked for: a tenth of the shortest timeout, between 1 and 50 ms, so a request is
     * given up at most that much after its timeout.
     */
    static long expirySweepNs(final long shortestTimeoutNs)
    {
        return Math.max(TimeUnit.MILLISECONDS.toNanos(1), Math.min(TimeUnit.MILLISECONDS.toNanos(50),
            shortestTimeoutNs / 10));
    }

    /** @return a factory of daemon threads of that name: the client's threads never keep the JVM alive. */
    private static ThreadFactory daemonThreads(final String name)
    {
        return r ->
        {
            final Thread thread = new Thread(r, name);
            thread.setDaemon(true);
            return thread;
        };
    }

    /**
     * Send a request again, on a thread of the retry pool: never on the thread that saw the failure, which may be the
     * caller's (a connection that failed before the caller registered its callback: the caller would block inside the
     * call, connecting, past its deadline), a connection's reader (its answers) or the timer (every timeout). Not
     * once the caller was answered (its timeout) or the client closed.
     */
    private void retry(final int op, final byte[] payload, final Route route, final boolean idempotent,
        final CompletableFuture<ClientConnection.Answer> result, final int attempt, final long firstSentNs)
    {
        try
        {
            retries.execute(() ->
            {
                if (!result.isDone() && !closed)
                {
                    attempt(op, payload, route, idempotent, result, attempt, firstSentNs);
                }
            });
        }
        catch (final RejectedExecutionException closing)
        {
            result.completeExceptionally(new GridException(ErrorCode.NODE_STOPPING, "the client is closed"));
        }
    }

    private void expireRequests()
    {
        final long nowNs = System.nanoTime();
        for (final ClientConnection connection : connections.values())
        {
            try
            {
                connection.expire(nowNs);
            }
            catch (final RuntimeException ex)
            {
                // A periodic task that throws is never run again: every later request would wait for ever. The next
                // sweep tries this connection again.
            }
        }
    }

    /**
     * Connect to the first reachable member of the configuration.
     *
     * @param config addresses, credentials and timeouts.
     * @return the connected client.
     * @throws dev.grid.core.InvalidConfigurationException naming a bad setting.
     * @throws GridException with {@link ErrorCode#AUTHENTICATION_FAILED} or {@link
     *                       ErrorCode#PROTOCOL_VERSION_UNSUPPORTED} if a member refused it, or {@link
     *                       ErrorCode#CLUSTER_UNREACHABLE} if none answered.
     */
    public static GridClient connect(final ClientConfiguration config)
    {
        config.validate();
        final GridClient client = new GridClient(config);
        try
        {
            client.anyConnection(null);
            return client;
        }
        catch (final RuntimeException ex)
        {
            client.close();
            throw ex;
        }
    }

    /**
     * A cache, with the codecs it was created with (built-in codecs only; see {@link #cache(String, Codec, Codec)}).
     *
     * @param name of the cache.
     * @param <K>  the key type.
     * @param <V>  the value type.
     * @return the cache.
     * @throws CacheNotFoundException if there is none of that name.
     */
    @SuppressWarnings("unchecked")
    public <K, V> Cache<K, V> cache(final String name)
    {
        final CacheInfo info = cacheInfo(name);
        return new ClientCache<>(this, info, (Codec<K>)Codecs.byName(info.keyCodec()),
            (Codec<V>)Codecs.byName(info.valueCodec()));
    }

    /**
     * A cache whose codecs the application brings (the same the members use for it).
     *
     * @param name       of the cache.
     * @param keyCodec   its key codec.
     * @param valueCodec its value codec.
     * @param <K>        the key type.
     * @param <V>        the value type.
     * @return the cache.
     * @throws CacheNotFoundException if there is none of that name.
     */
    public <K, V> Cache<K, V> cache(final String name, final Codec<K> keyCodec, final Codec<V> valueCodec)
    {
        return new ClientCache<>(this, cacheInfo(name), keyCodec, valueCodec);
    }

    /**
     * Create a cache (or accept an equal existing one). Needs the admin role.
     *
     * @param configuration of the cache; its codecs must be known to the members by name.
     * @param <K>           the key type.
     * @param <V>           the value type.
     * @return the cache.
     */
    public <K, V> Cache<K, V> createCache(final CacheConfiguration<K, V> configuration)
    {
        configuration.conclude();
        final FrameWriter w = new FrameWriter();
        w.writeString(configuration.name()).writeInt(configuration.partitions()).writeInt(configuration.backups())
            .writeString(configuration.keyCodec().name()).writeString(configuration.valueCodec().name())
            .writeString(configuration.backupFilterAttribute()).writeLong(configuration.operationTimeoutNs())
            .writeByte(configuration.partitionLossPolicy().ordinal()).writeString(configuration.mergeOperatorName())
            .writeByte(configuration.readsWithoutQuorum().ordinal())
            .writeByte(configuration.expiry() == null ? 0 : configuration.expiry().kind().ordinal() + 1)
            .writeLong(configuration.expiry() == null ? 0 : configuration.expiry().durationMs())
            .writeByte(configuration.eviction() == null ? 0 : configuration.eviction().kind().ordinal() + 1)
            .writeLong(configuration.eviction() == null ? 0 : configuration.eviction().maxEntries())
            .writeLong(configuration.eviction() == null ? 0 : configuration.eviction().maxBytes())
            .writeInt(configuration.eventJournal());
        await(send(ClientProtocol.CACHE_CREATE, w, null, false));
        return cache(configuration.name(), configuration.keyCodec(), configuration.valueCodec());
    }

    /**
     * Destroy a cache and its data. Needs the admin role.
     *
     * @param name of the cache.
     */
    public void destroyCache(final String name)
    {
        final FrameWriter w = new FrameWriter();
        w.writeString(name);
        await(send(ClientProtocol.CACHE_DESTROY, w, null, false));
        maps.remove(name);
    }

    /**
     * @return the names of the caches that exist.
     */
    public List<String> caches()
    {
        final List<String> names = new ArrayList<>();
        for (final CacheInfo info : cacheInfos())
        {
            names.add(info.name());
        }
        return names;
    }

    /**
     * Begin an interactive transaction. It lives on one connection: if that breaks, the transaction is rolled back by
     * the member (or, if its commit was in flight, its outcome is unknown). The begin is sent with the transaction's
     * first step, to the primary of that step's key (so that the member coordinating the transaction holds that
     * partition), and not waited for: a member's refusal of it (too many requests outstanding) is the error of that
     * step.
     *
     * @param concurrency pessimistic or optimistic.
     * @param isolation   the isolation level.
     * @param timeout     of the whole transaction, counted by its member from the first step (as an embedded
     *                    transaction's is).
     * @return the transaction.
     */
    public Transaction beginTransaction(final TransactionConcurrency concurrency, final TransactionIsolation isolation,
        final Duration timeout)
    {
        // Chosen now, so that a closed or unreachable client says so at once: the transaction's connection unless its
        // first step's primary is reachable.
        final ClientConnection connection = anyConnection(null);
        // A step may wait for a lock as long as the transaction lives, and its answer some more: each request is given
        // up the transaction's timeout and the request timeout after it was sent, so that a member that stopped
        // answering cannot hang the caller (the member rolls the transaction back at its timeout).
        final ClientTransaction.Deadline deadline = ClientTransaction.Deadline.of(timeout, config.requestTimeoutNs());
        return ClientTransaction.begin(this, connection, concurrency, isolation, Math.max(1, timeout.toMillis()),
            deadline);
    }

    /**
     * The connection a transaction whose first step reads or writes this key begins on: the key's primary's, so that
     * the member coordinating the transaction holds that key's partition and locks, prepares and commits it without a
     * message to another member. On a user's thread it is found as for any keyed request (the partition map fetched,
     * the primary connected to, any open connection if the primary is unreachable or avoided). On the client's own
     * reader and timer threads, which must not wait for an answer, only a known map and an open connection are used.
     * The given connection instead when the client routes by no partition map, when that finds no open connection to
     * the primary, or when the primary's member takes no pipelined TX_BEGIN.
     *
     * @param cache    the cache's name.
     * @param key      the encoded key.
     * @param fallback the connection to use otherwise.
     * @return an open connection, or the fallback.
     */
    ClientConnection transactionConnection(final String cache, final byte[] key, final ClientConnection fallback)
    {
        if (!config.partitionAware())
        {
            return fallback;
        }
        ClientConnection candidate = null;
        try
        {
            if (mustNotWait())
            {
                final PartitionMapView map = maps.get(cache);
                final String[] primaries = map == null ? null : map.primaryAddress();
                final String address = primaries == null ? null :
                    primaries[KeyPartitioner.partition(key, primaries.length)];
                candidate = address == null || isAvoided(address) ? null : connections.get(address);
            }
            else
            {
                candidate = routeConnection(new Route(cache, key));
            }
        }
        catch (final GridException unreachable)
        {
            // The fallback's own request says what is wrong, if anything is.
            return fallback;
        }
        return candidate != null && candidate.isOpen() && candidate.pipelinesTransactionBegin() ? candidate : fallback;
    }

    /**
     * @return whether the calling thread is one of this client's connection readers or its timer, which bring the
     *         answers and the timeouts a wait would need.
     */
    private boolean mustNotWait()
    {
        if (Thread.currentThread() == timerThread)
        {
            return true;
        }
        for (final ClientConnection connection : connections.values())
        {
            if (connection.isReaderThread())
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Begin a predicate transaction: conditions ({@link ValuePredicate}) on the current values of some
     * keys and the writes to make if every condition holds, executed atomically by a member in one request.
     *
     * @param timeout of the whole execution, retries included.
     * @return the transaction to build and execute.
     */
    public PredicateTransaction predicateTransaction(final Duration timeout)
    {
        return new ClientPredicateTransaction(this, Math.max(1, timeout.toMillis()));
    }

    /**
     * @return admin requests (answered by whichever member the client is connected to).
     */
    public ClientAdmin admin()
    {
        return admin;
    }

    /**
     * @return the ids of the members this client holds connections to (for tests and diagnostics).
     */
    public List<String> connectedMembers()
    {
        final List<String> ids = new ArrayList<>();
        connections.values().forEach(c ->
        {
            if (c.isOpen())
            {
                ids.add(c.memberId());
            }
        });
        return ids;
    }

    /** @return the requests written on this client's connections and not yet answered or given up (for tests). */
    int outstandingRequests()
    {
        int outstanding = 0;
        for (final ClientConnection connection : connections.values())
        {
            outstanding += connection.outstanding();
        }
        return outstanding;
    }

    /** Close every connection. Idempotent. */
    @Override
    public void close()
    {
        closed = true;
        connections.values().forEach(ClientConnection::close);
        connections.clear();
        timer.shutdownNow();
        retries.shutdownNow();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Requests.
    // ------------------------------------------------------------------------------------------------------------

    /** What the client knows of a cache. */
    record CacheInfo(String name, int partitions, int backups, String keyCodec, String valueCodec)
    {
    }

    CacheInfo cacheInfo(final String name)
    {
        for (final CacheInfo info : cacheInfos())
        {
            if (info.name().equals(name))
            {
                return info;
            }
        }
        throw new CacheNotFoundException("no cache named '" + name + "'");
    }

    private List<CacheInfo> cacheInfos()
    {
        final ClientConnection.Answer answer = await(send(ClientProtocol.CACHE_LIST, new FrameWriter(), null, true));
        final int count = answer.payload().readInt("caches", 0, 1 << 20);
        final List<CacheInfo> infos = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            infos.add(new CacheInfo(answer.payload().readString("name"), answer.payload().readInt("partitions"),
                answer.payload().readInt("backups"), answer.payload().readString("keyCodec"),
                answer.payload().readString("valueCodec")));
        }
        return infos;
    }

    /**
     * Send a request, to the primary of a key's partition if known, with failover.
     *
     * @param op         the op code.
     * @param payload    the request payload.
     * @param route      the cache and key bytes to route by, or null for any member.
     * @param idempotent whether the request may be sent again after a connection broke with it outstanding.
     * @return its answer.
     */
    CompletableFuture<ClientConnection.Answer> send(final int op, final FrameWriter payload, final Route route,
        final boolean idempotent)
    {
        return send(op, payload.toBytes(), route, idempotent);
    }

    /**
     * As {@link #send(int, FrameWriter, Route, boolean)} for a payload already in its own array, which is kept for
     * resends: the caller must not change it.
     */
    CompletableFuture<ClientConnection.Answer> send(final int op, final byte[] payload, final Route route,
        final boolean idempotent)
    {
        final CompletableFuture<ClientConnection.Answer> result = new CompletableFuture<>();
        attempt(op, payload, route, idempotent, result, 0, System.nanoTime());
        return result;
    }

    /**
     * Number {@code count} writes of one request and write their identity ({@link ClientProtocol#PUT}):
     * {@code [i64 clientId][i64 sequence][i64 watermark]}. Numbering and watermark are taken together, so that no
     * write numbered earlier but not yet registered is ever below a watermark already sent.
     *
     * @return the first write's number: pass it to {@link #writesFinished} once the request is answered or given up.
     */
    long numberWrites(final int count, final FrameWriter payload)
    {
        final long sequence;
        final long watermark;
        synchronized (outstandingWrites)
        {
            sequence = nextWriteSequence;
            nextWriteSequence += Math.max(1, count);
            outstandingWrites.add(sequence);
            watermark = outstandingWrites.first();
        }
        payload.writeLong(clientId).writeLong(sequence).writeLong(watermark);
        return sequence;
    }

    /** The writes numbered from {@code sequence} are answered or given up: never resent again. */
    void writesFinished(final long sequence)
    {
        synchronized (outstandingWrites)
        {
            outstandingWrites.remove(sequence);
        }
    }

    /** The cache and encoded key a request is routed by. */
    record Route(String cache, byte[] key)
    {
    }

    /**
     * @param firstSentNs when the request was first sent ({@link System#nanoTime}): it is not resent after
     *                    {@link ClientProtocol#MAX_RESEND_WINDOW_NS}, so members still know a write's outcome.
     */
    private void attempt(final int op, final byte[] payload, final Route route, final boolean idempotent,
        final CompletableFuture<ClientConnection.Answer> result, final int attempt, final long firstSentNs)
    {
        // Every attempt keeps the first one's deadline: the timeout is the caller's, retries included.
        final long deadlineNs = firstSentNs + config.requestTimeoutNs();
        final long timeoutMs = TimeUnit.NANOSECONDS.toMillis(config.requestTimeoutNs());
        if (attempt == 1)
        {
            // A retry may block while it connects or fetches the partition map: from the first one on, a timer task
            // answers the caller at the deadline whatever the retries are doing (the common path, answered at the
            // first attempt, has no task: its connection's sweep times it out).
            final long remainingNs = deadlineNs - System.nanoTime();
            try
            {
                final ScheduledFuture<?> deadline = timer.schedule(() ->
                    result.completeExceptionally(ClientConnection.timedOut(op, timeoutMs)), Math.max(0, remainingNs),
                    TimeUnit.NANOSECONDS);
                // Removed once answered (the timer drops cancelled tasks at once), not kept with its request until
                // the deadline.
                result.whenComplete((answer, failure) -> deadline.cancel(false));
            }
            catch (final RejectedExecutionException closing)
            {
                // The client is closing: its connections fail every request.
            }
        }
        if (attempt > 0 && System.nanoTime() - deadlineNs >= 0)
        {
            result.completeExceptionally(ClientConnection.timedOut(op, timeoutMs));
            return;
        }
        final ClientConnection connection;
        final CompletableFuture<ClientConnection.Answer> answered;
        try
        {
            connection = route == null ? anyConnection(null) : routeConnection(route);
            answered = connection.request(op, payload, payload.length, deadlineNs, timeoutMs);
        }
        catch (final RuntimeException ex)
        {
            // Any failure, not only a refusal: a retry runs on the retry pool, where a throw would be lost and the
            // caller never answered.
            result.completeExceptionally(ex);
            return;
        }
        answered.whenComplete((answer, failure) ->
        {
            if (failure == null)
            {
                result.complete(answer);
                return;
            }
            final Throwable cause = failure instanceof CompletionException && failure.getCause() != null ?
                failure.getCause() : failure;
            if (cause instanceof ClientConnection.ConnectionLostException lost)
            {
                connections.remove(connection.address(), connection);
                // Never resent once the caller was answered (its timeout): its number may be below the watermark.
                if ((idempotent || !lost.sent) && attempt < 3 && !closed && !result.isDone() &&
                    System.nanoTime() - firstSentNs < ClientProtocol.MAX_RESEND_WINDOW_NS)
                {
                    retry(op, payload, route, idempotent, result, attempt + 1, firstSentNs);
                    return;
                }
                // Given up after it was sent: a write may have been applied.
                final boolean unknown = lost.sent && (!idempotent || ClientProtocol.isWrite(op));
                result.completeExceptionally(!unknown ?
                    new GridException(ErrorCode.CLUSTER_UNREACHABLE, ClientProtocol.name(op) + " lost its " +
                        "connection " + (attempt + 1) + " times; last: " + cause.getMessage()) :
                    new GridException(ErrorCode.OUTCOME_UNKNOWN, ClientProtocol.name(op) + " was sent to member " +
                        connection.memberId() + ", whose " + cause.getMessage() + " before it answered: it may or " +
                        "may not have been applied"));
                return;
            }
            if (cause instanceof GridException refused && refused.errorCode() == ErrorCode.NO_QUORUM && attempt < 3 &&
                !closed && !result.isDone())
            {
                // The member is on a minority side (or just resumed from a pause): it applied nothing. Another member
                // may be on the majority side; this one is avoided for a while, and the retry waits a moment so that a
                // member that is only catching up on its peers' echoes can hold quorum again.
                avoid(connection.address());
                try
                {
                    timer.schedule(() ->
                    {
                        retry(op, payload, route, idempotent, result, attempt + 1, firstSentNs);
                    }, NO_QUORUM_RETRY_DELAY_MS * (attempt + 1), TimeUnit.MILLISECONDS);
                    return;
                }
                catch (final RejectedExecutionException closing)
                {
                    // The client is closing: the refusal is the answer.
                }
            }
            result.completeExceptionally(cause);
        });
    }

    private void avoid(final String address)
    {
        avoidedUntilNs.put(address, System.nanoTime() + AVOID_NO_QUORUM_MEMBER_NS);
    }

    private boolean isAvoided(final String address)
    {
        final Long untilNs = avoidedUntilNs.get(address);
        if (untilNs == null)
        {
            return false;
        }
        if (System.nanoTime() - untilNs >= 0)
        {
            avoidedUntilNs.remove(address, untilNs);
            return false;
        }
        return true;
    }

    private ClientConnection routeConnection(final Route route)
    {
        if (!config.partitionAware())
        {
            return anyConnection(null);
        }
        PartitionMapView map = maps.get(route.cache());
        if (map == null || map.checkedAt() < newestTopology.get())
        {
            map = refreshMap(route.cache());
        }
        if (map.primaryAddress() == null)
        {
            return anyConnection(null);
        }
        final String address = map.primaryAddress()[KeyPartitioner.partition(route.key(),
            map.primaryAddress().length)];
        return address == null ? anyConnection(null) : anyConnection(address);
    }

    private PartitionMapView refreshMap(final String cache)
    {
        final long known = newestTopology.get();
        try
        {
            final FrameWriter w = new FrameWriter();
            w.writeString(cache);
            // Given up after one request timeout, like any request: a member that stopped answering (paused) must not
            // hold the request that needed the map, whose caller waits on this thread, past its own timeout.
            final ClientConnection.Answer answer = await(anyConnection(null).request(ClientProtocol.PARTITION_MAP,
                w.array(), w.length(), System.nanoTime() + config.requestTimeoutNs(),
                TimeUnit.NANOSECONDS.toMillis(config.requestTimeoutNs())));
            final long version = answer.payload().readLong("topologyVersion");
            final int partitions = answer.payload().readInt("partitions", 1, 65_536);
            final int members = answer.payload().readInt("members", 0, 65_535);
            final String[] addresses = new String[members];
            for (int i = 0; i < members; i++)
            {
                answer.payload().readString("memberId");
                addresses[i] = answer.payload().readString("clientAddress");
            }
            final String[] primaries = new String[partitions];
            for (int p = 0; p < partitions; p++)
            {
                final int index = answer.payload().readUnsignedShort("primary");
                primaries[p] = index < members ? addresses[index] : null;
            }
            final PartitionMapView view = new PartitionMapView(Math.max(version, known), primaries);
            maps.put(cache, view);
            return view;
        }
        catch (final GridException ex)
        {
            // Not routable now (no map yet, the cache is new, or no answer in time): any member forwards the request
            // to the primary, until a newer topology is seen.
            final PartitionMapView none = new PartitionMapView(known, null);
            maps.put(cache, none);
            return none;
        }
    }

    /** @return how long an operator request may wait for its answer: {@link ClientConfiguration#operatorTimeoutNs}. */
    long operatorTimeoutNs()
    {
        return config.operatorTimeoutNs();
    }

    /**
     * @param preferred a member's client address to use if reachable, or null for any.
     * @return an open connection.
     */
    ClientConnection anyConnection(final String preferred)
    {
        if (closed)
        {
            throw new GridException(ErrorCode.NODE_STOPPING, "the client is closed");
        }
        if (preferred != null && !isAvoided(preferred))
        {
            final ClientConnection existing = connections.get(preferred);
            if (existing != null && existing.isOpen())
            {
                return existing;
            }
            try
            {
                return connect(preferred);
            }
            catch (final GridException ex)
            {
                if (ex.errorCode() != ErrorCode.CLUSTER_UNREACHABLE)
                {
                    throw ex;
                }
                // Fall through to any member: it forwards to the primary.
            }
        }
        for (final ClientConnection connection : connections.values())
        {
            if (connection.isOpen() && !isAvoided(connection.address()))
            {
                return connection;
            }
        }
        GridException last = null;
        // Avoided members are skipped unless every configured one is avoided: then any is better than none.
        final boolean allAvoided = config.addresses().stream().allMatch(this::isAvoided);
        for (final String address : config.addresses())
        {
            if (!allAvoided && isAvoided(address))
            {
                continue;
            }
            try
            {
                return connect(address);
            }
            catch (final GridException ex)
            {
                if (ex.errorCode() != ErrorCode.CLUSTER_UNREACHABLE)
                {
                    throw ex;
                }
                last = ex;
            }
        }
        throw new GridException(ErrorCode.CLUSTER_UNREACHABLE, "no member answered at " + config.addresses() +
            (last == null ? "" : " (last: " + last.getMessage() + ")"));
    }

    private ClientConnection connect(final String address)
    {
        synchronized (connections)
        {
            final ClientConnection existing = connections.get(address);
            if (existing != null && existing.isOpen())
            {
                return existing;
            }
            final ClientConnection connection = ClientConnection.open(address, config, this::topologySeen);
            connections.put(address, connection);
            return connection;
        }
    }

    private void topologySeen(final long version)
    {
        // Read first: every answer carries the version, nearly always the one known, and a compare-and-set per
        // answer from every connection's reader thread would contend on one cache line.
        if (version > newestTopology.get())
        {
            newestTopology.accumulateAndGet(version, Math::max);
        }
    }

    static <T> T await(final CompletableFuture<T> future)
    {
        try
        {
            return future.get();
        }
        catch (final ExecutionException ex)
        {
            final Throwable cause = ex.getCause() instanceof CompletionException && ex.getCause().getCause() != null ?
                ex.getCause().getCause() : ex.getCause();
            if (cause instanceof GridException grid)
            {
                throw GridException.of(grid.errorCode(), grid.detail());
            }
            if (cause instanceof RuntimeException runtime)
            {
                throw runtime;
            }
            throw new GridException(ErrorCode.MALFORMED_REQUEST, String.valueOf(cause));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new OperationTimeoutException("interrupted while waiting for an answer");
        }
    }
}
