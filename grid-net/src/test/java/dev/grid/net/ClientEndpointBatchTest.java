package dev.grid.net;

import dev.grid.core.codec.MessageWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The endpoint's answer batching: frames a thread sends between {@link ClientEndpoint#beginBatch()} and
 * {@link ClientEndpoint#endBatch()} reach the client at the end, in order, with frames other threads sent meanwhile
 * behind them, and a close during a batch still writes them first.
 */
class ClientEndpointBatchTest
{
    private static final long TIMEOUT_MS = 10_000;
    /** Frames far larger than one write of the endpoint's batch buffer (64 KiB). */
    private static final int BIG_FRAME_BYTES = 256 * 1024;

    private final CompletableFuture<ClientEndpoint.Connection> opened = new CompletableFuture<>();
    /** The answer bytes waiting when the endpoint cut the connection off. */
    private final CompletableFuture<Long> cutOff = new CompletableFuture<>();
    private ClientEndpoint endpoint;
    private Socket client;

    @BeforeEach
    void start() throws IOException
    {
        // Frames of up to 8 MiB, so up to 32 MiB of answers may wait for a connection before it is cut off.
        endpoint = new ClientEndpoint("127.0.0.1", 0, new ClientEndpoint.Limits(4, 8 << 20,
            TimeUnit.SECONDS.toNanos(30), 0), new ClientEndpoint.Handler()
            {
                public void onFrame(final ClientEndpoint.Connection connection, final byte[] frame)
                {
                }

                public void onOpen(final ClientEndpoint.Connection connection)
                {
                    opened.complete(connection);
                }

                public void onClose(final ClientEndpoint.Connection connection)
                {
                }

                public void onCutOff(final ClientEndpoint.Connection connection, final long queuedBytes)
                {
                    cutOff.complete(queuedBytes);
                }
            }, "batch-test-endpoint");
        client = new Socket();
        // A fixed, small receive buffer (no autotuning, which may take 32 MiB here): what the sockets hold is far
        // below the 16 MiB the tests send before the client reads.
        client.setReceiveBufferSize(64 * 1024);
        client.connect(new InetSocketAddress("127.0.0.1", endpoint.port()), (int)TIMEOUT_MS);
        client.setSoTimeout((int)TIMEOUT_MS);
    }

    @AfterEach
    void stop() throws IOException
    {
        client.close();
        endpoint.close();
    }

    private static MessageWriter frame(final long value)
    {
        return new MessageWriter().writeLong(value);
    }

    private long readFrame(final DataInputStream in) throws IOException
    {
        return readBigFrame(in, 8);
    }

    @Test
    void framesOfABatchArriveAtItsEndWithOtherThreadsFramesBehindThem() throws Exception
    {
        final ClientEndpoint.Connection connection = opened.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        final DataInputStream in = new DataInputStream(client.getInputStream());

        endpoint.beginBatch();
        connection.send(frame(1));
        connection.send(frame(2));
        // Another thread's frame, sent while the batch holds frames: it must not overtake them.
        final CompletableFuture<Void> other = CompletableFuture.runAsync(() -> connection.send(frame(3)));
        other.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        // Held: nothing was written to the socket yet (on loopback a written byte is readable at once).
        assertEquals(0, in.available(), "nothing written before the batch ends");
        assertEquals(1, endpoint.endBatch(), "one connection written to");

        assertEquals(1, readFrame(in));
        assertEquals(2, readFrame(in));
        assertEquals(3, readFrame(in));

        // Outside a batch, a frame goes out at once, also from the thread that batched before.
        connection.send(frame(4));
        assertEquals(4, readFrame(in));
        assertEquals(0, endpoint.endBatch(), "nothing held outside a batch");
    }

    @Test
    void aCloseDuringABatchWritesTheHeldFramesFirst() throws Exception
    {
        final ClientEndpoint.Connection connection = opened.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        final DataInputStream in = new DataInputStream(client.getInputStream());

        endpoint.beginBatch();
        connection.send(frame(7));
        connection.close();
        // Sent after the close: dropped, as without batching.
        connection.send(frame(8));
        endpoint.endBatch();

        assertEquals(7, readFrame(in));
        assertThrows(EOFException.class, () -> in.readFully(new byte[1]), "closed after the held frame");
    }

    @Test
    void aBatchOfManyFramesArrivesWholeAndInOrder() throws Exception
    {
        final ClientEndpoint.Connection connection = opened.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        final DataInputStream in = new DataInputStream(client.getInputStream());

        // More frames than the gather array first holds, and more bytes than a socket buffer may take at once.
        final int frames = 50_000;
        final CompletableFuture<Void> reader = CompletableFuture.runAsync(() ->
        {
            try
            {
                for (int i = 0; i < frames; i++)
                {
                    assertEquals(i, readFrame(in));
                }
            }
            catch (final IOException ex)
            {
                throw new IllegalStateException(ex);
            }
        });
        endpoint.beginBatch();
        for (int i = 0; i < frames; i++)
        {
            connection.send(frame(i));
        }
        endpoint.endBatch();
        reader.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    @Test
    void aBatchWhoseAnswersPassTheLimitCutsTheConnectionOffAtOnce() throws Exception
    {
        final ClientEndpoint.Connection connection = opened.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        // 40 MiB in one batch against a limit of 32: cut off at the frame that passes it, before anything is
        // written, and nothing more is held for it (the batch does not grow its memory to the 40 MiB).
        endpoint.beginBatch();
        sendBigFrames(connection, 0, 160);
        assertTrue(cutOff.isDone(), "cut off while the batch was held");
        assertTrue(cutOff.get() > 32L << 20 && cutOff.get() <= (32L << 20) + BIG_FRAME_BYTES + 4,
            "cut off at the frame that passed 32 MiB: " + cutOff.get());
        endpoint.endBatch();
        final DataInputStream in = new DataInputStream(client.getInputStream());
        final IOException ended = assertThrows(IOException.class, () ->
        {
            // Whatever arrives, the stream ends before the batch's 40 MiB did.
            for (int i = 0; i < 160; i++)
            {
                readBigFrame(in, BIG_FRAME_BYTES);
            }
        }, "the connection was closed without its held answers");
        assertFalse(ended instanceof SocketTimeoutException, "closed, not silent: " + ended);
    }

    /** A frame of {@code bytes} bytes whose first 8 are {@code marker}. */
    private static MessageWriter bigFrame(final long marker, final int bytes)
    {
        return new MessageWriter().writeLong(marker).writeBytes(new byte[bytes - 12]);
    }

    private static long readBigFrame(final DataInputStream in, final int bytes) throws IOException
    {
        final byte[] header = new byte[4];
        in.readFully(header);
        assertEquals(bytes, ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt(), "frame length");
        final byte[] body = new byte[bytes];
        in.readFully(body);
        return ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** Send frames {@code from} to {@code to} (exclusive) of {@link #BIG_FRAME_BYTES} each, marked by their number. */
    private static void sendBigFrames(final ClientEndpoint.Connection connection, final int from, final int to)
    {
        for (int i = from; i < to; i++)
        {
            connection.send(bigFrame(i, BIG_FRAME_BYTES));
        }
    }

    /** Read {@code count} big frames and check they come whole and numbered 0, 1, ... in order. */
    private static void assertBigFramesInOrder(final DataInputStream in, final int count) throws IOException
    {
        for (int i = 0; i < count; i++)
        {
            assertEquals(i, readBigFrame(in, BIG_FRAME_BYTES));
        }
    }

    @Test
    void aBatchLargerThanTheSocketTakesGoesOutWholeAndInOrder() throws Exception
    {
        final ClientEndpoint.Connection connection = opened.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        final DataInputStream in = new DataInputStream(client.getInputStream());
        // 16 MiB held while the client reads nothing: the socket takes a part (cut anywhere in a frame), the
        // endpoint's thread writes the rest once the client reads.
        endpoint.beginBatch();
        sendBigFrames(connection, 0, 64);
        endpoint.endBatch();
        assertBigFramesInOrder(in, 64);
    }

    @Test
    void heldFramesGoBehindFramesQueuedBeforeTheBatch() throws Exception
    {
        final ClientEndpoint.Connection connection = opened.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        final DataInputStream in = new DataInputStream(client.getInputStream());
        // 16 MiB sent outside a batch while the client reads nothing: more than the sockets' buffers hold, so frames
        // wait in the endpoint's queue when the batch begins, and the batch's frames must go behind them.
        sendBigFrames(connection, 0, 64);
        endpoint.beginBatch();
        sendBigFrames(connection, 64, 72);
        endpoint.endBatch();
        assertBigFramesInOrder(in, 72);
    }
}
