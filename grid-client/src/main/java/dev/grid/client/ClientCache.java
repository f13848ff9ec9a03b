package dev.grid.client;

import dev.grid.core.Cache;
import dev.grid.core.CacheEventListener;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codec;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.ListenerRegistration;
import dev.grid.core.ReadResult;
import dev.grid.core.ScanCursor;
import dev.grid.core.ScanQuery;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.client.FrameWriter;
import dev.grid.core.client.JournalReader;
import dev.grid.core.client.ScanPages;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A cache through the thin client: the embedded {@link Cache} API, each key's request sent to its partition's
 * primary. Keys and values are encoded here with the cache's codecs, exactly as a member would, so that partitioning
 * agrees. Thread-safe.
 */
final class ClientCache<K, V> implements Cache<K, V>
{
    private final GridClient client;
    private final GridClient.CacheInfo info;
    /** The cache's name as every request of it carries it, encoded once. */
    private final byte[] nameUtf8;
    private final Codec<K> keyCodec;
    private final Codec<V> valueCodec;

    ClientCache(final GridClient client, final GridClient.CacheInfo info, final Codec<K> keyCodec,
        final Codec<V> valueCodec)
    {
        this.client = client;
        this.info = info;
        this.nameUtf8 = info.name().getBytes(StandardCharsets.UTF_8);
        this.keyCodec = keyCodec;
        this.valueCodec = valueCodec;
    }

    public String name()
    {
        return info.name();
    }

    public CacheConfiguration<K, V> configuration()
    {
        return new CacheConfiguration<>(info.name(), keyCodec, valueCodec).partitions(info.partitions())
            .backups(info.backups());
    }

    /**
     * @param cache a cache a transaction was given.
     * @param <K>   the key type.
     * @param <V>   the value type.
     * @return it as this client's cache.
     * @throws InvalidConfigurationException if it is not a thin-client cache (an embedded member's, say).
     */
    @SuppressWarnings("unchecked")
    static <K, V> ClientCache<K, V> of(final Cache<K, V> cache)
    {
        if (!(cache instanceof ClientCache))
        {
            throw new InvalidConfigurationException("a thin-client transaction takes caches of its own client, got " +
                cache);
        }
        return (ClientCache<K, V>)cache;
    }

    byte[] encodeKey(final K key)
    {
        return key(key);
    }

    byte[] encodeValue(final V value, final String what)
    {
        return value(value, what);
    }

    V decodeValue(final byte[] bytes)
    {
        return decode(bytes);
    }

