package dev.grid.client;

import dev.grid.core.CacheNotFoundException;
import dev.grid.core.OperationTimeoutException;
import dev.grid.core.client.ClientProtocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A request's timeout without a timer task per request: each request carries its deadline and the client's periodic
 * sweep gives up the overdue ones. Against a fake member on loopback that answers the handshake and then only when
 * the test says so.
 */
@Timeout(60)
class RequestTimeoutTest
{
    private static final long TIMEOUT_MS = 300;

    private FakeMember member;
    private GridClient client;

    @BeforeEach
    void start() throws IOException
    {
        member = new FakeMember(false);
        client = GridClient.connect(new ClientConfiguration().address("127.0.0.1:" + member.port())
            .requestTimeoutNs(TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS)));
    }

    @AfterEach
    void stop() throws IOException
    {
        if (client != null)
        {
            client.close();
        }
        member.close();
    }

    @Test
    void aRequestWithoutAnswerFailsAfterItsTimeoutAndItsLateAnswerIsDropped() throws Exception
    {
        final long startNs = System.nanoTime();
        final OperationTimeoutException timedOut = assertThrows(OperationTimeoutException.class,
            () -> client.cache("c"));
        final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        assertTrue(timedOut.getMessage().contains("CACHE_LIST got no answer within 300 ms"), timedOut.getMessage());
        assertTrue(elapsedMs >= TIMEOUT_MS, "given up after " + elapsedMs + " ms, before its timeout");
        // The sweep runs every 30 ms here (a tenth of the timeout); 2 busy cores may delay it, not by seconds.
        assertTrue(elapsedMs < TIMEOUT_MS + 5_000, "given up only after " + elapsedMs + " ms");

        assertEquals(0, client.outstandingRequests(), "the request given up is no longer pending");

        final long lateRequestId = member.received(ClientProtocol.CACHE_LIST);
        member.answerNoCaches(lateRequestId);
        final Thread answerer = new Thread(() ->
        {
            try
            {
                member.answerNoCaches(member.received(ClientProtocol.CACHE_LIST));
            }
            catch (final Exception ex)
            {
                throw new IllegalStateException(ex);
            }
        });
        answerer.start();
        // The late answer matched nothing; the connection goes on, and the next request gets its own answer.
        assertThrows(CacheNotFoundException.class, () -> client.cache("c"));
        answerer.join(TimeUnit.SECONDS.toMillis(30));
        assertEquals(1, client.connectedMembers().size(), "the connection stays open");
    }

    @Test
    void aRetryStuckConnectingIsAnsweredAtTheDeadline()
    {
        member.dropAtNextRequest();
        final long startNs = System.nanoTime();
        // The idempotent request is resent after the connection breaks; the new connection's handshake is never
        // answered (it would wait for the connect timeout and 10 s more), but the caller's deadline still holds.
        final OperationTimeoutException timedOut = assertThrows(OperationTimeoutException.class,
            () -> client.cache("c"));
        final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        assertTrue(timedOut.getMessage().contains("CACHE_LIST got no answer within 300 ms"), timedOut.getMessage());
        assertTrue(elapsedMs >= TIMEOUT_MS && elapsedMs < TIMEOUT_MS + 5_000, "answered after " + elapsedMs + " ms");
    }

    @Test
    void theSweepRunsAtATenthOfTheTimeoutWithinBounds()
    {
        assertEquals(TimeUnit.MILLISECONDS.toNanos(30), GridClient.expirySweepNs(TimeUnit.MILLISECONDS.toNanos(300)));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(50), GridClient.expirySweepNs(TimeUnit.SECONDS.toNanos(30)));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(1), GridClient.expirySweepNs(TimeUnit.MILLISECONDS.toNanos(2)));
    }
}
