package dev.grid.examples;

import dev.grid.admin.GridAdmin;
import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.client.ClientProtocol;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The client protocol over TLS: a member serving with a certificate from a PKCS12 key store (made here with the JDK's
 * keytool, for 127.0.0.1), a client and the admin tool trusting it, and the refusals when a client does not trust
 * the certificate or does not speak TLS.
 */
class TlsTest
{
    private static final String PASSWORD = "changeit";
    private static Path dir;
    private static LocalMembers cluster;

    @BeforeAll
    static void start() throws Exception
    {
        dir = Files.createTempDirectory("grid-tls");
        keytool("-genkeypair", "-alias", "member", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
            "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-keystore",
            dir.resolve("member.p12").toString(), "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD);
        keytool("-exportcert", "-alias", "member", "-keystore", dir.resolve("member.p12").toString(), "-storepass",
            PASSWORD, "-file", dir.resolve("member.cer").toString());
        keytool("-importcert", "-noprompt", "-alias", "member", "-file", dir.resolve("member.cer").toString(),
            "-keystore", dir.resolve("trust.p12").toString(), "-storetype", "PKCS12", "-storepass", PASSWORD);
        cluster = LocalMembers.start(1, config -> config.clientTls(dir.resolve("member.p12"), PASSWORD));
    }

    @AfterAll
    static void stop()
    {
        if (cluster != null)
        {
            cluster.close();
        }
        MemberProcesses.deleteRecursively(dir.toFile());
    }

    private static void keytool(final String... args) throws IOException, InterruptedException
    {
        final List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"),
            "bin", "keytool").toString()));
        command.addAll(List.of(args));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0, "keytool failed: " + output);
    }

    @Test
    void aClientThatTrustsTheMembersCertificateWorksOverTls()
    {
        try (GridClient client = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0))
            .tls(dir.resolve("trust.p12"), PASSWORD)))
        {
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("secret", Codecs.STRING,
                Codecs.STRING).partitions(8));
            cache.put("k", "over tls");
            assertEquals("over tls", cache.get("k"));
        }
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        assertEquals(0, GridAdmin.run(new String[] {"--host", cluster.clientAddress(0), "--tls", "--truststore",
            dir.resolve("trust.p12").toString(), "--truststore-password", PASSWORD, "caches", "--json"},
            new PrintWriter(out, true), new PrintWriter(err, true)), err::toString);
        assertTrue(out.toString().contains("\"secret\""), out.toString());
    }

    /**
     * Issue 17, item 4 over TLS: answers used to be written by the thread that completed the request (the member's
     * engine thread among them), blocking while a client did not read. A client that sends thousands of GETs of a
     * 32 KiB value and reads nothing is cut off, and a well-behaved client is served all along.
     */
    @Test
    void aTlsClientThatNeverReadsIsCutOffWithoutBlockingTheMember() throws Exception
    {
        try (GridClient good = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0))
            .tls(dir.resolve("trust.p12"), PASSWORD)))
        {
            final Cache<String, String> cache = good.createCache(new CacheConfiguration<>("stuffed", Codecs.STRING,
                Codecs.STRING).partitions(8));
            final String big = "b".repeat(32 * 1024);
            cache.put("big", big);
            final KeyStore trust = KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(dir.resolve("trust.p12")))
            {
                trust.load(in, PASSWORD.toCharArray());
            }
            final TrustManagerFactory trusted = TrustManagerFactory.getInstance(
                TrustManagerFactory.getDefaultAlgorithm());
            trusted.init(trust);
            final SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trusted.getTrustManagers(), null);
            final String[] address = cluster.clientAddress(0).split(":");
            try (SSLSocket socket = (SSLSocket)context.getSocketFactory().createSocket(address[0],
                Integer.parseInt(address[1])))
            {
                socket.setSoTimeout(5_000);
                final OutputStream out = socket.getOutputStream();
                final DataInputStream in = new DataInputStream(socket.getInputStream());
                // [length][HANDSHAKE][id][magic][min][max][no user][no password][no name]
                final byte[] handshake = ByteBuffer.allocate(4 + 29).order(ByteOrder.LITTLE_ENDIAN).putInt(29)
                    .put((byte)ClientProtocol.HANDSHAKE).putLong(1).putInt(ClientProtocol.MAGIC).putShort((short)1)
                    .putShort((short)1).putInt(-1).putInt(-1).putInt(-1).array();
                out.write(handshake);
                out.flush();
                final byte[] answer = new byte[Integer.reverseBytes(in.readInt())];
                in.readFully(answer);
                assertEquals(ClientProtocol.OK, answer[0], "handshake");
                final byte[] name = "stuffed".getBytes(StandardCharsets.UTF_8);
                final byte[] key = "big".getBytes(StandardCharsets.UTF_8);
                final int frame = 9 + 4 + name.length + 4 + key.length;
                final ByteBuffer requests = ByteBuffer.allocate(3_000 * (4 + frame)).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < 3_000; i++)
                {
                    requests.putInt(frame).put((byte)ClientProtocol.GET).putLong(i + 2).putInt(name.length).put(name)
                        .putInt(key.length).put(key);
                }
                final long cutOffBefore = good.admin().metrics().get("client.cutOff");
                final Thread writer = new Thread(() ->
                {
                    try
                    {
                        out.write(requests.array());
                        out.flush();
                    }
                    catch (final IOException ex)
                    {
                        // Cut off: what this test expects.
                    }
                });
                writer.setDaemon(true);
                writer.start();
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (good.admin().metrics().get("client.cutOff") == cutOffBefore)
                {
                    assertEquals(big, cache.get("big"), "the member serves others meanwhile");
                    assertTrue(System.nanoTime() < deadline, "the connection was not cut off within 30 s");
                }
            }
            assertEquals(big, cache.get("big"));
        }
    }

    @Test
    void aClientThatDoesNotTrustTheCertificateOrSpeaksPlainTcpIsRefused()
    {
        final GridException untrusted = assertThrows(GridException.class, () -> GridClient.connect(
            new ClientConfiguration().address(cluster.clientAddress(0)).tls(null, null)));
        assertEquals(ErrorCode.AUTHENTICATION_FAILED, untrusted.errorCode(), untrusted.getMessage());
        final GridException plain = assertThrows(GridException.class, () -> GridClient.connect(
            new ClientConfiguration().address(cluster.clientAddress(0)).connectTimeoutMs(2_000)));
        // The member's TLS layer cannot parse a plain handshake and drops the connection.
        assertEquals(ErrorCode.CLUSTER_UNREACHABLE, plain.errorCode(), plain.getMessage());
        // The member keeps serving.
        try (GridClient client = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0))
            .tls(dir.resolve("trust.p12"), PASSWORD)))
        {
            assertEquals(1, client.admin().clusterState().members().size());
        }
    }
}
