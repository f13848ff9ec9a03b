package dev.grid.client;

import dev.grid.core.CacheNotFoundException;
import dev.grid.core.OperationTimeoutException;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.client.FrameWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A request's timeout without a timer task per request: each request carries its deadline and the client's periodic
 * sweep gives up the overdue ones. Against a fake member on loopback that answers the handshake and then only when
 * the test says so.
 */
@Timeout(60)
class RequestTimeoutTest
{
    private static final long TIMEOUT_MS = 300;

    private FakeMember member;
    private GridClient client;

    @BeforeEach
    void start() throws IOException
    {
        member = new FakeMember();
        client = GridClient.connect(new ClientConfiguration().address("127.0.0.1:" + member.port())
            .requestTimeoutNs(TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS)));
    }

    @AfterEach
    void stop() throws IOException
    {
        if (client != null)
        {
            client.close();
        }
        member.close();
    }

    @Test
    void aRequestWithoutAnswerFailsAfterItsTimeoutAndItsLateAnswerIsDropped() throws Exception
    {
        final long startNs = System.nanoTime();
        final OperationTimeoutException timedOut = assertThrows(OperationTimeoutException.class,
            () -> client.cache("c"));
        final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        assertTrue(timedOut.getMessage().contains("CACHE_LIST got no answer within 300 ms"), timedOut.getMessage());
        assertTrue(elapsedMs >= TIMEOUT_MS, "given up after " + elapsedMs + " ms, before its timeout");
        // The sweep runs every 30 ms here (a tenth of the timeout); 2 busy cores may delay it, not by seconds.
        assertTrue(elapsedMs < TIMEOUT_MS + 5_000, "given up only after " + elapsedMs + " ms");

        final long lateRequestId = member.received(ClientProtocol.CACHE_LIST);
        member.answerNoCaches(lateRequestId);
        final Thread answerer = new Thread(() ->
        {
            try
            {
                member.answerNoCaches(member.received(ClientProtocol.CACHE_LIST));
            }
            catch (final Exception ex)
            {
                throw new IllegalStateException(ex);
            }
        });
        answerer.start();
        // The late answer matched nothing; the connection goes on, and the next request gets its own answer.
        assertThrows(CacheNotFoundException.class, () -> client.cache("c"));
        answerer.join(TimeUnit.SECONDS.toMillis(30));
        assertEquals(1, client.connectedMembers().size(), "the connection stays open");
    }

    @Test
    void theSweepRunsAtATenthOfTheTimeoutWithinBounds()
    {
        assertEquals(TimeUnit.MILLISECONDS.toNanos(30), GridClient.expirySweepNs(TimeUnit.MILLISECONDS.toNanos(300)));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(50), GridClient.expirySweepNs(TimeUnit.SECONDS.toNanos(30)));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(1), GridClient.expirySweepNs(TimeUnit.MILLISECONDS.toNanos(2)));
    }

    /** A member that answers the handshake at once and other requests only when told, one connection. */
    private static final class FakeMember implements AutoCloseable
    {
        private final ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        private final BlockingQueue<long[]> requests = new LinkedBlockingQueue<>();
        private final Thread thread = new Thread(this::serve, "fake-member");
        private volatile Socket socket;

        FakeMember() throws IOException
        {
            thread.setDaemon(true);
            thread.start();
        }

        int port()
        {
            return server.getLocalPort();
        }

        private void serve()
        {
            try (Socket accepted = server.accept())
            {
                socket = accepted;
                final DataInputStream in = new DataInputStream(new BufferedInputStream(accepted.getInputStream()));
                while (true)
                {
                    final int length = Integer.reverseBytes(in.readInt());
                    final byte[] frame = new byte[length];
                    in.readFully(frame);
                    final int op = frame[0];
                    long requestId = 0;
                    for (int i = 8; i >= 1; i--)
                    {
                        requestId = requestId << 8 | (frame[i] & 0xFF);
                    }
                    if (op == ClientProtocol.HANDSHAKE)
                    {
                        answer(requestId, new FrameWriter().writeUnsignedShort(ClientProtocol.VERSION)
                            .writeString("fake").writeByte(0));
                    }
                    else
                    {
                        requests.add(new long[] {op, requestId});
                    }
                }
            }
            catch (final IOException ex)
            {
                // Closed by the test.
            }
        }

        /** @return the id of the next request received, which must be of {@code op}. */
        long received(final int op) throws InterruptedException
        {
            final long[] request = requests.poll(30, TimeUnit.SECONDS);
            assertNotNull(request, "no request reached the fake member");
            assertEquals(op, (int)request[0], "the request's op");
            return request[1];
        }

        void answerNoCaches(final long requestId) throws IOException
        {
            answer(requestId, new FrameWriter().writeInt(0));
        }

        private synchronized void answer(final long requestId, final FrameWriter payload) throws IOException
        {
            final FrameWriter frame = new FrameWriter().writeInt(ClientProtocol.ANSWER_HEADER + payload.length())
                .writeByte(ClientProtocol.OK).writeLong(requestId).writeLong(1).writeRaw(payload.array(), 0,
                    payload.length());
            final OutputStream out = socket.getOutputStream();
            out.write(frame.array(), 0, frame.length());
            out.flush();
        }

        @Override
        public void close() throws IOException
        {
            server.close();
            if (socket != null)
            {
                socket.close();
            }
        }
    }
}
