package dev.grid.net;

import dev.grid.core.ErrorCode;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.internal.cluster.MessageWriter;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The TCP endpoint thin clients and the admin tool connect to: accepts connections up to a limit, cuts the byte
 * stream into frames (a 32-bit little-endian length, then the frame), hands each frame to a {@link Handler}, and
 * writes the frames handlers send back. A frame longer than the limit, or with a negative length, gets a
 * {@link ErrorCode#FRAME_TOO_LARGE} answer and its connection is closed; a connection over the limit gets
 * {@link ErrorCode#TOO_MANY_CONNECTIONS} and is closed. Nothing a connection sends can harm another or the member.
 * <p>
 * <b>Threading:</b> one thread of its own runs a selector (it blocks in {@code select}, no spinning). Handler
 * callbacks run on it and must not block; {@link Connection#send} and {@link Connection#close} may be called from any
 * thread.
 */
public final class ClientEndpoint implements AutoCloseable
{
    /** What the member does with connections and frames. */
    public interface Handler
    {
        /**
         * A frame arrived (without its length prefix). Endpoint thread; must not block.
         *
         * @param connection it came on.
         * @param frame      its bytes, owned by the handler.
         */
        void onFrame(Connection connection, byte[] frame);

        /**
         * The connection closed (either side). Endpoint thread.
         *
         * @param connection that closed.
         */
        void onClose(Connection connection);
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
         * @param frame the frame without its length prefix.
         */
        void send(MessageWriter frame);

        /** Close once every frame queued so far is written; any thread. */
        void close();

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

        BaseConnection(final long id, final String remote)
        {
            this.id = id;
            this.remote = remote;
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

    /** A connection of this endpoint: a non-blocking channel served by the selector thread. */
    private final class NioConnection extends BaseConnection
    {
        private final SocketChannel channel;
        private ByteBuffer in = ByteBuffer.allocate(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
        private final ConcurrentLinkedQueue<ByteBuffer> out = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean flushQueued = new AtomicBoolean();
        /** Held while writing to the channel, so that frames go out whole and in order from any thread. */
        private final Object writeLock = new Object();
        private volatile boolean closing;
        private boolean closed;
        private SelectionKey key;
        NioConnection(final long id, final SocketChannel channel, final String remote)
        {
            super(id, remote);
            this.channel = channel;
        }

        public void send(final MessageWriter frame)
        {
            final ByteBuffer buffer = ByteBuffer.allocate(ClientProtocol.LENGTH_PREFIX + frame.length())
                .order(ByteOrder.LITTLE_ENDIAN);
            buffer.putInt(frame.length());
            frame.buffer().getBytes(0, buffer, ClientProtocol.LENGTH_PREFIX, frame.length());
            buffer.limit(buffer.capacity());
            buffer.position(0);
            enqueue(buffer);
        }

        public void close()
        {
            synchronized (writeLock)
            {
                // Under the lock: no frame is written after a close returns.
                closing = true;
            }
            requestFlush();
        }

        private void enqueue(final ByteBuffer buffer)
        {
            synchronized (writeLock)
            {
                if (closing)
                {
                    return;
                }
                // The common case: nothing queued, the socket takes the frame at once, from this thread (no wake-up
                // of the endpoint's thread, no hop).
                if (out.isEmpty() && !closed)
                {
                    try
                    {
                        channel.write(buffer);
                    }
                    catch (final IOException ex)
                    {
                        // The endpoint's thread notices the broken connection and closes it.
                    }
                    if (!buffer.hasRemaining())
                    {
                        return;
                    }
                }
                out.add(buffer);
            }
            requestFlush();
        }

        private void requestFlush()
        {
            if (flushQueued.compareAndSet(false, true))
            {
                flushes.add(this);
                selector.wakeup();
            }
        }
    }

    private final Handler handler;
    private final int maxConnections;
    private final int maxFrameBytes;
    private final Selector selector;
    private final ServerSocketChannel server;
    private final ConcurrentLinkedQueue<NioConnection> flushes = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<NioConnection> open = new ArrayDeque<>();
    private final AtomicLong nextId = new AtomicLong(1);
    private final Thread thread;
    private volatile boolean running = true;

    /**
     * Bind and start serving.
     *
     * @param host           to bind.
     * @param port           to bind; 0 for any free port.
     * @param maxConnections connections served at once.
     * @param maxFrameBytes  longest frame accepted.
     * @param handler        gets the frames.
     * @param name           for the thread.
     * @throws IOException if the port cannot be bound.
     */
    public ClientEndpoint(final String host, final int port, final int maxConnections, final int maxFrameBytes,
        final Handler handler, final String name) throws IOException
    {
        this.handler = handler;
        this.maxConnections = maxConnections;
        this.maxFrameBytes = maxFrameBytes;
        this.selector = Selector.open();
        this.server = ServerSocketChannel.open();
        try
        {
            server.bind(new InetSocketAddress(host, port), 128);
            server.configureBlocking(false);
            server.register(selector, SelectionKey.OP_ACCEPT);
        }
        catch (final IOException ex)
        {
            server.close();
            selector.close();
            throw ex;
        }
        thread = new Thread(this::run, name);
        thread.setDaemon(true);
        thread.start();
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
                selector.select(1_000);
                for (final Iterator<SelectionKey> it = selector.selectedKeys().iterator(); it.hasNext(); )
                {
                    final SelectionKey key = it.next();
                    it.remove();
                    if (!key.isValid())
                    {
                        continue;
                    }
                    if (key.isAcceptable())
                    {
                        accept();
                        continue;
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
                NioConnection connection;
                while ((connection = flushes.poll()) != null)
                {
                    connection.flushQueued.set(false);
                    flush(connection);
                }
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            // The selector itself failed: nothing more can be served. Connections close below.
            System.err.println("client endpoint stopped: " + ex);
        }
        finally
        {
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
    }

    private void accept() throws IOException
    {
        final SocketChannel channel = server.accept();
        if (channel == null)
        {
            return;
        }
        channel.configureBlocking(false);
        channel.socket().setTcpNoDelay(true);
        final NioConnection connection = new NioConnection(nextId.getAndIncrement(), channel,
            String.valueOf(channel.getRemoteAddress()));
        connection.key = channel.register(selector, SelectionKey.OP_READ, connection);
        open.add(connection);
        if (open.size() > maxConnections)
        {
            sendError(connection, ErrorCode.TOO_MANY_CONNECTIONS, "the member serves at most " + maxConnections +
                " client connections");
            connection.close();
        }
    }

    private void read(final NioConnection connection)
    {
        if (connection.closing)
        {
            // Whatever else it sends is not read: it is being closed.
            connection.key.interestOps(connection.key.interestOps() & ~SelectionKey.OP_READ);
            return;
        }
        try
        {
            final int read = connection.channel.read(connection.in);
            if (read < 0)
            {
                closeNow(connection);
                return;
            }
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
            if (length < 0 || length > maxFrameBytes)
            {
                sendError(connection, ErrorCode.FRAME_TOO_LARGE, "frame length " + length + " is outside [0, " +
                    maxFrameBytes + "]; closing the connection");
                connection.close();
                break;
            }
            if (in.remaining() < ClientProtocol.LENGTH_PREFIX + length)
            {
                if (in.capacity() < ClientProtocol.LENGTH_PREFIX + length)
                {
                    final ByteBuffer bigger = ByteBuffer.allocate(ClientProtocol.LENGTH_PREFIX + length)
                        .order(ByteOrder.LITTLE_ENDIAN);
                    bigger.put(in);
                    bigger.flip();
                    connection.in = bigger;
                }
                break;
            }
            in.position(in.position() + ClientProtocol.LENGTH_PREFIX);
            final byte[] frame = new byte[length];
            in.get(frame);
            handler.onFrame(connection, frame);
        }
        connection.in.compact();
    }

    private void flush(final NioConnection connection)
    {
        if (connection.closed)
        {
            return;
        }
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
                }
            }
            connection.key.interestOps(connection.key.interestOps() & ~SelectionKey.OP_WRITE);
            if (connection.closing)
            {
                closeNow(connection);
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
