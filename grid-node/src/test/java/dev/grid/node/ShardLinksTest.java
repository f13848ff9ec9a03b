package dev.grid.node;

import dev.grid.core.spi.Transport;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardLinksTest
{
    /** An endpoint that numbers addresses as it meets them and records what is sent through it. */
    private static final class RecordingEndpoint implements Transport
    {
        final String address;
        final Map<String, Integer> ids = new HashMap<>();
        final List<String> sent = new ArrayList<>();
        final List<String> inbound = new ArrayList<>();
        /** What {@link #hasRoom} answers. */
        boolean room = true;
        /** How often {@link #flush} was called. */
        int flushes;

        RecordingEndpoint(final String address)
        {
            this.address = address;
            endpointOf("10.0.0.9:1");
            endpointOf(address);
        }

        public int localEndpoint()
        {
            return endpointOf(address);
        }

        public String localAddress()
        {
            return address;
        }

        public int endpointOf(final String other)
        {
            return ids.computeIfAbsent(other, a -> ids.size());
        }

        public int send(final int destination, final DirectBuffer buffer, final int offset, final int length)
        {
            sent.add(destination + ":" + buffer.getStringWithoutLengthAscii(offset, length));
            return OK;
        }

        public int poll(final MessageHandler handler, final int messageLimit)
        {
            int polled = 0;
            while (polled < messageLimit && !inbound.isEmpty())
            {
                final byte[] bytes = inbound.remove(0).getBytes(StandardCharsets.US_ASCII);
                handler.onMessage(0, new UnsafeBuffer(bytes), 0, bytes.length);
                polled++;
            }
            return polled;
        }

        public int maxMessageLength()
        {
            return 1 << 20;
        }

        @Override
        public boolean hasRoom(final int destination, final int length)
        {
            return room;
        }

        @Override
        public int flush()
        {
            flushes++;
            return 1;
        }
    }

    private static UnsafeBuffer text(final String text)
    {
        return new UnsafeBuffer(text.getBytes(StandardCharsets.US_ASCII));
    }

    private static List<String> pollAll(final Transport transport, final int limit)
    {
        final List<String> got = new ArrayList<>();
        transport.poll((source, buffer, offset, length) ->
            got.add(source + ":" + buffer.getStringWithoutLengthAscii(offset, length)), limit);
        return got;
    }

    @Test
    void siblingsTalkInMemoryAndEveryoneElseThroughTheEndpoint()
    {
        final List<String> addresses = List.of("127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002");
        final ShardLinks links = new ShardLinks(addresses);
        final RecordingEndpoint[] endpoints = new RecordingEndpoint[3];
        final Transport[] shards = new Transport[3];
        for (int i = 0; i < 3; i++)
        {
            endpoints[i] = new RecordingEndpoint(addresses.get(i));
            shards[i] = links.wrap(i, endpoints[i]);
        }
        final UnsafeBuffer hello = text("hello");
        assertEquals(Transport.OK, shards[0].send(shards[0].endpointOf("127.0.0.1:7001"), hello, 0, 5));
        assertEquals(Transport.OK, shards[2].send(shards[2].endpointOf("127.0.0.1:7001"), text("from2"), 0, 5));
        assertEquals(Transport.OK, shards[0].send(shards[0].endpointOf("10.0.0.9:1"), hello, 0, 5));
        assertEquals(List.of(), endpoints[1].sent);
        assertEquals(List.of("0:hello"), endpoints[0].sent, "another member's message goes through Aeron");
        hello.putByte(0, (byte)'j');
        endpoints[1].inbound.add("aeron");
        final List<String> got = pollAll(shards[1], 10);
        // The source is the sibling's endpoint id in the receiver's own numbering; the message was copied when sent.
        final int from0 = endpoints[1].endpointOf("127.0.0.1:7000");
        final int from2 = endpoints[1].endpointOf("127.0.0.1:7002");
        assertTrue(got.containsAll(List.of(from0 + ":hello", from2 + ":from2", "0:aeron")), got.toString());
        assertEquals(3, got.size(), got.toString());
        assertEquals(List.of(), pollAll(shards[1], 10));
    }

    @Test
    void aSiblingThatStopsPollingBackPressuresItsSendersWithinTheLinksBounds()
    {
        final List<String> addresses = List.of("127.0.0.1:7000", "127.0.0.1:7001");
        final ShardLinks links = new ShardLinks(addresses);
        final Transport first = links.wrap(0, new RecordingEndpoint(addresses.get(0)));
        final Transport second = links.wrap(1, new RecordingEndpoint(addresses.get(1)));
        final int toSecond = first.endpointOf(addresses.get(1));
        final UnsafeBuffer small = text("x");
        int accepted = 0;
        while (first.send(toSecond, small, 0, 1) == Transport.OK)
        {
            accepted++;
        }
        assertEquals(ShardLinks.LINK_CAPACITY, accepted);
        assertFalse(first.hasRoom(toSecond, 1), "a full link has no room");
        assertEquals(Transport.BACK_PRESSURED, first.send(toSecond, small, 0, 1));
        // The receiver drains at most its limit per poll, and the link takes messages again.
        assertEquals(100, pollAll(second, 100).size());
        assertTrue(first.hasRoom(toSecond, 1), "a drained link has room again");
        assertEquals(Transport.OK, first.send(toSecond, small, 0, 1));
        assertEquals(ShardLinks.LINK_CAPACITY - 99, pollAll(second, Integer.MAX_VALUE).size());

        // In bytes: big messages fill the link's byte budget long before its message count.
        final UnsafeBuffer big = new UnsafeBuffer(new byte[1 << 20]);
        int bigAccepted = 0;
        while (first.send(toSecond, big, 0, big.capacity()) == Transport.OK)
        {
            bigAccepted++;
        }
        assertEquals(ShardLinks.LINK_BYTES / big.capacity(), bigAccepted);
        assertFalse(first.hasRoom(toSecond, big.capacity()), "no room in bytes");
        assertTrue(first.hasRoom(toSecond, 0), "an empty message still fits");
        // Another member's link is the endpoint's to judge.
        final RecordingEndpoint endpoint = new RecordingEndpoint(addresses.get(0));
        final Transport wrapped = new ShardLinks(addresses).wrap(0, endpoint);
        final int toOther = wrapped.endpointOf("10.0.0.9:1");
        assertTrue(wrapped.hasRoom(toOther, 1 << 20));
        endpoint.room = false;
        assertFalse(wrapped.hasRoom(toOther, 1), "the endpoint said the link to another member is full");
        // A flush (a coordinator's map, before it installs it) reaches the endpoint.
        assertEquals(1, wrapped.flush());
        assertEquals(1, endpoint.flushes);
    }

    @Test
    void aBusySiblingLeavesHalfOfEachPollToOtherMembersMessages()
    {
        final List<String> addresses = List.of("127.0.0.1:7000", "127.0.0.1:7001");
        final ShardLinks links = new ShardLinks(addresses);
        final Transport first = links.wrap(0, new RecordingEndpoint(addresses.get(0)));
        final RecordingEndpoint secondEndpoint = new RecordingEndpoint(addresses.get(1));
        final Transport second = links.wrap(1, secondEndpoint);
        for (int i = 0; i < 100; i++)
        {
            first.send(first.endpointOf(addresses.get(1)), text("s" + i), 0, ("s" + i).length());
            secondEndpoint.inbound.add("a" + i);
        }
        final List<String> got = pollAll(second, 10);
        assertEquals(10, got.size());
        assertEquals(5, got.stream().filter(message -> message.contains(":a")).count(),
            "half of the poll went to the endpoint: " + got);
    }
}
