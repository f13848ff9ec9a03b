package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.MemberMetrics;
import dev.grid.core.PredicateResult;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transactions across three members in this JVM over real Aeron on loopback.
 */
class TransactionTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static TestCluster cluster;
    private static GridMember a;
    private static GridMember b;
    private static int nextCache;

    @BeforeAll
    static void start()
    {
        cluster = TestCluster.start(3);
        a = cluster.members.get(0);
        b = cluster.members.get(1);
    }

    @AfterAll
    static void stop()
    {
        cluster.close();
    }

    private static Cache<String, String> newCache()
    {
        return a.createCache(new CacheConfiguration<>("tx" + nextCache++, Codecs.STRING, Codecs.STRING)
            .partitions(32).backups(2).mergeOperator(TestCluster.APPEND_NAME, TestCluster.APPEND));
    }

    @Test
    void everyModeCommitsAcrossPartitionsAndMembersAndAllOfItIsVisible()
    {
        final Cache<String, String> cache = newCache();
        int round = 0;
        for (final TransactionConcurrency concurrency : TransactionConcurrency.values())
        {
            for (final TransactionIsolation isolation : TransactionIsolation.values())
            {
                final String prefix = "r" + round++ + "-";
                cache.put(prefix + "gone", "x");
                try (Transaction tx = b.transactions().begin(concurrency, isolation, TIMEOUT))
                {
                    assertNull(tx.get(cache, prefix + "k0"));
                    for (int i = 0; i < 10; i++)
                    {
                        tx.put(cache, prefix + "k" + i, "v" + i);
                    }
                    assertEquals("v3", tx.get(cache, prefix + "k3"), "a transaction reads its own writes");
                    tx.remove(cache, prefix + "gone");
                    assertNull(tx.get(cache, prefix + "gone"));
                    tx.merge(cache, prefix + "k0", "+m");
                    assertEquals("v0+m", tx.get(cache, prefix + "k0"));
                    assertNull(cache.get(prefix + "k1"), "nothing is visible before commit");
                    tx.commit();
                }
                for (int i = 1; i < 10; i++)
                {
                    assertEquals("v" + i, cache.get(prefix + "k" + i), concurrency + " " + isolation);
                }
                assertEquals("v0+m", a.<String, String>cache(cache.name()).get(prefix + "k0"));
                assertNull(cache.get(prefix + "gone"));
            }
        }
        final MemberMetrics.TransactionCounts counts = b.metrics().transactions();
        assertTrue(counts.commits() >= 6, counts.toString());
        assertTrue(b.metrics().latencies().get("tx.commit").count() >= 6);
    }

    @Test
    void closingWithoutCommitRollsBackAndReleasesTheLocks()
    {
        final Cache<String, String> cache = newCache();
        cache.put("k", "before");
        try (Transaction tx = a.transactions().begin())
        {
            tx.put(cache, "k", "inside");
            tx.put(cache, "other", "inside");
        }
        assertEquals("before", cache.get("k"));
        assertNull(cache.get("other"));
        // The locks are gone: another transaction gets the key at once, and a plain put is not held up either.
        try (Transaction tx = b.transactions().begin())
        {
            assertEquals("before", tx.get(cache, "k"));
            tx.put(cache, "k", "after");
            tx.commit();
        }
        cache.put("k", "plain");
        assertEquals("plain", cache.get("k"));
        final Transaction done = a.transactions().begin();
        done.rollback();
        final TransactionAbortedException ex = assertThrows(TransactionAbortedException.class,
            () -> done.put(cache, "k", "x"));
        assertEquals(ErrorCode.TX_ROLLED_BACK, ex.errorCode());
    }

    @Test
    void aPlainWriteOfALockedKeyWaitsForTheTransaction() throws Exception
    {
        final Cache<String, String> cache = newCache();
        final Transaction tx = a.transactions().begin();
        tx.put(cache, "k", "tx");
        final CompletableFuture<Void> plain = b.<String, String>cache(cache.name()).putAsync("k", "plain");
        assertThrows(java.util.concurrent.TimeoutException.class, () -> plain.get(200, TimeUnit.MILLISECONDS),
            "a single-key write of a locked key waits for the lock");
        tx.commit();
        plain.get(10, TimeUnit.SECONDS);
        assertEquals("plain", cache.get("k"));
    }

    @Test
    void anOptimisticSerializableTransactionWhoseReadChangedAbortsWithConflict()
    {
        final Cache<String, String> cache = newCache();
        cache.put("balance", "100");
        final Transaction tx = a.transactions().begin(TransactionConcurrency.OPTIMISTIC,
            TransactionIsolation.SERIALIZABLE, TIMEOUT);
        assertEquals("100", tx.get(cache, "balance"));
        cache.put("balance", "50");
        tx.put(cache, "copy", "100");
        final TransactionAbortedException ex = assertThrows(TransactionAbortedException.class, tx::commit);
        assertEquals(ErrorCode.TX_CONFLICT, ex.errorCode());
        assertTrue(ex.isRetryable());
        assertNull(cache.get("copy"));
        assertEquals("50", cache.get("balance"));
    }

    @Test
    void aFalsePredicateChangesNothingAndReportsWhatItSaw()
    {
        final Cache<String, String> cache = newCache();
        cache.put("a", "10");
        cache.put("b", "0");
        final PredicateResult result = a.transactions().predicate(TIMEOUT)
            .predicate(cache, "a", (k, v) -> v != null && Integer.parseInt(v) >= 20)
            .predicate(cache, "b", (k, v) -> v != null)
            .set(cache, "a", "-10")
            .set(cache, "b", "20")
            .del(cache, "c")
            .execute();
        final PredicateResult.PredicateFailure failure = assertInstanceOf(PredicateResult.PredicateFailure.class,
            result);
        assertEquals(List.of(new PredicateResult.SeenValue(cache.name(), "a", "10", false),
            new PredicateResult.SeenValue(cache.name(), "b", "0", true)), failure.values());
        assertEquals("10", cache.get("a"));
        assertEquals("0", cache.get("b"));

        cache.put("c", "x");
        final PredicateResult ok = a.transactions().predicate(TIMEOUT)
            .predicate(cache, "a", (k, v) -> Integer.parseInt(v) >= 10)
            .set(cache, "a", "0")
            .set(cache, "b", "10")
            .del(cache, "c")
            .execute();
        assertInstanceOf(PredicateResult.Committed.class, ok);
        assertEquals(Map.of("a", "0", "b", "10"), cache.getAll(List.of("a", "b", "c")));
    }

    @Test
    void ofTwoConflictingPredicateTransactionsExactlyOneCommits() throws Exception
    {
        final Cache<String, String> cache = newCache();
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try
        {
            for (int round = 0; round < 20; round++)
            {
                final String key = "slot" + round;
                cache.put(key, "free");
                final CountDownLatch go = new CountDownLatch(1);
                final List<Future<PredicateResult>> results = new ArrayList<>();
                for (final GridMember member : List.of(a, b))
                {
                    results.add(pool.submit(() ->
                    {
                        go.await();
                        return member.transactions().predicate(TIMEOUT)
                            .predicate(cache, key, (k, v) -> "free".equals(v))
                            .set(cache, key, "taken by " + member.configuration().memberId())
                            .retryOnAbort(true)
                            .execute();
                    }));
                }
                go.countDown();
                int committed = 0;
                int refused = 0;
                for (final Future<PredicateResult> result : results)
                {
                    final PredicateResult outcome = result.get(30, TimeUnit.SECONDS);
                    if (outcome instanceof PredicateResult.Committed)
                    {
                        committed++;
                    }
                    else if (outcome instanceof PredicateResult.PredicateFailure failure)
                    {
                        refused++;
                        assertTrue(((String)failure.values().get(0).value()).startsWith("taken by"));
                    }
                }
                assertEquals(1, committed, "round " + round);
                assertEquals(1, refused, "round " + round);
            }
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    @Test
    void retryOnAbortRetriesUntilTheOlderHolderFinishes() throws Exception
    {
        final Cache<String, String> cache = newCache();
        cache.put("k", "1");
        // All on one member, whose transaction ages strictly increase: the holder is the oldest.
        final Transaction holder = a.transactions().begin();
        holder.put(cache, "k", "2");
        final CompletableFuture<PredicateResult> retried = a.transactions().predicate(TIMEOUT)
            .predicate(cache, "k", (k, v) -> "2".equals(v))
            .set(cache, "k", "3")
            .retryOnAbort(true)
            .executeAsync();
        final CompletableFuture<PredicateResult> once = a.transactions().predicate(TIMEOUT)
            .predicate(cache, "k", (k, v) -> true)
            .set(cache, "k", "never")
            .executeAsync();
        final PredicateResult.Aborted aborted = assertInstanceOf(PredicateResult.Aborted.class,
            once.get(10, TimeUnit.SECONDS));
        assertEquals(ErrorCode.TX_DEADLOCK_PREVENTION, aborted.reason());
        assertEquals(1, aborted.attempts());
        assertThrows(java.util.concurrent.TimeoutException.class, () -> retried.get(100, TimeUnit.MILLISECONDS));
        holder.commit();
        final PredicateResult.Committed committed = assertInstanceOf(PredicateResult.Committed.class,
            retried.get(10, TimeUnit.SECONDS));
        assertTrue(committed.attempts() > 1, committed.toString());
        assertEquals("3", cache.get("k"));
    }

    @Test
    void manyAsynchronousPredicateTransactionsOnOneKeyAllCommitWithRetries() throws Exception
    {
        final Cache<String, String> cache = newCache();
        cache.put("hot", "0");
        final List<CompletableFuture<PredicateResult>> results = new ArrayList<>();
        for (int i = 0; i < 50; i++)
        {
            final GridMember via = i % 2 == 0 ? a : b;
            results.add(via.transactions().predicate(TIMEOUT)
                .predicate(cache, "hot", (k, v) -> v != null)
                .set(cache, "hot", "written by " + i)
                .set(cache, "own" + i, "x")
                .retryOnAbort(true)
                .executeAsync());
        }
        int retried = 0;
        for (final CompletableFuture<PredicateResult> result : results)
        {
            final PredicateResult.Committed committed = assertInstanceOf(PredicateResult.Committed.class,
                result.get(30, TimeUnit.SECONDS));
            retried += committed.attempts() - 1;
        }
        assertEquals(50, cache.getAll(java.util.stream.IntStream.range(0, 50).mapToObj(i -> "own" + i).toList())
            .size());
        assertTrue(cache.get("hot").startsWith("written by "));
        assertTrue(retried > 0, "50 transactions on one key never conflicted");
    }

    @Test
    void runRetriesAbortedAttemptsKeepingTheirAgeSoContendedIncrementsAllLand() throws Exception
    {
        final Cache<String, String> cache = newCache();
        cache.put("counter", "0");
        final ExecutorService pool = Executors.newFixedThreadPool(4);
        try
        {
            final List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < 4; t++)
            {
                final GridMember via = t % 2 == 0 ? a : b;
                workers.add(pool.submit(() ->
                {
                    for (int i = 0; i < 25; i++)
                    {
                        via.transactions().run(TransactionConcurrency.PESSIMISTIC,
                            TransactionIsolation.REPEATABLE_READ, TIMEOUT, tx ->
                            {
                                final int value = Integer.parseInt(tx.get(cache, "counter"));
                                tx.put(cache, "counter", String.valueOf(value + 1));
                                return null;
                            });
                    }
                    return null;
                }));
            }
            for (final Future<?> worker : workers)
            {
                worker.get(60, TimeUnit.SECONDS);
            }
        }
        finally
        {
            pool.shutdownNow();
        }
        assertEquals("100", cache.get("counter"), "every increment landed exactly once");
        final TransactionAbortedException notRetried = assertThrows(TransactionAbortedException.class, () ->
            a.transactions().run(TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ, TIMEOUT,
                tx ->
                {
                    tx.put(cache, "counter", "x");
                    tx.rollback();
                    tx.put(cache, "counter", "y");
                    return null;
                }));
        assertEquals(ErrorCode.TX_ROLLED_BACK, notRetried.errorCode());
        assertEquals("100", cache.get("counter"));
    }

    @Test
    void twoTransactionsLockingTwoKeysInOppositeOrderBothFinishWithinTheirTimeout() throws Exception
    {
        final Cache<String, String> cache = newCache();
        final ExecutorService pool = Executors.newFixedThreadPool(2);
        try
        {
            // Which one is older depends on the two members' clocks at begin (any total order prevents deadlock),
            // so the test does not assume it: exactly one must commit, and the other die, well before its timeout.
            final Transaction first = a.transactions().begin(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(5));
            first.get(cache, "x");
            final Transaction second = b.transactions().begin(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(5));
            second.get(cache, "y");
            final long startNs = System.nanoTime();
            final Future<?> firstDone = pool.submit(() ->
            {
                first.put(cache, "y", "first");
                first.commit();
                return null;
            });
            final Future<?> secondDone = pool.submit(() ->
            {
                second.put(cache, "x", "second");
                second.commit();
                return null;
            });
            final List<String> committed = new ArrayList<>();
            final List<ErrorCode> died = new ArrayList<>();
            for (final Future<?> done : List.of(firstDone, secondDone))
            {
                try
                {
                    done.get(10, TimeUnit.SECONDS);
                    committed.add(done == firstDone ? "first" : "second");
                }
                catch (final java.util.concurrent.ExecutionException ex)
                {
                    died.add(((GridException)ex.getCause()).errorCode());
                }
            }
            assertEquals(1, committed.size(), "exactly one commits: " + committed + " " + died);
            assertEquals(List.of(ErrorCode.TX_DEADLOCK_PREVENTION), died);
            assertTrue(System.nanoTime() - startNs < TimeUnit.SECONDS.toNanos(5), "nobody waited to its timeout");
            if (committed.get(0).equals("first"))
            {
                assertEquals("first", cache.get("y"));
                assertNull(cache.get("x"));
            }
            else
            {
                assertEquals("second", cache.get("x"));
                assertNull(cache.get("y"));
            }
        }
        finally
        {
            pool.shutdownNow();
        }
    }

    @Test
    void aTransactionOnADestroyedCacheAbortsWithCacheDestroyed()
    {
        final Cache<String, String> cache = newCache();
        final Transaction tx = b.transactions().begin();
        tx.put(cache, "k", "v");
        a.destroyCache(cache.name());
        final GridException ex = assertThrows(GridException.class, tx::commit);
        assertTrue(Set.of(ErrorCode.CACHE_DESTROYED, ErrorCode.TX_TOPOLOGY_CHANGED).contains(ex.errorCode()),
            ex.toString());
    }
}
