package dev.grid.examples;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.node.GridMember;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A thin-client transaction sends its begin with its first step: when the member whose connection
 * {@code beginTransaction} chose has stopped before that step, the transaction begins on another member and commits.
 * Before, its begin had gone to the stopped member at once, and the step failed with the connection.
 */
class TransactionFirstStepTest
{
    @Test
    void aTransactionWhoseBeginsMemberStoppedBeforeItsFirstStepBeginsOnAnotherAndCommits()
    {
        try (LocalMembers cluster = LocalMembers.start(3, config -> { });
             GridClient client = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0))
                 .address(cluster.clientAddress(1)).address(cluster.clientAddress(2))
                 // Not routed by the map: the step takes the connection beginTransaction chose, unless it closed.
                 .partitionAware(false)))
        {
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("first", Codecs.STRING,
                Codecs.STRING).backups(1).partitions(16));
            assertEquals(List.of("m0"), client.connectedMembers(), "the client reached m0 alone");
            try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(30)))
            {
                final GridMember m0 = cluster.members.get(0);
                m0.close();
                ThinClientFailoverTest.awaitCondition(() -> !client.connectedMembers().contains("m0"),
                    "the client's connection to m0 closed");
                ThinClientFailoverTest.awaitCondition(() -> cluster.members.get(1).topology().members().size() == 2 &&
                    cluster.members.get(2).topology().members().size() == 2, "m1 and m2 in a topology without m0");

                tx.put(cache, "k", "v");
                tx.put(cache, "l", "w");
                tx.commit();
            }
            assertFalse(client.connectedMembers().contains("m0"));
            assertEquals("v", cache.get("k"));
            assertEquals("w", cache.get("l"));
        }
    }
}
