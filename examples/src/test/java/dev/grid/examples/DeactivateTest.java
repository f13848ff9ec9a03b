package dev.grid.examples;

import dev.grid.admin.GridAdmin;
import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
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
 * with {@code CLUSTER_INACTIVE} (thin client and embedded alike) until activated; deactivated and stopped, it
 * restarts without replaying its WAL, with every acknowledged write there.
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
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("accounts", Codecs.STRING,
                Codecs.STRING).partitions(64).backups(1));
            for (int i = 0; i < KEYS; i++)
            {
                written.put("k" + i, "v" + i);
            }
            cache.putAll(written);

            assertTrue(admin(cluster, "deactivate").contains("deactivated"));
            final GridException refused = assertThrows(GridException.class, () -> cache.put("k0", "late"));
            assertEquals(ErrorCode.CLUSTER_INACTIVE, refused.errorCode(), refused.getMessage());
            final GridMember embedded = cluster.members.get(2);
            final Cache<String, String> local = embedded.cache("accounts");
            assertEquals(ErrorCode.CLUSTER_INACTIVE, assertThrows(GridException.class, () -> local.get("k1"))
                .errorCode());
            assertEquals(ErrorCode.CLUSTER_INACTIVE, assertThrows(GridException.class, () ->
                embedded.transactions().begin()).errorCode());

            assertTrue(admin(cluster, "activate").contains("active"));
            cache.put("k0", "after");
            written.put("k0", "after");
            assertEquals("after", local.get("k0"));

            admin(cluster, "deactivate");
        }
        try (LocalMembers restarted = start(); GridClient client = GridClient.connect(new ClientConfiguration()
            .address(restarted.clientAddress(0))))
        {
            for (final GridMember member : restarted.members)
            {
                assertTrue(member.recoveredRecords() <= 1, "member " + member.configuration().memberId() +
                    " replayed " + member.recoveredRecords() + " WAL records after a deactivated stop");
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
