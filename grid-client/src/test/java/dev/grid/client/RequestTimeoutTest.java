package dev.grid.client;

import dev.grid.core.Cache;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.OperationTimeoutException;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.core.client.ClientProtocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.time.Duration;
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
    /** Another figure than the request timeout, so a test can tell which one gave a request up. */
    private static final long OPERATOR_TIMEOUT_MS = 700;

    private FakeMember member;
    private GridClient client;

    @BeforeEach
    void start() throws IOException
    {
        member = new FakeMember(false);
        client = GridClient.connect(new ClientConfiguration().address("127.0.0.1:" + member.port())
            .requestTimeoutNs(TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS))
            .operatorTimeoutNs(TimeUnit.MILLISECONDS.toNanos(OPERATOR_TIMEOUT_MS)));
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

    /**
     * An operator's request its member never answers (a member paused keeps its connection open) fails after the
     * client's operator timeout: before, the operator, and the admin tool, waited for good.
     */
    @Test
    void anOperatorRequestWithoutAnswerFailsAfterTheOperatorTimeout() throws Exception
    {
        final long startNs = System.nanoTime();
        final OperationTimeoutException timedOut = assertThrows(OperationTimeoutException.class,
            () -> client.admin().clusterState());
        final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        assertTrue(timedOut.getMessage().contains("CLUSTER_STATE got no answer within " + OPERATOR_TIMEOUT_MS + " ms"),
            timedOut.getMessage());
        assertTrue(elapsedMs >= OPERATOR_TIMEOUT_MS, "given up after " + elapsedMs + " ms, before its timeout");
        assertTrue(elapsedMs < OPERATOR_TIMEOUT_MS + 5_000, "given up only after " + elapsedMs + " ms");
        member.received(ClientProtocol.CLUSTER_STATE);
        assertEquals(0, client.outstandingRequests(), "the request given up is no longer pending");
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

    /** @return the cache "c", its CACHE_LIST answered by the fake member (which answers nothing else unless told). */
    private Cache<String, String> cacheTheMemberAnswers() throws InterruptedException
    {
        final Thread answerer = new Thread(() ->
        {
            try
            {
                member.answerCache(member.received(ClientProtocol.CACHE_LIST), "c");
            }
            catch (final Exception ex)
            {
                throw new IllegalStateException(ex);
            }
        });
        answerer.start();
        final Cache<String, String> cache = client.cache("c");
        answerer.join(TimeUnit.SECONDS.toMillis(30));
        return cache;
    }

    /**
     * A request whose route needs the partition map fetches it first, on the caller's thread: a member that answers
     * nothing more (paused) must not hold the caller past the request's timeout there. Before, the map's request had
     * no deadline and the caller waited for good.
     */
    @Test
    void aPartitionMapWithoutAnswerDoesNotHoldARequestPastItsTimeout() throws Exception
    {
        final Cache<String, String> cache = cacheTheMemberAnswers();
        final long startNs = System.nanoTime();
        final OperationTimeoutException timedOut = assertThrows(OperationTimeoutException.class, () -> cache.get("k"));
        final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        member.received(ClientProtocol.PARTITION_MAP);
        assertTrue(timedOut.getMessage().contains("got no answer within 300 ms"), timedOut.getMessage());
        // The map's timeout, then the request's own deadline (already past) at the next sweep.
        assertTrue(elapsedMs >= TIMEOUT_MS && elapsedMs < 2 * TIMEOUT_MS + 5_000, "given up after " + elapsedMs +
            " ms");
    }

    /**
     * An interactive transaction's requests are given up once its own timeout and the request timeout have passed since
     * each was sent (a step may wait for a lock as long as the transaction lives), and a commit given up so has an
     * unknown outcome: before, a member that stopped answering hung the caller for good.
     */
    @Test
    void aTransactionsRequestsAreGivenUpAfterItsTimeoutAndAnUnansweredCommitsOutcomeIsUnknown() throws Exception
    {
        final Cache<String, String> cache = cacheTheMemberAnswers();
        final long txTimeoutMs = 200;
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, Duration.ofMillis(txTimeoutMs)))
        {
            final long startNs = System.nanoTime();
            final OperationTimeoutException step = assertThrows(OperationTimeoutException.class,
                () -> tx.get(cache, "k"));
            final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            assertTrue(step.getMessage().contains("TX_GET got no answer within " + (txTimeoutMs + TIMEOUT_MS) +
                " ms"), step.getMessage());
            // From the step's sending, just after the clock was read: at least the two timeouts.
            assertTrue(elapsedMs >= txTimeoutMs + TIMEOUT_MS && elapsedMs < txTimeoutMs + TIMEOUT_MS + 5_000,
                "given up after " + elapsedMs + " ms");
            final GridException commit = assertThrows(GridException.class, tx::commit);
            assertEquals(ErrorCode.TX_COMMIT_STATUS_UNKNOWN, commit.errorCode(), commit.getMessage());
        }
        assertEquals(0, client.outstandingRequests(), "the begin, the step and the commit are no longer pending");
    }

    @Test
    void theSweepRunsAtATenthOfTheTimeoutWithinBounds()
    {
        assertEquals(TimeUnit.MILLISECONDS.toNanos(30), GridClient.expirySweepNs(TimeUnit.MILLISECONDS.toNanos(300)));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(50), GridClient.expirySweepNs(TimeUnit.SECONDS.toNanos(30)));
        assertEquals(TimeUnit.MILLISECONDS.toNanos(1), GridClient.expirySweepNs(TimeUnit.MILLISECONDS.toNanos(2)));
    }
}
