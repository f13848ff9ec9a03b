package dev.grid.net;

import dev.grid.core.ErrorCode;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MessageWriter;
import org.agrona.concurrent.UnsafeBuffer;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The client endpoint over TLS, with the JDK's own TLS: the same frames, limits and {@link ClientEndpoint.Handler} as
 * {@link ClientEndpoint}, on TLS sockets. The member's certificate and key come from a PKCS12 key store.
 * <p>
 * <b>Threading:</b> an acceptor thread, a sweeper thread (handshake and idle timeouts), and a reader and a writer
 * thread per connection (blocking TLS sockets; the connection limit bounds the threads). Handler callbacks run on the
 * reader threads, so frames of different connections are handled concurrently; {@link ClientEndpoint.Connection#send}
 * may be called from any thread and never blocks: frames queue for the writer, up to the limits of
 * {@link ClientEndpoint.Limits} (the reader stops reading requests while too many answers wait; a connection whose
 * queue outgrows the hard limit is closed).
 */
public final class TlsClientEndpoint implements AutoCloseable
{
    private final ClientEndpoint.Handler handler;
    private final ClientEndpoint.Limits limits;
    private final SSLServerSocket server;
    private final Set<TlsConnection> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong nextId = new AtomicLong(1);
    private final Thread acceptor;
    private final Thread sweeper;
    private final String name;
    private volatile boolean running = true;

    /**
     * Bind and start serving.
     *
     * @param host             to bind.
     * @param port             to bind; 0 for any free port.
     * @param limits           what each connection is allowed.
     * @param keyStore         a PKCS12 file with the member's certificate and private key.
     * @param keyStorePassword its password.
     * @param handler          gets the frames.
     * @param name             for the threads.
     * @throws IOException if the key store cannot be read or the port bound.
     */
    public TlsClientEndpoint(final String host, final int port, final ClientEndpoint.Limits limits,
        final Path keyStore, final char[] keyStorePassword, final ClientEndpoint.Handler handler, final String name)
        throws IOException
    {
        this.handler = handler;
        this.limits = limits;
        this.name = name;
        final SSLContext context;
        try (InputStream in = Files.newInputStream(keyStore))
        {
            final KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, keyStorePassword);
            final KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, keyStorePassword);
            context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IOException("key store " + keyStore + " is unusable: " + ex.getMessage(), ex);
        }
        server = (SSLServerSocket)context.getServerSocketFactory().createServerSocket(port, 128,
            InetAddress.getByName(host));
        server.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        acceptor = new Thread(this::acceptLoop, name);
        acceptor.setDaemon(true);
        acceptor.start();
        sweeper = new Thread(this::sweepLoop, name + "-sweeper");
        sweeper.setDaemon(true);
        sweeper.start();
    }

    /** @return the bound port. */
    public int port()
    {
        return server.getLocalPort();
    }

    /** Stop accepting and close every connection. Idempotent. */
    @Override
    public void close()
    {
        running = false;
        try
        {
            server.close();
        }
        catch (final IOException ignored)
        {
            // Closing anyway.
        }
        open.forEach(TlsConnection::closeNow);
        sweeper.interrupt();
        try
        {
            acceptor.join(5_000);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    private void acceptLoop()
    {
        while (running)
        {
            final SSLSocket socket;
            try
            {
                socket = (SSLSocket)server.accept();
                socket.setTcpNoDelay(true);
            }
            catch (final IOException ex)
            {
                if (running)
                {
                    continue;
                }
                return;
            }
            final TlsConnection connection = new TlsConnection(nextId.getAndIncrement(), socket);
            open.add(connection);
            handler.onOpen(connection);
            final Thread reader = new Thread(() -> connection.readLoop(open.size() > limits.maxConnections()),
                name + "-" + connection.id());
            reader.setDaemon(true);
            reader.start();
        }
    }

    private void sweepLoop()
    {
        while (running)
        {
            try
            {
                Thread.sleep(250);
            }
            catch (final InterruptedException ex)
            {
                return;
            }
            final long nowNs = System.nanoTime();
            for (final TlsConnection connection : open)
            {
                try
                {
                    sweep(connection, nowNs);
                }
                catch (final RuntimeException ex)
                {
                    // One connection's trouble must not end the timeouts of every other.
                    connection.closeNow();
                }
            }
        }
    }

    private void sweep(final TlsConnection connection, final long nowNs)
    {
        if (connection.writeStalled(nowNs))
        {
            // Answers wait and its writer has written nothing for long: the client reads nothing (closing or not).
            handler.onCutOff(connection, connection.queuedBytes());
            connection.closeNow();
            return;
        }
        if (connection.closing)
        {
            return;
        }
        if (!connection.admitted && nowNs - connection.openedNs > limits.handshakeTimeoutNs())
        {
            connection.closeAfter(ErrorCode.CONNECTION_TIMED_OUT, "no handshake within " +
                limits.handshakeTimeoutNs() / 1_000_000 + " ms; closing the connection");
        }
        else if (connection.admitted && limits.idleTimeoutNs() > 0 &&
            nowNs - connection.lastReadNs > limits.idleTimeoutNs() && !connection.hasQueued() &&
            !handler.awaitsAnswers(connection))
        {
            connection.closeAfter(ErrorCode.CONNECTION_TIMED_OUT, "nothing sent for " +
                limits.idleTimeoutNs() / 1_000_000 + " ms; closing the idle connection");
        }
    }

    /**
     * A TLS connection: a blocking socket with a reader thread, and a writer thread that drains the frames queued for
     * it, so that a client that does not read never blocks the thread that answers it.
     */
    private final class TlsConnection extends ClientEndpoint.BaseConnection
    {
        private final SSLSocket socket;
        /** Frames to write, with their length prefix; guarded by itself. */
        private final ArrayDeque<byte[]> queued = new ArrayDeque<>();
        private long queuedBytes;
        private volatile boolean closing;
        private volatile boolean closed;
        /** Whether the writer thread runs (it starts once the TLS handshake is done, and closes the socket). */
        private volatile boolean writing;
        /** When the writer last finished writing a frame, or the queue last went from empty to not; guarded. */
        private long lastWrittenNs = System.nanoTime();
        private volatile long lastReadNs = System.nanoTime();

        TlsConnection(final long id, final SSLSocket socket)
        {
            super(id, String.valueOf(socket.getRemoteSocketAddress()));
            this.socket = socket;
        }

        public void send(final MessageWriter frame)
        {
            final byte[] bytes = new byte[ClientProtocol.LENGTH_PREFIX + frame.length()];
            final UnsafeBuffer buffer = new UnsafeBuffer(bytes);
            buffer.putInt(0, frame.length());
            buffer.putBytes(ClientProtocol.LENGTH_PREFIX, frame.buffer(), 0, frame.length());
            final long cutOffAt;
            synchronized (queued)
            {
                if (closing)
                {
                    return;
                }
                queuedBytes += bytes.length;
                if (queuedBytes <= limits.maxQueuedBytes())
                {
                    if (queued.isEmpty())
                    {
                        lastWrittenNs = System.nanoTime();
                    }
                    queued.addLast(bytes);
                    queued.notifyAll();
                    return;
                }
                cutOffAt = queuedBytes;
            }
            // It sends requests and does not read the answers: its queue would grow without bound. Closed at once
            // (its writer is blocked on it), the handler told outside the lock.
            handler.onCutOff(this, cutOffAt);
            closeNow();
        }

        public void close()
        {
            synchronized (queued)
            {
                // The writer closes the socket once what is queued is written.
                closing = true;
                queued.notifyAll();
            }
            if (!writing)
            {
                // Still in its TLS handshake (or never past it): nothing to write, nobody else to close it.
                closeNow();
            }
        }

        long queuedBytes()
        {
            synchronized (queued)
            {
                return queuedBytes;
            }
        }

        boolean hasQueued()
        {
            synchronized (queued)
            {
                return !queued.isEmpty();
            }
        }

        boolean writeStalled(final long nowNs)
        {
            synchronized (queued)
            {
                return !queued.isEmpty() && nowNs - lastWrittenNs > limits.writeStallTimeoutNs();
            }
        }

        void closeAfter(final ErrorCode code, final String message)
        {
            ClientEndpoint.sendError(this, code, message);
            close();
        }

        void readLoop(final boolean overLimit)
        {
            try
            {
                socket.startHandshake();
                final OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
                final Thread writer = new Thread(() -> writeLoop(out), name + "-" + id() + "-writer");
                writer.setDaemon(true);
                writer.start();
                writing = true;
                if (overLimit)
                {
                    closeAfter(ErrorCode.TOO_MANY_CONNECTIONS, "the member serves at most " +
                        limits.maxConnections() + " client connections");
                    return;
                }
                final DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(),
                    64 * 1024));
                while (!closing)
                {
                    awaitAnswersDrained();
                    final int length = Integer.reverseBytes(in.readInt());
                    final int limit = frameLimit(limits.maxFrameBytes());
                    if (length < 0 || length > limit)
                    {
                        closeAfter(ErrorCode.FRAME_TOO_LARGE, "frame length " + length + " is outside [0, " + limit +
                            "]" + (admitted ? "" : " before the handshake") + "; closing the connection");
                        return;
                    }
                    final byte[] frame = readFrame(in, length);
                    lastReadNs = System.nanoTime();
                    handler.onFrame(this, frame);
                }
            }
            catch (final EOFException ex)
            {
                // Half-close: the client sent all it will. The answers to what it sent still go out; then it closes.
                awaitAnswered();
            }
            catch (final SocketException ex)
            {
                // The client went away.
            }
            catch (final IOException | RuntimeException | InterruptedException ex)
            {
                // A TLS failure or a broken peer: the connection ends, nothing else does.
            }
            finally
            {
                // The writer writes what is queued, then closes the socket (at once if the socket broke).
                close();
            }
        }

        /** Wait until the handler has answered every request the connection sent (or it closed). */
        private void awaitAnswered()
        {
            while (!closing && handler.awaitsAnswers(this))
            {
                synchronized (queued)
                {
                    try
                    {
                        // Woken by each answer written; the timeout covers the last one.
                        queued.wait(250);
                    }
                    catch (final InterruptedException ex)
                    {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }

        /** Back-pressure: no more requests are read while more than a frame's worth of answers waits. */
        private void awaitAnswersDrained() throws InterruptedException
        {
            synchronized (queued)
            {
                while (!closing && queuedBytes > limits.maxFrameBytes())
                {
                    queued.wait();
                }
            }
        }

        /**
         * A frame, its buffer grown as its bytes arrive rather than sized by the length its prefix announces.
         *
         * @throws IOException if the heap cannot hold it now (the connection closes; only it pays).
         */
        private byte[] readFrame(final DataInputStream in, final int length) throws IOException
        {
            byte[] frame = new byte[Math.min(length, 64 * 1024)];
            int read = 0;
            while (read < length)
            {
                if (read == frame.length)
                {
                    try
                    {
                        frame = Arrays.copyOf(frame, (int)Math.min(length, 2L * frame.length));
                    }
                    catch (final OutOfMemoryError ex)
                    {
                        frame = null;
                        closeAfter(ErrorCode.FRAME_TOO_LARGE, "the member cannot hold a frame of " + length +
                            " bytes now; closing the connection");
                        throw new IOException("no heap for a frame of " + length + " bytes");
                    }
                }
                final int n = in.read(frame, read, frame.length - read);
                if (n < 0)
                {
                    throw new EOFException();
                }
                read += n;
            }
            return frame;
        }

        private void writeLoop(final OutputStream out)
        {
            try
            {
                while (true)
                {
                    final byte[] next;
                    synchronized (queued)
                    {
                        while (queued.isEmpty() && !closing)
                        {
                            queued.wait();
                        }
                        next = queued.pollFirst();
                    }
                    if (next == null)
                    {
                        // Closing, and everything queued is written.
                        out.flush();
                        break;
                    }
                    // Written outside the lock: a client that does not read blocks this thread only, never a sender.
                    out.write(next);
                    final boolean drained;
                    synchronized (queued)
                    {
                        queuedBytes -= next.length;
                        lastWrittenNs = System.nanoTime();
                        drained = queued.isEmpty();
                        queued.notifyAll();
                    }
                    if (drained)
                    {
                        out.flush();
                    }
                }
            }
            catch (final IOException | InterruptedException ex)
            {
                // The client went away, or the endpoint closes.
            }
            finally
            {
                closeNow();
            }
        }

        void closeNow()
        {
            synchronized (queued)
            {
                if (closed)
                {
                    return;
                }
                closed = true;
                closing = true;
                queued.clear();
                queued.notifyAll();
            }
            try
            {
                // No linger: a TLS close otherwise waits for the record lock a writer blocked on a client that does
                // not read holds, and never ends. With it the close resets the connection and breaks that write.
                socket.setSoLinger(true, 0);
            }
            catch (final IOException ignored)
            {
                // Closing regardless.
            }
            try
            {
                socket.close();
            }
            catch (final IOException ignored)
            {
                // Gone either way.
            }
            open.remove(this);
            handler.onClose(this);
        }
    }
}
