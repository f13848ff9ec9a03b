package dev.grid.resp;

import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.PasswordHash;
import dev.grid.core.testing.LoopbackPorts;
import dev.grid.node.GridMember;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Who may use a member's RESP port: AUTH against the member's users (NOAUTH before, WRONGPASS for a wrong password,
 * HELLO with AUTH), TLS when the member has a key store, and the connection limit.
 */
class RespSecurityTest
{
    private static final String PASSWORD = "changeit";

    private static GridMember start(final int respPort, final java.util.function.Consumer<MemberConfiguration> extra)
    {
        final int port = LoopbackPorts.next();
        final MemberConfiguration config = new MemberConfiguration("s" + port).port(port).addSeed("127.0.0.1:" + port)
            .setting("resp.port", Integer.toString(respPort)).setting("resp.cache.partitions", "16");
        extra.accept(config);
        return GridMember.start(config);
    }

    @Test
    void aMemberWithUsersAsksForAuthBeforeAnyCommand() throws IOException
    {
        final int respPort = LoopbackPorts.next();
        final String hash = PasswordHash.hash("s3cret", "0123456789abcdef".getBytes(), 1_000);
        try (GridMember member = start(respPort, c -> c.clientUser("app", MemberConfiguration.ClientRole.USER, hash));
             Jedis redis = new Jedis("127.0.0.1", respPort, 30_000))
        {
            assertEquals("NOAUTH Authentication required.",
                assertThrows(JedisDataException.class, () -> redis.get("k")).getMessage());
            assertEquals("WRONGPASS invalid username-password pair or user is disabled.",
                assertThrows(JedisDataException.class, () -> redis.auth("app", "wrong")).getMessage());
            // Before AUTH a command may not be large: 20 arguments close the connection.
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", respPort))
            {
                socket.getOutputStream().write("*20\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                final byte[] line = new byte[200];
                final int n = socket.getInputStream().read(line);
                assertTrue(new String(line, 0, Math.max(0, n), java.nio.charset.StandardCharsets.UTF_8)
                    .startsWith("-ERR Protocol error: a command of 20 arguments; at most 16 before AUTH"));
            }
            assertEquals("OK", redis.auth("app", "s3cret"));
            assertEquals("OK", redis.set("k", "v"));
            try (Jedis hello = new Jedis(new HostAndPort("127.0.0.1", respPort), DefaultJedisClientConfig.builder()
                .user("app").password("s3cret").socketTimeoutMillis(30_000).build()))
            {
                assertEquals("v", hello.get("k"), "a client that authenticates as it connects");
            }
        }
    }

    @Test
    void aPortAlreadyTakenStopsTheMemberWithAnErrorThatNamesIt() throws IOException
    {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1,
            java.net.InetAddress.getByName("127.0.0.1")))
        {
            final InvalidConfigurationException refused = assertThrows(InvalidConfigurationException.class,
                () -> start(taken.getLocalPort(), c -> { }));
            assertTrue(refused.getMessage().contains("cannot serve RESP on 127.0.0.1:" + taken.getLocalPort()),
                refused.getMessage());
        }
    }

    @Test
    void tlsWhenTheMemberHasAKeyStoreAndAConnectionLimit() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-resp-tls");
        try
        {
            tlsWithAKeyStoreIn(dir);
        }
        finally
        {
            Files.deleteIfExists(dir.resolve("member.p12"));
            Files.deleteIfExists(dir);
        }
    }

    private static void tlsWithAKeyStoreIn(final Path dir) throws Exception
    {
        keytool("-genkeypair", "-alias", "member", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
            "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-keystore",
            dir.resolve("member.p12").toString(), "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD);
        final int respPort = LoopbackPorts.next();
        try (GridMember member = start(respPort, c -> c.clientTls(dir.resolve("member.p12"), PASSWORD)
            .setting("resp.max.connections", "2")))
        {
            final KeyStore trust = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(dir.resolve("member.p12")))
            {
                trust.load(in, PASSWORD.toCharArray());
            }
            final TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(
                TrustManagerFactory.getDefaultAlgorithm());
            trustManagers.init(trust);
            final SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, trustManagers.getTrustManagers(), null);
            final DefaultJedisClientConfig tls = DefaultJedisClientConfig.builder().ssl(true).socketTimeoutMillis(30_000)
                .sslSocketFactory(ssl.getSocketFactory()).build();
            final List<Jedis> open = new ArrayList<>();
            try
            {
                for (int i = 0; i < 2; i++)
                {
                    final Jedis redis = new Jedis(new HostAndPort("127.0.0.1", respPort), tls);
                    open.add(redis);
                    assertEquals("OK", redis.set("k" + i, "v"));
                }
                try (java.net.Socket third = ssl.getSocketFactory().createSocket("127.0.0.1", respPort))
                {
                    final byte[] line = new byte[64];
                    final int n = third.getInputStream().read(line);
                    assertEquals("-ERR max number of clients reached\r\n", new String(line, 0, Math.max(0, n),
                        java.nio.charset.StandardCharsets.UTF_8), "a connection over the limit is told why");
                }
                try (Jedis plain = new Jedis("127.0.0.1", respPort))
                {
                    open.get(0).close();
                    open.remove(0);
                    assertThrows(JedisException.class, plain::ping, "plain text on a TLS port");
                }
            }
            finally
            {
                open.forEach(Jedis::close);
            }
        }
    }

    private static void keytool(final String... args) throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin",
            "keytool").toString()));
        command.addAll(List.of(args));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0, "keytool failed: " + output);
    }
}
