package dev.grid.net;

import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MessageWriter;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A connection of a {@link ClientEndpoint}: a non-blocking channel its selector serves. Any thread may send frames and
 * close it ({@link ClientEndpoint.Connection}); reading, flushing queued frames and closing the channel are the
 * endpoint's, on the thread that runs its selector. Frames a thread sends while it batches are held here until its
 * batch ends ({@link ClientEndpoint#beginBatch()}).
 * <p>
 * <b>Threading:</b> the fields without a lock or {@code volatile} belong to the selector's thread; {@link #out} and the
 * held frames are guarded by {@link #writeLock}.
 */
final class NioConnection extends ClientEndpoint.BaseConnection
{
    private final ClientEndpoint endpoint;
    final SocketChannel channel;
    ByteBuffer in = ByteBuffer.allocate(ClientEndpoint.INPUT_BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    final ConcurrentLinkedQueue<ByteBuffer> out = new ConcurrentLinkedQueue<>();
    /** Bytes of the frames in {@link #out}. */
    final AtomicLong queuedBytes = new AtomicLong();
    final AtomicBoolean flushQueued = new AtomicBoolean();
    /** Held while writing to the channel, so that frames go out whole and in order from any thread. */
    final Object writeLock = new Object();
    volatile boolean closing;
    /** Close without writing what is queued: it does not read its answers. */
    volatile boolean aborted;
    boolean closed;
    /** Whether its requests are not read for now: too many of its answers wait to be written. */
    boolean readPaused;
    /** Whether the client shut its sending side: it is closed once its answers are written. */
    boolean inputEnded;
    long lastReadNs = System.nanoTime();
    /** When a frame was last written whole, or the queue last went from empty to not: to find stalled writes. */
    volatile long lastWrittenNs = System.nanoTime();
    SelectionKey key;
    /** Frames sent during the batch in progress, written together at its end. Guarded by writeLock. */
    private final ArrayList<ByteBuffer> held = new ArrayList<>();

    NioConnection(final ClientEndpoint endpoint, final long id, final SocketChannel channel, final String remote)
    {
        super(id, remote);
        this.endpoint = endpoint;
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
            // Frames held for a batch go before the close: "once every frame queued so far is written".
            for (int i = 0; i < held.size() && !closing; i++)
            {
                queueLocked(held.get(i));
            }
            held.clear();
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
            // Sent by the batching thread, or behind frames it holds: held until the batch ends, in order.
            if (!held.isEmpty() || endpoint.isBatching())
            {
                if (held.isEmpty())
                {
                    endpoint.batched(this);
                }
                held.add(buffer);
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
            queueLocked(buffer);
        }
        requestFlush();
    }

    /**
     * Write the frames held for the batch that ends: copied into the batch's direct buffer and written as long as
     * the socket takes everything (one system call for a buffer's worth), what it does not take queued for the
     * endpoint's thread behind nothing else. Frames queued before the batch go first: then all are queued.
     */
    void writeHeld()
    {
        synchronized (writeLock)
        {
            final int count = held.size();
            if (count == 0)
            {
                return;
            }
            if (closing || closed)
            {
                held.clear();
                return;
            }
            final int first = out.isEmpty() ? writeThrough(held, count) : 0;
            for (int i = first; i < count && !closing; i++)
            {
                queueLocked(held.get(i));
            }
            held.clear();
            if (first == count)
            {
                return;
            }
        }
        requestFlush();
    }

    /**
     * Write frames while the socket takes them whole. Holding writeLock, nothing queued.
     *
     * @return the index of the first frame not wholly written (its position marks what of it was).
     */
    private int writeThrough(final ArrayList<ByteBuffer> frames, final int count)
    {
        final ByteBuffer direct = endpoint.batchBuffer();
        int first = 0;
        try
        {
            while (first < count)
            {
                direct.clear();
                for (int i = first; i < count && direct.hasRemaining(); i++)
                {
                    final ByteBuffer frame = frames.get(i);
                    final int bytes = Math.min(frame.remaining(), direct.remaining());
                    direct.put(direct.position(), frame, frame.position(), bytes);
                    direct.position(direct.position() + bytes);
                }
                direct.flip();
                final int offered = direct.remaining();
                int written = channel.write(direct);
                while (written > 0)
                {
                    final ByteBuffer frame = frames.get(first);
                    final int bytes = Math.min(written, frame.remaining());
                    frame.position(frame.position() + bytes);
                    written -= bytes;
                    if (!frame.hasRemaining())
                    {
                        first++;
                    }
                }
                if (direct.hasRemaining() || offered == 0)
                {
                    // The socket is full: the rest waits for the endpoint's thread.
                    break;
                }
            }
        }
        catch (final IOException ex)
        {
            // The endpoint's thread notices the broken connection and closes it.
        }
        return first;
    }

    /** Close without writing what waits: its held frames could not be written. Batching thread. */
    void abort()
    {
        synchronized (writeLock)
        {
            held.clear();
            closing = true;
            aborted = true;
        }
        requestFlush();
    }

    /** Queue a frame for the endpoint's thread to write, or cut the connection off. Holding writeLock. */
    private void queueLocked(final ByteBuffer buffer)
    {
        final long queued = queuedBytes.addAndGet(buffer.capacity());
        if (queued > endpoint.limits().maxQueuedBytes())
        {
            // It sends requests and does not read the answers: its queue would grow without bound.
            closing = true;
            aborted = true;
            endpoint.handler().onCutOff(this, queued);
        }
        else
        {
            if (out.isEmpty())
            {
                lastWrittenNs = System.nanoTime();
            }
            out.add(buffer);
        }
    }

    private void requestFlush()
    {
        if (flushQueued.compareAndSet(false, true))
        {
            endpoint.flushSoon(this);
        }
    }
}
