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

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a client sends cannot harm the member or other clients: truncated frames, oversized lengths, unknown op codes,
 * wrong versions and random bytes each get an error answer or a closed connection, while a well-behaved client keeps
 * working; a seeded fuzz sends 100,000 frames.
 */
class ProtocolRobustnessTest
{
    private static final long SEED = Long.getLong("grid.fuzz.seed", 0x5EEDL);
    private static final long SYNC_ID = 0x5F5F5F5F5F5F5F5FL;
    private static LocalMembers cluster;
    private static GridClient good;
    private static Cache<String, String> cache;

    @BeforeAll
    static void start()
    {
        cluster = LocalMembers.start(1, config -> config.clientLimits(64, 64 * 1024, 1024));
        good = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0)));
        cache = good.createCache(new CacheConfiguration<>("robust", Codecs.STRING, Codecs.STRING).partitions(16));
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

    /** A raw connection that reads answers as the protocol frames them. */
    static final class Raw implements AutoCloseable
    {
        final Socket socket = new Socket();
        final OutputStream out;
        final DataInputStream in;
        /** The request id of the last answer {@link #answer} read. */
        long lastRequestId;
        /** The length of the last answer {@link #answer} read. */
        int lastLength;
        /** The first eight payload bytes of the last OK answer {@link #answer} read (a TX_BEGIN's id), or -1. */
        long lastTxId;

        Raw() throws IOException
        {
            this(cluster.clientAddress(0));
        }

        Raw(final String memberAddress) throws IOException
        {
            final String[] address = memberAddress.split(":");
            socket.connect(new InetSocketAddress(address[0], Integer.parseInt(address[1])), 5_000);
            socket.setSoTimeout(5_000);
            out = socket.getOutputStream();
            in = new DataInputStream(socket.getInputStream());
        }

        void frame(final byte[] body) throws IOException
        {
            final ByteBuffer length = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(body.length);
            out.write(length.array());
            out.write(body);
            out.flush();
        }

        void handshake(final int minVersion, final int maxVersion) throws IOException
        {
            final ByteBuffer body = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            body.put((byte)ClientProtocol.HANDSHAKE).putLong(1).putInt(ClientProtocol.MAGIC)
                .putShort((short)minVersion).putShort((short)maxVersion).putInt(-1).putInt(-1).putInt(3)
                .put("raw".getBytes(StandardCharsets.UTF_8));
            frame(java.util.Arrays.copyOf(body.array(), body.position()));
        }

        /** @return the error code of the next answer, 0 if it is OK, or -1 if the member closed the connection. */
        int answer() throws IOException
        {
            final int length;
            try
            {
                length = Integer.reverseBytes(in.readInt());
            }
            catch (final java.io.EOFException | java.net.SocketException ex)
            {
                return -1;
            }
            final byte[] body = new byte[length];
            in.readFully(body);
            lastLength = length;
            final ByteBuffer answer = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
            final int status = answer.get();
            lastRequestId = answer.getLong();
            answer.getLong();
            lastTxId = status == ClientProtocol.OK && answer.remaining() >= 8 ? answer.getLong(answer.position()) : -1;
            return status == ClientProtocol.OK ? 0 : answer.getInt();
        }

        /**
         * PING and read answers until its own: every frame sent before it was decoded by then.
         *
         * @return false if the member closed the connection first.
         */
        boolean sync() throws IOException
        {
            frame(ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.PING)
                .putLong(SYNC_ID).array());
            while (true)
            {
                final int length;
                try
                {
                    length = Integer.reverseBytes(in.readInt());
                }
                catch (final java.io.EOFException | java.net.SocketException ex)
                {
                    return false;
                }
                final byte[] body = new byte[length];
                in.readFully(body);
                if (ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).getLong(1) == SYNC_ID)
                {
                    return true;
                }
            }
        }

        boolean closedByPeer() throws IOException
        {
            try
            {
                return in.read() == -1;
            }
            catch (final SocketTimeoutException ex)
            {
                return false;
            }
            catch (final java.net.SocketException ex)
            {
                return true;
            }
        }

        @Override
        public void close() throws IOException
        {
            socket.close();
        }
    }

    @Test
    void badFramesGetAnErrorOrAClosedConnectionAndNothingElseIsHurt() throws IOException
    {
        try (Raw raw = new Raw())
        {
            raw.frame(new byte[] {ClientProtocol.GET});
            assertEquals(ErrorCode.MALFORMED_REQUEST.code(), raw.answer(), "a frame shorter than a header");
            assertTrue(raw.closedByPeer());
        }
        try (Raw raw = new Raw())
        {
            raw.out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(1 << 30).array());
            raw.out.flush();
            assertEquals(ErrorCode.FRAME_TOO_LARGE.code(), raw.answer(), "a length above the limit");
            assertTrue(raw.closedByPeer());
        }
        try (Raw raw = new Raw())
        {
            raw.out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(-5).array());
            raw.out.flush();
            assertEquals(ErrorCode.FRAME_TOO_LARGE.code(), raw.answer(), "a negative length");
        }
        try (Raw raw = new Raw())
        {
            raw.handshake(7, 9);
            assertEquals(ErrorCode.PROTOCOL_VERSION_UNSUPPORTED.code(), raw.answer());
            assertTrue(raw.closedByPeer());
        }
        try (Raw raw = new Raw())
        {
            raw.frame(ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.GET).putLong(3)
                .array());
            assertEquals(ErrorCode.MALFORMED_REQUEST.code(), raw.answer(), "a request before the handshake");
        }
        try (Raw raw = new Raw())
        {
            raw.handshake(1, 1);
            assertEquals(0, raw.answer());
            raw.frame(ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN).put((byte)200).putLong(2).array());
            assertEquals(ErrorCode.UNKNOWN_OPERATION.code(), raw.answer());
            // A GET whose key length runs past the frame: an error for that request, the connection lives on.
            raw.frame(ByteBuffer.allocate(30).order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.GET).putLong(3)
                .putInt(6).put("robust".getBytes(StandardCharsets.UTF_8)).putInt(1_000).array());
            assertEquals(ErrorCode.MALFORMED_REQUEST.code(), raw.answer());
            raw.frame(ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.PING).putLong(4)
                .array());
            assertEquals(0, raw.answer(), "the connection still serves");
            // Half a frame, then the connection drops: nothing to answer, nothing broken.
            raw.out.write(new byte[] {100, 0, 0, 0, 1, 2});
            raw.out.flush();
        }
        cache.put("still", "fine");
        assertEquals("fine", cache.get("still"));
    }

    /**
     * Issue 17, item 1: requests naming a cache that does not exist used to go unanswered and park one of the member's
     * two admin threads each; after two, no handshake was answered. Each is answered (CACHE_NOT_FOUND; a destroy is
     * done already), many times over, and clients still connect.
     */
    @Test
    void requestsNamingACacheThatDoesNotExistAreAnsweredAndParkNothing() throws IOException
    {
        try (Raw raw = new Raw())
        {
            raw.handshake(1, 1);
            assertEquals(0, raw.answer());
            final byte[] name = "no-such-cache".getBytes(StandardCharsets.UTF_8);
            long id = 10;
            for (int round = 0; round < 4; round++)
            {
                for (final int op : new int[] {ClientProtocol.LOST_PARTITIONS, ClientProtocol.PARTITION_MAP,
                    ClientProtocol.LOCAL_COPIES, ClientProtocol.CHECK_CONSISTENCY, ClientProtocol.RESET_LOST,
                    ClientProtocol.CACHE_DESTROY})
                {
                    raw.frame(ByteBuffer.allocate(9 + 4 + name.length).order(ByteOrder.LITTLE_ENDIAN).put((byte)op)
                        .putLong(++id).putInt(name.length).put(name).array());
                    // Destroying a cache that is not there is done already (idempotent, as in the embedded API).
                    assertEquals(op == ClientProtocol.CACHE_DESTROY ? 0 : ErrorCode.CACHE_NOT_FOUND.code(),
                        raw.answer(), ClientProtocol.name(op));
                    assertEquals(id, raw.lastRequestId);
                }
            }
        }
        for (int i = 0; i < 3; i++)
        {
            try (GridClient another = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0))
                .requestTimeoutNs(java.util.concurrent.TimeUnit.SECONDS.toNanos(5))))
            {
                assertEquals(List.of(), another.admin().lostPartitions("robust"), "a new client is served");
            }
        }
    }

    /**
     * Issue 17, items 3 and 7: a GET_ALL naming one key five thousand times answers it once (it answered five thousand
     * copies of its value); one whose values add up to more than the frame limit is refused with ANSWER_TOO_LARGE; one
     * announcing a million keys in a few bytes is refused at once, two thousand of them in one write too, and the
     * connection goes on serving.
     */
    @Test
    void answersAreBoundedAndCountsAreCheckedAgainstTheBytesThatFollow() throws IOException
    {
        final String big = "v".repeat(30 * 1024);
        for (final String key : List.of("big1", "big2", "big3"))
        {
            cache.put(key, big);
        }
        final byte[] name = "robust".getBytes(StandardCharsets.UTF_8);
        try (Raw raw = new Raw())
        {
            raw.handshake(1, 1);
            assertEquals(0, raw.answer());
            final int repeats = 5_000;
            final ByteBuffer same = ByteBuffer.allocate(9 + 4 + name.length + 4 + repeats * 8)
                .order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.GET_ALL).putLong(2).putInt(name.length)
                .put(name).putInt(repeats);
            for (int i = 0; i < repeats; i++)
            {
                same.putInt(4).put("big1".getBytes(StandardCharsets.UTF_8));
            }
            raw.frame(same.array());
            assertEquals(0, raw.answer(), "one key named many times");
            assertTrue(raw.lastLength < 31 * 1024 + 64, "an answer of " + raw.lastLength + " bytes for one key");

            final ByteBuffer three = ByteBuffer.allocate(9 + 4 + name.length + 4 + 3 * 8)
                .order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.GET_ALL).putLong(3).putInt(name.length)
                .put(name).putInt(3);
            for (final String key : List.of("big1", "big2", "big3"))
            {
                three.putInt(4).put(key.getBytes(StandardCharsets.UTF_8));
            }
            raw.frame(three.array());
            assertEquals(ErrorCode.ANSWER_TOO_LARGE.code(), raw.answer(), "90 KiB of values, a 64 KiB frame limit");

            final byte[] lying = ByteBuffer.allocate(9 + 4 + name.length + 4).order(ByteOrder.LITTLE_ENDIAN)
                .put((byte)ClientProtocol.GET_ALL).putLong(4).putInt(name.length).put(name).putInt(1 << 20).array();
            final ByteBuffer many = ByteBuffer.allocate(2_000 * (4 + lying.length)).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 2_000; i++)
            {
                many.putInt(lying.length).put(lying);
            }
            raw.out.write(many.array());
            raw.out.flush();
            for (int i = 0; i < 2_000; i++)
            {
                assertEquals(ErrorCode.MALFORMED_REQUEST.code(), raw.answer(), "a count the bytes cannot hold");
            }
            raw.frame(ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.PING).putLong(5)
                .array());
            assertEquals(0, raw.answer(), "the connection still serves");
        }
        assertEquals(big, cache.get("big2"));
    }

    /**
     * A connection's TX_BEGIN requests are numbered 1, 2, ... in arrival order, refused ones too (docs/protocol.md), so
     * a client sends a transaction's steps right behind its TX_BEGIN without waiting for the id.
     */
    @Test
    void transactionIdsCountTheConnectionsBeginsSoStepsNeedNotWaitForThem() throws IOException
    {
        final byte[] name = "robust".getBytes(StandardCharsets.UTF_8);
        final byte[] key = "tx-numbered".getBytes(StandardCharsets.UTF_8);
        try (Raw raw = new Raw())
        {
            raw.handshake(1, 2);
            assertEquals(0, raw.answer());
            final ByteBuffer frames = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
            // Begin 1 is refused (no timeout); begin 2 is good and its read follows at once, naming it by its number.
            frames.putInt(9 + 10).put((byte)ClientProtocol.TX_BEGIN).putLong(1).put((byte)0).put((byte)1).putLong(0);
            frames.putInt(9 + 10).put((byte)ClientProtocol.TX_BEGIN).putLong(2).put((byte)0).put((byte)1)
                .putLong(60_000);
            frames.putInt(9 + 8 + 4 + name.length + 4 + key.length).put((byte)ClientProtocol.TX_GET).putLong(3)
                .putLong(2).putInt(name.length).put(name).putInt(key.length).put(key);
            frames.putInt(9 + 8 + 4 + name.length + 4 + key.length).put((byte)ClientProtocol.TX_GET).putLong(4)
                .putLong(1).putInt(name.length).put(name).putInt(key.length).put(key);
            raw.out.write(frames.array(), 0, frames.position());
            raw.out.flush();
            final Map<Long, Integer> codes = new java.util.HashMap<>();
            long begunId = -1;
            for (int i = 0; i < 4; i++)
            {
                final int code = raw.answer();
                codes.put(raw.lastRequestId, code);
                if (raw.lastRequestId == 2)
                {
                    begunId = raw.lastTxId;
                }
            }
            assertEquals(ErrorCode.MALFORMED_REQUEST.code(), codes.get(1L), "begin 1 refused: " + codes);
            assertEquals(0, codes.get(2L), "begin 2: " + codes);
            assertEquals(2, begunId, "the second begin's id counts the refused one");
            assertEquals(0, codes.get(3L), "the read sent before begin 2 was answered: " + codes);
            assertEquals(ErrorCode.TRANSACTION_NOT_FOUND.code(), codes.get(4L), "no transaction 1: " + codes);
            // A commit waits for the transaction's reads (one sent while a read is in flight is refused).
            raw.frame(ByteBuffer.allocate(17).order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.TX_COMMIT)
                .putLong(5).putLong(2).array());
            assertEquals(0, raw.answer(), "transaction 2 committed");
            assertEquals(5, raw.lastRequestId);
        }
    }

    /**
     * Issue 17, item 10: transactions of connections that close mid-way die with them. Seeded: each connection begins
     * transactions (pessimistic or optimistic) with long timeouts, reads and writes keys other connections use too (so
     * some wait for locks), may ask to commit before its reads are answered, and is closed at a random point without
     * reading its answers. Then the member coordinates no transaction. A commit that came while a read was in flight
     * was refused without rolling the transaction back, which the connection had already forgotten: it stayed ACTIVE
     * for its whole timeout (99 after 1,500 such connections on three members, before the fix).
     */
    @Test
    void transactionsOfConnectionsClosedMidWayRollBack() throws IOException
    {
        final Random random = new Random(SEED ^ 0x7A);
        final byte[] name = "robust".getBytes(StandardCharsets.UTF_8);
        for (int c = 0; c < 200; c++)
        {
            try (Raw raw = new Raw())
            {
                raw.handshake(1, 1);
                assertEquals(0, raw.answer());
                final int transactions = 1 + random.nextInt(3);
                final ByteBuffer frames = ByteBuffer.allocate(16 * 1024).order(ByteOrder.LITTLE_ENDIAN);
                for (long tx = 1; tx <= transactions; tx++)
                {
                    // TX_BEGIN: pessimistic or optimistic, repeatable read, an hour: only its connection ends it.
                    frames.putInt(9 + 10).put((byte)ClientProtocol.TX_BEGIN).putLong(100 + tx)
                        .put((byte)random.nextInt(2)).put((byte)1).putLong(3_600_000);
                    final int operations = 1 + random.nextInt(4);
                    for (int w = 0; w < operations; w++)
                    {
                        final byte[] key = ("tx-key-" + random.nextInt(6)).getBytes(StandardCharsets.UTF_8);
                        final byte[] value = ("v" + c).getBytes(StandardCharsets.UTF_8);
                        if (random.nextBoolean())
                        {
                            frames.putInt(9 + 8 + 4 + name.length + 4 + key.length).put((byte)ClientProtocol.TX_GET)
                                .putLong(200 + tx * 10 + w).putLong(tx).putInt(name.length).put(name)
                                .putInt(key.length).put(key);
                            continue;
                        }
                        frames.putInt(9 + 8 + 4 + name.length + 4 + key.length + 4 + value.length)
                            .put((byte)ClientProtocol.TX_PUT).putLong(200 + tx * 10 + w).putLong(tx)
                            .putInt(name.length).put(name).putInt(key.length).put(key).putInt(value.length)
                            .put(value);
                    }
                    if (random.nextBoolean())
                    {
                        frames.putInt(9 + 8).put((byte)ClientProtocol.TX_COMMIT).putLong(300 + tx).putLong(tx);
                    }
                }
                // Closed after a random prefix of its frames, answers unread.
                raw.out.write(frames.array(), 0, random.nextInt(frames.position() + 1));
                raw.out.flush();
            }
        }
        final long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        List<?> left = good.admin().transactions();
        while (!left.isEmpty())
        {
            assertTrue(System.nanoTime() < deadline, "transactions of closed connections still open: " + left);
            java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(50));
            left = good.admin().transactions();
        }
        cache.put("tx-key-0", "free");
        assertEquals("free", cache.get("tx-key-0"), "a key the transactions locked is free");
    }

    /**
     * Issue 17, item 10: requests sent just before a half-close lost their answers (the member closed at the end of
     * the stream). Every request sent before the client shut its sending side is answered, then the member closes.
     */
    @Test
    void aHalfClosedConnectionGetsEveryAnswerThenCloses() throws IOException
    {
        cache.put("half", "closed");
        try (Raw raw = new Raw())
        {
            raw.handshake(1, 1);
            assertEquals(0, raw.answer());
            final byte[] name = "robust".getBytes(StandardCharsets.UTF_8);
            final byte[] key = "half".getBytes(StandardCharsets.UTF_8);
            final ByteBuffer gets = ByteBuffer.allocate(200 * (4 + 9 + 4 + name.length + 4 + key.length))
                .order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 200; i++)
            {
                gets.putInt(9 + 4 + name.length + 4 + key.length).put((byte)ClientProtocol.GET).putLong(10 + i)
                    .putInt(name.length).put(name).putInt(key.length).put(key);
            }
            raw.out.write(gets.array());
            raw.out.flush();
            raw.socket.shutdownOutput();
            for (int i = 0; i < 200; i++)
            {
                assertEquals(0, raw.answer(), "answer " + i + " of 200");
            }
            assertTrue(raw.closedByPeer(), "the member closes once everything is answered");
        }
    }

    @Test
    void aSeededFuzzOfOneHundredThousandFramesLeavesTheMemberServing() throws IOException
    {
        fuzz(Integer.getInteger("grid.fuzz.frames", 100_000));
    }

    /** The soak profile's fuzz: a million frames (issue 17). */
    @Test
    @org.junit.jupiter.api.Tag("soak")
    void aSeededFuzzOfAMillionFramesLeavesTheMemberServing() throws IOException
    {
        fuzz(Integer.getInteger("grid.fuzz.frames", 1_000_000));
    }

    /**
     * The abuse run of issue 17's note: the fuzz, round after round, for {@code grid.abuse.minutes} (5 by default);
     * prints the member's heap (after a collection: the member runs in this JVM) and thread count before and after.
     */
    @Test
    @org.junit.jupiter.api.Tag("soak")
    void anAbuseRunOfMinutesLeavesHeapAndThreadsWhereTheyWere() throws IOException
    {
        final long minutes = Long.getLong("grid.abuse.minutes", 5);
        final long[] before = heapAndThreads();
        final long end = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(minutes);
        int rounds = 0;
        while (System.nanoTime() < end)
        {
            fuzz(100_000);
            rounds++;
        }
        final long[] after = heapAndThreads();
        System.out.printf("abuse run: %d rounds of 100,000 frames in %d min; heap used %d MiB -> %d MiB, " +
            "threads %d -> %d%n", rounds, minutes, before[0] >> 20, after[0] >> 20, before[1], after[1]);
        assertTrue(after[1] <= before[1] + 2, "threads " + before[1] + " -> " + after[1]);
        assertTrue(after[0] < before[0] + (64L << 20), "heap " + (before[0] >> 20) + " MiB -> " + (after[0] >> 20));
    }

    private static long[] heapAndThreads()
    {
        System.gc();
        final Map<String, Long> metrics = good.admin().metrics();
        return new long[] {metrics.get("jvm.heapUsedBytes"), metrics.get("jvm.threads")};
    }

    /**
     * Random and mutated frames, and abuse (issue 17): counts that lie about the bytes that follow, duplicate request
     * ids, frames near the limit, connections that never read their answers, and idle connections that never send a
     * handshake. Afterwards the member serves, coordinates no transaction, and holds no more threads than before.
     */
    private void fuzz(final int total) throws IOException
    {
        final Random random = new Random(SEED);
        final long requestsBefore = good.admin().metrics().get("client.requests");
        final int threadsBefore = Thread.activeCount();
        final List<Raw> idle = new java.util.ArrayList<>();
        int frames = 0;
        int connections = 0;
        try
        {
            while (frames < total)
            {
                if (random.nextInt(50) == 0)
                {
                    // A connection that never sends a handshake: it holds a slot until its timeout or the end.
                    if (idle.size() < 8)
                    {
                        idle.add(new Raw());
                    }
                    continue;
                }
                frames += random.nextInt(20) == 0 ? abuse(random) : randomFrames(random, total - frames);
                connections++;
            }
        }
        finally
        {
            for (final Raw raw : idle)
            {
                raw.close();
            }
        }
        assertTrue(connections > 1);
        final long served = good.admin().metrics().get("client.requests") - requestsBefore;
        assertTrue(served > total / 2, "the member decoded " + served + " of the " + total + " frames");
        cache.put("after-fuzz", "alive");
        assertEquals("alive", cache.get("after-fuzz"));
        assertEquals("alive", cluster.members.get(0).<String, String>cache("robust").get("after-fuzz"));
        final long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (!good.admin().transactions().isEmpty() || Thread.activeCount() > threadsBefore + 2)
        {
            assertTrue(System.nanoTime() < deadline, "after the fuzz: transactions " +
                good.admin().transactions() + ", threads " + Thread.activeCount() + " (before " + threadsBefore + ")");
            java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(50));
        }
    }

    /** One connection of the abusive kinds; @return frames sent. */
    private int abuse(final Random random) throws IOException
    {
        final byte[] name = "robust".getBytes(StandardCharsets.UTF_8);
        try (Raw raw = new Raw())
        {
            raw.handshake(1, 1);
            raw.answer();
            final int kind = random.nextInt(4);
            final int count = 1 + random.nextInt(200);
            final ByteBuffer frames = ByteBuffer.allocate(count * (4 + 9 + 4 + name.length + 4 + 60_000))
                .order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < count; i++)
            {
                switch (kind)
                {
                    // GET_ALL or PUT_ALL announcing far more keys than follow.
                    case 0 -> frames.putInt(9 + 4 + name.length + 4).put((byte)(random.nextBoolean() ?
                        ClientProtocol.GET_ALL : ClientProtocol.PUT_ALL)).putLong(i + 1).putInt(name.length).put(name)
                        .putInt(random.nextInt(Integer.MAX_VALUE));
                    // Every request under one id.
                    case 1 -> frames.putInt(9 + 4 + name.length + 4 + 3).put((byte)ClientProtocol.GET).putLong(7)
                        .putInt(name.length).put(name).putInt(3).put("dup".getBytes(StandardCharsets.UTF_8));
                    // A put near the frame limit (64 KiB here), under a thin client's identity.
                    case 2 ->
                    {
                        final byte[] value = new byte[50_000 + random.nextInt(9_000)];
                        frames.putInt(9 + 4 + name.length + 24 + 4 + 3 + 4 + value.length).put((byte)ClientProtocol.PUT)
                            .putLong(i + 1).putInt(name.length).put(name)
                            .putLong(ClientProtocol.newClientId(random::nextLong)).putLong(i).putLong(0)
                            .putInt(3).put("big".getBytes(StandardCharsets.UTF_8)).putInt(value.length).put(value);
                    }
                    // GETs of that value, never read: the member pushes back, then cuts the connection off.
                    default -> frames.putInt(9 + 4 + name.length + 4 + 3).put((byte)ClientProtocol.GET).putLong(i + 1)
                        .putInt(name.length).put(name).putInt(3).put("big".getBytes(StandardCharsets.UTF_8));
                }
            }
            try
            {
                raw.out.write(frames.array(), 0, frames.position());
                raw.out.flush();
                if (kind != 3)
                {
                    raw.sync();
                }
            }
            catch (final IOException ex)
            {
                // Cut off or refused: the next connection goes on.
            }
            return count;
        }
    }

    /** One connection of random and mutated frames; @return frames sent. */
    private int randomFrames(final Random random, final int left) throws IOException
    {
        int frames = 0;
        try (Raw raw = new Raw())
        {
            // Mostly past the handshake, so that frames reach the request decoders.
            if (random.nextInt(10) > 0)
            {
                raw.handshake(1, 1);
                raw.answer();
            }
            final int burst = 1 + random.nextInt(2_000);
            try
            {
                for (int i = 0; i < burst && frames < left; i++, frames++)
                {
                    final byte[] body = new byte[9 + random.nextInt(56)];
                    random.nextBytes(body);
                    if (body.length > 0 && random.nextInt(3) == 0)
                    {
                        // A known op code with random fields, so decoding goes deep.
                        body[0] = (byte)(random.nextInt(60));
                    }
                    if (ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).getLong(1) == SYNC_ID)
                    {
                        body[1] ^= 1;
                    }
                    if (body[0] == ClientProtocol.DEACTIVATE)
                    {
                        // One random byte makes it a valid admin command (these connections are admins: the member
                        // lists no users), which would deactivate the member as it should: the fuzz sends none.
                        body[0] = (byte)ClientProtocol.PING;
                    }
                    raw.frame(body);
                }
                // Wait until the member decoded the burst (closing with frames unread would discard them).
                if (raw.sync() && random.nextInt(4) == 0)
                {
                    // A frame too short to name its request: an error, and the member closes the connection.
                    raw.frame(new byte[random.nextInt(ClientProtocol.HEADER)]);
                    frames++;
                    // Answers of the burst's slower requests may still come first; the member's answer to the
                    // short frame names no request (id 0).
                    int code;
                    do
                    {
                        code = raw.answer();
                    }
                    while (code != -1 && raw.lastRequestId != 0);
                    assertTrue(code == -1 || code == ErrorCode.MALFORMED_REQUEST.code(), "answer " + code);
                    // Then the member closes (answers already on their way may precede the end; a member that
                    // never closed would time the read out).
                    while (code != -1)
                    {
                        code = raw.answer();
                    }
                }
            }
            catch (final IOException ex)
            {
                // The member closed the connection (a frame it refused): the next one opens a new connection.
            }
        }
        return frames;
    }
}
