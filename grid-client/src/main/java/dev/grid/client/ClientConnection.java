package dev.grid.client;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.OperationTimeoutException;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.client.FrameReader;
import dev.grid.core.client.FrameWriter;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * One TCP connection to a member, handshaken: requests are written as they come (pipelining, any thread) and each
 * answer completes its request's future by request id, on the connection's reader thread. When the connection breaks,
 * every outstanding request fails with a {@link ConnectionLostException}, which the client turns into a retry or an
 * outcome-unknown error. Thread-safe.
 */
final class ClientConnection implements AutoCloseable
{
    /** The largest frame array a connection keeps for its next request. */
    static final int OUT_FRAME_KEPT_BYTES = 64 * 1024;

    /** The queued frames' bytes beyond which a caller waits for the writer instead of queueing more. */
    static final int MAX_QUEUED_BYTES = 4 * 1024 * 1024;

    /** The answer of one request: its payload after the header, and the member's topology version. */
    record Answer(FrameReader payload, long topologyVersion)
    {
    }

    /** {@link #request(int, byte[], int, long, long)}'s deadline for a request never given up by this connection. */
    static final long NO_DEADLINE = Long.MAX_VALUE;

    /**
     * A request's answer to come: the future itself carries the op and the deadline, so that a request costs no timer
     * task and no object beside its future ({@link #expire} gives up the overdue ones).
     */
    static final class PendingAnswer extends CompletableFuture<Answer>
    {
        private final int op;
        private final long deadlineNs;
        /** The timeout the deadline was set with, for the message. */
        private final long timeoutMs;

        PendingAnswer(final int op, final long deadlineNs, final long timeoutMs)
        {
            this.op = op;
            this.deadlineNs = deadlineNs;
            this.timeoutMs = timeoutMs;
        }
    }

    /** The connection broke with the request outstanding (or before it was written). */
    static final class ConnectionLostException extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        /** Whether the request was written before the connection broke (so it may have run). */
        final boolean sent;

