package dev.grid.examples;

import dev.grid.admin.GridAdmin;
import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
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
