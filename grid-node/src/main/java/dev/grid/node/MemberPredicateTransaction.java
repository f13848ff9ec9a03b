package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.GridException;
import dev.grid.core.PredicateResult;
import dev.grid.core.PredicateTransaction;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.TransactionCommitStatusUnknownException;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;

/**
 * A predicate transaction on an embedded member: each attempt is a pessimistic transaction that locks every key named
 * (predicates and writes, one request per partition), evaluates the predicates on the locked values, and commits the
 * writes or rolls back, as a chain of asynchronous steps that blocks no thread. Retries keep the first attempt's age,
 * so wait-die lets them through once the older transactions finish.
 * <p>
 * <b>Threading:</b> build on one thread; the predicates run on the member's user pool.
 */
final class MemberPredicateTransaction implements PredicateTransaction
{
    private static final long RETRY_BACKOFF_MAX_NS = TimeUnit.MILLISECONDS.toNanos(20);

    private final GridMember member;
    private final long timeoutNs;
    private final List<Condition<?, ?>> conditions = new ArrayList<>();
    private final List<Write<?, ?>> writes = new ArrayList<>();
    private boolean retryOnAbort;

    MemberPredicateTransaction(final GridMember member, final long timeoutNs)
    {
        this.member = member;
        this.timeoutNs = timeoutNs;
    }

    public <K, V> PredicateTransaction predicate(final Cache<K, V> cache, final K key,
        final BiPredicate<? super K, ? super V> predicate)
    {
        conditions.add(new Condition<>(Objects.requireNonNull(cache, "cache must not be null"),
            Objects.requireNonNull(key, "key must not be null"),
            Objects.requireNonNull(predicate, "predicate must not be null")));
        return this;
    }

    public <K, V> PredicateTransaction set(final Cache<K, V> cache, final K key, final V value)
    {
        writes.add(new Write<>(Objects.requireNonNull(cache, "cache must not be null"),
            Objects.requireNonNull(key, "key must not be null"),
            Objects.requireNonNull(value, "value must not be null"), false));
        return this;
    }

    public <K, V> PredicateTransaction del(final Cache<K, V> cache, final K key)
    {
        writes.add(new Write<>(Objects.requireNonNull(cache, "cache must not be null"),
            Objects.requireNonNull(key, "key must not be null"), null, true));
        return this;
    }

    public PredicateTransaction retryOnAbort(final boolean retry)
    {
        this.retryOnAbort = retry;
        return this;
    }

    public PredicateResult execute()
    {
        return Futures.await(executeAsync());
    }

    public CompletableFuture<PredicateResult> executeAsync()
    {
        final CompletableFuture<PredicateResult> result = new CompletableFuture<>();
        attempt(System.nanoTime() + timeoutNs, 0, 1, result);
        return result;
    }

