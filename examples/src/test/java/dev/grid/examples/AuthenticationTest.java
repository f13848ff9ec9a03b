package dev.grid.examples;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.MemberConfiguration;
import dev.grid.node.Passwords;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Members that list users: a wrong password and missing credentials are refused; a user without the admin role may
 * read and write but not change the cluster; an admin may.
 */
class AuthenticationTest
{
    private static LocalMembers cluster;

    @BeforeAll
    static void start()
    {
        final String aliceHash = Passwords.newHash("alice-secret");
        final String rootHash = Passwords.newHash("root-secret");
        cluster = LocalMembers.start(1, config -> config
            .clientUser("alice", MemberConfiguration.ClientRole.USER, aliceHash)
            .clientUser("root", MemberConfiguration.ClientRole.ADMIN, rootHash));
    }

    @AfterAll
    static void stop()
    {
        cluster.close();
    }

    private static ClientConfiguration as(final String user, final String password)
    {
        final ClientConfiguration config = new ClientConfiguration().address(cluster.clientAddress(0));
        return user == null ? config : config.credentials(user, password);
    }

    @Test
    void wrongPasswordsAndMissingCredentialsAreRefused()
    {
        assertEquals(ErrorCode.AUTHENTICATION_FAILED, assertThrows(GridException.class, () ->
            GridClient.connect(as("alice", "guess"))).errorCode());
        assertEquals(ErrorCode.AUTHENTICATION_FAILED, assertThrows(GridException.class, () ->
            GridClient.connect(as("mallory", "alice-secret"))).errorCode());
        assertEquals(ErrorCode.AUTHENTICATION_FAILED, assertThrows(GridException.class, () ->
            GridClient.connect(as(null, null))).errorCode());
        // Issue 17, item 9: the password followed by NULs was accepted as the password.
        assertEquals(ErrorCode.AUTHENTICATION_FAILED, assertThrows(GridException.class, () ->
            GridClient.connect(as("alice", "alice-secret\u0000\u0000"))).errorCode());
        // Once the right password was verified, the remembered proof does not let a near miss in either.
        GridClient.connect(as("alice", "alice-secret")).close();
        assertEquals(ErrorCode.AUTHENTICATION_FAILED, assertThrows(GridException.class, () ->
            GridClient.connect(as("alice", "alice-secret\u0000"))).errorCode());
        GridClient.connect(as("alice", "alice-secret")).close();
    }

    @Test
    void onlyTheAdminRoleMayChangeTheCluster()
    {
        try (GridClient root = GridClient.connect(as("root", "root-secret"));
             GridClient alice = GridClient.connect(as("alice", "alice-secret")))
        {
            root.createCache(new CacheConfiguration<>("secured", Codecs.STRING, Codecs.STRING).partitions(8));
            alice.<String, String>cache("secured").put("k", "v");
            assertEquals("v", alice.<String, String>cache("secured").get("k"));
            final GridException denied = assertThrows(GridException.class, () -> alice.createCache(
                new CacheConfiguration<>("mine", Codecs.STRING, Codecs.STRING)));
            assertEquals(ErrorCode.PERMISSION_DENIED, denied.errorCode());
            assertEquals(ErrorCode.PERMISSION_DENIED, assertThrows(GridException.class, () ->
                alice.admin().resetLostPartitions("secured")).errorCode());
            assertEquals(ErrorCode.PERMISSION_DENIED, assertThrows(GridException.class, () ->
                alice.destroyCache("secured")).errorCode());
            // Reading the cluster's state is not a change.
            assertEquals(1, alice.admin().clusterState().members().size());
            root.destroyCache("secured");
        }
    }
}
