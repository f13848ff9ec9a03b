package dev.grid.examples;

import dev.grid.admin.GridAdmin;
import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeptCopy;
import dev.grid.core.KeptCopyFiles;
import dev.grid.core.MergeOperators;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.node.Passwords;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The thin client and the admin tool against three member processes on loopback: every admin command's exit code and
 * JSON, the admin role, every kind of client request, partition awareness (through each member's metrics), and
 * failover after the member the client first connected to is killed with SIGKILL.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterProcessTest
{
    private static MemberProcesses cluster;
    private static GridClient client;

    @BeforeAll
    static void start() throws IOException
    {
        cluster = MemberProcesses.start(3, "client.user.root = ADMIN:" + Passwords.newHash("root-pw") +
            "\nclient.user.alice = USER:" + Passwords.newHash("alice-pw") + "\n");
        final ClientConfiguration config = new ClientConfiguration().credentials("root", "root-pw");
        cluster.members.forEach(m -> config.address(m.clientAddress));
        client = GridClient.connect(config);
        client.createCache(new CacheConfiguration<>("e2e", Codecs.STRING, Codecs.STRING).backups(1).partitions(64));
    }

    @AfterAll
    static void stop()
    {
        if (client != null)
        {
            client.close();
        }
        if (cluster != null)
        {
            cluster.close();
        }
    }

    /** Run the admin tool; returns {exit code, output, errors}. */
    private static Object[] admin(final String user, final String password, final String... args)
    {
        final List<String> line = new ArrayList<>(List.of("--host", cluster.members.get(1).clientAddress));
        if (user != null)
        {
            line.addAll(List.of("--user", user, "--password", password));
        }
        line.addAll(List.of(args));
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final int code = GridAdmin.run(line.toArray(new String[0]), new PrintWriter(out, true),
            new PrintWriter(err, true));
        return new Object[] {code, out.toString().trim(), err.toString().trim()};
    }

    private static String adminOk(final String... args)
    {
        final Object[] result = admin("root", "root-pw", args);
        assertEquals(0, result[0], () -> String.join(" ", args) + ": " + result[1] + " / " + result[2]);
        return (String)result[1];
    }

    @Test
    @Order(1)
    void everyAdminCommandAnswersWithItsExitCodeAndJson()
    {
        final String state = adminOk("state", "--json");
        assertTrue(state.startsWith("{\"topologyVersion\":") && state.contains("\"memberId\":\"m0\"") &&
            state.contains("\"memberId\":\"m2\""), state);
        // Issue 16: the answering member's quorum (three members, a majority of three seeds needed).
        assertTrue(state.contains("\"quorum\":{\"have\":3,\"need\":2,\"held\":true,\"writesRefused\":0"),
            state);
        assertTrue(adminOk("caches", "--json").contains("\"e2e\""));
        assertTrue(adminOk("baseline", "--json").contains("\"set\":false"));
        assertTrue(adminOk("baseline", "set", "m0", "m1", "m2", "--json")
            .contains("\"members\":[\"m0\",\"m1\",\"m2\"]"));
        assertTrue(adminOk("baseline", "remove", "m2", "--json").contains("\"outside\":[\"m2\"]"));
        assertTrue(adminOk("baseline", "add", "m2", "--json").contains("\"members\":[\"m0\",\"m1\",\"m2\"]"));
        assertTrue(adminOk("baseline", "auto-adjust", "60000", "--json").contains("\"autoAdjustMs\":60000"));
        assertTrue(adminOk("baseline", "auto-adjust", "off", "--json").contains("\"autoAdjustMs\":-1"));
        assertTrue(adminOk("baseline").contains("m1               ONLINE"), adminOk("baseline"));
        final String partitions = adminOk("partitions", "e2e", "--json");
        assertTrue(partitions.contains("{\"partition\":63,") && partitions.contains("\"primary\":true") &&
            partitions.contains("\"state\":\"OWNING\""), partitions);
        assertTrue(adminOk("partitions", "e2e").contains("primaries per member: {"));
        assertTrue(adminOk("rebalance", "--wait", "--json").startsWith("{\"active\":false"));
        final String verify = adminOk("verify", "e2e", "--json");
        assertTrue(verify.contains("\"partitionsChecked\":64") && verify.contains("\"clean\":true"), verify);
        assertTrue(adminOk("lost", "e2e", "--json").contains("\"lost\":[]"));
        assertTrue(adminOk("reset-lost", "e2e", "--json").contains("\"reset\":[]"));
        // An active cluster: activation changes nothing (the waiting case is RebalanceScenarioTest's).
        assertTrue(adminOk("activate", "--json").contains("\"activated\":true"));
        final String metrics = adminOk("metrics", "--member", "m2", "--json");
        assertTrue(metrics.contains("\"servedAsPrimary\":") && metrics.contains("\"quorum.held\":1") &&
            metrics.contains("\"quorum.writesRefused\":0"), metrics);
        assertTrue(adminOk("verify", "e2e").contains("no conflict"));

        final Object[] denied = admin("alice", "alice-pw", "reset-lost", "e2e");
        assertEquals(5, denied[0], () -> "a user without the admin role: " + denied[2]);
        assertTrue(((String)denied[2]).contains("PERMISSION_DENIED"), (String)denied[2]);
        assertEquals(5, admin("alice", "alice-pw", "activate")[0], "activation needs the admin role");
        assertEquals(0, admin("alice", "alice-pw", "state")[0], "reading is allowed");
        assertEquals(5, admin("alice", "wrong", "state")[0], "a wrong password");
        assertEquals(5, admin(null, null, "state")[0], "no credentials");
        assertEquals(2, admin("root", "root-pw", "no-such-command")[0], "bad usage");
        assertEquals(2, admin("root", "root-pw", "baseline", "frobnicate")[0], "bad usage");
        assertEquals(1, admin("root", "root-pw", "verify", "no-such-cache")[0], "the cluster refused");
        final Object[] noTimeout = admin("root", "root-pw", "--answer-timeout-s", "0", "state");
        assertEquals(2, noTimeout[0], "a timeout that is not positive is bad usage");
        assertTrue(((String)noTimeout[2]).contains("--answer-timeout-s must be positive, not 0"), (String)noTimeout[2]);
        // Issue 21: members with versions and uptime, caches created with options and destroyed, the configuration,
        // shell completion.
        final String members = adminOk("members", "--json");
        assertTrue(members.contains("\"version\":\"0.1.0-SNAPSHOT\"") && members.contains("\"uptimeMs\":") &&
            members.contains("\"memberId\":\"m2\""), members);
        assertTrue(adminOk("members").contains("0.1.0-SNAPSHOT"));
        assertTrue(adminOk("cache", "create", "opts", "--partitions", "32", "--backups", "2", "--expiry",
            "created:10m", "--eviction", "lru:5000", "--json").contains("\"created\":\"opts\""));
        final String created = adminOk("partitions", "opts", "--json");
        assertTrue(created.contains("{\"partition\":31,") && !created.contains("{\"partition\":32,"), created);
        assertEquals(2, admin("root", "root-pw", "cache", "destroy", "opts")[0], "destroy needs --yes");
        assertEquals(2, admin("root", "root-pw", "cache", "create", "bad", "--expiry", "forever")[0],
            "a malformed option is bad usage");
        assertEquals(2, admin("root", "root-pw", "cache", "create", "bad", "--key-codec", "yaml")[0]);
        assertEquals(5, admin("alice", "alice-pw", "cache", "create", "mine")[0], "creation needs the admin role");
        assertTrue(adminOk("cache", "destroy", "opts", "--yes", "--json").contains("\"destroyed\":\"opts\""));
        assertTrue(!adminOk("caches").contains("opts"));
        final String config = adminOk("config", "--member", "m2");
        assertTrue(config.contains("member.id = m2") && config.contains("client.user.alice = USER:********") &&
            !config.contains("pbkdf2"), config);
        assertEquals(5, admin("alice", "alice-pw", "config")[0], "the configuration is for admins");
        assertTrue(adminOk("completion").contains("complete -F"), "a bash completion script");
        final Object[] inMemory = admin("root", "root-pw", "snapshot", "create", "s1");
        assertEquals(1, inMemory[0], "in-memory members keep no snapshots");
        assertTrue(((String)inMemory[2]).contains("SNAPSHOT_UNAVAILABLE"), (String)inMemory[2]);
        assertEquals(2, admin("root", "root-pw", "snapshot", "create")[0], "a snapshot needs a name");
        assertEquals(2, admin("root", "root-pw", "snapshot", "frobnicate", "s1")[0], "bad usage");
        assertEquals(5, admin("alice", "alice-pw", "snapshot", "create", "s1")[0], "creation needs the admin role");
        final StringWriter err = new StringWriter();
        assertEquals(4, GridAdmin.run(new String[] {"--host", "127.0.0.1:" + closedPort(), "state"},
            new PrintWriter(new StringWriter()), new PrintWriter(err, true)), "nothing listens there");
        assertTrue(err.toString().contains("CLUSTER_UNREACHABLE"), err.toString());
    }

    /**
     * Issue 16: the copies a member kept when a merge dropped them (here a file made as a member makes it) are
     * compared key by key with the cluster, and written back without clobbering: absent ones by put-if-absent,
     * differing ones only with --overwrite.
     */
    @Test
    @Order(2)
    void keptCopiesAreComparedWithTheClusterAndRestored() throws IOException
    {
        final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("restored", Codecs.STRING,
            Codecs.STRING).partitions(8));
        cache.put("kept-equal", "same");
        cache.put("kept-different", "survivor");
        final Path dir = Files.createTempDirectory("kept");
        try
        {
            final Path file = KeptCopyFiles.write(dir, new KeptCopy("restored", 1, "string", "string", 3, 9,
                "test", List.of(bytes("kept-absent"), bytes("kept-equal"), bytes("kept-different")),
                List.of(bytes("lost"), bytes("same"), bytes("dissolved"))), Instant.EPOCH);
            final String compared = adminOk("kept", file.toString(), "--json");
            assertTrue(compared.contains("\"entries\":3,\"equal\":1,\"absent\":1,\"different\":1,\"written\":0"),
                compared);
            assertNull(cache.get("kept-absent"), "comparing wrote");
            assertTrue(adminOk("kept", file.toString()).contains("1 absent [kept-absent], 1 different " +
                "[kept-different]"), adminOk("kept", file.toString()));
            assertTrue(adminOk("kept", file.toString(), "--restore", "--json").contains("\"written\":1"));
            assertEquals("lost", cache.get("kept-absent"));
            assertEquals("survivor", cache.get("kept-different"), "restored over a differing value without --overwrite");
            assertTrue(adminOk("kept", file.toString(), "--restore", "--overwrite", "--json")
                .contains("\"equal\":2,\"absent\":0,\"different\":1,\"written\":1"));
            assertEquals("dissolved", cache.get("kept-different"));
            assertEquals(1, admin("root", "root-pw", "kept", dir.resolve("missing.kept").toString())[0],
                "a file that is not there");
        }
        finally
        {
            try (Stream<Path> files = Files.list(dir))
            {
                for (final Path file : files.toList())
                {
                    Files.delete(file);
                }
            }
            Files.delete(dir);
        }
    }

    private static byte[] bytes(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    @Order(2)
    void theThinClientServesEveryRequestFromThePrimaries()
    {
        final Cache<String, String> cache = client.cache("e2e");
        cache.put("warm", "up");
        final long[] before = routed();
        for (int i = 0; i < 300; i++)
        {
            cache.put("k" + i, "v" + i);
        }
        for (int i = 0; i < 300; i++)
        {
            assertEquals("v" + i, cache.get("k" + i));
        }
        final long[] after = routed();
        assertEquals(600, after[0] - before[0], "served as primary");
        assertEquals(0, after[1] - before[1], "forwarded between members");
        assertTrue(cache.putIfAbsent("new", "1"));
        assertFalse(cache.putIfAbsent("new", "x"));
        assertTrue(cache.replace("new", "1", "2"));
        assertTrue(cache.remove("new", "2"));
        assertTrue(cache.putIfAbsent("gone", "1"));
        assertTrue(cache.containsKey("gone"));
        assertTrue(cache.remove("gone"));
        assertFalse(cache.containsKey("gone"));
        cache.putAll(Map.of("p1", "x", "p2", "y"));
        assertEquals(Map.of("k1", "v1", "p2", "y"), cache.getAll(List.of("k1", "p2", "absent")));
        assertEquals("v5", cache.getAsync("k5").join());
        cache.removeAsync("p1").join();
        cache.remove("p2");
        assertEquals(301, cache.size());
        // Merge with a built-in operator (a thin client cannot register code).
        final Cache<String, Long> counters = client.createCache(new CacheConfiguration<>("counters", Codecs.STRING,
            Codecs.LONG).partitions(16).mergeOperator(MergeOperators.LONG_ADD, MergeOperators.longAdd()));
        assertEquals(5L, counters.merge("hits", 5L));
        assertEquals(7L, counters.merge("hits", 2L));
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(10)))
        {
            tx.put(cache, "k1", tx.get(cache, "k1") + "+tx");
            tx.put(cache, "k2", "tx");
            tx.commit();
        }
        assertEquals("v1+tx", cache.get("k1"));
        assertEquals("tx", cache.get("k2"));
    }

    @Test
    @Order(3)
    void anOperatorListsAndKillsATransaction()
    {
        final Cache<String, String> cache = client.cache("e2e");
        final Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(60));
        tx.put(cache, "held", "by-tx");
        final String list = adminOk("tx", "list", "--json");
        final Matcher found = Pattern.compile("\\{\"memberId\":\"(m[0-9])\",\"id\":([0-9]+),\"state\":\"ACTIVE\"" +
            "[^}]*\"lockedKeys\":1\\}").matcher(list);
        assertTrue(found.find(), list);
        assertTrue(adminOk("tx").contains("ACTIVE"));
        final Object[] denied = admin("alice", "alice-pw", "tx", "kill", found.group(1), found.group(2));
        assertEquals(5, denied[0], () -> (String)denied[2]);
        assertEquals(1, admin("root", "root-pw", "tx", "kill", found.group(1), "999999")[0], "no such transaction");
        assertTrue(adminOk("tx", "kill", found.group(1), found.group(2)).contains("rolled back"));
        final GridException aborted = assertThrows(GridException.class, tx::commit);
        assertEquals(ErrorCode.TX_ROLLED_BACK, aborted.errorCode(), aborted.toString());
        assertNull(cache.get("held"), "a killed transaction wrote nothing");
        assertTrue(adminOk("tx", "list", "--json").contains("\"transactions\":[]"));
    }

    @Test
    @Order(4)
    void theClientFailsOverWhenTheMemberItConnectedToIsKilled() throws InterruptedException
    {
        final Cache<String, String> cache = client.cache("e2e");
        for (int i = 0; i < 100; i++)
        {
            cache.put("f" + i, "before");
        }
        cluster.kill(cluster.members.get(0));
        // Every key stays readable and writable: requests to the dead member go again to the others, which take
        // over its partitions once they notice it is gone.
        for (int i = 0; i < 100; i++)
        {
            assertEquals("before", cache.get("f" + i), "f" + i);
            cache.put("f" + i, "after");
        }
        for (int i = 0; i < 100; i++)
        {
            assertEquals("after", cache.get("f" + i));
        }
        assertTrue(!client.connectedMembers().contains("m0"), client.connectedMembers().toString());
        assertTrue(adminOk("verify", "e2e").contains("no conflict"));
    }

    private static long[] routed()
    {
        final long[] sums = new long[2];
        for (final MemberProcesses.Member member : cluster.members)
        {
            final Map<String, Long> metrics = client.admin().onMember(member.id).metrics();
            sums[0] += metrics.get("servedAsPrimary");
            sums[1] += metrics.get("forwarded");
        }
        return sums;
    }

    private static int closedPort()
    {
        try (ServerSocket socket = new ServerSocket(0))
        {
            return socket.getLocalPort();
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