        ConnectionLostException(final String message, final boolean sent)
        {
            super(message);
            this.sent = sent;
        }
    }

    private final String address;
    private final Socket socket;
    private final OutputStream out;
    /**
     * Frames waiting to be written, in the order they are to be sent; guarded by {@link #out}. A thread that finds
     * another writing leaves its frame here and does not wait: the writer sends it with the next write (one system
     * call for the frames of several threads).
     */
    private FrameWriter queued = new FrameWriter();
    /** The array the writer swaps in for {@link #queued} (kept between writes); guarded by {@link #out}. */
    private FrameWriter spare = new FrameWriter();
    /** Whether a thread is writing {@link #queued}'s frames (outside the lock); guarded by {@link #out}. */
    private boolean writing;
    private final DataInputStream in;
    private final Map<Long, PendingAnswer> pending = new ConcurrentHashMap<>();
    private final AtomicLong nextRequestId = new AtomicLong(1);
    /** TX_BEGIN requests written on this connection; guarded by {@link #out}. */
    private long transactionsBegun;
    private final Thread reader;
    private final int maxFrameBytes;
    private final Consumer<Long> topologySeen;
    private volatile boolean closed;
    private volatile String closeReason = "closed";
    private String memberId;
    /** The protocol version agreed in the handshake. */
    private int version;
    private boolean admin;

    private ClientConnection(final String address, final Socket socket, final int maxFrameBytes,
        final Consumer<Long> topologySeen) throws IOException
    {
        this.address = address;
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
        this.maxFrameBytes = maxFrameBytes;
        this.topologySeen = topologySeen;
        this.reader = new Thread(this::readLoop, "grid-client-reader-" + address);
        this.reader.setDaemon(true);
    }

    /**
     * Connect and handshake.
     *
     * @throws GridException with the member's refusal (authentication, version), or {@link
     *                       ErrorCode#CLUSTER_UNREACHABLE} if the member cannot be reached.
     */
    static ClientConnection open(final String address, final ClientConfiguration config,
        final Consumer<Long> topologySeen)
    {
        final int colon = address.lastIndexOf(':');
        final String host = address.substring(0, colon);
        final int port = Integer.parseInt(address.substring(colon + 1));
        Socket socket = new Socket();
        final ClientConnection connection;
        try
        {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), config.connectTimeoutMs());
            if (config.tls())
            {
                final SSLSocket tls = (SSLSocket)tlsContext(config).getSocketFactory().createSocket(socket, host, port,
                    true);
                final SSLParameters parameters = tls.getSSLParameters();
                // The member's certificate must name the host connected to.
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                tls.setSSLParameters(parameters);
                socket = tls;
                tls.startHandshake();
            }
            connection = new ClientConnection(address, socket, config.maxFrameBytes(), topologySeen);
        }
        catch (final SSLException ex)
        {
            closeQuietly(socket);
            throw new GridException(ErrorCode.AUTHENTICATION_FAILED, "TLS with member at " + address + " failed " +
                "(is its certificate trusted, and does it serve TLS?): " + ex.getMessage(), ex);
        }
        catch (final IOException ex)
        {
            closeQuietly(socket);
            throw new GridException(ErrorCode.CLUSTER_UNREACHABLE, "cannot connect to member at " + address + ": " +
                ex.getMessage(), ex);
        }
        connection.reader.start();
        final FrameWriter handshake = new FrameWriter();
        handshake.writeInt(ClientProtocol.MAGIC).writeUnsignedShort(ClientProtocol.MIN_VERSION)
            .writeUnsignedShort(ClientProtocol.VERSION).writeString(config.user()).writeString(config.password())
            .writeString(config.clientName());
        try
        {
            final Answer answer = connection.request(ClientProtocol.HANDSHAKE, handshake)
                .get(config.connectTimeoutMs() + 10_000L, TimeUnit.MILLISECONDS);
            connection.version = answer.payload().readUnsignedShort("version");
            connection.memberId = answer.payload().readString("memberId");
            connection.admin = answer.payload().readByte("role") == 1;
            return connection;
        }
        catch (final Exception ex)
        {
            connection.close();
            final Throwable cause = ex instanceof ExecutionException ? ex.getCause() : ex;
            if (cause instanceof GridException grid)
            {
                throw GridException.of(grid.errorCode(), grid.detail());
            }
            throw new GridException(ErrorCode.CLUSTER_UNREACHABLE, "handshake with member at " + address +
                " failed: " + cause, cause);
        }
    }

    private static void closeQuietly(final Socket socket)
    {
        try
        {
            socket.close();
        }
        catch (final IOException ignored)
        {
            // Never opened, or broken.
        }
    }

    private static SSLContext tlsContext(final ClientConfiguration config) throws IOException
    {
        try
        {
            final SSLContext context = SSLContext.getInstance("TLS");
            if (config.trustStore() == null)
            {
                context.init(null, null, null);
                return context;
            }
            final KeyStore store = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(config.trustStore()))
            {
                store.load(in, config.trustStorePassword() == null ? null :
                    config.trustStorePassword().toCharArray());
            }
            final TrustManagerFactory trust = TrustManagerFactory.getInstance(
                TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            context.init(null, trust.getTrustManagers(), null);
            return context;
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IOException("trust store " + config.trustStore() + " is unusable: " + ex.getMessage(), ex);
        }
    }

    String address()
    {
        return address;
    }

    String memberId()
    {
        return memberId;
    }

    /** @return whether the member numbers TX_BEGINs by count (version 2): a transaction's steps may follow at once. */
    boolean pipelinesTransactionBegin()
    {
        return version >= 2;
    }

    /**
     * @return whether a failed write step makes its transaction's commit roll back (version 3): a write whose answer
     *         cannot change what follows may be sent without waiting for it.
     */
    boolean pipelinesTransactionWrites()
    {
        return version >= 3;
    }

    /** @return whether the calling thread is this connection's reader (which must not wait for answers). */
    boolean isReaderThread()
    {
        return Thread.currentThread() == reader;
    }

    boolean isAdmin()
    {
        return admin;
    }

    boolean isOpen()
    {
        return !closed;
    }

    int outstanding()
    {
        return pending.size();
    }

    /**
     * Send a request.
     *
     * @param op      the op code.
     * @param payload the request's payload (copied before this returns).
     * @return its answer; fails with the member's error as a {@link GridException}, or {@link
     *         ConnectionLostException}.
     */
    CompletableFuture<Answer> request(final int op, final FrameWriter payload)
    {
        return request(op, payload.array(), payload.length());
    }

    /**
     * Send a request whose payload is the first {@code length} bytes of {@code payload} (copied before this returns).
     *
     * @see #request(int, FrameWriter)
     */
    CompletableFuture<Answer> request(final int op, final byte[] payload, final int length)
    {
        return request(op, payload, length, NO_DEADLINE, 0);
    }

    /**
     * As {@link #request(int, byte[], int)}, given up with an {@link OperationTimeoutException} by the first
     * {@link #expire} at or after {@code deadlineNs} ({@link System#nanoTime}; {@link #NO_DEADLINE}: never).
     *
     * @param timeoutMs the timeout the deadline was set with, for the error's message.
     */
    CompletableFuture<Answer> request(final int op, final byte[] payload, final int length, final long deadlineNs,
        final long timeoutMs)
    {
        final PendingAnswer future = new PendingAnswer(op, deadlineNs, timeoutMs);
        if (enqueue(op, payload, length, future, null))
        {
            writeQueued();
        }
        return future;
    }

    /**
     * Register a request and queue its frame, in the order frames are sent (TX_BEGIN numbering relies on it), the
     * payload copied once.
     *
     * @param begun if not null, the request is a TX_BEGIN: its transaction's id is set here, under the lock that orders
     *              the frames (the n-th TX_BEGIN queued is the member's n-th).
     * @return whether the caller must write the queue ({@link #writeQueued}): no other thread is writing it.
     */
    private boolean enqueue(final int op, final byte[] payload, final int length, final PendingAnswer future,
        final long[] begun)
    {
        if (closed)
        {
            future.completeExceptionally(new ConnectionLostException("connection to " + address + " " + closeReason,
                false));
            return false;
        }
        final long requestId = nextRequestId.getAndIncrement();
        pending.put(requestId, future);
        if (closed && pending.remove(requestId, future))
        {
            // Closed since the check above, perhaps after fail() went over the pending requests: not queued.
            future.completeExceptionally(new ConnectionLostException("connection to " + address + " " + closeReason,
                false));
            return false;
        }
        synchronized (out)
        {
            // Backpressure: while the member reads slowly, callers wait here as they waited for the lock before
            // frames were queued, instead of queueing without bound.
            while (writing && queued.length() > MAX_QUEUED_BYTES && !closed)
            {
                try
                {
                    out.wait();
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            final int mark = queued.length();
            try
            {
                queued.writeInt(ClientProtocol.HEADER + length).writeByte(op).writeLong(requestId)
                    .writeRaw(payload, 0, length);
            }
            catch (final Throwable ex)
            {
                // Never a torn frame in the queue: the next frame's bytes would be read as this one's body.
                queued.truncate(mark);
                pending.remove(requestId, future);
                throw ex;
            }
            if (begun != null)
            {
                begun[0] = ++transactionsBegun;
            }
            if (writing)
            {
                return false;
            }
            writing = true;
            return true;
        }
    }

    /**
     * Write the queued frames until none is left, each batch with one call, the lock not held while writing (threads
     * queue theirs meanwhile, so the writer also sends the frames of the threads that came while it wrote; each of
     * those then waits for its answer, so what one writer sends is bounded by the callers outstanding). A write that
     * fails, or anything thrown, breaks the connection for good: every pending request fails, as sent, and no thread
     * writes again.
     */
    private void writeQueued()
    {
        try
        {
            while (true)
            {
                final FrameWriter batch;
                synchronized (out)
                {
                    if (queued.length() == 0 || closed)
                    {
                        writing = closed;
                        return;
                    }
                    batch = queued;
                    queued = spare.reset();
                    spare = null;
                    out.notifyAll();
                }
                out.write(batch.array(), 0, batch.length());
                out.flush();
                synchronized (out)
                {
                    // A large batch does not keep its array for the connection's life.
                    spare = batch.array().length > OUT_FRAME_KEPT_BYTES ? new FrameWriter() : batch;
                }
            }
        }
        catch (final IOException | RuntimeException | Error ex)
        {
            // `writing` stays set: nobody writes on this connection again, and fail() fails every pending request.
            fail("broke while writing: " + ex.getMessage());
            synchronized (out)
            {
                queued.reset();
                out.notifyAll();
            }
            if (ex instanceof Error error)
            {
                throw error;
            }
        }
    }

    /**
     * A TX_BEGIN sent, and the id the member gives its transaction.
     *
     * @param txId   the transaction's id on this connection.
     * @param answer the member's answer to the TX_BEGIN.
     */
    record Begun(long txId, CompletableFuture<Answer> answer)
    {
    }

    /**
     * Send a TX_BEGIN without waiting for its answer: the member numbers a connection's TX_BEGIN requests 1, 2, ... in
     * the order they arrive, refused ones included (docs/protocol.md), so the transaction's id is known at once and
     * its first step follows on the same connection behind it.
     *
     * @param payload    the TX_BEGIN's payload.
     * @param deadlineNs when the answer is given up ({@link #expire}).
     * @param timeoutMs  the timeout the deadline was set with, for the error's message.
     * @return the id and the answer to come.
     */
    Begun begin(final FrameWriter payload, final long deadlineNs, final long timeoutMs)
    {
        final PendingAnswer answer = new PendingAnswer(ClientProtocol.TX_BEGIN, deadlineNs, timeoutMs);
        // Numbered when queued (a failure before throws; one while writing breaks the connection for good).
        final long[] txId = new long[1];
        if (enqueue(ClientProtocol.TX_BEGIN, payload.array(), payload.length(), answer, txId))
        {
            writeQueued();
        }
        return new Begun(txId[0], answer);
    }

    /**
     * Give up every request whose deadline is past: each fails with an {@link OperationTimeoutException}, and its
     * answer, if it comes later, is dropped. Called periodically by the client's timer thread.
     *
     * @param nowNs {@link System#nanoTime} now.
     */
    void expire(final long nowNs)
    {
        for (final Map.Entry<Long, PendingAnswer> entry : pending.entrySet())
        {
            final PendingAnswer future = entry.getValue();
            if (future.deadlineNs != NO_DEADLINE && nowNs - future.deadlineNs >= 0 &&
                pending.remove(entry.getKey(), future))
            {
                future.completeExceptionally(timedOut(future.op, future.timeoutMs));
            }
        }
    }

    /** @return the error of a request of {@code op} given up after {@code timeoutMs}. */
    static OperationTimeoutException timedOut(final int op, final long timeoutMs)
    {
        return new OperationTimeoutException(ClientProtocol.name(op) + " got no answer within " + timeoutMs + " ms");
    }

    private void readLoop()
    {
        try
        {
            while (!closed)
            {
                final int length = Integer.reverseBytes(in.readInt());
                if (length < ClientProtocol.ANSWER_HEADER || length > maxFrameBytes)
                {
                    throw new IOException("answer frame of " + length + " bytes");
                }
                final byte[] frame = new byte[length];
                in.readFully(frame);
                final FrameReader reader = new FrameReader().wrap(frame, 0, length);
                final int status = reader.readByte("status");
                final long requestId = reader.readLong("requestId");
                final long topologyVersion = reader.readLong("topologyVersion");
                topologySeen.accept(topologyVersion);
                final CompletableFuture<Answer> future = requestId == 0 ? null : pending.remove(requestId);
                if (status == ClientProtocol.OK)
                {
                    if (future != null)
                    {
                        future.complete(new Answer(reader, topologyVersion));
                    }
                }
                else
                {
                    final int code = reader.readInt("errorCode");
                    final String message = reader.readString("message");
                    final GridException error = toException(code, message);
                    if (future != null)
                    {
                        future.completeExceptionally(error);
                    }
                    else if (requestId == 0)
                    {
                        // An error about the connection itself (limits, a frame the member refused): it closes.
                        closeReason = "was closed by the member: " + message;
                    }
                }
            }
        }
        catch (final EOFException ex)
        {
            fail(closed ? closeReason : "was closed by the member");
        }
        catch (final IOException | RuntimeException ex)
        {
            fail(closed ? closeReason : "broke: " + ex.getMessage());
        }
    }

    static GridException toException(final int code, final String message)
    {
        try
        {
            return GridException.of(ErrorCode.ofCode(code), message);
        }
        catch (final IllegalArgumentException unknown)
        {
            return new GridException(ErrorCode.MALFORMED_REQUEST, "error code " + code + " unknown to this client: " +
                message);
        }
    }

    private void fail(final String reason)
    {
        if (!closed)
        {
            closeReason = reason;
        }
        closed = true;
        synchronized (out)
        {
            // Callers waiting for room in the queue wake and see the connection closed: nobody writes it any more.
            out.notifyAll();
        }
        try
        {
            socket.close();
        }
        catch (final IOException ignored)
        {
            // Broken anyway.
        }
        for (final Long id : pending.keySet())
        {
            final CompletableFuture<Answer> future = pending.remove(id);
            if (future != null)
            {
                future.completeExceptionally(new ConnectionLostException("connection to " + address + " " +
                    closeReason, true));
            }
        }
    }

    @Override
    public void close()
    {
        if (!closed)
        {
            closeReason = "was closed by the client";
            fail(closeReason);
        }
    }
}
