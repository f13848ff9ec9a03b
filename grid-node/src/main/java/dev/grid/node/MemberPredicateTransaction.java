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
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;

/**
 * A predicate transaction on an embedded member: each attempt is a pessimistic transaction that locks every key named
 * (predicates and writes, one request per partition), evaluates the predicates on the locked values on the caller's
 * thread, and commits the writes or rolls back. Retries keep the first attempt's age, so wait-die lets them through
 * once the older transactions finish.
 * <p>
 * <b>Threading:</b> build and execute on one thread.
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

    public CompletableFuture<PredicateResult> executeAsync()
    {
        // Predicates are user code and each attempt waits on the member: run it on the member's user executor.
        return member.toUser(CompletableFuture.completedFuture(null)).thenApply(ignored -> execute());
    }

    public PredicateResult execute()
    {
        final long deadlineNs = System.nanoTime() + timeoutNs;
        long priority = 0;
        int attempts = 0;
        while (true)
        {
            attempts++;
            final long remainingNs = Math.max(1, deadlineNs - System.nanoTime());
            final MemberTransaction tx = new MemberTransaction(member, TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ, remainingNs, priority);
            try
            {
                final List<PredicateResult.SeenValue> seen;
                try
                {
                    seen = lockAndEvaluate(tx);
                }
                catch (final RuntimeException ex)
                {
                    if (!(ex instanceof GridException))
                    {
                        // A predicate threw: nothing was written; release the locks and let the caller see it.
                        tx.close();
                    }
                    throw ex;
                }
                if (priority == 0)
                {
                    priority = agentPriority(tx);
                }
                if (seen != null)
                {
                    tx.rollback();
                    return new PredicateResult.PredicateFailure(List.copyOf(seen));
                }
                for (final Write<?, ?> write : writes)
                {
                    write.apply(tx);
                }
                tx.commit();
                return new PredicateResult.Committed(attempts);
            }
            catch (final TransactionCommitStatusUnknownException ex)
            {
                throw ex;
            }
            catch (final GridException ex)
            {
                if (priority == 0)
                {
                    priority = agentPriority(tx);
                }
                tx.close();
                final boolean retryable = ex instanceof TransactionAbortedException aborted && aborted.isRetryable();
                if (!retryOnAbort || !retryable || System.nanoTime() >= deadlineNs)
                {
                    return new PredicateResult.Aborted(ex.errorCode(), ex.detail(), attempts);
                }
                backOff(attempts);
            }
        }
    }

    /**
     * Lock every key and evaluate the predicates.
     *
     * @return null if every predicate holds, otherwise what each saw.
     */
    private List<PredicateResult.SeenValue> lockAndEvaluate(final MemberTransaction tx)
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
        final Map<Cache<?, ?>, Map<?, ?>> values = new LinkedHashMap<>();
        for (final Map.Entry<Cache<?, ?>, LinkedHashSet<Object>> entry : keysByCache.entrySet())
        {
            values.put(entry.getKey(), getAll(tx, entry.getKey(), entry.getValue()));
        }
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
    private static Map<?, ?> getAll(final MemberTransaction tx, final Cache cache, final LinkedHashSet<Object> keys)
    {
        return tx.getAll(cache, keys);
    }

    private long agentPriority(final MemberTransaction tx)
    {
        final CompletableFuture<Long> future = new CompletableFuture<>();
        member.execute(() -> future.complete(tx.assignedPriority()), future);
        try
        {
            return GridMember.await(future);
        }
        catch (final GridException ex)
        {
            return 0;
        }
    }

    private static void backOff(final int attempts)
    {
        // A short randomized pause, so the older transaction that won can finish; not a synchronization.
        final long boundNs = TimeUnit.MICROSECONDS.toNanos(200L << Math.min(attempts, 6));
        final long pauseNs = Math.min(RETRY_BACKOFF_MAX_NS,
            java.util.concurrent.ThreadLocalRandom.current().nextLong(1 + boundNs));
        java.util.concurrent.locks.LockSupport.parkNanos(pauseNs);
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
        void apply(final MemberTransaction tx)
        {
            if (delete)
            {
                tx.remove(cache, key);
            }
            else
            {
                tx.put(cache, key, value);
            }
        }
    }
}