    K decodeKey(final byte[] bytes)
    {
        return keyCodec.decode(bytes);
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

    /**
     * @param write whether the operation may write: it then carries this client's identity and a number, so that
     *              members apply it once however often it is resent after a broken connection. Reads are resent
     *              freely too.
     */
    private CompletableFuture<ClientConnection.Answer> keyed(final int op, final byte[] key, final boolean write,
        final byte[]... more)
    {
        // The request's exact size: its array is the payload kept for resends, with no copy (see GridClient.send).
        int length = 4 + nameUtf8.length + (write ? GridClient.WRITE_IDENTITY_BYTES : 0) + 4 + key.length;
        for (final byte[] field : more)
        {
            length += 4 + (field == null ? 0 : field.length);
        }
        final FrameWriter w = new FrameWriter(length);
        w.writeBytes(nameUtf8);
        final long sequence = write ? client.numberWrites(1, w) : -1;
        w.writeBytes(key);
        for (final byte[] field : more)
        {
            w.writeBytes(field);
        }
        final CompletableFuture<ClientConnection.Answer> answer = client.send(op,
            w.length() == w.array().length ? w.array() : w.toBytes(), new GridClient.Route(info.name(), key), true);
        if (write)
        {
            answer.whenComplete((a, e) -> client.writesFinished(sequence));
        }
        return answer;
    }

    public V get(final K key)
    {
        return GridClient.await(getAsync(key));
    }

    public CompletableFuture<V> getAsync(final K key)
    {
        return keyed(ClientProtocol.GET, key(key), false).thenApply(a -> a.payload().readDecoded("value", valueCodec));
    }

    public ReadResult<V> read(final K key)
    {
        return GridClient.await(readAsync(key));
    }

    public CompletableFuture<ReadResult<V>> readAsync(final K key)
    {
        return keyed(ClientProtocol.READ, key(key), false).thenApply(a ->
            new ReadResult<>(a.payload().readDecoded("value", valueCodec), a.payload().readBoolean("withoutQuorum")));
    }

    public void put(final K key, final V value)
    {
        GridClient.await(putAsync(key, value));
    }

    public CompletableFuture<Void> putAsync(final K key, final V value)
    {
        return keyed(ClientProtocol.PUT, key(key), true, value(value, "value")).thenApply(a -> null);
    }

    public void put(final K key, final V value, final Duration ttl)
    {
        GridClient.await(putAsync(key, value, ttl));
    }

    public CompletableFuture<Void> putAsync(final K key, final V value, final Duration ttl)
    {
        if (ttl.isNegative())
        {
            throw new IllegalArgumentException("ttl " + ttl + " must not be negative (zero: never expires)");
        }
        final FrameWriter w = new FrameWriter();
        w.writeString(info.name());
        final long sequence = client.numberWrites(1, w);
        final byte[] encodedKey = key(key);
        w.writeBytes(encodedKey).writeBytes(value(value, "value")).writeLong(ExpiryPolicy.ttlMillis(ttl));
        final CompletableFuture<ClientConnection.Answer> answer = client.send(ClientProtocol.PUT_WITH_TTL, w,
            new GridClient.Route(info.name(), encodedKey), true);
        answer.whenComplete((a, e) -> client.writesFinished(sequence));
        return answer.thenApply(a -> null);
    }

    public boolean putIfAbsent(final K key, final V value)
    {
        return GridClient.await(putIfAbsentAsync(key, value));
    }

    public CompletableFuture<Boolean> putIfAbsentAsync(final K key, final V value)
    {
        return keyed(ClientProtocol.PUT_IF_ABSENT, key(key), true, value(value, "value"))
            .thenApply(a -> a.payload().readBoolean("put"));
    }

    public boolean replace(final K key, final V expected, final V value)
    {
        return GridClient.await(replaceAsync(key, expected, value));
    }

    public CompletableFuture<Boolean> replaceAsync(final K key, final V expected, final V value)
    {
        return keyed(ClientProtocol.REPLACE, key(key), true, value(expected, "expected"), value(value, "value"))
            .thenApply(a -> a.payload().readBoolean("replaced"));
    }

    public boolean remove(final K key)
    {
        return GridClient.await(removeAsync(key));
    }

    public CompletableFuture<Boolean> removeAsync(final K key)
    {
        return keyed(ClientProtocol.REMOVE, key(key), true).thenApply(a -> a.payload().readBoolean("removed"));
    }

    public boolean remove(final K key, final V expected)
    {
        return GridClient.await(removeAsync(key, expected));
    }

    public CompletableFuture<Boolean> removeAsync(final K key, final V expected)
    {
        return keyed(ClientProtocol.REMOVE_IF_EQUALS, key(key), true, value(expected, "expected"))
            .thenApply(a -> a.payload().readBoolean("removed"));
    }

    public Map<K, V> getAll(final Collection<? extends K> keys)
    {
        return GridClient.await(getAllAsync(keys));
    }

    public CompletableFuture<Map<K, V>> getAllAsync(final Collection<? extends K> keys)
    {
        final FrameWriter w = new FrameWriter();
        w.writeString(info.name()).writeInt(keys.size());
        for (final K key : keys)
        {
            w.writeBytes(key(key));
        }
        return client.send(ClientProtocol.GET_ALL, w, null, true).thenApply(a ->
        {
            final int count = a.payload().readInt("entries", 0, 1 << 20);
            final Map<K, V> found = new HashMap<>(count * 2);
            for (int i = 0; i < count; i++)
            {
                found.put(keyCodec.decode(a.payload().readBytes("key")), a.payload().readDecoded("value", valueCodec));
            }
            return found;
        });
    }

    public void putAll(final Map<? extends K, ? extends V> entries)
    {
        GridClient.await(putAllAsync(entries));
    }

    public CompletableFuture<Void> putAllAsync(final Map<? extends K, ? extends V> entries)
    {
        final Map<byte[], byte[]> encoded = new LinkedHashMap<>();
        entries.forEach((k, v) -> encoded.put(key(k), value(v, "value")));
        final FrameWriter w = new FrameWriter();
        w.writeString(info.name());
        // One number per entry, in the request's order: each is a write of its own on the members.
        final long sequence = client.numberWrites(encoded.size(), w);
        w.writeInt(encoded.size());
        encoded.forEach((k, v) -> w.writeBytes(k).writeBytes(v));
        final CompletableFuture<ClientConnection.Answer> answer = client.send(ClientProtocol.PUT_ALL, w, null, true);
        answer.whenComplete((a, e) -> client.writesFinished(sequence));
        return answer.thenApply(a -> null);
    }

    public boolean containsKey(final K key)
    {
        return GridClient.await(containsKeyAsync(key));
    }

    public CompletableFuture<Boolean> containsKeyAsync(final K key)
    {
        return keyed(ClientProtocol.CONTAINS_KEY, key(key), false).thenApply(a -> a.payload().readBoolean("present"));
    }

    public long size()
    {
        return GridClient.await(sizeAsync());
    }

    public CompletableFuture<Long> sizeAsync()
    {
        final FrameWriter w = new FrameWriter();
        w.writeString(info.name());
        return client.send(ClientProtocol.SIZE, w, null, true).thenApply(a -> a.payload().readLong("size"));
    }

    public V merge(final K key, final V operand)
    {
        return GridClient.await(mergeAsync(key, operand));
    }

    public CompletableFuture<V> mergeAsync(final K key, final V operand)
    {
        return keyed(ClientProtocol.MERGE, key(key), true, value(operand, "operand"))
            .thenApply(a -> a.payload().readDecoded("value", valueCodec));
    }

    public V getAndPut(final K key, final V value)
    {
        return GridClient.await(getAndPutAsync(key, value));
    }

    public CompletableFuture<V> getAndPutAsync(final K key, final V value)
    {
        return keyed(ClientProtocol.GET_AND_PUT, key(key), true, value(value, "value"))
            .thenApply(a -> a.payload().readDecoded("value", valueCodec));
    }

    public V getAndRemove(final K key)
    {
        return GridClient.await(getAndRemoveAsync(key));
    }

    public CompletableFuture<V> getAndRemoveAsync(final K key)
    {
        return keyed(ClientProtocol.GET_AND_REMOVE, key(key), true)
            .thenApply(a -> a.payload().readDecoded("value", valueCodec));
    }

    public V getAndReplace(final K key, final V value)
    {
        return GridClient.await(getAndReplaceAsync(key, value));
    }

    public CompletableFuture<V> getAndReplaceAsync(final K key, final V value)
    {
        return keyed(ClientProtocol.GET_AND_REPLACE, key(key), true, value(value, "value"))
            .thenApply(a -> a.payload().readDecoded("value", valueCodec));
    }

    public boolean replace(final K key, final V value)
    {
        return GridClient.await(replaceAsync(key, value));
    }

    public CompletableFuture<Boolean> replaceAsync(final K key, final V value)
    {
        return keyed(ClientProtocol.REPLACE_PRESENT, key(key), true, value(value, "value"))
            .thenApply(a -> a.payload().readBoolean("replaced"));
    }

    public V invoke(final K key, final String processor, final V argument)
    {
        return GridClient.await(invokeAsync(key, processor, argument));
    }

    public CompletableFuture<V> invokeAsync(final K key, final String processor, final V argument)
    {
        final byte[] name = Objects.requireNonNull(processor, "processor must not be null")
            .getBytes(StandardCharsets.UTF_8);
        return keyed(ClientProtocol.INVOKE, key(key), true, name, argument == null ? null : value(argument, "argument"))
            .thenApply(a ->
            {
                a.payload().readBoolean("written");
                return decode(a.payload().readBytes("result"));
            });
    }

    public int removeAll(final Collection<? extends K> keys)
    {
        return GridClient.await(removeAllAsync(keys));
    }

    public CompletableFuture<Integer> removeAllAsync(final Collection<? extends K> keys)
    {
        final FrameWriter w = new FrameWriter();
        w.writeString(info.name());
        // One number per key, in the request's order: each is a remove of its own on the members.
        final long sequence = client.numberWrites(keys.size(), w);
        w.writeInt(keys.size());
        for (final K key : keys)
        {
            w.writeBytes(key(key));
        }
        final CompletableFuture<ClientConnection.Answer> answer = client.send(ClientProtocol.REMOVE_ALL, w, null,
            true);
        answer.whenComplete((a, e) -> client.writesFinished(sequence));
        return answer.thenApply(a -> a.payload().readInt("removed"));
    }

    public long clear()
    {
        return GridClient.await(clearAsync());
    }

    public CompletableFuture<Long> clearAsync()
    {
        final FrameWriter w = new FrameWriter();
        w.writeString(info.name());
        return client.send(ClientProtocol.CLEAR, w, null, true).thenApply(a -> a.payload().readLong("removed"));
    }

    public ScanCursor<K, V> scan()
    {
        return scan(ScanQuery.all());
    }

    public ScanCursor<K, V> scan(final ScanQuery<K, V> query)
    {
        if (query.predicate() != null)
        {
            throw new IllegalArgumentException("a thin client scans with a key prefix or a ValuePredicate, which run " +
                "on the members; an arbitrary predicate runs only in an embedded member's scan");
        }
        return new ScanPages.Cursor<>(info.partitions(), query, keyCodec, valueCodec, this::fetchPage);
    }

    /** A page of a partition, from any member (which asks the partition's primary). */
    private ScanPages.Page fetchPage(final int partition, final byte[] afterKey, final ScanPages.Spec spec)
    {
        final FrameWriter w = new FrameWriter();
        w.writeString(info.name()).writeInt(partition).writeBytes(afterKey);
        spec.write(w);
        return GridClient.await(client.send(ClientProtocol.SCAN_PAGE, w, null, true).thenApply(a ->
            ScanPages.Page.read(a.payload(), a.payload().readLong("counter"))));
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
        if (filter.predicate() != null)
        {
            throw new IllegalArgumentException("a thin client listens with a key prefix or a ValuePredicate, which " +
                "run on the members; an arbitrary predicate runs only in an embedded member's listener");
        }
        return new ClientListener(info.name(), new JournalReader<>(info.partitions(), filter, keyCodec, valueCodec,
            listener, resumeFrom), (partition, request) ->
        {
            final FrameWriter w = new FrameWriter();
            w.writeString(info.name()).writeInt(partition).writeRaw(request, 0, request.length);
            return client.send(ClientProtocol.JOURNAL_READ, w, null, true)
                .thenApply(a -> ScanPages.Events.read(a.payload()));
        }, initialPages);
    }

    @Override
    public String toString()
    {
        return "ClientCache{" + info.name() + "}";
    }
}
