package dev.grid.resp;

import dev.grid.core.MemberConfiguration;
import dev.grid.core.testing.LoopbackPorts;
import dev.grid.node.GridMember;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.Response;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.GetExParams;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.params.SetParams;
import redis.clients.jedis.resps.ScanResult;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Redis protocol as a real client (Jedis) uses it, against three members each serving RESP: every command Grid
 * serves, its options and its errors in Redis's own forms, pipelining, MULTI/EXEC/WATCH, SELECT, SCAN, RESP3 via
 * HELLO, inline commands, and the request limits.
 */
class RespJedisTest
{
    private static final List<GridMember> MEMBERS = new ArrayList<>();
    private static final int[] RESP_PORTS = new int[3];
    /** Jedis's socket timeout: replies may pause on 2 busy cores (its default is 2 s). */
    private static final int TIMEOUT_MS = 30_000;
    private Jedis jedis;

    @BeforeAll
    static void startMembers()
    {
        final int[] ports = {LoopbackPorts.next(), LoopbackPorts.next(), LoopbackPorts.next()};
        final List<CompletableFuture<GridMember>> starts = new ArrayList<>();
        for (int i = 0; i < 3; i++)
        {
            RESP_PORTS[i] = LoopbackPorts.next();
            final MemberConfiguration config = new MemberConfiguration("r" + i).port(ports[i])
                .heartbeatIntervalNs(TimeUnit.MILLISECONDS.toNanos(100))
                .failureDetectionTimeoutNs(TimeUnit.MILLISECONDS.toNanos(1500))
                .setting("resp.port", Integer.toString(RESP_PORTS[i])).setting("resp.cache.partitions", "64")
                .setting("resp.max.request.bytes", "100000");
            for (final int port : ports)
            {
                config.addSeed("127.0.0.1:" + port);
            }
            starts.add(CompletableFuture.supplyAsync(() -> GridMember.start(config)));
        }
        starts.forEach(start -> MEMBERS.add(start.join()));
    }

    @AfterAll
    static void stopMembers()
    {
        MEMBERS.forEach(GridMember::close);
    }

    @AfterEach
    void flush()
    {
        if (jedis != null)
        {
            jedis.flushAll();
            jedis.close();
        }
    }

    private Jedis connect(final int member)
    {
        jedis = new Jedis("127.0.0.1", RESP_PORTS[member], TIMEOUT_MS);
        return jedis;
    }

