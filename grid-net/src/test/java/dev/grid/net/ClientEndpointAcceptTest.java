package dev.grid.net;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Accepting a connection can fail (a process out of file descriptors: "Too many open files"). Such a failure pauses
 * accepting for a while; it must neither end the endpoint's thread, which serves every connected client, nor make it
 * spin on the connection still waiting in the backlog.
 */
class ClientEndpointAcceptTest
{
    private static final long TIMEOUT_MS = 10_000;

    private final LinkedBlockingQueue<ClientEndpoint.Connection> opened = new LinkedBlockingQueue<>();
    private final LinkedBlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
    /** How many of the next accepts fail. */
    private final AtomicInteger failNext = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final List<Socket> clients = new ArrayList<>();
    private ClientEndpoint endpoint;

    @AfterEach
    void stop() throws IOException
    {
        for (final Socket client : clients)
        {
            client.close();
        }
        if (endpoint != null)
        {
            endpoint.close();
        }
    }

    private void start() throws IOException
    {
        endpoint = new ClientEndpoint("127.0.0.1", 0, new ClientEndpoint.Limits(8, 1 << 20,
            TimeUnit.SECONDS.toNanos(30), 0), new ClientEndpoint.Handler()
            {
                public void onFrame(final ClientEndpoint.Connection connection, final byte[] frame)
                {
                    frames.add(frame);
                }

                public void onOpen(final ClientEndpoint.Connection connection)
                {
                    opened.add(connection);
                }

                public void onClose(final ClientEndpoint.Connection connection)
                {
                }
            }, "accept-test-endpoint", server ->
            {
                if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0)
                {
                    failed.incrementAndGet();
                    throw new IOException("Too many open files");
                }
                return server.accept();
            });
    }

    private Socket connect() throws IOException
    {
        final Socket client = new Socket();
        clients.add(client);
        client.connect(new InetSocketAddress("127.0.0.1", endpoint.port()), (int)TIMEOUT_MS);
        client.setSoTimeout((int)TIMEOUT_MS);
        return client;
    }

    private static void sendFrame(final Socket client, final byte[] body) throws IOException
    {
        final OutputStream out = client.getOutputStream();
        out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(body.length).array());
        out.write(body);
        out.flush();
    }

    @Test
    void failedAcceptsPauseAcceptingWhileConnectedClientsAreStillServed() throws Exception
    {
        start();
        final Socket first = connect();
        assertNotNull(opened.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS), "the first connection was accepted");

        failNext.set(3);
        final long connectedNs = System.nanoTime();
        connect();
        // While the second connection cannot be accepted, the first is still read.
        sendFrame(first, new byte[] {1, 2, 3});
        assertArrayEquals(new byte[] {1, 2, 3}, frames.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS),
            "the connected client is still served");

        assertNotNull(opened.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS),
            "the second connection is accepted once accepting works again");
        final long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connectedNs);
        assertEquals(3, failed.get(), "accepting was tried again after each failure");
        assertTrue(waitedMs >= 3 * TimeUnit.NANOSECONDS.toMillis(ClientEndpoint.ACCEPT_PAUSE_NS),
            "accepted after " + waitedMs + " ms: three failures, each followed by a pause");

        sendFrame(first, new byte[] {4});
        assertArrayEquals(new byte[] {4}, frames.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS));
    }
}
