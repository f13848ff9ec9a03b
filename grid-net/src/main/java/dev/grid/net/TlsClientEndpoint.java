package dev.grid.net;

import dev.grid.core.ErrorCode;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.internal.cluster.MessageWriter;
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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The client endpoint over TLS, with the JDK's own TLS: the same frames, limits and {@link ClientEndpoint.Handler} as
 * {@link ClientEndpoint}, on TLS sockets. The member's certificate and key come from a PKCS12 key store.
 * <p>
 * <b>Threading:</b> an acceptor thread, and one reader thread per connection (blocking TLS sockets; the connection
 * limit bounds the threads). Handler callbacks run on the reader threads, so frames of different connections are
 * handled concurrently; {@link ClientEndpoint.Connection#send} may be called from any thread.
 */
public final class TlsClientEndpoint implements AutoCloseable
{
    private final ClientEndpoint.Handler handler;
    private final int maxConnections;
    private final int maxFrameBytes;
    private final SSLServerSocket server;
    private final Set<TlsConnection> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong nextId = new AtomicLong(1);
    private final Thread acceptor;
    private final String name;
    private volatile boolean running = true;

    /**
     * Bind and start serving.
     *
     * @param host             to bind.
     * @param port             to bind; 0 for any free port.
     * @param maxConnections   connections served at once.
     * @param maxFrameBytes    longest frame accepted.
     * @param keyStore         a PKCS12 file with the member's certificate and private key.
     * @param keyStorePassword its password.
     * @param handler          gets the frames.
     * @param name             for the threads.
     * @throws IOException if the key store cannot be read or the port bound.
     */
    public TlsClientEndpoint(final String host, final int port, final int maxConnections, final int maxFrameBytes,
        final Path keyStore, final char[] keyStorePassword, final ClientEndpoint.Handler handler, final String name)
        throws IOException
    {
        this.handler = handler;
        this.maxConnections = maxConnections;
        this.maxFrameBytes = maxFrameBytes;
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
            final Thread reader = new Thread(() -> connection.readLoop(open.size() > maxConnections),
                name + "-" + connection.id());
            reader.setDaemon(true);
            reader.start();
        }
    }

    /** A TLS connection: a blocking socket with a reader thread; writes are serialized on the socket. */
    private final class TlsConnection extends ClientEndpoint.BaseConnection
    {
        private final SSLSocket socket;
        private final Object writeLock = new Object();
        private OutputStream out;
        private volatile boolean closing;
        private volatile boolean closed;

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
            synchronized (writeLock)
            {
                if (closing || out == null)
                {
                    return;
                }
                try
                {
                    out.write(bytes);
                    out.flush();
                }
                catch (final IOException ex)
                {
                    closeNow();
                }
            }
        }

        public void close()
        {
            synchronized (writeLock)
            {
                closing = true;
            }
            closeNow();
        }

        void readLoop(final boolean overLimit)
        {
            try
            {
                socket.startHandshake();
                synchronized (writeLock)
                {
                    out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
                }
                if (overLimit)
                {
                    ClientEndpoint.sendError(this, ErrorCode.TOO_MANY_CONNECTIONS, "the member serves at most " +
                        maxConnections + " client connections");
                    close();
                    return;
                }
                final DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(),
                    64 * 1024));
                while (!closing)
                {
                    final int length = Integer.reverseBytes(in.readInt());
                    if (length < 0 || length > maxFrameBytes)
                    {
                        ClientEndpoint.sendError(this, ErrorCode.FRAME_TOO_LARGE, "frame length " + length +
                            " is outside [0, " + maxFrameBytes + "]; closing the connection");
                        close();
                        return;
                    }
                    final byte[] frame = new byte[length];
                    in.readFully(frame);
                    handler.onFrame(this, frame);
                }
            }
            catch (final EOFException | SocketException ex)
            {
                // The client went away.
            }
            catch (final IOException | RuntimeException ex)
            {
                // A TLS failure or a broken peer: the connection ends, nothing else does.
            }
            finally
            {
                closeNow();
            }
        }

        void closeNow()
        {
            synchronized (writeLock)
            {
                if (closed)
                {
                    return;
                }
                closed = true;
                closing = true;
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
