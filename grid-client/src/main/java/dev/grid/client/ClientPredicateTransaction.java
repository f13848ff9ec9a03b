package dev.grid.client;

import dev.grid.core.Cache;
import dev.grid.core.ErrorCode;
import dev.grid.core.PredicateResult;
import dev.grid.core.PredicateTransaction;
import dev.grid.core.ValuePredicate;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.client.FrameReader;
import dev.grid.core.client.FrameWriter;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiPredicate;

/**
 * A predicate transaction through the thin client: the conditions and writes travel in one request, and the member
 * that receives it executes them exactly as for an embedded user (locks in age order, retries keeping the first
 * attempt's age). Conditions must be {@link ValuePredicate}s (code does not travel). If the connection breaks while
 * it runs, the outcome is unknown ({@link ErrorCode#OUTCOME_UNKNOWN}). Build on one thread.
 */
final class ClientPredicateTransaction implements PredicateTransaction
{
    private final GridClient client;
    private final long timeoutMs;
    private final FrameWriter predicates = new FrameWriter();
    private final FrameWriter writes = new FrameWriter();
    private int predicateCount;
    private int writeCount;
    private boolean retryOnAbort;
    /** To decode what a failed predicate saw: the caches by name. */
    private final Map<String, ClientCache<?, ?>> caches = new HashMap<>();

    ClientPredicateTransaction(final GridClient client, final long timeoutMs)
    {
        this.client = client;
        this.timeoutMs = timeoutMs;
    }

    @SuppressWarnings("unchecked")
    public <K, V> PredicateTransaction predicate(final Cache<K, V> cache, final K key,
        final BiPredicate<? super K, ? super V> predicate)
    {
        if (!(predicate instanceof ValuePredicate))
        {
            throw new UnsupportedOperationException("the thin client sends conditions as ValuePredicate (equalTo, " +
                "notEqualTo, absent, present); arbitrary code cannot travel to the member");
        }
        final ValuePredicate<V> condition = (ValuePredicate<V>)predicate;
        final ClientCache<K, V> c = ClientCache.of(cache);
        caches.put(c.name(), c);
        predicates.writeString(c.name()).writeBytes(c.encodeKey(Objects.requireNonNull(key, "key must not be null")))
            .writeByte(condition.kind().ordinal())
            .writeBytes(condition.operand() == null ? null : c.encodeValue(condition.operand(), "operand"));
        predicateCount++;
        return this;
    }

    public <K, V> PredicateTransaction set(final Cache<K, V> cache, final K key, final V value)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        writes.writeString(c.name()).writeBytes(c.encodeKey(Objects.requireNonNull(key, "key must not be null")))
            .writeBoolean(false).writeBytes(c.encodeValue(value, "value"));
        writeCount++;
        return this;
    }

    public <K, V> PredicateTransaction del(final Cache<K, V> cache, final K key)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        writes.writeString(c.name()).writeBytes(c.encodeKey(Objects.requireNonNull(key, "key must not be null")))
            .writeBoolean(true).writeBytes(null);
        writeCount++;
        return this;
    }

    public PredicateTransaction retryOnAbort(final boolean retry)
    {
        this.retryOnAbort = retry;
        return this;
    }

    public PredicateResult execute()
    {
        return GridClient.await(executeAsync());
    }

    public CompletableFuture<PredicateResult> executeAsync()
    {
        final FrameWriter w = new FrameWriter();
        w.writeLong(timeoutMs).writeBoolean(retryOnAbort).writeInt(predicateCount)
            .writeRaw(predicates.array(), 0, predicates.length()).writeInt(writeCount)
            .writeRaw(writes.array(), 0, writes.length());
        return client.send(ClientProtocol.PREDICATE_TX, w, null, false).thenApply(answer -> decode(answer.payload()));
    }

    private PredicateResult decode(final FrameReader r)
    {
        final int outcome = r.readByte("outcome");
        switch (outcome)
        {
            case 0 ->
            {
                return new PredicateResult.Committed(r.readInt("attempts"));
            }
            case 1 ->
            {
                final int count = r.readInt("seen", 0, 1 << 16);
                final List<PredicateResult.SeenValue> seen = new ArrayList<>(count);
                for (int i = 0; i < count; i++)
                {
                    final String name = r.readString("cache");
                    final byte[] key = r.readBytes("key");
                    final byte[] value = r.readBytes("value");
                    final ClientCache<?, ?> cache = caches.get(name);
                    seen.add(new PredicateResult.SeenValue(name, cache == null ? key : cache.decodeKey(key),
                        cache == null || value == null ? value : cache.decodeValue(value), r.readBoolean("satisfied")));
                }
                return new PredicateResult.PredicateFailure(List.copyOf(seen));
            }
            default ->
            {
                final int code = r.readInt("errorCode");
                final String message = r.readString("message");
                return new PredicateResult.Aborted(ClientConnection.toException(code, message).errorCode(), message,
                    r.readInt("attempts"));
            }
        }
    }
}
