package dev.grid.node;

import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codec;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.ErrorCode;
import dev.grid.core.EvictionPolicy;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.GridException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.MemberMetrics;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.PredicateResult;
import dev.grid.core.PredicateTransaction;
import dev.grid.core.QuorumReadPolicy;
import dev.grid.core.QuorumStatus;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.ValuePredicate;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.core.engine.Topology;
import dev.grid.net.ClientEndpoint;
import org.agrona.concurrent.UnsafeBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import static dev.grid.node.RequestFields.checkIdentity;
import static dev.grid.node.RequestFields.enumOf;
import static dev.grid.node.RequestFields.readCount;
import static dev.grid.node.RequestFields.readIdentity;
import static dev.grid.node.RequestFields.readKeys;
import static dev.grid.node.RequestFields.requireBytes;
import static dev.grid.node.RequestFields.requireString;

/**
 * Serves the thin-client protocol ({@link ClientProtocol}, {@code docs/protocol.md}) for one member: the handshake
 * (version negotiation and authentication against the member's configured users), then every request, answered with
 * its request id as soon as it completes (pipelining). Cache operations go to the member's engine at the byte level
 * (the client encoded keys and values with the cache's codecs, so partitioning agrees); admin requests and the
 * handshake's password check run on a small pool of their own. A malformed request gets an error answer and nothing
 * runs; a frame that cannot even name its request closes its connection. Nothing a client sends can stop the member.
 * <p>
 * <b>Threading:</b> frames arrive on the member thread, which serves the plain endpoint in its duty cycle (on a
 * connection's reader thread over TLS), so nothing here may block; answers are sent from whichever thread completes
 * the request (the engine's, the user pool's or the admin pool's). Per-connection state is in {@link Session}.
 */
