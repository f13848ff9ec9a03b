package dev.grid.examples;

import dev.grid.core.testing.LoopbackPorts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisException;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Redis protocol from outside: three member processes each serving RESP, a Jedis client that fails over to
 * another member's port when the one it uses is SIGKILLed (every acknowledged write still there with its value), and
 * Debian's {@code redis-cli} and {@code redis-benchmark} against the cluster (skipped where redis-tools is not
 * installed: {@code apt-get install redis-tools}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RespProcessTest
{
    private static int[] respPorts(final int n)
    {
        final int[] ports = new int[n];
        for (int i = 0; i < n; i++)
        {
            ports[i] = LoopbackPorts.next();
        }
        return ports;
    }

    private static int[] ports;
    private static MemberProcesses cluster;

    /** One cluster for both tests (a cluster start costs seconds): the tools first, then the SIGKILL. */
    @BeforeAll
    static void startCluster() throws IOException
    {
        ports = respPorts(3);
        cluster = MemberProcesses.start(ports.length, i -> "resp.port = " + ports[i] +
            "\nresp.cache.partitions = 64\n");
    }

    @AfterAll
    static void stopCluster()
    {
        if (cluster != null)
        {
            cluster.close();
        }
    }

    @Test
    @Order(2)
    void aClientFailsOverToAnotherMembersPortAndEveryAcknowledgedWriteStays() throws Exception
    {
        try
        {
            try (Jedis clean = new Jedis("127.0.0.1", ports[0], 30_000))
            {
                clean.flushAll();
            }
            final Map<String, String> acknowledged = new LinkedHashMap<>();
            int port = 0;
            Jedis redis = new Jedis("127.0.0.1", ports[port], 30_000);
            int failovers = 0;
            for (int i = 0; i < 3000; i++)
            {
                if (i == 1000)
                {
                    cluster.kill(cluster.members.get(0)); // the member this client talks to
                }
                final String key = "k" + (i % 700);
                final String value = "v" + i;
                while (true)
                {
                    try
                    {
                        redis.set(key, value);
                        acknowledged.put(key, value);
                        break;
                    }
                    catch (final JedisException ex)
                    {
                        // The member is gone (or its partitions moving): reconnect to the next member, write again.
                        redis.close();
                        port = (port + 1) % ports.length;
                        redis = new Jedis("127.0.0.1", ports[port], 30_000);
                        failovers++;
                        assertTrue(failovers < 200, "the client found no member to write to: " + ex);
                    }
                }
            }
            redis.close();
            assertTrue(failovers > 0, "the client never had to fail over");
            try (Jedis check = new Jedis("127.0.0.1", ports[2], 30_000))
            {
                for (final Map.Entry<String, String> entry : acknowledged.entrySet())
                {
                    assertEquals(entry.getValue(), check.get(entry.getKey()), "acknowledged write of " +
                        entry.getKey() + " lost");
                }
                assertEquals(acknowledged.size(), check.dbSize());
            }
        }
        catch (final Throwable failure)
        {
            cluster.printLogTails();
            throw failure;
        }
    }

    @Test
    @Order(1)
    void redisCliAndRedisBenchmarkWorkAgainstTheCluster() throws Exception
    {
        Assumptions.assumeTrue(new File("/usr/bin/redis-cli").canExecute() &&
            new File("/usr/bin/redis-benchmark").canExecute(), "redis-tools is not installed");
        try
        {
            final String port = Integer.toString(ports[1]);
            assertEquals("OK\nhello\n1\n2\nstring\n", cli(port, "SET greeting hello", "GET greeting", "INCR visits",
                "INCR visits", "TYPE greeting"));
            // A scripted session through stdin, as an operator pipes one in.
            final Path script = Files.createTempFile(cluster.dir, "session", ".redis");
            Files.writeString(script, "SET a 1\nMSET b 2 c 3\nMGET a b c\nEXPIRE a 100\nTTL a\nDEL a b c\nDBSIZE\n" +
                "NOSUCHCOMMAND x\nPING\n");
            final Process session = new ProcessBuilder("redis-cli", "-h", "127.0.0.1", "-p", port)
                .redirectInput(script.toFile()).redirectErrorStream(true).start();
            assertTrue(session.waitFor(30, TimeUnit.SECONDS));
            final String output = new String(session.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals("OK\nOK\n1\n2\n3\n1\n100\n3\n2\nERR unknown command 'NOSUCHCOMMAND', with args " +
                "beginning with: 'x' \n\nPONG\n", output, "redis-cli prints an error and an empty line");

            final Process benchmark = new ProcessBuilder("redis-benchmark", "-h", "127.0.0.1", "-p", port, "-q",
                "-n", "2000", "-c", "20", "-P", "16", "-t", "set,get,incr,mset").redirectErrorStream(true).start();
            assertTrue(benchmark.waitFor(120, TimeUnit.SECONDS), "redis-benchmark did not finish");
            final String report = new String(benchmark.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, benchmark.exitValue(), report);
            for (final String test : List.of("SET", "GET", "INCR", "MSET"))
            {
                assertTrue(report.contains(test) && report.contains("requests per second"), report);
            }
            assertTrue(!report.toLowerCase().contains("error"), report);
        }
        catch (final Throwable failure)
        {
            cluster.printLogTails();
            throw failure;
        }
    }

    /** Run redis-cli once per command, as a shell script would; its output without a terminal is the raw reply. */
    private static String cli(final String port, final String... commands) throws Exception
    {
        final StringBuilder output = new StringBuilder();
        for (final String command : commands)
        {
            final List<String> line = new java.util.ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1", "-p", port));
            line.addAll(List.of(command.split(" ")));
            final Process process = new ProcessBuilder(line).redirectErrorStream(true).start();
            assertTrue(process.waitFor(30, TimeUnit.SECONDS));
            output.append(new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
        return output.toString();
    }
}
