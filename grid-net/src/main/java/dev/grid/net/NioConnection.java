package dev.grid.net;

import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MessageWriter;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
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
    /**
     * Frames sent during the batch in progress, each behind its length, back to back from 0 to the position: written
     * together at its end, and no buffer made per frame. Made at the first hold. Guarded by writeLock.
     */
    private ByteBuffer held = NOTHING_HELD;
    /** {@link #held} before a connection's first hold, and after a large one; never written. */
    private static final ByteBuffer NOTHING_HELD = ByteBuffer.allocate(0);
    /** The first size of {@link #held}: a batch's answers of a few requests. */
    private static final int HELD_FIRST_BYTES = 1024;
    /** The largest {@link #held} a connection keeps after its batch: larger answers do not stay for its life. */
    private static final int HELD_KEPT_BYTES = 8 * 1024;

    NioConnection(final ClientEndpoint endpoint, final long id, final SocketChannel channel, final String remote)
    {
        super(id, remote);
        this.endpoint = endpoint;
        this.channel = channel;
    }

    public void send(final MessageWriter frame)
    {
        synchronized (writeLock)
        {
            if (closing || sentOrHeld(frame))
            {
                return;
            }
        }
        // Queued for the endpoint's thread, or cut off (it closes the connection).
        requestFlush();
    }

    /**
     * Hold a frame (sent by the batching thread, or behind frames it holds: until the batch ends, in order), or write
     * it at once if the socket takes it whole (no wake-up of the endpoint's thread, no hop), or queue it. Holding
     * writeLock.
     *
     * @return whether nothing is left for the endpoint's thread (false: queued, or the connection is cut off).
     */
    private boolean sentOrHeld(final MessageWriter frame)
    {
        if (held.position() > 0 || endpoint.isBatching())
        {
            if (held.position() == 0)
            {
                endpoint.batched(this);
            }
            return hold(frame);
        }
        final ByteBuffer buffer = ByteBuffer.allocate(ClientProtocol.LENGTH_PREFIX + frame.length())
            .order(ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(frame.length());
        frame.buffer().getBytes(0, buffer, ClientProtocol.LENGTH_PREFIX, frame.length());
        buffer.position(0);
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
                return true;
            }
        }
        queueLocked(buffer);
        return false;
    }

    /**
     * Append a frame behind its length to {@link #held}, or cut the connection off if its answers held and queued
     * would pass its limit (a client that sends many requests for large values in one go and reads nothing). Holding
     * writeLock.
     *
     * @return false if it was cut off.
     */
    private boolean hold(final MessageWriter frame)
    {
        final int bytes = ClientProtocol.LENGTH_PREFIX + frame.length();
        // What the limit leaves, and never more than one array holds.
        final long room = Math.min(endpoint.limits().maxQueuedBytes() - queuedBytes.get(), Integer.MAX_VALUE - 8);
        if (held.position() + (long)bytes > room)
        {
            cutOffHolding(queuedBytes.get() + held.position() + bytes);
            return false;
        }
        if (held.remaining() < bytes)
        {
            // Doubled, but never beyond what the limit lets it hold.
            final long capacity = Math.min(room, Math.max(HELD_FIRST_BYTES, 2L * held.capacity()));
            final ByteBuffer bigger;
            try
            {
                bigger = ByteBuffer.allocate((int)Math.max(held.position() + bytes, capacity))
                    .order(ByteOrder.LITTLE_ENDIAN);
            }
            catch (final OutOfMemoryError ex)
            {
                // Only this connection pays: the member goes on.
                cutOffHolding(queuedBytes.get() + held.position() + bytes);
                return false;
            }
            if (held != NOTHING_HELD)
            {
                bigger.put(held.flip());
            }
            held = bigger;
        }
        held.putInt(frame.length());
        frame.buffer().getBytes(0, held, held.position(), frame.length());
        held.position(held.position() + frame.length());
        return true;
    }

    /** Drop what is held and cut the connection off: its answers would pass its limit. Holding writeLock. */
    private void cutOffHolding(final long waitingBytes)
    {
        releaseHeld();
        closing = true;
        aborted = true;
        endpoint.handler().onCutOff(this, waitingBytes);
    }

    /** Forget what {@link #held} holds, and its array if it grew large. Holding writeLock. */
    private void releaseHeld()
    {
        held = held == NOTHING_HELD || held.capacity() > HELD_KEPT_BYTES ? NOTHING_HELD : held.clear();
    }

    /** The held frames not written yet, from their position, as a buffer of their own. Holding writeLock. */
    private ByteBuffer heldRest()
    {
        final ByteBuffer rest = ByteBuffer.allocate(held.remaining());
        rest.put(held).flip();
        return rest;
    }

    public void close()
    {
        synchronized (writeLock)
        {
            // Frames held for a batch go before the close: "once every frame queued so far is written".
            if (held.position() > 0 && !closing)
            {
                held.flip();
                queueLocked(heldRest());
            }
            releaseHeld();
            // Under the lock: no frame is written after a close returns.
            closing = true;
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
            if (held.position() == 0)
            {
                return;
            }
            if (closing || closed)
            {
                releaseHeld();
                return;
            }
            held.flip();
            if (out.isEmpty())
            {
                writeThrough();
            }
            final boolean rest = held.hasRemaining();
            if (rest)
            {
                queueLocked(heldRest());
            }
            releaseHeld();
            if (!rest)
            {
                return;
            }
        }
        requestFlush();
    }

    /** Write the held frames, from their position, while the socket takes them whole. Holding writeLock. */
    private void writeThrough()
    {
        final ByteBuffer direct = endpoint.batchBuffer();
        try
        {
            while (held.hasRemaining())
            {
                final int bytes = Math.min(held.remaining(), direct.capacity());
                direct.clear().put(0, held, held.position(), bytes).limit(bytes);
                final int written = channel.write(direct);
                held.position(held.position() + written);
                if (written < bytes)
                {
                    // The socket is full: the rest waits for the endpoint's thread.
                    return;
                }
            }
        }
        catch (final IOException ex)
        {
            // The endpoint's thread notices the broken connection and closes it.
        }
    }

    /** Close without writing what waits: its held frames could not be written. Batching thread. */
    void abort()
    {
        synchronized (writeLock)
        {
            releaseHeld();
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