    @Test
    void stringCommandsAndTheirOptions()
    {
        final Jedis redis = connect(0);
        assertEquals("PONG", redis.ping());
        assertEquals("hi", redis.echo("hi"));
        assertEquals("OK", redis.set("k", "v"));
        assertEquals("v", redis.get("k"));
        assertNull(redis.set("k", "w", SetParams.setParams().nx()));
        assertEquals("OK", redis.set("k", "w", SetParams.setParams().xx()));
        assertNull(redis.set("absent", "x", SetParams.setParams().xx()));
        assertEquals("w", redis.setGet("k", "z"));
        assertEquals(1, redis.setnx("n", "1"));
        assertEquals(0, redis.setnx("n", "2"));
        assertEquals("z", redis.getSet("k", "y"));
        assertEquals("y", redis.getDel("k"));
        assertNull(redis.get("k"));
        assertEquals(java.util.Arrays.asList("1", null), redis.mget("n", "none"));
        assertEquals("OK", redis.mset("a", "1", "b", "2"));
        assertEquals(0, redis.msetnx("b", "3", "c", "4"));
        assertNull(redis.get("c"), "MSETNX wrote nothing as one key existed");
        assertEquals(1, redis.msetnx("c", "3", "d", "4"));
        assertEquals(11, redis.incrBy("a", 10));
        assertEquals(12, redis.incr("a"));
        assertEquals(10, redis.decrBy("a", 2));
        assertEquals(9, redis.decr("a"));
        assertEquals(10.5, redis.incrByFloat("a", 1.5));
        assertEquals(6, redis.append("s", "hello!"));
        assertEquals(6, redis.strlen("s"));
        assertEquals(0, redis.strlen("none"));
        assertEquals("string", redis.type("s"));
        assertEquals("none", redis.type("none"));
        assertEquals(2, redis.exists("s", "a", "none"));
        assertEquals(2, redis.del("s", "a", "none"));
        assertEquals(1, redis.unlink("b"));

        redis.set("t", "text");
        final JedisDataException notInteger = assertThrows(JedisDataException.class, () -> redis.incr("t"));
        assertEquals("ERR value is not an integer or out of range", notInteger.getMessage());
        // Numbers the client controls never cost more than a double's arithmetic, and never wrap into the past.
        assertEquals(0.0, redis.incrByFloat("tiny", 1e-300) - 1e-300);
        assertEquals("ERR value is not a valid float", assertThrows(JedisDataException.class, () ->
            redis.sendCommand(() -> "INCRBYFLOAT".getBytes(StandardCharsets.US_ASCII), "f", "1e400")).getMessage());
        redis.set("kept", "v");
        assertEquals("ERR invalid expire time in 'set' command", assertThrows(JedisDataException.class,
            () -> redis.set("kept", "w", SetParams.setParams().px(Long.MAX_VALUE))).getMessage());
        assertEquals("ERR invalid expire time in 'expire' command", assertThrows(JedisDataException.class,
            () -> redis.expire("kept", Long.MIN_VALUE)).getMessage());
        assertEquals("v", redis.get("kept"), "an expiry time that overflows is refused, not taken as past");
        redis.set("max", Long.toString(Long.MAX_VALUE));
        assertEquals("ERR increment or decrement would overflow",
            assertThrows(JedisDataException.class, () -> redis.incr("max")).getMessage());
    }

    @Test
    void expiryTimesAreKeptSetAndCleared() throws InterruptedException
    {
        final Jedis redis = connect(1);
        redis.set("k", "v", SetParams.setParams().ex(100));
        final long ttl = redis.ttl("k");
        assertTrue(ttl > 90 && ttl <= 100, "ttl " + ttl);
        assertTrue(redis.pttl("k") > 90_000);
        assertEquals(-2, redis.ttl("none"));
        redis.set("p", "v");
        assertEquals(-1, redis.ttl("p"));
        assertEquals(1, redis.expire("p", 50));
        assertEquals(0, redis.expire("none", 50));
        assertEquals(1, redis.persist("p"));
        assertEquals(-1, redis.ttl("p"));
        redis.set("k", "w", SetParams.setParams().keepTtl());
        assertTrue(redis.ttl("k") > 90, "KEEPTTL kept the expiry time");
        redis.set("n", "1");
        assertEquals(2, redis.incr("n"));
        redis.expire("n", 100);
        redis.incr("n");
        assertTrue(redis.ttl("n") > 90, "INCR keeps the expiry time, as in Redis");
        redis.set("k", "plain");
        assertEquals(-1, redis.ttl("k"), "a plain SET clears the expiry time");
        assertEquals("plain", redis.getEx("k", GetExParams.getExParams().px(300)));
        assertTrue(redis.pttl("k") <= 300);
        assertEquals(1, redis.pexpireAt("p", System.currentTimeMillis() + 200));
        redis.setex("e", 100, "v");
        assertTrue(redis.ttl("e") > 90);
        redis.psetex("e2", 300, "v");
        final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (redis.exists("k", "p", "e2") > 0)
        {
            assertTrue(System.nanoTime() < deadlineNs, "keys with 200-300 ms expiry times still there");
            Thread.sleep(20);
        }
        assertNull(redis.get("k"));
        assertEquals(1, redis.expire("e", -1), "an expiry time in the past deletes the key");
        assertNull(redis.get("e"));
        assertEquals("ERR invalid expire time in 'set' command", assertThrows(JedisDataException.class,
            () -> redis.set("k", "v", SetParams.setParams().ex(0))).getMessage());
    }