    /**
     * One attempt, as a chain of asynchronous steps: lock and read every key (one request per partition), evaluate
     * the predicates (on the member's user pool, where the reads complete), then roll back or write and commit. An
     * abort is retried, after a short randomized pause, with the first attempt's age.
     */
    private void attempt(final long deadlineNs, final long priority, final int attempts,
        final CompletableFuture<PredicateResult> result)
    {
        final MemberTransaction tx = new MemberTransaction(member, TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, Math.max(1, deadlineNs - System.nanoTime()), priority);
        final Map<Cache<?, ?>, Map<?, ?>> values = new LinkedHashMap<>();
        CompletableFuture<Void> locked = CompletableFuture.completedFuture(null);
        for (final Map.Entry<Cache<?, ?>, LinkedHashSet<Object>> entry : keysByCache().entrySet())
        {
            locked = locked.thenCompose(ignored -> getAllAsync(tx, entry.getKey(), entry.getValue())
                .thenAccept(read -> values.put(entry.getKey(), read)));
        }
        locked.thenCompose(ignored ->
        {
            final List<PredicateResult.SeenValue> seen = evaluate(values);
            if (seen != null)
            {
                return tx.rollbackAsync().thenApply(x -> (PredicateResult)new PredicateResult.PredicateFailure(
                    List.copyOf(seen)));
            }
            CompletableFuture<Void> written = CompletableFuture.completedFuture(null);
            for (final Write<?, ?> write : writes)
            {
                written = written.thenCompose(x -> write.applyAsync(tx));
            }
            return written.thenCompose(x -> tx.commitAsync())
                .thenApply(x -> (PredicateResult)new PredicateResult.Committed(attempts));
        }).whenComplete((outcome, failure) ->
        {
            if (failure == null)
            {
                result.complete(outcome);
                return;
            }
            final Throwable cause = failure instanceof CompletionException && failure.getCause() != null ?
                failure.getCause() : failure;
            if (cause instanceof TransactionCommitStatusUnknownException || !(cause instanceof GridException))
            {
                // Unknown outcome, or a predicate threw: the caller sees it; what is held is released.
                tx.rollbackAsync();
                result.completeExceptionally(cause);
                return;
            }
            final GridException error = (GridException)cause;
            final CompletableFuture<Long> age = new CompletableFuture<>();
            member.execute(() -> age.complete(priority != 0 ? priority : tx.assignedPriority()), age);
            tx.rollbackAsync().handle((x, e) -> null).thenCombine(age.handle((p, e) -> p == null ? 0L : p),
                (x, firstAge) -> firstAge).thenAccept(firstAge ->
            {
                final boolean retryable = error instanceof TransactionAbortedException aborted &&
                    aborted.isRetryable();
                if (!retryOnAbort || !retryable || System.nanoTime() >= deadlineNs)
                {
                    result.complete(new PredicateResult.Aborted(error.errorCode(), error.detail(), attempts));
                    return;
                }
                CompletableFuture.delayedExecutor(backOffNs(attempts), TimeUnit.NANOSECONDS, member.userExecutor())
                    .execute(() -> attempt(deadlineNs, firstAge, attempts + 1, result));
            });
        });
    }

    private Map<Cache<?, ?>, LinkedHashSet<Object>> keysByCache()
    {
        final Map<Cache<?, ?>, LinkedHashSet<Object>> keysByCache = new LinkedHashMap<>();
        for (final Condition<?, ?> condition : conditions)
        {
            keysByCache.computeIfAbsent(condition.cache, c -> new LinkedHashSet<>()).add(condition.key);
        }
        for (final Write<?, ?> write : writes)
        {
            keysByCache.computeIfAbsent(write.cache, c -> new LinkedHashSet<>()).add(write.key);
        }
        return keysByCache;
    }

    /**
     * @return null if every predicate holds, otherwise what each saw.
     */
    private List<PredicateResult.SeenValue> evaluate(final Map<Cache<?, ?>, Map<?, ?>> values)
    {
        final List<PredicateResult.SeenValue> seen = new ArrayList<>(conditions.size());
        boolean allHold = true;
        for (final Condition<?, ?> condition : conditions)
        {
            final Object value = values.get(condition.cache).get(condition.key);
            final boolean holds = condition.test(value);
            allHold &= holds;
            seen.add(new PredicateResult.SeenValue(condition.cache.name(), condition.key, value, holds));
        }
        return allHold ? null : seen;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static CompletableFuture<Map<?, ?>> getAllAsync(final MemberTransaction tx, final Cache cache,
        final LinkedHashSet<Object> keys)
    {
        return tx.getAllAsync(cache, keys);
    }

    /**
     * Block the calling thread for a retry's pause (a blocking retry loop's own pacing, not synchronisation).
     */
    static void pause(final int attempts)
    {
        java.util.concurrent.locks.LockSupport.parkNanos(backOffNs(attempts));
    }

    private static long backOffNs(final int attempts)
    {
        // A short randomized pause, so the older transaction that won can finish first.
        final long boundNs = TimeUnit.MICROSECONDS.toNanos(200L << Math.min(attempts, 6));
        return Math.min(RETRY_BACKOFF_MAX_NS, ThreadLocalRandom.current().nextLong(1 + boundNs));
    }

    private record Condition<K, V>(Cache<K, V> cache, K key, BiPredicate<? super K, ? super V> predicate)
    {
        @SuppressWarnings("unchecked")
        boolean test(final Object value)
        {
            return predicate.test(key, (V)value);
        }
    }

    private record Write<K, V>(Cache<K, V> cache, K key, V value, boolean delete)
    {
        CompletableFuture<Void> applyAsync(final MemberTransaction tx)
        {
            return delete ? tx.removeAsync(cache, key) : tx.putAsync(cache, key, value);
        }
    }
}
