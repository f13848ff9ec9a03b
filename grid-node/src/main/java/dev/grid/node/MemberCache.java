package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.CacheEventListener;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codec;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.ListenerRegistration;
import dev.grid.core.MergeOperator;
import dev.grid.core.ReadResult;
import dev.grid.core.ScanCursor;
import dev.grid.core.ScanQuery;
import dev.grid.core.client.JournalReader;
import dev.grid.core.client.ScanPages;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A cache as the embedding application uses it: encodes keys and values with the cache's codecs and submits each
 * operation to the member's engine, which routes it to the partition's primary. Thread-safe; holds no state beyond
 * the cache's identity, so a handle to a destroyed cache fails every operation with
 * {@link dev.grid.core.ErrorCode#CACHE_DESTROYED}.
 * <p>
 * Of a member with several shards ({@link ShardedMember}), a key's operation goes to the shard that owns the key's
 * partition here ({@code partition mod shards}), which is where its copy is if this member holds one; operations on no
 * key (size, scans, listeners) go to the first shard, which asks the others.
 *
 * @param <K> key type.
 * @param <V> value type.
 */
final class MemberCache<K, V> implements Cache<K, V>
{
    private final GridMember member;
    private final CacheDescriptor descriptor;
    private final CacheConfiguration<K, V> configuration;
    private final Codec<K> keyCodec;
    private final Codec<V> valueCodec;
    private final long timeoutNs;
    /** The member's shards by index, a key's operation going to {@code partition mod shards}; null with one. */
    private final GridMember[] shards;

    MemberCache(final GridMember member, final CacheDescriptor descriptor, final CacheConfiguration<K, V> configuration)
    {
        this(member, descriptor, configuration, null);
    }

    private MemberCache(final GridMember member, final CacheDescriptor descriptor,
        final CacheConfiguration<K, V> configuration, final GridMember[] shards)
    {
        this.shards = shards;
        this.member = member;
        this.descriptor = descriptor;
        this.configuration = configuration;
        this.keyCodec = configuration.keyCodec();
        this.valueCodec = configuration.valueCodec();
        this.timeoutNs = descriptor.operationTimeoutNs();
    }

    /**
     * A typed handle of a cache by its descriptor, with the codecs and merge operator the member knows by name.
     *
     * @throws dev.grid.core.InvalidConfigurationException if a codec is unknown here.
     */
    @SuppressWarnings("unchecked")
    static <K, V> MemberCache<K, V> open(final GridMember member, final CacheDescriptor descriptor)
    {
        final Codec<K> keyCodec = (Codec<K>)member.codecs.codec(descriptor.keyCodec(), descriptor.name());
        final Codec<V> valueCodec = (Codec<V>)member.codecs.codec(descriptor.valueCodec(), descriptor.name());
        final CacheConfiguration<K, V> configuration = new CacheConfiguration<>(descriptor.name(), keyCodec,
            valueCodec)
            .partitions(descriptor.partitions())
            .backups(descriptor.backups())
            .backupFilterAttribute(descriptor.backupFilterAttribute())
            .operationTimeoutNs(descriptor.operationTimeoutNs())
            .partitionLossPolicy(descriptor.lossPolicy())
            .readsWithoutQuorum(descriptor.readsWithoutQuorum())
            .expiry(descriptor.expiry())
            .eviction(descriptor.eviction());
        final MergeOperator<K, V> operator = (MergeOperator<K, V>)member.codecs.mergeOperator(
            descriptor.mergeOperator());
        if (operator != null)
        {
            configuration.mergeOperator(descriptor.mergeOperator(), operator);
        }
        return new MemberCache<>(member, descriptor, configuration.conclude());
    }


    /**
     * @param shards the shards of this cache's member, by index; the first is this cache's member.
     * @return a handle of the same cache whose key operations go to the shard that owns the key's partition.
     */
    MemberCache<K, V> routedOver(final GridMember[] shards)
    {
        return new MemberCache<>(member, descriptor, configuration, shards.clone());
    }

    public String name()
    {
        return descriptor.name();
    }

    GridMember member()
    {
        return member;
    }

    CacheDescriptor descriptor()
    {
        return descriptor;
    }

    byte[] encodeKey(final K key)
    {
        return key(key);
    }

    byte[] encodeValue(final V value, final String what)
    {
        return value(value, what);
    }

    K decodeKey(final byte[] bytes)
    {
        return keyCodec.decode(bytes);
    }

    V decodeValue(final byte[] bytes)
    {
        return decode(bytes);
    }

    public CacheConfiguration<K, V> configuration()
    {
        return configuration;
    }

    private byte[] key(final K key)
    {
        return keyCodec.encode(Objects.requireNonNull(key, "key must not be null"));
    }

    private byte[] value(final V value, final String what)
    {
        return valueCodec.encode(Objects.requireNonNull(value, what + " must not be null"));
    }

    private V decode(final byte[] bytes)
    {
        return bytes == null ? null : valueCodec.decode(bytes);
    }

    private CompletableFuture<OpOutcome> op(final OpType type, final byte[] key, final byte[] value,
        final byte[] expected)
    {
        final GridMember target = shards == null || key == null ? member :
            shards[KeyPartitioner.partition(key, descriptor.partitions()) % shards.length];
        return target.submit(descriptor.cacheId(), type, key, value, expected, timeoutNs);
    }

    public V get(final K key)
    {
        return decode(Futures.await(op(OpType.GET, key(key), null, null)).value());
    }

    public CompletableFuture<V> getAsync(final K key)
    {
        return member.toUser(op(OpType.GET, key(key), null, null).thenApply(o -> decode(o.value())));
    }

    public ReadResult<V> read(final K key)
    {
        final OpOutcome outcome = Futures.await(op(OpType.GET, key(key), null, null));
        return new ReadResult<>(decode(outcome.value()), outcome.withoutQuorum());
    }

    public CompletableFuture<ReadResult<V>> readAsync(final K key)
    {
        return member.toUser(op(OpType.GET, key(key), null, null).thenApply(o ->
            new ReadResult<>(decode(o.value()), o.withoutQuorum())));
    }

    public void put(final K key, final V value)
    {
        Futures.await(op(OpType.PUT, key(key), value(value, "value"), null));
    }

    public CompletableFuture<Void> putAsync(final K key, final V value)
    {
        return member.toUser(op(OpType.PUT, key(key), value(value, "value"), null).thenApply(o -> null));
    }

    public void put(final K key, final V value, final Duration ttl)
    {
        Futures.await(putWithTtl(key, value, ttl));
    }

    public CompletableFuture<Void> putAsync(final K key, final V value, final Duration ttl)
    {
        return member.toUser(putWithTtl(key, value, ttl));
    }

    private CompletableFuture<Void> putWithTtl(final K key, final V value, final Duration ttl)
    {
        if (descriptor.expiry() == null)
        {
            throw new InvalidConfigurationException("cache '" + descriptor.name() + "' has no expiry policy: " +
                "create it with CacheConfiguration.expiry(...) to write entries with a time-to-live");
        }
        if (ttl.isNegative())
        {
            throw new IllegalArgumentException("ttl " + ttl + " must not be negative (zero: never expires)");
        }
        return op(OpType.PUT_WITH_TTL, key(key), OpType.valueWithTtl(ExpiryPolicy.ttlMillis(ttl),
            value(value, "value")), null).thenApply(o -> null);
    }

    public boolean putIfAbsent(final K key, final V value)
    {
        return Futures.await(op(OpType.PUT_IF_ABSENT, key(key), value(value, "value"), null)).flag();
    }

    public CompletableFuture<Boolean> putIfAbsentAsync(final K key, final V value)
    {
        return member.toUser(op(OpType.PUT_IF_ABSENT, key(key), value(value, "value"), null).thenApply(
            OpOutcome::flag));
    }

    public boolean replace(final K key, final V expected, final V value)
    {
        return Futures.await(op(OpType.REPLACE, key(key), value(value, "value"), value(expected, "expected")))
            .flag();
    }

    public CompletableFuture<Boolean> replaceAsync(final K key, final V expected, final V value)
    {
        return member.toUser(op(OpType.REPLACE, key(key), value(value, "value"), value(expected, "expected"))
            .thenApply(OpOutcome::flag));
    }

    public boolean remove(final K key)
    {
        return Futures.await(op(OpType.REMOVE, key(key), null, null)).flag();
    }

    public CompletableFuture<Boolean> removeAsync(final K key)
    {
        return member.toUser(op(OpType.REMOVE, key(key), null, null).thenApply(OpOutcome::flag));
    }

    public boolean remove(final K key, final V expected)
    {
        return Futures.await(op(OpType.REMOVE_IF_EQUALS, key(key), null, value(expected, "expected"))).flag();
    }

    public CompletableFuture<Boolean> removeAsync(final K key, final V expected)
    {
        return member.toUser(op(OpType.REMOVE_IF_EQUALS, key(key), null, value(expected, "expected"))
            .thenApply(OpOutcome::flag));
    }

    public Map<K, V> getAll(final Collection<? extends K> keys)
    {
        return Futures.await(getAllInternal(keys));
    }

    public CompletableFuture<Map<K, V>> getAllAsync(final Collection<? extends K> keys)
    {
        return member.toUser(getAllInternal(keys));
    }

    private CompletableFuture<Map<K, V>> getAllInternal(final Collection<? extends K> keys)
    {
        final List<K> order = new ArrayList<>(keys);
        final List<CompletableFuture<OpOutcome>> futures = new ArrayList<>(order.size());
        for (final K key : order)
        {
            futures.add(op(OpType.GET, key(key), null, null));
        }
        return CompletableFuture.allOf(futures.toArray(new CompletableFuture[0])).thenApply(ignored ->
        {
            final Map<K, V> result = new HashMap<>();
            for (int i = 0; i < order.size(); i++)
            {
                final V value = decode(futures.get(i).join().value());
                if (value != null)
                {
                    result.put(order.get(i), value);
                }
            }
            return result;
        });
    }

    public void putAll(final Map<? extends K, ? extends V> entries)
    {
        Futures.await(putAllInternal(entries));
    }

    public CompletableFuture<Void> putAllAsync(final Map<? extends K, ? extends V> entries)
    {
        return member.toUser(putAllInternal(entries));
    }

    private CompletableFuture<Void> putAllInternal(final Map<? extends K, ? extends V> entries)
    {
        final List<CompletableFuture<OpOutcome>> futures = new ArrayList<>(entries.size());
        for (final Map.Entry<? extends K, ? extends V> e : entries.entrySet())
        {
            futures.add(op(OpType.PUT, key(e.getKey()), value(e.getValue(), "value"), null));
        }
        return CompletableFuture.allOf(futures.toArray(new CompletableFuture[0]));
    }

    public boolean containsKey(final K key)
    {
        return Futures.await(op(OpType.CONTAINS_KEY, key(key), null, null)).flag();
    }

    public CompletableFuture<Boolean> containsKeyAsync(final K key)
    {
        return member.toUser(op(OpType.CONTAINS_KEY, key(key), null, null).thenApply(OpOutcome::flag));
    }

    public long size()
    {
        return Futures.await(op(OpType.SIZE, null, null, null)).count();
    }

    public CompletableFuture<Long> sizeAsync()
    {
        return member.toUser(op(OpType.SIZE, null, null, null).thenApply(OpOutcome::count));
    }

    public V merge(final K key, final V operand)
    {
        return decode(Futures.await(op(OpType.MERGE, key(key), value(operand, "operand"), null)).value());
    }

    public CompletableFuture<V> mergeAsync(final K key, final V operand)
    {
        return member.toUser(op(OpType.MERGE, key(key), value(operand, "operand"), null)
            .thenApply(o -> decode(o.value())));
    }

    public V getAndPut(final K key, final V value)
    {
        return Futures.await(getAndPutAsync(key, value));
    }

    public CompletableFuture<V> getAndPutAsync(final K key, final V value)
    {
        return valueOf(op(OpType.GET_AND_PUT, key(key), value(value, "value"), null));
    }

    public V getAndRemove(final K key)
    {
        return Futures.await(getAndRemoveAsync(key));
    }

    public CompletableFuture<V> getAndRemoveAsync(final K key)
    {
        return valueOf(op(OpType.GET_AND_REMOVE, key(key), null, null));
    }

    public V getAndReplace(final K key, final V value)
    {
        return Futures.await(getAndReplaceAsync(key, value));
    }

    public CompletableFuture<V> getAndReplaceAsync(final K key, final V value)
    {
        return valueOf(op(OpType.GET_AND_REPLACE, key(key), value(value, "value"), null));
    }

    public boolean replace(final K key, final V value)
    {
        return Futures.await(replaceAsync(key, value));
    }

    public CompletableFuture<Boolean> replaceAsync(final K key, final V value)
    {
        return member.toUser(op(OpType.REPLACE_PRESENT, key(key), value(value, "value"), null)
            .thenApply(OpOutcome::flag));
    }

    public V invoke(final K key, final String processor, final V argument)
    {
        return Futures.await(invokeAsync(key, processor, argument));
    }

    public CompletableFuture<V> invokeAsync(final K key, final String processor, final V argument)
    {
        final byte[] name = Objects.requireNonNull(processor, "processor must not be null")
            .getBytes(StandardCharsets.UTF_8);
        return valueOf(op(OpType.INVOKE, key(key), argument == null ? null : value(argument, "argument"), name));
    }

    private CompletableFuture<V> valueOf(final CompletableFuture<OpOutcome> outcome)
    {
        return member.toUser(outcome.thenApply(o -> decode(o.value())));
    }

    public int removeAll(final Collection<? extends K> keys)
    {
        return Futures.await(removeAllAsync(keys));
    }

    public CompletableFuture<Integer> removeAllAsync(final Collection<? extends K> keys)
    {
        final List<byte[]> encoded = new ArrayList<>(keys.size());
        keys.forEach(k -> encoded.add(key(k)));
        return member.toUser(removeEach(encoded));
    }

    /** Remove each key, as independent removes: how many had a value. Completes on the agent thread. */
    private CompletableFuture<Integer> removeEach(final List<byte[]> keys)
    {
        final List<CompletableFuture<OpOutcome>> futures = new ArrayList<>(keys.size());
        for (final byte[] key : keys)
        {
            futures.add(op(OpType.REMOVE, key, null, null));
        }
        return CompletableFuture.allOf(futures.toArray(new CompletableFuture[0])).thenApply(ignored ->
        {
            int removed = 0;
            for (final CompletableFuture<OpOutcome> future : futures)
            {
                removed += future.join().flag() ? 1 : 0;
            }
            return removed;
        });
    }

    public long clear()
    {
        return Futures.await(clearAsync());
    }

    public CompletableFuture<Long> clearAsync()
    {
        return member.toUser(clearFrom(0, null, 0));
    }

    /** Remove the keys of a partition's page, then go on with the next page (or partition). */
    private CompletableFuture<Long> clearFrom(final int partition, final byte[] afterKey, final long removed)
    {
        if (partition >= descriptor.partitions())
        {
            return CompletableFuture.completedFuture(removed);
        }
        final ScanPages.Spec spec = ScanPages.Spec.all(afterKey == null, ScanQuery.PAGE_ENTRIES_DEFAULT);
        // Continued on the user executor: the removes are submitted to the agent's queue, which its own thread must
        // never wait to offer to.
        return member.scanPage(descriptor.cacheId(), partition, afterKey, spec.encode(), timeoutNs)
            .thenComposeAsync(o ->
        {
            final ScanPages.Page page = ScanPages.Page.decode(o.value(), o.count());
            return removeEach(page.keys()).thenComposeAsync(count -> page.done() ?
                clearFrom(partition + 1, null, removed + count) :
                clearFrom(partition, page.endKey(), removed + count), member.userExecutor());
        }, member.userExecutor());
    }

    public ScanCursor<K, V> scan()
    {
        return scan(ScanQuery.all());
    }

    public ScanCursor<K, V> scan(final ScanQuery<K, V> query)
    {
        return new ScanPages.Cursor<>(descriptor.partitions(), query, keyCodec, valueCodec, this::fetchPage);
    }

    public ListenerRegistration listen(final CacheEventListener<K, V> listener)
    {
        return listen(listener, ScanQuery.all(), Map.of());
    }

    public ListenerRegistration listen(final CacheEventListener<K, V> listener, final ScanQuery<K, V> filter,
        final Map<Integer, Long> resumeFrom)
    {
        return listen(listener, filter, resumeFrom, null);
    }

    public ListenerRegistration listenWithInitialScan(final CacheEventListener<K, V> listener,
        final ScanQuery<K, V> filter)
    {
        return listen(listener, filter, Map.of(), this::fetchPage);
    }

    private ListenerRegistration listen(final CacheEventListener<K, V> listener, final ScanQuery<K, V> filter,
        final Map<Integer, Long> resumeFrom, final ScanPages.PageSource initialPages)
    {
        return new MemberListener(descriptor.name(), new JournalReader<>(descriptor.partitions(), filter, keyCodec,
            valueCodec, listener, resumeFrom), (partition, request) -> member.journalRead(descriptor.cacheId(),
            partition, request, timeoutNs).thenApply(o -> ScanPages.Events.decode(o.value())), () -> !member.closing,
            initialPages);
    }

    /** A page of a partition from its primary, waiting for it. */
    private ScanPages.Page fetchPage(final int partition, final byte[] afterKey, final ScanPages.Spec spec)
    {
        final OpOutcome outcome = Futures.await(member.scanPage(descriptor.cacheId(), partition, afterKey,
            spec.encode(), timeoutNs));
        return ScanPages.Page.decode(outcome.value(), outcome.count());
    }

    @Override
    public String toString()
    {
        return "Cache{" + descriptor.name() + ", id=" + descriptor.cacheId() + "}";
    }
}
