package dev.grid.net;

import dev.grid.core.spi.Transport;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 17, item 2: messages longer than a frame (a term's eighth, 128 KiB) are cut into fragments and put together
 * again, in order among themselves; short ones are not held behind them (they keep their own order). Before, a member
 * message over 128 KiB was refused by Aeron ("message exceeds maxMessageLength of 131072") and a large value never
 * reached its backup.
 */
class AeronTransportTest
{
    @Test
    void longMessagesArriveWholeBesideShortOnes()
    {
        try (AeronTransport a = AeronTransport.launch("127.0.0.1", freeUdpPort(), "a");
             AeronTransport b = AeronTransport.launch("127.0.0.1", freeUdpPort(), "b"))
        {
            final Random random = new Random(17);
            final List<byte[]> sent = new ArrayList<>();
            for (final int length : new int[] {10, 200_000, 3, 16 << 20, 131_000, 1 << 20, 7, 131_072, 5_000_000})
            {
                final byte[] message = new byte[length];
                random.nextBytes(message);
                sent.add(message);
            }
            final List<byte[]> received = new ArrayList<>();
            final Transport.MessageHandler handler = (source, buffer, offset, length) ->
            {
                final byte[] copy = new byte[length];
                buffer.getBytes(offset, copy);
                received.add(copy);
            };
            final int toB = a.endpointOf(b.localAddress());
            int next = 0;
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (received.size() < sent.size())
            {
                assertTrue(System.nanoTime() < deadline, "received " + received.size() + " of " + sent.size());
                if (next < sent.size())
                {
                    final byte[] message = sent.get(next);
                    final int result = a.send(toB, new UnsafeBuffer(message), 0, message.length);
                    if (result == Transport.OK)
                    {
                        next++;
                    }
                }
                a.doWork();
                b.doWork();
                b.poll(handler, 64);
            }
            assertEquals(sent.size(), received.size());
            for (final boolean isLong : new boolean[] {false, true})
            {
                final List<byte[]> expected = sent.stream().filter(m -> (m.length > 131_000) == isLong).toList();
                final List<byte[]> arrived = received.stream().filter(m -> (m.length > 131_000) == isLong).toList();
                assertEquals(expected.size(), arrived.size(), isLong ? "long messages" : "short messages");
                for (int i = 0; i < expected.size(); i++)
                {
                    assertArrayEquals(expected.get(i), arrived.get(i), (isLong ? "long" : "short") + " message " + i +
                        " of " + expected.get(i).length + " bytes");
                }
            }
        }
    }

    private static int freeUdpPort()
    {
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
