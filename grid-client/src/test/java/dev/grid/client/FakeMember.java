package dev.grid.client;

import dev.grid.core.Codecs;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.client.FrameWriter;

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

/**
 * A member for the client's tests, on loopback, one connection: it answers the handshake at once and other requests
 * either at once with their own payload (echo) or only when the test says so.
 */
final class FakeMember implements AutoCloseable
{
    private final ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    private final BlockingQueue<long[]> requests = new LinkedBlockingQueue<>();
    private final Thread thread = new Thread(this::serve, "fake-member");
    private final boolean echo;
    private volatile Socket socket;
    private volatile boolean dropAtNextRequest;

    /** @param echo whether every request other than the handshake is answered at once with its own payload. */
    FakeMember(final boolean echo) throws IOException
    {
        this.echo = echo;
        thread.setDaemon(true);
        thread.start();
    }

    /** Close the connection when the next request (after the handshake) arrives, and serve no other. */
    void dropAtNextRequest()
    {
        dropAtNextRequest = true;
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
                else if (dropAtNextRequest)
                {
                    // The connection breaks with the request outstanding; later connections are accepted by the
                    // kernel (the backlog) but never served: a handshake there gets no answer.
                    return;
                }
                else if (echo)
                {
                    answer(requestId, new FrameWriter().writeRaw(frame, ClientProtocol.HEADER,
                        length - ClientProtocol.HEADER));
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

    /** Answer a CACHE_LIST with one cache of string keys and values. */
    void answerCache(final long requestId, final String name) throws IOException
    {
        answer(requestId, new FrameWriter().writeInt(1).writeString(name).writeInt(8).writeInt(0)
            .writeString(Codecs.STRING.name()).writeString(Codecs.STRING.name()));
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