    @Test
    void everyMemberServesTheSameKeysAndSelectPicksADatabase()
    {
        final Jedis first = connect(0);
        try (Jedis second = new Jedis("127.0.0.1", RESP_PORTS[2], TIMEOUT_MS))
        {
            first.set("shared", "1");
            assertEquals("1", second.get("shared"));
            assertEquals("OK", second.select(3));
            assertNull(second.get("shared"), "database 3 is another cache");
            second.set("shared", "3");
            assertEquals("1", first.get("shared"));
            assertEquals(1, second.dbSize());
            assertEquals("OK", second.flushDB());
            assertEquals(0, second.dbSize());
            assertEquals("1", first.get("shared"), "FLUSHDB clears only its database");
            assertEquals("ERR DB index is out of range",
                assertThrows(JedisDataException.class, () -> second.select(16)).getMessage());
        }
    }

    @Test
    void scanVisitsEveryKeyOnceWithMatchAndCount()
    {
        final Jedis redis = connect(0);
        for (int i = 0; i < 500; i++)
        {
            redis.set("user:" + i, "v");
            redis.set("other:" + i, "v");
        }
        final Set<String> seen = new HashSet<>();
        String cursor = ScanParams.SCAN_POINTER_START;
        do
        {
            final ScanResult<String> page = redis.scan(cursor, new ScanParams().match("user:*").count(100));
            for (final String key : page.getResult())
            {
                assertTrue(key.startsWith("user:"), key);
                assertTrue(seen.add(key), "returned twice: " + key);
            }
            cursor = page.getCursor();
        }
        while (!cursor.equals("0"));
        assertEquals(500, seen.size());
        assertEquals(1000, redis.dbSize());
        assertEquals("ERR invalid cursor", assertThrows(JedisDataException.class,
            () -> redis.scan("12345")).getMessage());
    }

    @Test
    void pipelinedCommandsAnswerInOrder()
    {
        final Jedis redis = connect(1);
        final Pipeline pipeline = redis.pipelined();
        final List<Response<Long>> counts = new ArrayList<>();
        final List<Response<String>> reads = new ArrayList<>();
        for (int i = 0; i < 2000; i++)
        {
            pipeline.set("p" + i, Integer.toString(i));
            counts.add(pipeline.incr("counter"));
            reads.add(pipeline.get("p" + i));
        }
        pipeline.sync();
        for (int i = 0; i < 2000; i++)
        {
            assertEquals(i + 1, counts.get(i).get());
            assertEquals(Integer.toString(i), reads.get(i).get());
        }
    }

    @Test
    void multiExecIsAllOrNothingAndWatchAbortsOnAChange()
    {
        final Jedis redis = connect(0);
        redis.set("balance:a", "100");
        redis.set("balance:b", "0");
        final Transaction tx = redis.multi();
        tx.decrBy("balance:a", 30);
        tx.incrBy("balance:b", 30);
        tx.get("balance:b");
        assertEquals(List.of(70L, 30L, "30"), tx.exec());

        redis.watch("balance:a");
        try (Jedis other = new Jedis("127.0.0.1", RESP_PORTS[2], TIMEOUT_MS))
        {
            other.set("balance:a", "0");
        }
        final Transaction watched = redis.multi();
        watched.set("balance:a", "1000");
        assertNull(watched.exec(), "EXEC after a watched key changed is aborted");
        assertEquals("0", redis.get("balance:a"));

        redis.set("t", "text");
        final Transaction partial = redis.multi();
        partial.incr("t");
        partial.set("u", "1");
        final List<Object> replies = partial.exec();
        assertTrue(replies.get(0) instanceof JedisDataException, "INCR's error is its own reply");
        assertEquals("OK", replies.get(1));
        assertEquals("1", redis.get("u"), "the other commands applied");

        final Transaction discarded = redis.multi();
        discarded.set("never", "1");
        assertEquals("OK", discarded.discard());
        assertNull(redis.get("never"));
        assertEquals("ERR EXEC without MULTI", assertThrows(JedisDataException.class,
            () -> redis.sendCommand(() -> "EXEC".getBytes(StandardCharsets.US_ASCII))).getMessage());
    }

