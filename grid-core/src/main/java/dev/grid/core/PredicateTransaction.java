package dev.grid.core;

import java.util.concurrent.CompletableFuture;
import java.util.function.BiPredicate;

/**
 * A predicate transaction: conditions on the current values of some keys and the writes to make if every condition
 * holds, executed atomically. Every key named is locked on its primary (oldest transaction first), the predicates are
 * evaluated on the locked values, and then either the writes commit or nothing changes.
 * <p>
 * {@link #execute()} returns one of {@link PredicateResult.Committed}, {@link PredicateResult.PredicateFailure} (with
 * the values the predicates saw) or {@link PredicateResult.Aborted} (with the reason; nothing changed). With
 * {@link #retryOnAbort(boolean)}, an aborted attempt is retried, keeping its age so it eventually wins its locks,
 * until it commits, a predicate fails, or the timeout passes.
 * <p>
 * <b>Threading:</b> build on one thread. The predicates run on a thread of the member's user pool (in both forms),
 * never on a member's own thread; {@link #executeAsync()} blocks no thread while it waits for locks.
 */
public interface PredicateTransaction
{
    /**
     * Require a condition on a key's value at commit (null if absent).
     *
     * @param cache     the cache.
     * @param key       the key.
     * @param predicate the condition on the key and its current value.
     * @param <K>       key type.
     * @param <V>       value type.
     * @return this.
     */
    <K, V> PredicateTransaction predicate(Cache<K, V> cache, K key, BiPredicate<? super K, ? super V> predicate);

    /**
     * Write a key if every predicate holds.
     *
     * @param cache the cache.
     * @param key   the key.
     * @param value the value.
     * @param <K>   key type.
     * @param <V>   value type.
     * @return this.
     */
    <K, V> PredicateTransaction set(Cache<K, V> cache, K key, V value);

    /**
     * Remove a key if every predicate holds.
     *
     * @param cache the cache.
     * @param key   the key.
     * @param <K>   key type.
     * @param <V>   value type.
     * @return this.
     */
    <K, V> PredicateTransaction del(Cache<K, V> cache, K key);

    /**
     * @param retry whether an aborted attempt is tried again (default false).
     * @return this.
     */
    PredicateTransaction retryOnAbort(boolean retry);

    /**
     * Execute.
     *
     * @return the outcome; never throws for an abort or a false predicate.
     * @throws TransactionCommitStatusUnknownException if the outcome could not be confirmed.
     */
    PredicateResult execute();

    /**
     * Asynchronous {@link #execute}.
     *
     * @return the outcome.
     */
    CompletableFuture<PredicateResult> executeAsync();
}
