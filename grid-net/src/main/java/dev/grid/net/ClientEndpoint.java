package dev.grid.net;

import dev.grid.core.ErrorCode;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MessageWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The TCP endpoint thin clients and the admin tool connect to: accepts connections up to a limit, cuts the byte
 * stream into frames (a 32-bit little-endian length, then the frame), hands each frame to a {@link Handler}, and
 * writes the frames handlers send back. A frame longer than the limit, or with a negative length, gets a
 * {@link ErrorCode#FRAME_TOO_LARGE} answer and its connection is closed; a connection over the limit gets
 * {@link ErrorCode#TOO_MANY_CONNECTIONS} and is closed. Nothing a connection sends can harm another or the member.
 * <p>
 * <b>Threading:</b> one thread runs the selector: the endpoint's own (it blocks in {@code select}, no spinning), or,
 * for an endpoint made by {@link #polled}, its owner's, in {@link #poll()}. Handler callbacks run on that thread,
 * inside the selection's action ({@link Selector#select(java.util.function.Consumer, long)}), and must not block;
 * {@link Connection#send} and {@link Connection#close} may be called from any thread, and one thread may batch its
 * frames ({@link #beginBatch()}). Below, "the endpoint's thread" is whichever of the two runs the selector.
 */
public final class ClientEndpoint implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(ClientEndpoint.class);
    /** What the member does with connections and frames. */
    public interface Handler
    {
        /**
         * A frame arrived (without its length prefix). The endpoint's thread; must not block.
         *
         * @param connection it came on.
         * @param frame      its bytes, owned by the handler.
         */
        void onFrame(Connection connection, byte[] frame);

        /**
         * A frame arrived, read in place: its bytes (without the length prefix) are {@code length} bytes of
         * {@code array} from {@code offset}, valid only until this returns (the endpoint reads the connection's next
         * frames into the same array). The default copies them for {@link #onFrame(Connection, byte[])}; a handler
         * that is done with each frame when it returns overrides this and saves an allocation and a copy per frame.
         * The endpoint's thread; must not block.
         *
         * @param connection it came on.
         * @param array      holding the frame.
         * @param offset     of the frame in {@code array}.
         * @param length     of the frame.
         */
        default void onFrame(final Connection connection, final byte[] array, final int offset, final int length)
        {
            onFrame(connection, Arrays.copyOfRange(array, offset, offset + length));
        }

        /**
         * A connection was accepted (it may be refused at once for the connection limit; {@link #onClose} follows).
         *
         * @param connection that opened.
         */
        default void onOpen(final Connection connection)
        {
        }

        /**
         * The connection closed (either side). The endpoint's thread.
         *
         * @param connection that closed.
         */
        void onClose(Connection connection);

        /**
         * @param connection an authenticated connection that sent nothing for the idle timeout.
         * @return whether it still waits for answers (then it is not idle: a long request is running).
         */
        default boolean awaitsAnswers(final Connection connection)
        {
            return false;
        }

        /**
         * The connection is being closed because it does not read its answers: more than
         * {@link Limits#maxQueuedBytes()} of them waited, or none of them was written for
         * {@link Limits#writeStallTimeoutNs()}. Any thread; {@link #onClose} follows.
         *
         * @param connection that is cut off.
         * @param queuedBytes the answer bytes that waited.
         */
        default void onCutOff(final Connection connection, final long queuedBytes)
        {
        }
    }

    /**
     * What an endpoint allows each connection.
     *
     * @param maxConnections     connections served at once.
     * @param maxFrameBytes      the longest frame accepted once the connection's handshake succeeded (before it,
     *                           {@link ClientProtocol#MAX_HANDSHAKE_FRAME_BYTES}); also the most answer bytes queued
     *                           for a connection before the endpoint stops reading its requests, and a quarter of the
     *                           most before it closes it as one that does not read its answers.
     * @param handshakeTimeoutNs how long a connection may take to complete its handshake.
     * @param idleTimeoutNs      how long an authenticated connection may send nothing while awaiting no answer; 0:
     *                           forever.
     */
    public record Limits(int maxConnections, int maxFrameBytes, long handshakeTimeoutNs, long idleTimeoutNs)
    {
        /** @return the answer bytes queued for a connection above which it is closed. */
        long maxQueuedBytes()
        {
            return 4L * maxFrameBytes;
        }

        /**
         * @return how long answers may wait with nothing of them written before the connection is cut off: its client
         *         reads nothing (paused, its requests are not read either, so no more answers come to reach
         *         {@link #maxQueuedBytes()}). As long as a handshake may take.
         */
        long writeStallTimeoutNs()
        {
            return handshakeTimeoutNs;
        }
    }

    /** One client connection, as the handler sees it. Thread-safe. */
    public interface Connection
    {
        /** @return an id unique within its endpoint. */
        long id();

        /** @return the peer's address, for logs. */
        String remote();

        /**
         * Queue a frame; any thread. Ignored once the connection is closing.
         *
         * @param frame the frame without its length prefix; copied before this returns, so the caller may reuse it.
         */
        void send(MessageWriter frame);

        /** Close once every frame queued so far is written; any thread. */
        void close();

        /**
         * The connection's handshake succeeded: frames up to the endpoint's limit are accepted from now on, and the
         * handshake timeout no longer applies. Any thread.
         */
        void admit();

        /** @return the handler's state for this connection, or null. */
        Object attachment();

        /** @param attachment the handler's state for this connection. */
        void attach(Object attachment);
    }

    /** What every connection holds whatever its transport: identity, peer and the handler's state. */
    abstract static class BaseConnection implements Connection
    {
        private final long id;
        private final String remote;
        private volatile Object attachment;
        /** Whether its handshake succeeded ({@link #admit()}). */
        volatile boolean admitted;
        final long openedNs = System.nanoTime();

        BaseConnection(final long id, final String remote)
        {
            this.id = id;
            this.remote = remote;
        }

        public void admit()
        {
            admitted = true;
        }

        /** @return the longest frame it may send now. */
        int frameLimit(final int maxFrameBytes)
        {
            return admitted ? maxFrameBytes : Math.min(maxFrameBytes, ClientProtocol.MAX_HANDSHAKE_FRAME_BYTES);
        }

        public long id()
        {
            return id;
        }

        public String remote()
        {
            return remote;
        }

        public Object attachment()
        {
            return attachment;
        }

        public void attach(final Object attachment)
        {
            this.attachment = attachment;
        }
    }

    /** The input buffer a connection starts with, and returns to after a longer frame. */
    static final int INPUT_BUFFER_BYTES = 64 * 1024;
    private static final long SWEEP_INTERVAL_NS = 250_000_000L;
    /**
     * How long accepting pauses after {@code accept()} failed (typically: the process ran out of file descriptors).
     * The connection waiting in the backlog keeps the server socket ready, so accepting again at once would spin.
     */
    static final long ACCEPT_PAUSE_NS = 100_000_000L;
    private static final long ACCEPT_WARN_INTERVAL_NS = 10_000_000_000L;
    private static final long SELECT_TIMEOUT_MS = 250;

    /** Takes the next pending connection; a seam for tests that make accepting fail. */
    @FunctionalInterface
    interface Acceptor
    {
        /**
         * @param server the listening channel (non-blocking).
         * @return the accepted channel, or null if none was pending.
         * @throws IOException if accepting failed.
         */
        SocketChannel accept(ServerSocketChannel server) throws IOException;
    }

    private final Handler handler;
    private final Limits limits;
    private final Selector selector;
    private final ServerSocketChannel server;
    private final SelectionKey serverKey;
    private final Acceptor acceptor;
    /** Failed accepts since the last warning about them; endpoint thread. */
    private long acceptFailures;
    /** When a failed accept may be logged again as a warning (at most one per {@link #ACCEPT_WARN_INTERVAL_NS}). */
    private long nextAcceptWarnNs;
    /** When accepting resumes after a failure, or 0 while it is not paused; endpoint thread. */
    private long acceptResumeNs;
    private final ConcurrentLinkedQueue<NioConnection> flushes = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<NioConnection> open = new ArrayDeque<>();
    private final AtomicLong nextId = new AtomicLong(1);
    /** The endpoint's own thread, or null when its owner polls it ({@link #polled}). */
    private final Thread thread;
    private volatile boolean running = true;
    /**
     * Held while a turn serves the selector and while {@link #close()} shuts it, so that a close from another thread
     * never closes channels under a turn of the polling thread. Uncontended but for that.
     */
    private final ReentrantLock pollLock = new ReentrantLock();
    /** Whether the connections, server socket and selector were closed; under {@link #pollLock} once polled. */
    private boolean shut;

    private long lastSweepNs = System.nanoTime();
    private final Consumer<SelectionKey> onSelected = this::onSelected;
    /** Whether the server socket was found ready in the current select. Endpoint thread. */
    private boolean acceptable;

    /**
     * The thread whose frames are held between {@link #beginBatch()} and {@link #endBatch()}, or null. A plain field:
     * only that thread writes it, and any other thread reading it, stale or not, never finds itself there.
     */
    private Thread batchThread;
    /** Connections holding frames of the batch in progress. Batching thread only. */
    private final ArrayList<NioConnection> batched = new ArrayList<>();
    /** See {@link #batchBuffer()}. */
    private ByteBuffer batchBuffer;
    /**
     * The most bytes of held frames one write system call carries (larger frames go through in parts). Copying them
     * into one direct buffer is the copy the JDK makes of every heap buffer it writes anyway; a gather write of the
     * heap buffers would make one per frame and keep a direct buffer cached per frame written at once.
     */
    private static final int BATCH_BUFFER_BYTES = 64 * 1024;

    /**
     * Bind and start serving on a thread of its own, which blocks in {@code select} while nothing is ready.
     *
     * @param host    to bind.
     * @param port    to bind; 0 for any free port.
     * @param limits  what each connection is allowed.
     * @param handler gets the frames.
     * @param name    for the thread.
     * @throws IOException if the port cannot be bound.
     */
    public ClientEndpoint(final String host, final int port, final Limits limits, final Handler handler,
        final String name) throws IOException
    {
        this(host, port, limits, handler, name, ServerSocketChannel::accept);
    }

    /**
     * Bind, and serve only when the owner calls {@link #poll()}: no thread of its own. A member's duty cycle polls it,
     * so a request is read, decoded and handed to the engine on the member's thread, with no hand-off between threads
     * (docs/design-notes.md, "The member thread serves its client connections").
     *
     * @param host    to bind.
     * @param port    to bind; 0 for any free port.
     * @param limits  what each connection is allowed.
     * @param handler gets the frames, on the polling thread.
     * @return the endpoint, listening.
     * @throws IOException if the port cannot be bound.
     */
    public static ClientEndpoint polled(final String host, final int port, final Limits limits,
        final Handler handler) throws IOException
    {
        return new ClientEndpoint(host, port, limits, handler, null, ServerSocketChannel::accept);
    }

    /** As the public constructor, with the way connections are accepted (tests make it fail); name null: polled. */
    ClientEndpoint(final String host, final int port, final Limits limits, final Handler handler,
        final String name, final Acceptor acceptor) throws IOException
    {
        this.acceptor = acceptor;
        this.handler = handler;
        this.limits = limits;
        this.selector = Selector.open();
        this.server = ServerSocketChannel.open();
        try
        {
            server.bind(new InetSocketAddress(host, port), 128);
            server.configureBlocking(false);
            serverKey = server.register(selector, SelectionKey.OP_ACCEPT);
        }
        catch (final IOException ex)
        {
            server.close();
            selector.close();
            throw ex;
        }
        if (name == null)
        {
            thread = null;
        }
        else
        {
            thread = new Thread(this::run, name);
            thread.setDaemon(true);
            thread.start();
        }
    }

    /**
     * Serve what is ready now without waiting: accept, read and hand over frames, write what waits, and time out
     * connections, as the endpoint's own thread would in one turn of its loop. For an endpoint made by
     * {@link #polled}; call from one thread (the owner's duty cycle). Does nothing once closed.
     *
     * @return how many channels were ready plus connections flushed: 0 when there was nothing to do.
     * @throws IllegalStateException if the endpoint runs on a thread of its own.
     */
    public int poll()
    {
        if (thread != null)
        {
            throw new IllegalStateException("this client endpoint runs on its own thread; only a polled one is polled");
        }
        pollLock.lock();
        try
        {
            return shut ? 0 : serve(0);
        }
        catch (final IOException | RuntimeException ex)
        {
            // The selector itself failed, as on the endpoint's own thread: nothing more can be served.
            LOG.error("client endpoint stopped: its selector failed", ex);
            shutdown();
            return 0;
        }
        finally
        {
            pollLock.unlock();
        }
    }

    /**
     * Hold the frames the calling thread sends until {@link #endBatch()}, which writes each connection's frames
     * together: a member thread that answers several requests of a connection in one duty cycle makes one write
     * system call for them (per 64 KiB), not one each. Frames other threads send to a connection meanwhile go behind
     * its held ones, in order. Held frames count towards a connection's back-pressure: a connection whose held and
     * queued answers would pass {@link Limits#maxQueuedBytes()} is cut off at once, before any of the batch is
     * written (a batch lasts one duty cycle). One thread batches at a time.
     */
    public void beginBatch()
    {
        batchThread = Thread.currentThread();
    }

    /**
     * Write the frames held since {@link #beginBatch()} (what a socket does not take is queued for the endpoint's
     * thread, as any frame) and stop holding; call on the same thread, also when the work between failed. Throws
     * nothing: a connection whose frames cannot be written is closed.
     *
     * @return connections that held frames.
     */
    public int endBatch()
    {
        batchThread = null;
        final int count = batched.size();
        try
        {
            for (int i = 0; i < count; i++)
            {
                final NioConnection connection = batched.get(i);
                try
                {
                    connection.writeHeld();
                }
                catch (final RuntimeException | OutOfMemoryError ex)
                {
                    // Its frames cannot be written (a cut-off handler failed, no memory for them): that connection
                    // closes, and the others are not held up.
                    LOG.warn("client connection {}: held answers could not be written, closing it: {}",
                        connection.remote(), ex.toString());
                    connection.abort();
                }
            }
        }
        finally
        {
            batched.clear();
        }
        return count;
    }

    /** The direct buffer held frames are copied into for a write; made on first use. Batching thread only. */
    ByteBuffer batchBuffer()
    {
        if (batchBuffer == null)
        {
            batchBuffer = ByteBuffer.allocateDirect(BATCH_BUFFER_BYTES);
        }
        return batchBuffer;
    }

    /** @return whether the calling thread is batching its frames ({@link #beginBatch()}). */
    boolean isBatching()
    {
        return batchThread == Thread.currentThread();
    }

    /** @param connection holds frames of the batch in progress; the batching thread, once per batch. */
    void batched(final NioConnection connection)
    {
        batched.add(connection);
    }

    /** @return what each connection is allowed. */
    Limits limits()
    {
        return limits;
    }

    /** @return what serves the frames. */
    Handler handler()
    {
        return handler;
    }

    /**
     * Have the selector's thread write what waits on a connection: its own thread is woken, a polling owner finds it
     * in its next turn (waking a selector is a system call the polling owner need not pay).
     */
    void flushSoon(final NioConnection connection)
    {
        flushes.add(connection);
        if (thread != null)
        {
            selector.wakeup();
        }
    }

    /** @return the bound port. */
    public int port()
    {
        return server.socket().getLocalPort();
    }

    /** Stop accepting, close every connection and the thread. Idempotent. */
    @Override
    public void close()
    {
        running = false;
        if (thread == null)
        {
            // Polled: the lock waits for a turn in progress; later turns find the endpoint shut.
            pollLock.lock();
            try
            {
                shutdown();
            }
            finally
            {
                pollLock.unlock();
            }
            return;
        }
        selector.wakeup();
        try
        {
            thread.join(5_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    private void run()
    {
        try
        {
            while (running)
            {
                serve(acceptResumeNs == 0 ? SELECT_TIMEOUT_MS : Math.max(1, Math.min(
                    SELECT_TIMEOUT_MS, (acceptResumeNs - System.nanoTime() + 999_999) / 1_000_000)));
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            // The selector itself failed: nothing more can be served. Connections close below.
            LOG.error("client endpoint stopped: its selector failed", ex);
        }
        finally
        {
            shutdown();
        }
    }

    /**
     * One turn: select (waiting up to {@code timeoutMs}; 0 does not wait), accept, flush what other threads queued,
     * and sweep timed-out connections every {@link #SWEEP_INTERVAL_NS}.
     *
     * @return how many channels were ready plus connections flushed.
     */
    private int serve(final long timeoutMs) throws IOException
    {
        // The action form: no selected-key set, which allocated a hash set node per ready key per select.
        acceptable = false;
        // While accepting is paused, the select returns in time to resume it.
        int work = timeoutMs == 0 ? selector.selectNow(onSelected) : selector.select(onSelected, timeoutMs);
        if (acceptable)
        {
            // Outside the selection's action: accepting registers the new channel with the selector.
            accept();
        }
        else if (acceptResumeNs != 0 && System.nanoTime() - acceptResumeNs >= 0)
        {
            acceptResumeNs = 0;
            serverKey.interestOps(SelectionKey.OP_ACCEPT);
        }
        NioConnection connection;
        while ((connection = flushes.poll()) != null)
        {
            connection.flushQueued.set(false);
            flush(connection);
            work++;
        }
        final long nowNs = System.nanoTime();
        if (nowNs - lastSweepNs >= SWEEP_INTERVAL_NS)
        {
            lastSweepNs = nowNs;
            sweep(nowNs);
        }
        return work;
    }

    /** Close every connection, the server socket and the selector, once. The selector's thread, or under the lock. */
    private void shutdown()
    {
        if (shut)
        {
            return;
        }
        shut = true;
        for (final NioConnection connection : open.toArray(new NioConnection[0]))
        {
            closeNow(connection);
        }
        try
        {
            server.close();
            selector.close();
        }
        catch (final IOException ignored)
        {
            // Closing: nothing to do about it.
        }
    }

    /**
     * Close connections that took too long over their handshake, sent nothing for the idle timeout, or shut their
     * sending side and have every answer.
     */
    private void sweep(final long nowNs)
    {
        for (final NioConnection connection : open.toArray(new NioConnection[0]))
        {
            try
            {
                sweep(connection, nowNs);
            }
            catch (final RuntimeException ex)
            {
                // One connection's trouble must not end the endpoint's thread.
                closeNow(connection);
            }
        }
    }

    private void sweep(final NioConnection connection, final long nowNs)
    {
        if (!connection.out.isEmpty() && nowNs - connection.lastWrittenNs > limits.writeStallTimeoutNs())
        {
            // Answers wait and nothing of them was written for long (closing or not): it reads nothing.
            handler.onCutOff(connection, connection.queuedBytes.get());
            closeNow(connection);
            return;
        }
        if (connection.closing)
        {
            return;
        }
        if (connection.inputEnded)
        {
            closeIfAnswered(connection);
        }
        else if (!connection.admitted && nowNs - connection.openedNs > limits.handshakeTimeoutNs())
        {
            sendError(connection, ErrorCode.CONNECTION_TIMED_OUT, "no handshake within " +
                limits.handshakeTimeoutNs() / 1_000_000 + " ms; closing the connection");
            connection.close();
        }
        else if (connection.admitted && limits.idleTimeoutNs() > 0 &&
            nowNs - connection.lastReadNs > limits.idleTimeoutNs() && connection.out.isEmpty() &&
            !handler.awaitsAnswers(connection))
        {
            sendError(connection, ErrorCode.CONNECTION_TIMED_OUT, "nothing sent for " +
                limits.idleTimeoutNs() / 1_000_000 + " ms; closing the idle connection");
            connection.close();
        }
    }

    private void closeIfAnswered(final NioConnection connection)
    {
        if (connection.out.isEmpty() && !handler.awaitsAnswers(connection))
        {
            connection.close();
        }
    }

    /** A key the selector found ready; the endpoint's thread, during its select. */
    private void onSelected(final SelectionKey key)
    {
        if (!key.isValid())
        {
            return;
        }
        if (key.isAcceptable())
        {
            acceptable = true;
            return;
        }
        final NioConnection connection = (NioConnection)key.attachment();
        if (key.isReadable())
        {
            read(connection);
        }
        if (key.isValid() && key.isWritable())
        {
            flush(connection);
        }
    }

    /**
     * Accept one pending connection. A failure to accept (too many open files, say) pauses accepting for
     * {@link #ACCEPT_PAUSE_NS} and a failure to set up the accepted channel (reset by its peer, say) closes it: neither
     * may end the endpoint's thread, which serves every other connection.
     */
    private void accept()
    {
        final SocketChannel channel;
        try
        {
            channel = acceptor.accept(server);
        }
        catch (final IOException ex)
        {
            final long nowNs = System.nanoTime();
            acceptFailures++;
            if (nowNs - nextAcceptWarnNs >= 0)
            {
                // At most one warning per interval, however failures and successes alternate.
                nextAcceptWarnNs = nowNs + ACCEPT_WARN_INTERVAL_NS;
                LOG.warn("client endpoint could not accept a connection ({} failure(s) since the last warning); " +
                    "accepting pauses for {} ms after each: {}", acceptFailures, ACCEPT_PAUSE_NS / 1_000_000,
                    ex.toString());
                acceptFailures = 0;
            }
            serverKey.interestOps(0);
            acceptResumeNs = nowNs + ACCEPT_PAUSE_NS;
            return;
        }
        if (channel == null)
        {
            return;
        }
        final NioConnection connection;
        try
        {
            channel.configureBlocking(false);
            channel.socket().setTcpNoDelay(true);
            connection = new NioConnection(this, nextId.getAndIncrement(), channel,
                String.valueOf(channel.getRemoteAddress()));
            connection.key = channel.register(selector, SelectionKey.OP_READ, connection);
        }
        catch (final IOException ex)
        {
            LOG.debug("client endpoint dropped a connection it could not set up: {}", ex.toString());
            try
            {
                channel.close();
            }
            catch (final IOException ignored)
            {
                // Dropping it: nothing more to do.
            }
            return;
        }
        open.add(connection);
        handler.onOpen(connection);
        if (open.size() > limits.maxConnections())
        {
            sendError(connection, ErrorCode.TOO_MANY_CONNECTIONS, "the member serves at most " +
                limits.maxConnections() + " client connections");
            connection.close();
        }
    }

    private void read(final NioConnection connection)
    {
        if (connection.closing || connection.queuedBytes.get() > limits.maxFrameBytes())
        {
            // Whatever else it sends is not read: it is being closed, or it is not reading its answers (back-pressure:
            // reading resumes once they drained, see flush()).
            connection.key.interestOps(connection.key.interestOps() & ~SelectionKey.OP_READ);
            connection.readPaused = !connection.closing;
            return;
        }
        try
        {
            final int read = connection.channel.read(connection.in);
            if (read < 0)
            {
                // Half-close: the client sent all it will. The answers to what it sent still go out; then it closes.
                connection.inputEnded = true;
                connection.key.interestOps(connection.key.interestOps() & ~SelectionKey.OP_READ);
                closeIfAnswered(connection);
                return;
            }
            connection.lastReadNs = System.nanoTime();
        }
        catch (final IOException ex)
        {
            closeNow(connection);
            return;
        }
        final ByteBuffer in = connection.in;
        in.flip();
        while (in.remaining() >= ClientProtocol.LENGTH_PREFIX && !connection.closing)
        {
            final int length = in.getInt(in.position());
            final int limit = connection.frameLimit(limits.maxFrameBytes());
            if (length < 0 || length > limit)
            {
                sendError(connection, ErrorCode.FRAME_TOO_LARGE, "frame length " + length + " is outside [0, " +
                    limit + "]" + (connection.admitted ? "" : " before the handshake") + "; closing the connection");
                connection.close();
                break;
            }
            if (in.remaining() < ClientProtocol.LENGTH_PREFIX + length)
            {
                if (in.remaining() == in.capacity())
                {
                    // The buffer is full of a longer frame: grow it as its bytes arrive (doubling, up to the frame),
                    // never to the length a prefix merely announces.
                    final ByteBuffer bigger = allocateOrRefuse(connection, (int)Math.min(ClientProtocol.LENGTH_PREFIX +
                        (long)length, 2L * in.capacity()));
                    if (bigger == null)
                    {
                        return;
                    }
                    bigger.put(in);
                    bigger.flip();
                    connection.in = bigger;
                }
                break;
            }
            // Handed over in place: the input buffer already holds the whole frame.
            final int at = in.position() + ClientProtocol.LENGTH_PREFIX;
            in.position(at + length);
            handler.onFrame(connection, in.array(), in.arrayOffset() + at, length);
        }
        if (!connection.in.hasRemaining() && connection.in.capacity() > INPUT_BUFFER_BYTES)
        {
            // A long frame was read whole: back to the usual buffer, not held for the connection's life.
            connection.in = ByteBuffer.allocate(INPUT_BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            return;
        }
        connection.in.compact();
    }

    /**
     * A buffer for a connection's frame, or, if the heap cannot hold it now, null: the connection is told and closed,
     * and only it pays (an OutOfMemoryError used to end the endpoint's thread and every client with it).
     */
    private ByteBuffer allocateOrRefuse(final NioConnection connection, final int bytes)
    {
        try
        {
            return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        }
        catch (final OutOfMemoryError ex)
        {
            connection.in = ByteBuffer.allocate(0);
            try
            {
                sendError(connection, ErrorCode.FRAME_TOO_LARGE, "the member cannot hold a frame of " + bytes +
                    " bytes now; closing the connection");
            }
            catch (final OutOfMemoryError again)
            {
                // Not even the refusal fits: the connection just closes.
            }
            connection.close();
            return null;
        }
    }

    private void flush(final NioConnection connection)
    {
        if (connection.closed)
        {
            return;
        }
        if (connection.aborted)
        {
            closeNow(connection);
            return;
        }
        final boolean closeNowAfterFlush;
        try
        {
            synchronized (connection.writeLock)
            {
                ByteBuffer buffer;
                while ((buffer = connection.out.peek()) != null)
                {
                    connection.channel.write(buffer);
                    if (buffer.hasRemaining())
                    {
                        connection.key.interestOps(connection.key.interestOps() | SelectionKey.OP_WRITE);
                        return;
                    }
                    connection.out.poll();
                    connection.queuedBytes.addAndGet(-buffer.capacity());
                    connection.lastWrittenNs = System.nanoTime();
                }
                // Decided under the lock: a frame another thread began writing after it was released is not cut.
                closeNowAfterFlush = connection.closing;
            }
            if (connection.readPaused && connection.queuedBytes.get() <= limits.maxFrameBytes() / 2)
            {
                connection.readPaused = false;
                connection.key.interestOps(connection.key.interestOps() | SelectionKey.OP_READ);
            }
            connection.key.interestOps(connection.key.interestOps() & ~SelectionKey.OP_WRITE);
            if (closeNowAfterFlush)
            {
                closeNow(connection);
            }
            else if (connection.inputEnded)
            {
                closeIfAnswered(connection);
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            closeNow(connection);
        }
    }

    static void sendError(final Connection connection, final ErrorCode code, final String message)
    {
        final MessageWriter frame = new MessageWriter();
        frame.writeByte(ClientProtocol.ERROR).writeLong(0).writeLong(0).writeInt(code.code()).writeString(message);
        connection.send(frame);
    }

    private void closeNow(final NioConnection connection)
    {
        if (connection.closed)
        {
            return;
        }
        connection.closed = true;
        connection.closing = true;
        open.remove(connection);
        try
        {
            connection.key.cancel();
            connection.channel.close();
        }
        catch (final IOException ignored)
        {
            // Already broken: it is gone either way.
        }
        handler.onClose(connection);
    }
}
