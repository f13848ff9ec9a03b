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
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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

    /**
     * Three peers each fill their flow-control window toward a member that does not read meanwhile (a coordinator
     * busy while every member's exchange report, about 85 KiB, arrives at once): the member's socket holds it all,
     * and it reads every message without asking for any datagram again. With Aeron's default receive buffer the
     * socket dropped datagrams here, and a lost tail was repaired only at the sender's heartbeat, 100 ms later.
     */
    @Test
    void aBurstFromSeveralPeersFitsTheReceiveBuffer()
    {
        assumeTrue(AeronTransport.receiveBufferBytes() >= AeronTransport.RECEIVE_BUFFER_BYTES,
            "the OS caps a socket's receive buffer below " + AeronTransport.RECEIVE_BUFFER_BYTES + " bytes");
        final List<AeronTransport> senders = new ArrayList<>();
        try (AeronTransport receiver = AeronTransport.launch("127.0.0.1", freeUdpPort(), "r"))
        {
            for (int i = 0; i < 3; i++)
            {
                senders.add(AeronTransport.launch("127.0.0.1", freeUdpPort(), "s" + i));
            }
            final int[] received = {0};
            final Transport.MessageHandler handler = (source, buffer, offset, length) -> received[0]++;
            final byte[] message = new byte[40_000];
            // Connected first: one message from each, read.
            for (final AeronTransport sender : senders)
            {
                awaitSent(sender, receiver, message, senders, receiver);
            }
            awaitReceived(received, senders.size(), senders, receiver, handler);
            // Each sends 8 messages (320,000 bytes): its sender transmits up to the receiver's window (128 KiB)
            // while the receiver does not run, and the rest once the receiver's status messages open the window.
            for (int n = 0; n < 8; n++)
            {
                for (final AeronTransport sender : senders)
                {
                    awaitSent(sender, receiver, message, senders, null);
                }
            }
            for (int spin = 0; spin < 1_000; spin++)
            {
                senders.forEach(AeronTransport::doWork);
            }
            awaitReceived(received, senders.size() * 9, senders, receiver, handler);
            assertEquals(0, receiver.figures().naksSent(), "datagrams the receiver asked for again");
        }
        finally
        {
            senders.forEach(AeronTransport::close);
        }
    }

    /**
     * A flush puts a message of many datagrams on the wire at once: after it the sender does not run again, and the
     * receiver still gets the whole message. The embedded driver sends one datagram (an MTU) of a link per invocation,
     * so a flush that invoked it once let a partition map leave only during the coordinator's later duty cycles, after
     * its own installation of the map.
     */
    @Test
    void aFlushPutsAMessageOfManyDatagramsOnTheWire()
    {
        try (AeronTransport a = AeronTransport.launch("127.0.0.1", freeUdpPort(), "a");
             AeronTransport b = AeronTransport.launch("127.0.0.1", freeUdpPort(), "b"))
        {
            final int[] received = {0};
            final int[] receivedLength = {0};
            final Transport.MessageHandler handler = (source, buffer, offset, length) ->
            {
                received[0]++;
                receivedLength[0] = length;
            };
            awaitSent(a, b, new byte[16], List.of(a), b);
            awaitReceived(received, 1, List.of(a), b, handler);
            final byte[] message = new byte[40_000];
            new Random(3).nextBytes(message);
            assertEquals(Transport.OK, a.send(a.endpointOf(b.localAddress()), new UnsafeBuffer(message), 0,
                message.length));
            a.flush();
            awaitReceived(received, 2, List.of(), b, handler);
            assertEquals(message.length, receivedLength[0]);
        }
    }

    @Test
    void figuresCountTheBytesEachWayAndTheMessagesRefusedForBackPressure()
    {
        try (AeronTransport a = AeronTransport.launch("127.0.0.1", freeUdpPort(), "a");
             AeronTransport b = AeronTransport.launch("127.0.0.1", freeUdpPort(), "b"))
        {
            final int[] received = {0};
            awaitSent(a, b, new byte[16], List.of(a), b);
            awaitReceived(received, 1, List.of(a), b, (source, buffer, offset, length) -> received[0]++);
            final AeronTransport.Figures before = a.figures();
            assertTrue(before.bytesSent() > 0, "the setup and the message went out: " + before);
            assertTrue(b.figures().bytesReceived() > 0, "and came in: " + b.figures());
            assertEquals(0, before.droppedMessages());
            // b stops running: a's window to it fills, and a refuses for back pressure once its retries are spent.
            final int destination = a.endpointOf(b.localAddress());
            final byte[] message = new byte[1_000];
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            int result;
            while ((result = a.send(destination, new UnsafeBuffer(message), 0, message.length)) == Transport.OK)
            {
                assertTrue(System.nanoTime() < deadline, "never back-pressured within 30 s");
            }
            assertEquals(Transport.BACK_PRESSURED, result, "not connected (" + Transport.NOT_CONNECTED +
                ") if b's status messages stopped for the 2 s connection timeout: a stall of the machine");
            final AeronTransport.Figures after = a.figures();
            assertEquals(1, after.droppedMessages(), after.toString());
            assertTrue(after.bytesSent() > before.bytesSent(), after.toString());
            assertEquals(0, after.driverErrors(), after.toString());
            a.close();
            assertEquals(after.bytesSent(), a.figures().bytesSent(), "once closed, the last figures");
        }
    }

    /** Offer {@code message} from {@code sender} until it is taken, running the senders (and {@code alsoRunning}). */
    private static void awaitSent(final AeronTransport sender, final AeronTransport receiver, final byte[] message,
        final List<AeronTransport> senders, final AeronTransport alsoRunning)
    {
        final int destination = sender.endpointOf(receiver.localAddress());
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (sender.send(destination, new UnsafeBuffer(message), 0, message.length) != Transport.OK)
        {
            assertTrue(System.nanoTime() < deadline, "the message was not taken within 30 s");
            senders.forEach(AeronTransport::doWork);
            if (alsoRunning != null)
            {
                alsoRunning.doWork();
            }
        }
    }

    private static void awaitReceived(final int[] received, final int expected, final List<AeronTransport> senders,
        final AeronTransport receiver, final Transport.MessageHandler handler)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (received[0] < expected)
        {
            assertTrue(System.nanoTime() < deadline, "received " + received[0] + " of " + expected);
            senders.forEach(AeronTransport::doWork);
            receiver.doWork();
            receiver.poll(handler, 64);
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
