package dev.grid.examples;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.core.client.ClientProtocol;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Protocol version 2 numbers a connection's TX_BEGIN requests by count, so a client sends a transaction's steps
 * without waiting for its id (docs/protocol.md): a TX_BEGIN the member refuses takes its number too, also when the
 * refusal is the connection's limit of outstanding requests, which is checked before the request is read.
 */
class TransactionBeginNumberingTest
{
    private static final byte[] CACHE = "numbered".getBytes(StandardCharsets.UTF_8);
    private static final byte[] KEY = "k".getBytes(StandardCharsets.UTF_8);
    private static final byte[] OTHER_KEY = "other".getBytes(StandardCharsets.UTF_8);

    private static byte[] begin(final long requestId)
    {
        return ByteBuffer.allocate(19).order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.TX_BEGIN)
            .putLong(requestId).put((byte)0).put((byte)1).putLong(60_000).array();
    }

    private static byte[] get(final long requestId, final long txId, final byte[] key)
    {
        return ByteBuffer.allocate(9 + 8 + 4 + CACHE.length + 4 + key.length).order(ByteOrder.LITTLE_ENDIAN)
            .put((byte)ClientProtocol.TX_GET).putLong(requestId).putLong(txId).putInt(CACHE.length).put(CACHE)
            .putInt(key.length).put(key).array();
    }

    private static byte[] put(final long requestId, final long txId, final byte[] key, final byte[] value)
    {
        return ByteBuffer.allocate(9 + 8 + 4 + CACHE.length + 4 + key.length + 4 + value.length)
            .order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.TX_PUT).putLong(requestId).putLong(txId)
            .putInt(CACHE.length).put(CACHE).putInt(key.length).put(key).putInt(value.length).put(value).array();
    }

    private static byte[] commit(final long requestId, final long txId)
    {
        return ByteBuffer.allocate(17).order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.TX_COMMIT)
            .putLong(requestId).putLong(txId).array();
    }

    private static byte[] rollback(final long requestId, final long txId)
    {
        return ByteBuffer.allocate(17).order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.TX_ROLLBACK)
            .putLong(requestId).putLong(txId).array();
    }

    /** Handshake each connection at protocol version 2, which numbers TX_BEGINs by count. */
    private static void admit(final ProtocolRobustnessTest.Raw... connections) throws IOException
    {
        for (final ProtocolRobustnessTest.Raw connection : connections)
        {
            connection.handshake(1, 2);
            assertEquals(0, connection.answer());
        }
    }

    @Test
    void aBeginRefusedForTheOutstandingLimitTakesItsNumber() throws IOException
    {
        // One outstanding request per connection: a read waiting for a lock fills it.
        try (LocalMembers cluster = LocalMembers.start(1, config -> config.clientLimits(64, 64 * 1024, 1));
             GridClient client = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0)));
             ProtocolRobustnessTest.Raw waiting = new ProtocolRobustnessTest.Raw(cluster.clientAddress(0));
             ProtocolRobustnessTest.Raw holding = new ProtocolRobustnessTest.Raw(cluster.clientAddress(0)))
        {
            client.createCache(new CacheConfiguration<>("numbered", Codecs.STRING, Codecs.STRING).partitions(4));
            admit(waiting, holding);

            // The waiting connection's transaction takes its first step first (older: wait-die lets it wait for the
            // younger one).
            waiting.frame(begin(1));
            assertEquals(0, waiting.answer());
            assertEquals(1, waiting.lastTxId);
            waiting.frame(get(2, 1, OTHER_KEY));
            assertEquals(0, waiting.answer());
            holding.frame(begin(1));
            assertEquals(0, holding.answer());
            holding.frame(get(2, 1, KEY));
            assertEquals(0, holding.answer(), "the younger transaction locks the key");

            waiting.frame(get(5, 1, KEY));
            // Waits for the lock: the connection's one outstanding request. The next begin is refused unread...
            waiting.frame(begin(3));
            assertEquals(ErrorCode.TOO_MANY_REQUESTS.code(), waiting.answer());
            assertEquals(3, waiting.lastRequestId);

            holding.frame(commit(3, 1));
            assertEquals(0, holding.answer(), "the lock's holder commits");
            assertEquals(0, waiting.answer(), "the waiting read gets the key");
            assertEquals(5, waiting.lastRequestId);

            // ...and counted: this connection's third TX_BEGIN is transaction 3.
            waiting.frame(begin(6));
            assertEquals(0, waiting.answer());
            assertEquals(6, waiting.lastRequestId);
            assertEquals(3, waiting.lastTxId, "the refused begin took number 2");
        }
    }

    /**
     * A commit refused for the connection's limit of outstanding requests rolls its transaction back and says so
     * (TX_ROLLED_BACK), and a rollback so refused is done all the same: before, the transaction stayed open, holding
     * its locks until its timeout, while its client, which cannot commit it again, took the refusal for the outcome.
     */
    @Test
    void aCommitOrRollbackRefusedForTheOutstandingLimitRollsItsTransactionBack() throws IOException
    {
        try (LocalMembers cluster = LocalMembers.start(1, config -> config.clientLimits(64, 64 * 1024, 1));
             GridClient client = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0)));
             ProtocolRobustnessTest.Raw waiting = new ProtocolRobustnessTest.Raw(cluster.clientAddress(0));
             ProtocolRobustnessTest.Raw holding = new ProtocolRobustnessTest.Raw(cluster.clientAddress(0)))
        {
            final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("numbered",
                Codecs.STRING, Codecs.STRING).partitions(4));
            admit(waiting, holding);

            // Transactions 1 and 3 write (and lock) a key each; transaction 2, older than the holder's, will wait
            // for KEY.
            final byte[] value = "v".getBytes(StandardCharsets.UTF_8);
            waiting.frame(begin(1));
            assertEquals(0, waiting.answer());
            waiting.frame(put(2, 1, OTHER_KEY, value));
            assertEquals(0, waiting.answer());
            waiting.frame(begin(3));
            assertEquals(0, waiting.answer());
            waiting.frame(get(4, 2, "third".getBytes(StandardCharsets.UTF_8)));
            assertEquals(0, waiting.answer());
            waiting.frame(begin(5));
            assertEquals(0, waiting.answer());
            waiting.frame(put(6, 3, "fourth".getBytes(StandardCharsets.UTF_8), value));
            assertEquals(0, waiting.answer());
            holding.frame(begin(1));
            assertEquals(0, holding.answer());
            holding.frame(get(2, 1, KEY));
            assertEquals(0, holding.answer(), "the younger transaction locks the key");
            waiting.frame(get(7, 2, KEY));

            // The waiting read is the connection's one outstanding request: the commit and the rollback are
            // refused...
            waiting.frame(commit(8, 1));
            assertEquals(ErrorCode.TX_ROLLED_BACK.code(), waiting.answer(), "refused, and said to be rolled back");
            assertEquals(8, waiting.lastRequestId);
            waiting.frame(rollback(9, 3));
            assertEquals(0, waiting.answer(), "refused, and rolled back all the same");
            assertEquals(9, waiting.lastRequestId);
            holding.frame(commit(3, 1));
            assertEquals(0, holding.answer());
            assertEquals(0, waiting.answer(), "the waiting read gets the key");

            // ...and rolled back: nothing applied, and their locks released (a younger transaction would die on one;
            // its writes lock keys not locked yet, so the client waits for each: one outstanding request at a time).
            assertNull(cache.get("other"));
            assertNull(cache.get("fourth"));
            try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(10)))
            {
                tx.put(cache, "other", "w");
                tx.put(cache, "fourth", "w");
                tx.commit();
            }
            assertEquals("w", cache.get("other"));
            assertEquals("w", cache.get("fourth"));
        }
    }
}
