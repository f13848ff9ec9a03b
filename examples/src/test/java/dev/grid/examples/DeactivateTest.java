package dev.grid.examples;

import dev.grid.admin.GridAdmin;
import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.Transaction;
import dev.grid.core.WalMode;
import dev.grid.node.GridMember;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Deactivation, the graceful stop of a whole cluster: a deactivated cluster refuses cache operations and transactions
 * with {@code CLUSTER_INACTIVE} (thin client and embedded alike, a transaction made before but begun after included)
 * until activated; deactivated and stopped, it restarts replaying none of its writes, with every acknowledged one
 * there.
 */
class DeactivateTest
{
    private static final int KEYS = 2_000;

    @TempDir
    Path data;

    @Test
    void aDeactivatedClusterRefusesOperationsAndRestartsWithoutRecovery()
    {
        final Map<String, String> written = new HashMap<>();
        try (LocalMembers cluster = start(); GridClient client = GridClient.connect(new ClientConfiguration()
            .address(cluster.clientAddress(0)).address(cluster.clientAddress(1))))
        {
            // A persistent cluster with its baseline: members that stop are waited for, not replaced (without one,
            // the members still running would take over the partitions of those that stopped first).
            client.admin().changeBaseline(1, java.util.List.of("m0", "m1", "m2"), -1);
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("accounts", Codecs.STRING,
                Codecs.STRING).partitions(64).backups(1));
            for (int i = 0; i < KEYS; i++)
            {
                written.put("k" + i, "v" + i);
            }
            cache.putAll(written);

            final GridMember embedded = cluster.members.get(2);
            final Cache<String, String> local = embedded.cache("accounts");
            // A transaction object made before the deactivation that reaches the engine only after it.
            final Transaction early = embedded.transactions().begin();

            assertTrue(admin(cluster, "deactivate").contains("the cluster is deactivated"));
            final GridException refused = assertThrows(GridException.class, () -> cache.put("k0", "late"));
            assertEquals(ErrorCode.CLUSTER_INACTIVE, refused.errorCode(), refused.getMessage());
            assertEquals(ErrorCode.CLUSTER_INACTIVE, assertThrows(GridException.class, () -> local.get("k1"))
                .errorCode());
            assertEquals(ErrorCode.CLUSTER_INACTIVE, assertThrows(GridException.class, () ->
                early.put(local, "k2", "late")).errorCode());
            early.close();
            try (Transaction tx = embedded.transactions().begin())
            {
                assertEquals(ErrorCode.CLUSTER_INACTIVE, assertThrows(GridException.class, () ->
                    tx.get(local, "k3")).errorCode());
            }

            assertTrue(admin(cluster, "activate").contains("the cluster is active"));
            assertEquals("v2", local.get("k2"), "nothing of the refused transaction was applied");
            cache.put("k0", "after");
            written.put("k0", "after");
            assertEquals("after", local.get("k0"));

            admin(cluster, "deactivate");
        }
        try (LocalMembers restarted = start(); GridClient client = GridClient.connect(new ClientConfiguration()
            .address(restarted.clientAddress(0))))
        {
            // Each member replays only what the stop itself logged after the checkpoint: for each member that left
            // before it, an ownership record and at most a lineage epoch per copy it holds (members close in order, so
            // at most two departures); none of the writes (about 1,300 updates of the 2,000 keys' copies were logged
            // by each member).
            for (final GridMember member : restarted.members)
            {
                final int copies = member.localCopies("accounts").size();
                assertTrue(member.recoveredRecords() <= 2L * (copies + 1) + 1, "member " +
                    member.configuration().memberId() +
                    " replayed " + member.recoveredRecords() + " WAL records after a deactivated stop (it holds " +
                    copies + " copies; " + KEYS + " keys were written)");
            }
            final Cache<String, String> cache = client.cache("accounts");
            written.forEach((key, value) -> assertEquals(value, cache.get(key), key));
            cache.put("k1", "active again");
            assertEquals("active again", cache.get("k1"), "a restarted member starts active");
        }
    }

    private LocalMembers start()
    {
        return LocalMembers.start(3, config -> config.clusterName("deactivated").walMode(WalMode.LOG_ONLY)
            .dataDirectory(data.resolve(config.memberId())));
    }

    private static String admin(final LocalMembers cluster, final String command)
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final int code = GridAdmin.run(new String[] {"--host", cluster.clientAddress(1), command},
            new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, code, command + ": " + out + err);
        return out.toString();
    }
}
