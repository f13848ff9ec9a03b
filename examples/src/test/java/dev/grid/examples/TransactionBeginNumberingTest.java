package dev.grid.examples;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.client.ClientProtocol;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

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

    private static byte[] commit(final long requestId, final long txId)
    {
        return ByteBuffer.allocate(17).order(ByteOrder.LITTLE_ENDIAN).put((byte)ClientProtocol.TX_COMMIT)
            .putLong(requestId).putLong(txId).array();
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
            waiting.handshake(1, 2);
            assertEquals(0, waiting.answer());
            holding.handshake(1, 2);
            assertEquals(0, holding.answer());

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
}