final class ClientService implements ClientEndpoint.Handler, AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(ClientService.class);

    /** The member attribute that advertises where a member serves clients (for partition-aware clients). */
    static final String CLIENT_ADDRESS_ATTRIBUTE = "client.address";
    private static final byte[] NO_BYTES = new byte[0];

    final GridMember member;
    private final ClientEntryOperations entryOperations;
    private final ClientReads reads;
    private final ClientTransactionSteps transactionSteps;
    private final MemberConfiguration config;
    /** Handshakes: versions, credentials (checked off the endpoint's thread), admission. */
    private final ClientHandshake handshake;
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    /** Client connections open now. */
    private final AtomicLong connections = new AtomicLong();
    /** Connections closed because they did not read their answers. */
    private final AtomicLong cutOff = new AtomicLong();

    /**
     * Listeners' journal reads a connection may have outstanding (held by primaries while nothing is new), besides
     * {@code client.max.pending.requests} other requests: a registration keeps one per partition.
     */
    static final int JOURNAL_READS_MAX = 16_384;

    /** One connection's state. */
    static final class Session
    {
        volatile boolean handshakeStarted;
        volatile boolean ready;
        volatile MemberConfiguration.ClientRole role;
        volatile String user;
        /** The protocol version agreed in the handshake. */
        volatile int version;
        final AtomicInteger pending = new AtomicInteger();
        /**
         * Of {@link #pending}, the listeners' journal reads: a primary holds each while nothing is new, and a
         * registration keeps one per partition, so they have a limit of their own ({@link #JOURNAL_READS_MAX}).
         */
        final AtomicInteger pendingReads = new AtomicInteger();
        /** Guarded by the session: a transaction begun as the connection closes is rolled back, not kept. */
        final Map<Long, MemberTransaction> transactions = new ConcurrentHashMap<>();
        final AtomicLong nextTxId = new AtomicLong(1);
        /** Set once the connection closed; guarded by the session. */
        boolean closed;
        final LastCacheName cacheName = new LastCacheName();
        /** Around the frame being read ({@link #onFrame}); only the thread that reads the connection's frames. */
        final UnsafeBuffer frameBuffer = new UnsafeBuffer(NO_BYTES);
        final MessageReader frameReader = new MessageReader();

        /** @return whether the transaction was kept for the connection (false: it closed, the caller rolls it back). */
        synchronized boolean keep(final long txId, final MemberTransaction tx)
        {
            if (!closed)
            {
                transactions.put(txId, tx);
            }
            return !closed;
        }

        synchronized boolean isClosed()
        {
            return closed;
        }

        /** @return the transactions left open, now the connection closed. */
        synchronized List<MemberTransaction> close()
        {
            closed = true;
            final List<MemberTransaction> open = new ArrayList<>(transactions.values());
            transactions.clear();
            return open;
        }
    }

    ClientService(final GridMember member)
    {
        this.member = member;
        this.entryOperations = new ClientEntryOperations(member, this);
        this.reads = new ClientReads(member, this);
        this.transactionSteps = new ClientTransactionSteps(member, this);
        this.config = member.configuration();
        this.handshake = new ClientHandshake(this, member, config);
    }

    @Override
    public void close()
    {
        handshake.close();
    }

    MemberMonitoring.ClientFigures figures()
    {
        return new MemberMonitoring.ClientFigures(connections.get(), requests.get(), errors.get(), cutOff.get());
    }

    @Override
    public void onOpen(final ClientEndpoint.Connection connection)
    {
        connections.incrementAndGet();
    }

    @Override
    public void onCutOff(final ClientEndpoint.Connection connection, final long queuedBytes)
    {
        cutOff.incrementAndGet();
        final Session session = (Session)connection.attachment();
        LOG.info("member {}: cut off client connection {} from {} (user {}): it left {} bytes of answers unread",
            config.memberId(), connection.id(), connection.remote(),
            LogText.quote(session == null ? null : session.user), queuedBytes);
    }

    @Override
    public boolean awaitsAnswers(final ClientEndpoint.Connection connection)
    {
        final Session session = (Session)connection.attachment();
        return session != null && session.pending.get() > 0;
    }

    @Override
    public void onClose(final ClientEndpoint.Connection connection)
    {
        connections.decrementAndGet();
        final Session session = (Session)connection.attachment();
        if (session != null)
        {
            // Transactions the client left open die with its connection (on TLS its frames are read on another thread
            // than the one closing it: a transaction begun meanwhile is rolled back by TX_BEGIN itself).
            session.close().forEach(ClientTransactionSteps::rollBackQuietly);
        }
    }

    @Override
    public void onFrame(final ClientEndpoint.Connection connection, final byte[] frame)
    {
        onFrame(connection, frame, 0, frame.length);
    }

    @Override
    public void onFrame(final ClientEndpoint.Connection connection, final byte[] array, final int offset,
        final int length)
    {
        Session session = (Session)connection.attachment();
        if (session == null)
        {
            session = new Session();
            connection.attach(session);
        }
        if (length < ClientProtocol.HEADER)
        {
            error(connection, 0, ErrorCode.MALFORMED_REQUEST, "a request needs at least " + ClientProtocol.HEADER +
                " bytes (op and request id), got " + length + "; closing the connection");
            connection.close();
            return;
        }
        // The connection's reader, wrapped around each frame where it lies (the endpoint's input buffer): every
        // handler reads its request before it returns and keeps no reference to the reader or the array (a request's
        // keys and values are copied out), and one thread reads a connection's frames (the member thread, or the
        // connection's TLS reader).
        session.frameBuffer.wrap(array, offset, length);
        try
        {
            onRequest(connection, session, session.frameReader.wrap(session.frameBuffer, 0, length));
        }
        finally
        {
            // The frame's array is not held until the connection's next frame.
            session.frameBuffer.wrap(NO_BYTES);
        }
    }

    private void onRequest(final ClientEndpoint.Connection connection, final Session session,
        final MessageReader reader)
    {
        final int op = reader.readByte("op") & 0xFF;
        final long requestId = reader.readLong("requestId");
        requests.incrementAndGet();
        if (!session.ready)
        {
            if (op != ClientProtocol.HANDSHAKE || session.handshakeStarted)
            {
                error(connection, requestId, ErrorCode.MALFORMED_REQUEST, "the first request of a connection must " +
                    "be one HANDSHAKE, got " + ClientProtocol.name(op) + "; closing the connection");
                connection.close();
                return;
            }
            session.handshakeStarted = true;
            handshake.run(connection, session, requestId, reader);
            return;
        }
        // Numbered before anything can refuse it: a connection's TX_BEGINs are 1, 2, ... in arrival order, so a client
        // sends the transaction's next request without waiting for the answer (docs/protocol.md, version 2).
        final long beginTxId = op == ClientProtocol.TX_BEGIN ? session.nextTxId.getAndIncrement() : 0;
        if (op == ClientProtocol.JOURNAL_READ ? session.pendingReads.get() >= JOURNAL_READS_MAX :
            session.pending.get() - session.pendingReads.get() >= config.clientMaxPendingRequests())
        {
            final String why = "the connection has " + (op == ClientProtocol.JOURNAL_READ ? JOURNAL_READS_MAX +
                " journal reads" : config.clientMaxPendingRequests() + " requests") +
                " outstanding, the member's limit";
            if (!ClientTransactionSteps.changedByRefusal(op))
            {
                error(connection, requestId, ErrorCode.TOO_MANY_REQUESTS, why);
                return;
            }
            final GridException answer = transactionSteps.refused(connection, session, op, requestId, reader,
                new GridException(ErrorCode.TOO_MANY_REQUESTS, why));
            if (answer != null)
            {
                error(connection, requestId, answer.errorCode(), answer.detail());
            }
            return;
        }
        session.pending.incrementAndGet();
        try
        {
            if (ClientProtocol.isAdminMutation(op) && session.role != MemberConfiguration.ClientRole.ADMIN)
            {
                throw new GridException(ErrorCode.PERMISSION_DENIED, "user '" + session.user + "' lacks the admin " +
                    "role that " + ClientProtocol.name(op) + " needs");
            }
            dispatch(connection, session, op, requestId, reader, beginTxId);
        }
        catch (final MalformedMessageException ex)
        {
            finish(connection, session, requestId, null, new GridException(ErrorCode.MALFORMED_REQUEST,
                ClientProtocol.name(op) + ": " + ex.getMessage()));
        }
        catch (final GridException ex)
        {
            finish(connection, session, requestId, null, ex);
        }
        catch (final RejectedExecutionException ex)
        {
            finish(connection, session, requestId, null, ex);
        }
        catch (final RuntimeException ex)
        {
            finish(connection, session, requestId, null, new GridException(ErrorCode.MALFORMED_REQUEST,
                ClientProtocol.name(op) + ": " + ex.getMessage()));
        }
    }

    /** @param beginTxId the transaction id a TX_BEGIN took (0 for any other op). */
    private void dispatch(final ClientEndpoint.Connection connection, final Session session, final int op,
        final long requestId, final MessageReader reader, final long beginTxId)
    {
        // By the protocol's ranges of op codes (docs/protocol.md): keys below 30, caches 30-39, transactions 40-49,
        // the cluster 50-56, the operator's metrics, activation and transaction list from 57; first the entry
        // operations beyond put and get (22-29, CACHE_METRICS, PUT_WITH_TTL, JOURNAL_READ: ClientEntryOperations).
        if (ClientEntryOperations.handles(op))
        {
            entryOperations.dispatch(connection, session, op, requestId, reader);
        }
        else if (op < 30)
        {
            keyOperation(connection, session, op, requestId, reader);
        }
        else if (op < 40)
        {
            cacheOperation(connection, session, op, requestId, reader);
        }
        else if (op < 50)
        {
            if (op == ClientProtocol.PREDICATE_TX)
            {
                predicateTransaction(connection, session, requestId, reader);
            }
            else
            {
                transactionSteps.dispatch(connection, session, op, requestId, reader, beginTxId);
            }
        }
        else if (op < 57)
        {
            clusterOperation(connection, session, op, requestId, reader);
        }
        else
        {
            operatorOperation(connection, session, op, requestId, reader);
        }
    }

    /** Single-key and multi-key operations, and PING. */
    private void keyOperation(final ClientEndpoint.Connection connection, final Session session, final int op,
        final long requestId, final MessageReader reader)
    {
        switch (op)
        {
            case ClientProtocol.PING -> finish(connection, session, requestId, w -> { }, null);
            case ClientProtocol.GET, ClientProtocol.READ, ClientProtocol.CONTAINS_KEY ->
                reads.read(connection, session, requestId, reader, op);
            case ClientProtocol.PUT -> single(connection, session, requestId, reader, OpType.PUT, false, true,
                (w, o) -> { });
            case ClientProtocol.PUT_IF_ABSENT -> single(connection, session, requestId, reader, OpType.PUT_IF_ABSENT,
                false, true, (w, o) -> w.writeBoolean(o.flag()));
            case ClientProtocol.REPLACE -> single(connection, session, requestId, reader, OpType.REPLACE, true, true,
                (w, o) -> w.writeBoolean(o.flag()));
            case ClientProtocol.REMOVE -> single(connection, session, requestId, reader, OpType.REMOVE, false, false,
                (w, o) -> w.writeBoolean(o.flag()));
            case ClientProtocol.REMOVE_IF_EQUALS -> single(connection, session, requestId, reader,
                OpType.REMOVE_IF_EQUALS, true, false, (w, o) -> w.writeBoolean(o.flag()));
            case ClientProtocol.MERGE -> single(connection, session, requestId, reader, OpType.MERGE, false, true,
                (w, o) -> w.writeBytes(o.value()));
            case ClientProtocol.GET_ALL ->
            {
                final MemberCache<byte[], byte[]> cache = member.rawCache(requireString(reader, "cache"));
                final List<byte[]> keys = readKeys(reader);
                complete(connection, session, requestId, cache.getAllAsync(keys).thenApply(this::requireFits),
                    (w, found) ->
                {
                    w.writeInt(found.size());
                    found.forEach((k, v) -> w.writeBytes(k).writeBytes(v));
                });
            }
            case ClientProtocol.PUT_ALL ->
            {
                final CacheDescriptor cache = member.descriptor(requireString(reader, "cache"));
                final ClientIdentity identity = readIdentity(reader);
                final int count = readCount(reader, "entries", 1 << 20, 8);
                // Each entry is a write of its own, numbered from the request's identity in the request's order (the
                // same in every resend), so each applies once.
                final List<CompletableFuture<OpOutcome>> writes = new ArrayList<>(count);
                final byte[][] keys = new byte[count][];
                final byte[][] values = new byte[count][];
                for (int i = 0; i < count; i++)
                {
                    keys[i] = requireBytes(reader, "key");
                    values[i] = requireBytes(reader, "value");
                }
                for (int i = 0; i < count; i++)
                {
                    writes.add(member.submit(cache.cacheId(), OpType.PUT, keys[i], values[i], null,
                        cache.operationTimeoutNs(), identity.plus(i)));
                }
                complete(connection, session, requestId,
                    CompletableFuture.allOf(writes.toArray(new CompletableFuture[0])), (w, v) -> { });
            }
            case ClientProtocol.SIZE ->
            {
                final MemberCache<byte[], byte[]> cache = member.rawCache(requireString(reader, "cache"));
                complete(connection, session, requestId, cache.sizeAsync(), (w, size) -> w.writeLong(size));
            }
            default -> throw new GridException(ErrorCode.UNKNOWN_OPERATION, "unknown op code " + op);
        }
    }

    /** Cache administration and the cache views (list, partition map, local copies). */
    private void cacheOperation(final ClientEndpoint.Connection connection, final Session session, final int op,
        final long requestId, final MessageReader reader)
    {
        switch (op)
        {
            case ClientProtocol.CACHE_LIST ->
            {
                final Topology topology = member.topology();
                final List<CacheDescriptor> caches = topology == null ? List.of() : topology.caches();
                finish(connection, session, requestId, w ->
                {
                    w.writeInt(caches.size());
                    for (final CacheDescriptor cache : caches)
                    {
                        w.writeString(cache.name()).writeInt(cache.partitions()).writeInt(cache.backups())
                            .writeString(cache.keyCodec()).writeString(cache.valueCodec());
                    }
                }, null);
            }
            case ClientProtocol.CACHE_CREATE -> cacheCreate(connection, session, requestId, reader);
            case ClientProtocol.CACHE_DESTROY ->
            {
                final String name = requireString(reader, "cache");
                complete(connection, session, requestId, member.destroyCacheAsync(name), (w, v) -> { });
            }
            case ClientProtocol.PARTITION_MAP ->
            {
                final String name = requireString(reader, "cache");
                complete(connection, session, requestId, ClientPartitionMap.query(member, name),
                    ClientPartitionMap::write);
            }
            case ClientProtocol.LOCAL_COPIES ->
            {
                final String name = requireString(reader, "cache");
                complete(connection, session, requestId, member.admin.localCopies(name), (w, copies) ->
                {
                    w.writeInt(copies.size());
                    copies.forEach((partition, copy) -> w.writeInt(partition).writeString(copy.state().name())
                        .writeBoolean(copy.primary()).writeLong(copy.lwm()).writeLong(copy.hwm())
                        .writeString(copy.gaps().toString()).writeInt(copy.size()));
                });
            }
            default -> throw new GridException(ErrorCode.UNKNOWN_OPERATION, "unknown op code " + op);
        }
    }

    /** The cluster's state, baseline, lost partitions, consistency check and rebalance status. */
    private void clusterOperation(final ClientEndpoint.Connection connection, final Session session, final int op,
        final long requestId, final MessageReader reader)
    {
        switch (op)
        {
            case ClientProtocol.CLUSTER_STATE ->
            {
                final Topology topology = member.topology();
                // The quorum is read on the engine's thread; no thread waits for it.
                complete(connection, session, requestId, member.admin.quorum(), (w, quorum) ->
                {
                    w.writeLong(topology.version()).writeString(topology.coordinator().memberId())
                        .writeInt(topology.members().size());
                    for (final MemberRecord record : topology.members())
                    {
                        w.writeString(record.memberId()).writeString(record.address())
                            .writeString(record.attributes().get(CLIENT_ADDRESS_ATTRIBUTE));
                    }
                    w.writeInt(quorum.have()).writeInt(quorum.need()).writeBoolean(quorum.held())
                        .writeLong(quorum.writesRefused());
                    writeStrings(w, quorum.history());
                    // Added last, so that a client that does not know it ignores it.
                    w.writeLong(quorum.readsWithoutQuorum());
                    // Then each member's version and start time, in the members' order (added later still).
                    for (final MemberRecord record : topology.members())
                    {
                        w.writeString(record.attributes().get(GridVersion.VERSION_ATTRIBUTE))
                            .writeLong(GridVersion.startedAtMs(record.attributes()));
                    }
                });
            }
            case ClientProtocol.BASELINE_SHOW -> complete(connection, session, requestId, member.admin.baseline(),
                (w, b) ->
            {
                w.writeLong(b.topologyVersion()).writeLong(b.autoAdjustTimeoutNs());
                writeStrings(w, b.members());
                writeStrings(w, b.running());
            });
            case ClientProtocol.BASELINE_CHANGE ->
            {
                final int change = reader.readByte("change");
                if (change < Baseline.SET || change > Baseline.AUTO_ADJUST)
                {
                    throw new MalformedMessageException("baseline change " + change + " is not 1 to 4");
                }
                final int count = readCount(reader, "members", 65_535, 4);
                final List<String> ids = new ArrayList<>(count);
                for (int i = 0; i < count; i++)
                {
                    ids.add(requireString(reader, "member"));
                }
                final long timeoutNs = reader.readLong("timeoutNs");
                final boolean autoAdjust = change == Baseline.AUTO_ADJUST;
                complete(connection, session, requestId, member.admin.changeBaseline(change,
                    autoAdjust ? List.of() : List.copyOf(ids), autoAdjust ? timeoutNs : -1), (w, v) -> { });
            }
            case ClientProtocol.LOST_PARTITIONS ->
            {
                final String name = requireString(reader, "cache");
                complete(connection, session, requestId, member.admin.lostPartitions(name), (w, lost) ->
                {
                    w.writeInt(lost.size());
                    lost.forEach(w::writeInt);
                });
            }
            case ClientProtocol.RESET_LOST ->
            {
                final String name = requireString(reader, "cache");
                complete(connection, session, requestId, member.admin.resetLostPartitions(name), (w, v) -> { });
            }
            case ClientProtocol.CHECK_CONSISTENCY ->
            {
                final String name = requireString(reader, "cache");
                complete(connection, session, requestId, member.admin.checkConsistency(name), this::writeReport);
            }
            case ClientProtocol.REBALANCE_STATUS -> complete(connection, session, requestId,
                member.admin.rebalanceStatus(), this::writeRebalance);
            default -> throw new GridException(ErrorCode.UNKNOWN_OPERATION, "unknown op code " + op);
        }
    }

    /** The operator's metrics, activation, and the transactions the member coordinates. */
    private void operatorOperation(final ClientEndpoint.Connection connection, final Session session, final int op,
        final long requestId, final MessageReader reader)
    {
        switch (op)
        {
            case ClientProtocol.ACTIVATE -> complete(connection, session, requestId, member.admin.activate(),
                (w, v) -> { });
            case ClientProtocol.METRICS -> complete(connection, session, requestId,
                member.admin.quorum().thenApply(quorum -> new MetricsAndQuorum(member.metrics(), quorum)),
                this::writeMetrics);
            case ClientProtocol.TX_LIST -> complete(connection, session, requestId, member.admin.activeTransactions(),
                (w, txs) ->
                {
                    w.writeInt(txs.size());
                    txs.forEach(tx -> w.writeLong(tx.id()).writeString(tx.state())
                        .writeLong(TimeUnit.NANOSECONDS.toMillis(tx.ageNs())).writeInt(tx.partitions())
                        .writeInt(tx.lockedKeys()));
                });
            case ClientProtocol.TX_KILL ->
            {
                final long id = reader.readLong("id");
                complete(connection, session, requestId, member.admin.killTransaction(id), (w, v) -> { });
            }
            case ClientProtocol.SNAPSHOT_CREATE, ClientProtocol.SNAPSHOT_LIST, ClientProtocol.SNAPSHOT_CHECK,
                ClientProtocol.SNAPSHOT_RESTORE, ClientProtocol.CONFIG, ClientProtocol.DEACTIVATE ->
                OperatorRequests.dispatch(this, member,
                connection, session, op, requestId, reader);
            default -> throw new GridException(ErrorCode.UNKNOWN_OPERATION, "unknown op code " + op);
        }
    }

    // ------------------------------------------------------------------------------------------------------------

    interface Answer<T>
    {
        void write(MessageWriter writer, T value);
    }

    private void single(final ClientEndpoint.Connection connection, final Session session, final long requestId,
        final MessageReader reader, final OpType type, final boolean expected, final boolean value,
        final Answer<OpOutcome> answer)
    {
        final CacheDescriptor cache = member.descriptor(session.cacheName.read(reader));
        // A write's identity as three numbers, not a ClientIdentity: none is made unless the request is queued.
        final long clientId = type.mayWrite() ? reader.readLong("clientId") : 0;
        final long sequence = type.mayWrite() ? reader.readLong("sequence") : 0;
        final long watermark = type.mayWrite() ? reader.readLong("watermark") : 0;
        if (type.mayWrite())
        {
            checkIdentity(clientId, sequence, watermark);
        }
        final byte[] key = requireBytes(reader, "key");
        final byte[] expectedBytes = expected ? requireBytes(reader, "expected") : null;
        final byte[] valueBytes = value ? requireBytes(reader, "value") : null;
        submit(connection, session, requestId, cache, type, clientId, sequence, watermark, key, expectedBytes,
            valueBytes, answer);
    }

    /**
     * A single-key operation, run now ({@link MemberAgent#runNow}) or queued; a read has the identity 0, 0, 0
     * ({@link ClientIdentity#NONE}).
     */
    void submit(final ClientEndpoint.Connection connection, final Session session, final long requestId,
        final CacheDescriptor cache, final OpType type, final long clientId, final long sequence, final long watermark,
        final byte[] key, final byte[] expectedBytes, final byte[] valueBytes, final Answer<OpOutcome> answer)
    {
        final SingleRequest request = new SingleRequest(this, connection, session, requestId, cache, type, key,
            valueBytes, expectedBytes, clientId, sequence, watermark, answer);
        if (!MemberAgent.runNow(member, request, request))
        {
            complete(connection, session, requestId, member.submit(cache.cacheId(), type, key, valueBytes,
                expectedBytes, cache.operationTimeoutNs(), clientId == 0 ? ClientIdentity.NONE :
                new ClientIdentity(clientId, sequence, watermark)), answer);
        }
    }

    /**
     * A key as its encoded bytes, with value equality: the predicate transaction matches what it read to what it
     * asked for in maps.
     */
    private record Key(byte[] bytes)
    {
        @Override
        public boolean equals(final Object other)
        {
            return other instanceof Key key && Arrays.equals(bytes, key.bytes);
        }

        @Override
        public int hashCode()
        {
            return Arrays.hashCode(bytes);
        }
    }

    /** Keys as they are: their encoded bytes. */
    private static final Codec<Key> KEY_CODEC = new Codec<>()
    {
        public byte[] encode(final Key key)
        {
            return key.bytes();
        }

        public Key decode(final byte[] bytes, final int offset, final int length)
        {
            return new Key(Arrays.copyOfRange(bytes, offset, offset + length));
        }

        public String name()
        {
            return "bytes";
        }
    };

    private void predicateTransaction(final ClientEndpoint.Connection connection, final Session session,
        final long requestId, final MessageReader reader)
    {
        final long timeoutMs = reader.readLong("timeoutMs");
        if (timeoutMs <= 0)
        {
            throw new MalformedMessageException("timeoutMs " + timeoutMs + " must be positive");
        }
        final PredicateTransaction tx = member.transactions().predicate(Duration.ofMillis(timeoutMs))
            .retryOnAbort(reader.readBoolean("retryOnAbort"));
        final Map<String, MemberCache<Key, byte[]>> caches = new HashMap<>();
        final int predicates = readCount(reader, "predicates", 1 << 16, 10);
        for (int i = 0; i < predicates; i++)
        {
            final MemberCache<Key, byte[]> cache = caches.computeIfAbsent(requireString(reader, "cache"),
                name -> member.rawCache(name, KEY_CODEC));
            final Key key = new Key(requireBytes(reader, "key"));
            final ValuePredicate.Kind kind = enumOf(ValuePredicate.Kind.values(), reader.readByte("kind"), "kind");
            tx.predicate(cache, key, new ValuePredicate<>(kind, reader.readBytes("operand")));
        }
        final int writes = readCount(reader, "writes", 1 << 16, 9);
        for (int i = 0; i < writes; i++)
        {
            final MemberCache<Key, byte[]> cache = caches.computeIfAbsent(requireString(reader, "cache"),
                name -> member.rawCache(name, KEY_CODEC));
            final Key key = new Key(requireBytes(reader, "key"));
            if (reader.readBoolean("delete"))
            {
                reader.readBytes("value");
                tx.del(cache, key);
            }
            else
            {
                tx.set(cache, key, requireBytes(reader, "value"));
            }
        }
        complete(connection, session, requestId, tx.executeAsync(), (w, result) ->
        {
            if (result instanceof PredicateResult.Committed committed)
            {
                w.writeByte(0).writeInt(committed.attempts());
            }
            else if (result instanceof PredicateResult.PredicateFailure failure)
            {
                w.writeByte(1).writeInt(failure.values().size());
                for (final PredicateResult.SeenValue seen : failure.values())
                {
                    w.writeString(seen.cache()).writeBytes(((Key)seen.key()).bytes()).writeBytes((byte[])seen.value())
                        .writeBoolean(seen.satisfied());
                }
            }
            else
            {
                final PredicateResult.Aborted aborted = (PredicateResult.Aborted)result;
                w.writeByte(2).writeInt(aborted.reason().code()).writeString(aborted.message())
                    .writeInt(aborted.attempts());
            }
        });
    }

    private void cacheCreate(final ClientEndpoint.Connection connection, final Session session, final long requestId,
        final MessageReader reader)
    {
        final String name = requireString(reader, "name");
        final int partitions = reader.readInt("partitions");
        final int backups = reader.readInt("backups");
        final String keyCodec = requireString(reader, "keyCodec");
        final String valueCodec = requireString(reader, "valueCodec");
        final String backupFilter = reader.readString("backupFilterAttribute");
        final long timeoutNs = reader.readLong("operationTimeoutNs");
        final PartitionLossPolicy policy = enumOf(PartitionLossPolicy.values(), reader.readByte("lossPolicy"),
            "lossPolicy");
        final String mergeOperator = reader.readString("mergeOperator");
        // Added last: a client that does not send it asks for the default.
        final QuorumReadPolicy readPolicy = reader.remaining() == 0 ? QuorumReadPolicy.REFUSE :
            enumOf(QuorumReadPolicy.values(), reader.readByte("readsWithoutQuorum"), "readsWithoutQuorum");
        final ExpiryPolicy expiry = reader.remaining() == 0 ? null : ClientEntryOperations.readExpiry(reader);
        final EvictionPolicy eviction = reader.remaining() == 0 ? null : ClientEntryOperations.readEviction(reader);
        final int journalCapacity = reader.remaining() == 0 ? 0 : reader.readInt("eventJournal", 0,
            CacheConfiguration.JOURNAL_CAPACITY_MAX);
        // Checked here (a codec or merge operator the members do not know is the caller's mistake, answered as such);
        // the creation itself completes on the engine's thread, no thread waiting for it.
        final CacheConfiguration<Object, Object> configuration = new CacheConfiguration<>(name,
            member.codecs.codecNamed(keyCodec, name), member.codecs.codecNamed(valueCodec, name)).partitions(partitions)
            .backups(backups).backupFilterAttribute(backupFilter).partitionLossPolicy(policy)
            .readsWithoutQuorum(readPolicy).expiry(expiry).eviction(eviction).eventJournal(journalCapacity);
        if (timeoutNs > 0)
        {
            configuration.operationTimeoutNs(timeoutNs);
        }
        if (mergeOperator != null)
        {
            configuration.mergeOperator(mergeOperator, member.codecs.mergeOperatorNamed(mergeOperator));
        }
        complete(connection, session, requestId, member.createCacheAsync(configuration), (w, v) -> { });
    }

    <T> void complete(final ClientEndpoint.Connection connection, final Session session, final long requestId,
        final CompletableFuture<T> future, final Answer<T> answer)
    {
        future.whenComplete((value, failure) ->
        {
            if (failure == null)
            {
                finish(connection, session, requestId, w -> answer.write(w, value), null);
            }
            else
            {
                finish(connection, session, requestId, null, failure);
            }
        });
    }

    void finish(final ClientEndpoint.Connection connection, final Session session, final long requestId,
        final Consumer<MessageWriter> payload, final Throwable failure)
    {
        try
        {
            send(connection, requestId, payload, failure);
        }
        finally
        {
            // Only once the answer is queued (or held for the duty cycle's batch, which a close writes first): a
            // half-closed connection is closed when nothing is pending any more.
            session.pending.decrementAndGet();
        }
    }

    /**
     * {@link #finish}, from inside the engine's completion or a read answered at once: what fails writing the answer
     * (no memory for it) ends this connection, not the engine's work or the member.
     */
    void finishContained(final ClientEndpoint.Connection connection, final Session session, final long requestId,
        final Consumer<MessageWriter> payload, final Throwable failure)
    {
        try
        {
            finish(connection, session, requestId, payload, failure);
        }
        catch (final RuntimeException | OutOfMemoryError ex)
        {
            LOG.warn("member {}: the answer to request {} of client connection {} could not be written, closing it: {}",
                config.memberId(), requestId, connection.remote(), ex.toString());
            connection.close();
        }
    }

    private void send(final ClientEndpoint.Connection connection, final long requestId,
        final Consumer<MessageWriter> payload, final Throwable failure)
    {
        if (failure == null)
        {
            try
            {
                answer(connection, requestId, payload);
                return;
            }
            catch (final RuntimeException ex)
            {
                error(connection, requestId, ErrorCode.MALFORMED_REQUEST, "the answer could not be encoded: " + ex);
                return;
            }
        }
        Throwable cause = failure;
        while (cause instanceof CompletionException && cause.getCause() != null)
        {
            cause = cause.getCause();
        }
        if (cause instanceof GridException grid)
        {
            error(connection, requestId, grid.errorCode(), grid.detail());
        }
        else if (cause instanceof RejectedExecutionException)
        {
            error(connection, requestId, ErrorCode.NODE_STOPPING, "member " + config.memberId() + " is stopping");
        }
        else
        {
            error(connection, requestId, ErrorCode.MALFORMED_REQUEST, String.valueOf(cause.getMessage()));
        }
    }

    /**
     * @param found a GET_ALL's values by key.
     * @return them, if their answer fits in a frame the client accepts.
     * @throws GridException with {@link ErrorCode#ANSWER_TOO_LARGE} otherwise, before any of it is encoded.
     */
    private Map<byte[], byte[]> requireFits(final Map<byte[], byte[]> found)
    {
        long bytes = ClientProtocol.ANSWER_HEADER + 4;
        for (final Map.Entry<byte[], byte[]> entry : found.entrySet())
        {
            bytes += 8L + entry.getKey().length + entry.getValue().length;
        }
        if (bytes > config.clientMaxFrameBytes())
        {
            throw answerTooLarge(bytes, found.size() + " values");
        }
        return found;
    }

    private GridException answerTooLarge(final long bytes, final String what)
    {
        return new GridException(ErrorCode.ANSWER_TOO_LARGE, "the answer (" + what + ") would take " + bytes +
            " bytes, above the member's frame limit of " + config.clientMaxFrameBytes() + " bytes; ask for less " +
            "at a time");
    }

    void answer(final ClientEndpoint.Connection connection, final long requestId,
        final Consumer<MessageWriter> payload)
    {
        final MessageWriter writer = AnswerWriters.writer();
        writer.writeByte(ClientProtocol.OK).writeLong(requestId).writeLong(topologyVersion());
        payload.accept(writer);
        if (writer.length() > config.clientMaxFrameBytes())
        {
            // Whatever the request: no client is sent a frame longer than the limit both sides keep.
            error(connection, requestId, ErrorCode.ANSWER_TOO_LARGE, answerTooLarge(writer.length(),
                "an encoded answer").getMessage());
            return;
        }
        connection.send(writer);
    }

    void error(final ClientEndpoint.Connection connection, final long requestId, final ErrorCode code,
        final String message)
    {
        errors.incrementAndGet();
        final MessageWriter writer = AnswerWriters.writer();
        writer.writeByte(ClientProtocol.ERROR).writeLong(requestId).writeLong(topologyVersion()).writeInt(code.code())
            .writeString(message);
        connection.send(writer);
    }

    private long topologyVersion()
    {
        final Topology topology = member.topology();
        return topology == null ? 0 : topology.version();
    }

    private void writeReport(final MessageWriter w, final ConsistencyReport report)
    {
        w.writeInt(report.partitionsChecked()).writeInt(report.copiesMoving()).writeInt(report.conflicts().size());
        for (final ConsistencyReport.PartitionConflict conflict : report.conflicts())
        {
            final StringBuilder detail = new StringBuilder();
            for (final ConsistencyReport.CopyState copy : conflict.copies())
            {
                detail.append(detail.length() == 0 ? "" : "; ").append(copy.memberId())
                    .append(copy.primary() ? " (primary)" : "").append(" lwm ").append(copy.lwm()).append(" gaps ")
                    .append(copy.gaps()).append(" size ").append(copy.size()).append(" hash ")
                    .append(Long.toHexString(copy.contentHash()));
            }
            w.writeInt(conflict.partition()).writeString(conflict.kind().name()).writeString(detail.toString());
        }
    }

    private void writeRebalance(final MessageWriter w, final RebalanceStatus status)
    {
        w.writeLong(status.topologyVersion()).writeInt(status.partitionsPlanned()).writeInt(status.partitionsDone())
            .writeInt(status.historicalPlanned()).writeLong(status.records()).writeLong(status.bytes())
            .writeLong(status.elapsedNs()).writeLong(status.etaNs()).writeLong(status.totalHistorical())
            .writeLong(status.totalFull());
    }

    private record MetricsAndQuorum(MemberMetrics metrics, QuorumStatus quorum)
    {
    }

    private void writeMetrics(final MessageWriter w, final MetricsAndQuorum both)
    {
        final MemberMetrics metrics = both.metrics();
        final Map<String, Long> values = new LinkedHashMap<>();
        values.put("topologyVersion", metrics.topologyVersion());
        values.put("members", (long)metrics.members());
        values.put("servedAsPrimary", metrics.servedAsPrimary());
        values.put("forwarded", metrics.forwarded());
        values.put("remaps", metrics.remaps());
        values.put("timeouts", metrics.timeouts());
        values.put("otherFailures", metrics.otherFailures());
        values.put("tx.commits", metrics.transactions().commits());
        values.put("tx.commitStatusUnknown", metrics.transactions().commitStatusUnknown());
        values.put("quorum.have", (long)both.quorum().have());
        values.put("quorum.need", (long)both.quorum().need());
        values.put("quorum.held", both.quorum().held() ? 1L : 0L);
        values.put("quorum.writesRefused", both.quorum().writesRefused());
        values.put("quorum.readsWithoutQuorum", both.quorum().readsWithoutQuorum());
        values.put("client.requests", requests.get());
        values.put("client.errors", errors.get());
        values.put("client.cutOff", cutOff.get());
        values.put("client.connections", connections.get());
        final java.lang.management.MemoryUsage heap = java.lang.management.ManagementFactory.getMemoryMXBean()
            .getHeapMemoryUsage();
        values.put("jvm.heapUsedBytes", heap.getUsed());
        values.put("jvm.heapMaxBytes", heap.getMax());
        values.put("jvm.threads", (long)java.lang.management.ManagementFactory.getThreadMXBean().getThreadCount());
        metrics.latencies().forEach((name, latency) ->
        {
            values.put(name + ".count", latency.count());
            values.put(name + ".p50Us", latency.p50Us());
            values.put(name + ".p99Us", latency.p99Us());
            values.put(name + ".p999Us", latency.p999Us());
        });
        w.writeInt(values.size());
        values.forEach((name, value) -> w.writeString(name).writeLong(value));
    }

    private static void writeStrings(final MessageWriter w, final List<String> values)
    {
        w.writeInt(values.size());
        values.forEach(w::writeString);
    }
}
