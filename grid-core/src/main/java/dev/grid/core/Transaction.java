package dev.grid.core;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A transaction over one or more caches: reads and writes of any keys, committed atomically on every copy of every
 * partition it writes, or not at all.
 * <p>
 * Every outcome is explicit: {@link #commit()} returns normally only when every copy applied the writes durably; it
 * throws {@link TransactionAbortedException} (nothing applied; the code says why), {@link CacheDestroyedException},
 * {@link NodeStoppingException}, or {@link TransactionCommitStatusUnknownException} when the outcome cannot be
 * known. An operation that fails aborts the transaction.
 * <p>
 * <b>Threading:</b> one thread at a time; the asynchronous forms may be chained, but not run concurrently on one
 * transaction. Closing rolls back what was not committed.
 */
public interface Transaction extends AutoCloseable
{
    /**
     * @return when keys are locked.
     */
    TransactionConcurrency concurrency();

    /**
     * @return what reads see.
     */
    TransactionIsolation isolation();

    /**
     * Read a key: this transaction's own write of it if any, else a value as the isolation level says.
     *
     * @param cache the cache.
     * @param key   the key.
     * @param <K>   key type.
     * @param <V>   value type.
     * @return the value, or null if absent.
     */
    <K, V> V get(Cache<K, V> cache, K key);

    /**
     * Asynchronous {@link #get}.
     *
     * @param cache the cache.
     * @param key   the key.
     * @param <K>   key type.
     * @param <V>   value type.
     * @return the value, or null if absent.
     */
    <K, V> CompletableFuture<V> getAsync(Cache<K, V> cache, K key);

    /**
     * Read keys, locking them together (one request per partition) when the isolation asks for read locks.
     *
     * @param cache the cache.
     * @param keys  the keys.
     * @param <K>   key type.
     * @param <V>   value type.
     * @return the present keys' values.
     */
    <K, V> Map<K, V> getAll(Cache<K, V> cache, Collection<? extends K> keys);

    /**
     * Asynchronous {@link #getAll}.
     *
     * @param cache the cache.
     * @param keys  the keys.
     * @param <K>   key type.
     * @param <V>   value type.
     * @return the present keys' values.
     */
    <K, V> CompletableFuture<Map<K, V>> getAllAsync(Cache<K, V> cache, Collection<? extends K> keys);

    /**
     * Write a key at commit (pessimistic: lock it now).
     *
     * @param cache the cache.
     * @param key   the key.
     * @param value the value.
     * @param <K>   key type.
     * @param <V>   value type.
     */
    <K, V> void put(Cache<K, V> cache, K key, V value);

    /**
     * Asynchronous {@link #put}. Through the thin client, if it fails the commit fails too, with its error, and
     * nothing of the transaction is applied (the client cannot know whether the caller looked at the failure).
     *
     * @param cache the cache.
     * @param key   the key.
     * @param value the value.
     * @param <K>   key type.
     * @param <V>   value type.
     * @return completes when the write is recorded (and, pessimistic, the key locked).
     */
    <K, V> CompletableFuture<Void> putAsync(Cache<K, V> cache, K key, V value);

    /**
     * Remove a key at commit (pessimistic: lock it now).
     *
     * @param cache the cache.
     * @param key   the key.
     * @param <K>   key type.
     * @param <V>   value type.
     */
    <K, V> void remove(Cache<K, V> cache, K key);

    /**
     * Asynchronous {@link #remove}. Through the thin client, if it fails the commit fails too, with its error, and
     * nothing of the transaction is applied (the client cannot know whether the caller looked at the failure).
     *
     * @param cache the cache.
     * @param key   the key.
     * @param <K>   key type.
     * @param <V>   value type.
     * @return completes when the remove is recorded (and, pessimistic, the key locked).
     */
    <K, V> CompletableFuture<Void> removeAsync(Cache<K, V> cache, K key);

    /**
     * Merge an operand into a key at commit with the cache's merge operator, applied to the value the key has then
     * (under this transaction's lock) or to this transaction's own earlier write of it.
     *
     * @param cache   the cache (it must have a merge operator).
     * @param key     the key.
     * @param operand the operand.
     * @param <K>     key type.
     * @param <V>     value type.
     */
    <K, V> void merge(Cache<K, V> cache, K key, V operand);

    /**
     * Asynchronous {@link #merge}. Through the thin client, if it fails the commit fails too, with its error, and
     * nothing of the transaction is applied (the client cannot know whether the caller looked at the failure).
     *
     * @param cache   the cache.
     * @param key     the key.
     * @param operand the operand.
     * @param <K>     key type.
     * @param <V>     value type.
     * @return completes when the merge is recorded.
     */
    <K, V> CompletableFuture<Void> mergeAsync(Cache<K, V> cache, K key, V operand);

    /**
     * Commit: returns once every copy of every written partition applied the writes durably.
     *
     * @throws TransactionAbortedException              nothing was applied; its code says why.
     * @throws TransactionCommitStatusUnknownException  the outcome could not be confirmed.
     */
    void commit();

    /**
     * Asynchronous {@link #commit}.
     *
     * @return completes as {@link #commit} returns or throws.
     */
    CompletableFuture<Void> commitAsync();

    /**
     * Roll back: nothing of the transaction is applied; its locks are released. Idempotent.
     */
    void rollback();

    /**
     * Asynchronous {@link #rollback}.
     *
     * @return completes once the rollback is decided.
     */
    CompletableFuture<Void> rollbackAsync();

    /**
     * Roll back unless committed.
     */
    @Override
    void close();
}
