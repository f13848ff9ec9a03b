package dev.grid.net;

import dev.grid.core.codec.MessageWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * An endpoint made by {@link ClientEndpoint#polled}: it has no thread of its own, so connections are accepted and
 * frames read only in its owner's {@link ClientEndpoint#poll()}, on the owner's thread; answers sent there go out; and
 * a close from another thread while the owner polls shuts it without harm.
 */
class ClientEndpointPolledTest
{
    private static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);

    private final ConcurrentLinkedQueue<Thread> frameThreads = new ConcurrentLinkedQueue<>();
    private final CompletableFuture<ClientEndpoint.Connection> closed = new CompletableFuture<>();
    private ClientEndpoint endpoint;
    private Socket client;

    @BeforeEach
    void start() throws IOException
    {
        endpoint = ClientEndpoint.polled("127.0.0.1", 0, new ClientEndpoint.Limits(4, 1 << 20,
            TimeUnit.SECONDS.toNanos(30), 0), new ClientEndpoint.Handler()
            {
                public void onFrame(final ClientEndpoint.Connection connection, final byte[] frame)
                {
                    frameThreads.add(Thread.currentThread());
                    // Echo the frame's number plus one, from the polling thread.
                    final long value = ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                    connection.send(new MessageWriter().writeLong(value + 1));
                }

                public void onClose(final ClientEndpoint.Connection connection)
                {
                    closed.complete(connection);
                }
            });
        client = new Socket();
        client.connect(new InetSocketAddress("127.0.0.1", endpoint.port()), 10_000);
        client.setSoTimeout(10_000);
    }

    @AfterEach
    void stop() throws IOException
    {
        client.close();
        endpoint.close();
    }

    private void send(final long value) throws IOException
    {
        final ByteBuffer frame = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(8).putLong(value);
        new DataOutputStream(client.getOutputStream()).write(frame.array());
    }

    private static long read(final DataInputStream in) throws IOException
    {
        final byte[] bytes = new byte[12];
        in.readFully(bytes);
        final ByteBuffer frame = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(8, frame.getInt(0), "answer length");
        return frame.getLong(4);
    }

    /** Poll on this thread until the condition holds, or fail at the deadline. */
    private void pollUntil(final BooleanSupplier condition, final String what)
    {
        final long deadlineNs = System.nanoTime() + TIMEOUT_NS;
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                fail("not within 10 s: " + what);
            }
            endpoint.poll();
            Thread.onSpinWait();
        }
    }

    @Test
    void framesAreReadAndAnsweredOnThePollingThreadOnly() throws Exception
    {
        send(41);
        // The kernel holds the connection and its frame; nothing of the endpoint's runs until the owner polls.
        pollUntil(() -> !frameThreads.isEmpty(), "the frame handed over");
        assertSame(Thread.currentThread(), frameThreads.peek(), "handled on the thread that polled");
        assertEquals(42, read(new DataInputStream(client.getInputStream())), "the answer sent during the poll");

        // Answers held for a batch around the poll go out when the batch ends.
        endpoint.beginBatch();
        send(7);
        pollUntil(() -> frameThreads.size() == 2, "the second frame handed over");
        assertEquals(0, client.getInputStream().available(), "held until the batch ends");
        assertEquals(1, endpoint.endBatch(), "one connection held answers");
        assertEquals(8, read(new DataInputStream(client.getInputStream())));
    }

    @Test
    void aCloseFromAnotherThreadWhileTheOwnerPollsShutsItOnce() throws Exception
    {
        send(1);
        pollUntil(() -> !frameThreads.isEmpty(), "the connection served");
        final AtomicBoolean polling = new AtomicBoolean(true);
        final CompletableFuture<Integer> poller = CompletableFuture.supplyAsync(() ->
        {
            int turnsAfterClose = 0;
            while (polling.get())
            {
                // Read before the turn: a turn that began before the close may still have found work.
                final boolean afterClose = closed.isDone();
                if (endpoint.poll() != 0 && afterClose)
                {
                    turnsAfterClose++;
                }
            }
            return turnsAfterClose;
        });
        endpoint.close();
        assertTrue(closed.get(10, TimeUnit.SECONDS) != null, "its connection closed");
        final DataInputStream in = new DataInputStream(client.getInputStream());
        assertEquals(2, read(in), "the answer before the close");
        assertEquals(-1, in.read(), "then the end of the stream");
        polling.set(false);
        assertEquals(0, poller.get(10, TimeUnit.SECONDS), "no work found once closed");
        assertEquals(0, endpoint.poll(), "a poll after the close does nothing");
    }
}
