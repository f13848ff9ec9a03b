package dev.grid.core;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A partitioned cache with synchronous backups, as an application sees it.
 * <p>
 * Keys and values cross the API as objects and are stored as the bytes of the cache's codecs; a key's partition is
 * {@link KeyPartitioner#partition(byte[], int)} of its encoded bytes. Every single-key operation runs on the key's
 * primary and is acknowledged only after every backup applied it. Every operation exists in a blocking form and an
 * asynchronous form returning a {@link CompletableFuture}; the future completes on a Grid thread, so callbacks must not
 * block. Failures are the {@link GridException} hierarchy: {@link CacheDestroyedException},
 * {@link OperationTimeoutException}, {@link NodeStoppingException}, {@link CodecException}. Null keys and values are
 * rejected with {@link NullPointerException}.
 * <p>
 * Thread-safe.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
public interface Cache<K, V>
{
    /**
     * The name of the cache.
     *
     * @return the name.
     */
    String name();

    /**
     * The configuration the cache was created with.
     *
     * @return the concluded configuration.
     */
    CacheConfiguration<K, V> configuration();

    /**
     * Read the value of a key from its partition's primary.
     *
     * @param key the key.
     * @return the value, or null if absent.
     */
    V get(K key);

    /**
     * Asynchronous form of {@link #get(Object)}.
     *
     * @param key the key.
     * @return a future of the result.
     */
    CompletableFuture<V> getAsync(K key);

    /**
     * Read the value of a key like {@link #get(Object)}, and say how it was read: a member that holds no quorum answers
     * reads of a cache whose {@link CacheConfiguration#readsWithoutQuorum()} is {@link QuorumReadPolicy#SERVE_LOCAL}
     * from its own copy, which the majority may have changed since, and flags the answer
     * ({@link ReadResult#withoutQuorum()}); {@link #get(Object)} returns such a value unflagged.
     *
     * @param key the key.
     * @return the value, or null if absent, and whether it was read without quorum.
     * @throws GridException with {@link ErrorCode#NO_QUORUM} if the member holds no quorum and the cache refuses such
     *                       reads, or the member holds no copy of the key.
     */
    ReadResult<V> read(K key);

    /**
     * Asynchronous form of {@link #read(Object)}.
     *
     * @param key the key.
     * @return a future of the result.
     */
    CompletableFuture<ReadResult<V>> readAsync(K key);

    /**
     * Write a value; acknowledged once every backup applied it.
     *
     * @param key the key.
     * @param value the value.
     */
    void put(K key, V value);

    /**
     * Asynchronous form of {@link #put(Object, Object)}.
     *
     * @param key the key.
     * @param value the value.
     * @return a future of the result.
     */
    CompletableFuture<Void> putAsync(K key, V value);

    /**
     * Write a value with a time-to-live of its own, in a cache created with an {@link ExpiryPolicy}: the entry expires
     * {@code ttl} after this write (a zero ttl: never), whatever the policy says; a later write without a ttl sets
     * the policy's expiry again.
     *
     * @param key the key.
     * @param value the value.
     * @param ttl the time-to-live, not negative; zero for never.
     * @throws InvalidConfigurationException if the cache has no expiry policy.
     */
    void put(K key, V value, java.time.Duration ttl);

    /**
     * Asynchronous form of {@link #put(Object, Object, java.time.Duration)}.
     *
     * @param key the key.
     * @param value the value.
     * @param ttl the time-to-live, not negative; zero for never.
     * @return a future of the result.
     */
    CompletableFuture<Void> putAsync(K key, V value, java.time.Duration ttl);

    /**
     * Write a value only if the key is absent.
     *
     * @param key the key.
     * @param value the value.
     * @return true if the value was written.
     */
    boolean putIfAbsent(K key, V value);

    /**
     * Asynchronous form of {@link #putIfAbsent(Object, Object)}.
     *
     * @param key the key.
     * @param value the value.
     * @return a future of the result.
     */
    CompletableFuture<Boolean> putIfAbsentAsync(K key, V value);

    /**
     * Replace the value only if the current value equals {@code expected} (compared by encoded bytes).
     *
     * @param key the key.
     * @param expected the expected.
     * @param value the value.
     * @return true if the value was replaced.
     */
    boolean replace(K key, V expected, V value);

    /**
     * Asynchronous form of {@link #replace(Object, Object, Object)}.
     *
     * @param key the key.
     * @param expected the expected.
     * @param value the value.
     * @return a future of the result.
     */
    CompletableFuture<Boolean> replaceAsync(K key, V expected, V value);

    /**
     * Remove a key.
     *
     * @param key the key.
     * @return true if a value was removed.
     */
    boolean remove(K key);

    /**
     * Asynchronous form of {@link #remove(Object)}.
     *
     * @param key the key.
     * @return a future of the result.
     */
    CompletableFuture<Boolean> removeAsync(K key);

    /**
     * Remove a key only if its current value equals {@code expected} (compared by encoded bytes).
     *
     * @param key the key.
     * @param expected the expected.
     * @return true if the value was removed.
     */
    boolean remove(K key, V expected);

    /**
     * Asynchronous form of {@link #remove(Object, Object)}.
     *
     * @param key the key.
     * @param expected the expected.
     * @return a future of the result.
     */
    CompletableFuture<Boolean> removeAsync(K key, V expected);

    /**
     * Read many keys; absent keys are missing from the result.
     *
     * @param keys the keys.
     * @return the present keys and their values.
     */
    Map<K, V> getAll(Collection<? extends K> keys);

    /**
     * Asynchronous form of {@link #getAll(Collection)}.
     *
     * @param keys the keys.
     * @return a future of the result.
     */
    CompletableFuture<Map<K, V>> getAllAsync(Collection<? extends K> keys);

    /**
     * Write many entries; each key is an independent single-key update (use a transaction for atomicity).
     *
     * @param K the K.
     * @param entries the entries.
     */
    void putAll(Map<? extends K, ? extends V> entries);

    /**
     * Asynchronous form of {@link #putAll(Map)}.
     *
     * @param K the K.
     * @param entries the entries.
     * @return a future of the result.
     */
    CompletableFuture<Void> putAllAsync(Map<? extends K, ? extends V> entries);

    /**
     * Whether a key has a value. Not a use of the entry: it extends no {@link ExpiryPolicy#accessed} or touched
     * entry's life and does not count for eviction (as JCache's {@code containsKey}).
     *
     * @param key the key.
     * @return true if the key has a value.
     */
    boolean containsKey(K key);

    /**
     * Asynchronous form of {@link #containsKey(Object)}.
     *
     * @param key the key.
     * @return a future of the result.
     */
    CompletableFuture<Boolean> containsKeyAsync(K key);

    /**
     * The number of entries in the cache. In a cache with an expiry policy it also counts entries whose time has
     * passed but which their primary has not removed yet (it removes them in the background within milliseconds,
     * bounded work at a time); no read returns them.
     *
     * @return the number of entries over all primary copies.
     */
    long size();

    /**
     * Asynchronous form of {@link #size()}.
     *
     * @return a future of the result.
     */
    CompletableFuture<Long> sizeAsync();

    /**
     * Apply the cache's {@link MergeOperator} to the current value and an operand, atomically on the primary.
     *
     * @param key the key.
     * @param operand the operand.
     * @return the new value, or null if the operator deleted the key.
     */
    V merge(K key, V operand);

    /**
     * Asynchronous form of {@link #merge(Object, Object)}.
     *
     * @param key the key.
     * @param operand the operand.
     * @return a future of the result.
     */
    CompletableFuture<V> mergeAsync(K key, V operand);

    /**
     * Write a value and return the one it replaced, atomically on the primary.
     *
     * @param key the key.
     * @param value the value.
     * @return the previous value, or null if the key was absent.
     */
    V getAndPut(K key, V value);

    /**
     * Asynchronous form of {@link #getAndPut(Object, Object)}.
     *
     * @param key the key.
     * @param value the value.
     * @return a future of the result.
     */
    CompletableFuture<V> getAndPutAsync(K key, V value);

    /**
     * Remove a key and return the value it had, atomically on the primary.
     *
     * @param key the key.
     * @return the removed value, or null if the key was absent.
     */
    V getAndRemove(K key);

    /**
     * Asynchronous form of {@link #getAndRemove(Object)}.
     *
     * @param key the key.
     * @return a future of the result.
     */
    CompletableFuture<V> getAndRemoveAsync(K key);

    /**
     * Write a value only if the key is present, and return the value it replaced, atomically on the primary.
     *
     * @param key the key.
     * @param value the value.
     * @return the previous value, or null if the key was absent (and nothing was written).
     */
    V getAndReplace(K key, V value);

    /**
     * Asynchronous form of {@link #getAndReplace(Object, Object)}.
     *
     * @param key the key.
     * @param value the value.
     * @return a future of the result.
     */
    CompletableFuture<V> getAndReplaceAsync(K key, V value);

    /**
     * Write a value only if the key is present.
     *
     * @param key the key.
     * @param value the value.
     * @return true if the value was written.
     */
    boolean replace(K key, V value);

    /**
     * Asynchronous form of {@link #replace(Object, Object)}.
     *
     * @param key the key.
     * @param value the value.
     * @return a future of the result.
     */
    CompletableFuture<Boolean> replaceAsync(K key, V value);

    /**
     * Run an {@link EntryProcessor} registered on the members under {@code processor} on the key's entry, atomically
     * on its primary; backups receive the resulting value.
     *
     * @param key the key.
     * @param processor the processor's name ({@link MemberConfiguration#entryProcessor}).
     * @param argument the argument passed to the processor, or null.
     * @return the processor's result, or null.
     * @throws GridException with {@link ErrorCode#ENTRY_PROCESSOR_FAILED} if the primary knows no processor of that
     *                       name or it threw (the entry is unchanged).
     */
    V invoke(K key, String processor, V argument);

    /**
     * Asynchronous form of {@link #invoke(Object, String, Object)}.
     *
     * @param key the key.
     * @param processor the processor's name.
     * @param argument the argument, or null.
     * @return a future of the result.
     */
    CompletableFuture<V> invokeAsync(K key, String processor, V argument);

    /**
     * Remove many keys; each is an independent single-key remove (use a transaction for atomicity).
     *
     * @param keys the keys.
     * @return how many of them had a value.
     */
    int removeAll(Collection<? extends K> keys);

    /**
     * Asynchronous form of {@link #removeAll(Collection)}.
     *
     * @param keys the keys.
     * @return a future of the result.
     */
    CompletableFuture<Integer> removeAllAsync(Collection<? extends K> keys);

    /**
     * Remove every entry present when the call starts, partition by partition (a scan and single-key removes, each
     * replicated and counted like any remove); entries written while it runs may remain. Not atomic across the cache.
     *
     * @return how many entries it removed.
     */
    long clear();

    /**
     * Asynchronous form of {@link #clear()}.
     *
     * @return a future of the result.
     */
    CompletableFuture<Long> clearAsync();

    /**
     * Iterate over every entry: {@code scan(ScanQuery.all())}.
     *
     * @return the cursor; close it to stop early.
     */
    ScanCursor<K, V> scan();

    /**
     * Iterate over the entries a query selects, partition by partition, a page at a time (see {@link ScanCursor} for
     * what the scan guarantees under concurrent writes and a primary's failure).
     *
     * @param query which entries, and how many a page holds.
     * @return the cursor; close it to stop early.
     * @throws IllegalArgumentException if the thin client is given an arbitrary predicate (only a key prefix and a
     *                                  {@link ValuePredicate} run on the members).
     */
    ScanCursor<K, V> scan(ScanQuery<K, V> query);

    /**
     * Listen to every change of the cache from now on: {@code listen(listener, ScanQuery.all(), Map.of())}.
     *
     * @param listener the listener.
     * @return the registration; close it to stop.
     */
    ListenerRegistration listen(CacheEventListener<K, V> listener);

    /**
     * Listen to a cache's changes (it must keep an event journal: {@link CacheConfiguration#eventJournal}): each
     * partition's events in counter order, exactly once while the registration lives, across primary failures and,
     * through the thin client, reconnections (see {@link CacheEventListener}).
     *
     * @param listener   the listener, called on the registration's thread.
     * @param filter     which events: a key prefix and a {@link ValuePredicate} (applied to events with a value; a
     *                   removal passes on its key) run on the members; an arbitrary predicate (embedded only) on the
     *                   registration's thread. Its page size is the most events read per partition at a time.
     * @param resumeFrom per partition, the counter of the last event seen (another registration's
     *                   {@link ListenerRegistration#positions()}); partitions missing start from now.
     * @return the registration; close it to stop.
     * @throws GridException with {@link ErrorCode#CONFIGURATION_INVALID} (from the first read, to the listener's
     *                       thread) if the cache keeps no journal.
     */
    ListenerRegistration listen(CacheEventListener<K, V> listener, ScanQuery<K, V> filter,
        java.util.Map<Integer, Long> resumeFrom);

    /**
     * Listen to a cache's changes from now on, after an initial scan: the registration's thread first delivers the
     * entries the filter selects, partition by partition, as {@link CacheEvent.Kind#INITIAL} events (each with the
     * counter its partition's first page was read at), then each partition's changes after that counter, as
     * {@link #listen(CacheEventListener, ScanQuery, java.util.Map)} does. Nothing is missed: every update up to that
     * counter is in the scan. Later ones may be too: a scan reads the primary's values as a get does, an update still
     * on its way to the backups included, and an entry that changed after that counter (while a partition is read in
     * several pages, or an update in flight) may come with its new value and then again through its events, in
     * counter order; applied in order, they give the partition's content. If the listener throws on an initial entry,
     * or a page cannot be read, the registration stops ({@link CacheEventListener#onError}).
     *
     * @param listener the listener, called on the registration's thread.
     * @param filter   which entries and events (as for {@code listen}).
     * @return the registration; close it to stop (during the scan too).
     * @throws GridException with {@link ErrorCode#CONFIGURATION_INVALID} if the cache keeps no journal.
     */
    ListenerRegistration listenWithInitialScan(CacheEventListener<K, V> listener, ScanQuery<K, V> filter);
}