    @Test
    void resp3ThroughHelloAndConnectionCommands()
    {
        try (Jedis resp3 = new Jedis(new HostAndPort("127.0.0.1", RESP_PORTS[2]),
            DefaultJedisClientConfig.builder().protocol(RedisProtocol.RESP3).clientName("tester")
                .socketTimeoutMillis(TIMEOUT_MS).build()))
        {
            resp3.set("k", "v");
            assertEquals("v", resp3.get("k"));
            assertNull(resp3.get("none"));
            assertEquals("tester", resp3.clientGetname());
            assertTrue(resp3.clientId() > 0);
            final String info = resp3.info();
            assertTrue(info.contains("redis_version:") && info.contains("grid_members:3"), info);
            assertTrue(resp3.info("keyspace").contains("db0:keys=1"), resp3.info("keyspace"));
            resp3.flushAll();
        }
    }

    @Test
    void unknownCommandsAndBadArgumentsGetErrorsAndTheConnectionStays() throws Exception
    {
        final Jedis redis = connect(0);
        assertEquals("ERR unknown command 'NOSUCH', with args beginning with: 'a' ",
            assertThrows(JedisDataException.class, () -> redis.sendCommand(() ->
                "NOSUCH".getBytes(StandardCharsets.US_ASCII), "a")).getMessage());
        assertEquals("ERR wrong number of arguments for 'get' command", assertThrows(JedisDataException.class,
            () -> redis.sendCommand(() -> "GET".getBytes(StandardCharsets.US_ASCII))).getMessage());
        assertEquals("ERR syntax error", assertThrows(JedisDataException.class,
            () -> redis.sendCommand(() -> "SET".getBytes(StandardCharsets.US_ASCII), "k", "v", "bogus")).getMessage());
        assertEquals("PONG", redis.ping(), "the connection still serves");

        // Inline commands, as telnet sends them; then an argument over resp.max.request.bytes closes the connection.
        try (Socket socket = new Socket("127.0.0.1", RESP_PORTS[1]))
        {
            final OutputStream out = socket.getOutputStream();
            final InputStream in = socket.getInputStream();
            out.write("SET inline hello\r\nGET inline\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals("+OK\r\n$5\r\nhello\r\n", read(in, 16));
            out.write("*2\r\n$3\r\nGET\r\n$200000\r\n".getBytes(StandardCharsets.US_ASCII));
            final String refused = read(in, 200);
            assertTrue(refused.startsWith("-ERR Protocol error: an argument of 200000 bytes"), refused);
            assertEquals(-1, in.read(), "the connection is closed after a protocol error");
        }
        // Nothing after QUIT runs, even in the same packet.
        redis.set("survivor", "1");
        try (Socket socket = new Socket("127.0.0.1", RESP_PORTS[1]))
        {
            socket.getOutputStream().write("QUIT\r\nFLUSHALL\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals("+OK\r\n", read(socket.getInputStream(), 5));
        }
        assertEquals("1", redis.get("survivor"));
    }

    private static String read(final InputStream in, final int atLeast) throws Exception
    {
        final StringBuilder text = new StringBuilder();
        final byte[] buffer = new byte[4096];
        while (text.length() < atLeast)
        {
            final int n = in.read(buffer);
            if (n < 0)
            {
                break;
            }
            text.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
            if (text.toString().endsWith("\r\n") && text.length() >= Math.min(atLeast, 16))
            {
                break;
            }
        }
        return text.toString();
    }
}
