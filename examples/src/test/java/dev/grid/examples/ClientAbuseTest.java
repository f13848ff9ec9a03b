package dev.grid.examples;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.client.ClientProtocol;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.EOFException;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 17, items 4 to 6: connections that hold memory or slots without doing their part. One member with the default
 * frame limit (4 MiB), 40 connection slots and a one-second handshake timeout. Each test ends by showing that a
 * well-behaved client is still served.
 */
class ClientAbuseTest
{
    private static final int SLOTS = 40;
    private static LocalMembers cluster;
    private static GridClient good;
    private static Cache<String, String> cache;

    @BeforeAll
    static void start()
    {
        cluster = LocalMembers.start(1, config -> config.clientLimits(SLOTS, 4 << 20, 1024)
            .clientTimeouts(TimeUnit.SECONDS.toNanos(1), 0));
        good = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0)));
        cache = good.createCache(new CacheConfiguration<>("abuse", Codecs.STRING, Codecs.STRING).partitions(8));
        cache.put("big", "b".repeat(32 * 1024));
    }

    @AfterAll
    static void stop()
    {
        if (good != null)
        {
            good.close();
        }
        cluster.close();
    }

    /**
     * Item 5: a length prefix alone made the endpoint allocate the whole frame it announced (5 MiB a connection, and
     * 200 connections ran it out of memory). Before the handshake a frame over 64 KiB is refused at once; after it, the
     * buffer grows with the bytes that arrive, so a hundred connections announcing 4 MiB each hold little.
     */
    @Test
    void announcedFramesCostOnlyTheBytesThatArrive() throws IOException
    {
        try (ProtocolRobustnessTest.Raw raw = new ProtocolRobustnessTest.Raw(cluster.clientAddress(0)))
        {
            raw.out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(4 << 20).array());
            raw.out.flush();
            assertEquals(ErrorCode.FRAME_TOO_LARGE.code(), raw.answer(), "4 MiB announced before the handshake");
            assertTrue(raw.closedByPeer());
        }
        awaitFreeSlots(SLOTS - 5 + 2);
        final long heapBefore = usedHeapAfterGc();
        final List<ProtocolRobustnessTest.Raw> announcing = new ArrayList<>();
        try
        {
            for (int i = 0; i < SLOTS - 5; i++)
            {
                final ProtocolRobustnessTest.Raw raw = new ProtocolRobustnessTest.Raw(cluster.clientAddress(0));
                announcing.add(raw);
                raw.handshake(1, 1);
                assertEquals(0, raw.answer());
                raw.out.write(ByteBuffer.allocate(4 + 1024).order(ByteOrder.LITTLE_ENDIAN).putInt(4 << 20).array());
                raw.out.flush();
            }
            assertEquals("b".repeat(32 * 1024), cache.get("big"), "a good client is served meanwhile");
            final long grownBytes = usedHeapAfterGc() - heapBefore;
            assertTrue(grownBytes < 64L << 20, (SLOTS - 5) + " connections announcing 4 MiB frames grew the heap " +
                "by " + (grownBytes >> 20) + " MiB");
        }
        finally
        {
            for (final ProtocolRobustnessTest.Raw raw : announcing)
            {
                raw.close();
            }
        }
    }

    /**
     * Item 6: connections that never sent a handshake held every slot for a minute and more. Each is closed with
     * CONNECTION_TIMED_OUT once the handshake timeout passed, and the slots serve new clients again.
     */
    @Test
    void connectionsThatNeverAuthenticateAreClosedAndFreeTheirSlots() throws IOException
    {
        awaitFreeSlots(SLOTS - 2 + 1);
        final List<ProtocolRobustnessTest.Raw> idle = new ArrayList<>();
        try
        {
            for (int i = 0; i < SLOTS - 2; i++)
            {
                idle.add(new ProtocolRobustnessTest.Raw(cluster.clientAddress(0)));
            }
            for (final ProtocolRobustnessTest.Raw raw : idle)
            {
                // Socket timeout 5 s: the member's handshake timeout is 1 s (checked every 250 ms).
                assertEquals(ErrorCode.CONNECTION_TIMED_OUT.code(), raw.answer(), "an unauthenticated connection");
                assertTrue(raw.closedByPeer());
            }
        }
        finally
        {
            for (final ProtocolRobustnessTest.Raw raw : idle)
            {
                raw.close();
            }
        }
        for (int i = 0; i < SLOTS - 2; i++)
        {
            try (GridClient another = GridClient.connect(new ClientConfiguration()
                .address(cluster.clientAddress(0))))
            {
                assertEquals("b".repeat(32 * 1024), another.<String, String>cache("abuse").get("big"));
            }
        }
    }

    /**
     * Item 4: a client that sends and never reads made the member queue every answer (11,000 GETs of a 100 KiB value
     * took a member to 1 GiB). The member stops reading such a connection's requests while a frame's worth of answers
     * waits, and closes it once four frames' worth do; it never holds all the answers.
     */
    @Test
    void aClientThatNeverReadsItsAnswersIsCutOffNotQueuedForWithoutBound() throws IOException
    {
        final int gets = 3_000;
        try (ProtocolRobustnessTest.Raw raw = new ProtocolRobustnessTest.Raw(cluster.clientAddress(0)))
        {
            raw.handshake(1, 1);
            assertEquals(0, raw.answer());
            final byte[] name = "abuse".getBytes(StandardCharsets.UTF_8);
            final byte[] key = "big".getBytes(StandardCharsets.UTF_8);
            final ByteBuffer requests = ByteBuffer.allocate(gets * (4 + 9 + 4 + name.length + 4 + key.length))
                .order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < gets; i++)
            {
                requests.putInt(9 + 4 + name.length + 4 + key.length).put((byte)ClientProtocol.GET).putLong(i + 2)
                    .putInt(name.length).put(name).putInt(key.length).put(key);
            }
            raw.socket.setSendBufferSize(64 * 1024);
            final Thread writer = new Thread(() ->
            {
                try
                {
                    raw.out.write(requests.array());
                    raw.out.flush();
                }
                catch (final IOException ex)
                {
                    // The member closed the connection: what this test expects.
                }
            });
            final long cutOffBefore = good.admin().metrics().get("client.cutOff");
            writer.start();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (good.admin().metrics().get("client.cutOff") == cutOffBefore)
            {
                assertTrue(System.nanoTime() < deadline, "the member did not cut off the connection within 30 s");
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
            // Only now read: whatever the member wrote before it cut the connection, then its end. A cut connection
            // may end inside an answer (the member drops what it had not yet written), so an end of stream in the
            // middle of a frame is an end too. The member closes with this client's requests still unread in its
            // socket, so its kernel resets the connection: a reset is that same end, seen sooner.
            int answers = 0;
            try
            {
                while (raw.answer() == 0)
                {
                    answers++;
                }
            }
            catch (final EOFException | SocketException ex)
            {
                // The connection ended (or was reset) inside an answer.
            }
            assertTrue(answers < gets, "all " + gets + " answers of 32 KiB were queued for a client that read none");
            joinQuietly(writer);
        }
        assertEquals("b".repeat(32 * 1024), cache.get("big"), "a good client is served");
    }

    /** Connections of earlier tests close as the member reads their end: wait until this many slots are free. */
    private static void awaitFreeSlots(final int slots)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (good.admin().metrics().get("client.connections") > SLOTS - slots)
        {
            assertTrue(System.nanoTime() < deadline, "connections of earlier tests still open: " +
                good.admin().metrics().get("client.connections"));
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    private static void joinQuietly(final Thread thread)
    {
        try
        {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    private static long usedHeapAfterGc()
    {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
