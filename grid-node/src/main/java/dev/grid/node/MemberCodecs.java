package dev.grid.node;

import dev.grid.core.Codec;
import dev.grid.core.Codecs;
import dev.grid.core.EntryProcessor;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.MergeOperator;
import dev.grid.core.MergeOperators;
import dev.grid.core.MutableEntry;
import dev.grid.core.engine.BytesEntryProcessor;
import dev.grid.core.engine.BytesMergeOperator;
import dev.grid.core.engine.CacheDescriptor;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The codecs and merge operators a member knows by name: built in, registered in its configuration, or registered
 * when a cache is created with one. A cache's descriptor names its codecs and merge operator; this resolves the names,
 * for the member's caches and for the engine (a merge operator on encoded values).
 * <p>
 * <b>Threading:</b> thread-safe (a concurrent map; the configuration's codecs do not change).
 */
final class MemberCodecs
{
    private final MemberConfiguration config;
    private final Map<String, MergeOperator<?, ?>> mergeOperators = new ConcurrentHashMap<>();
    private final Map<String, EntryProcessor<?, ?>> entryProcessors = new ConcurrentHashMap<>();

    MemberCodecs(final MemberConfiguration config, final Map<String, EntryProcessor<?, ?>> serviceProcessors)
    {
        this.config = config;
        entryProcessors.putAll(serviceProcessors);
        entryProcessors.putAll(config.entryProcessors());
        mergeOperators.putAll(MergeOperators.builtIns());
        mergeOperators.putAll(config.mergeOperators());
    }

    /** Register a merge operator under its name (a cache created with it brings it). */
    void register(final String name, final MergeOperator<?, ?> operator)
    {
        mergeOperators.put(name, operator);
    }

    /**
     * @param name a merge operator's name.
     * @return the operator registered on this member under it, or null.
     */
    MergeOperator<?, ?> mergeOperator(final String name)
    {
        return name == null ? null : mergeOperators.get(name);
    }

    /**
     * @param name a merge operator's name.
     * @return the operator registered on this member under it.
     * @throws GridException with {@link ErrorCode#MERGE_FAILED} if none is.
     */
    @SuppressWarnings("unchecked")
    MergeOperator<Object, Object> mergeOperatorNamed(final String name)
    {
        final MergeOperator<?, ?> operator = mergeOperators.get(name);
        if (operator == null)
        {
            throw new GridException(ErrorCode.MERGE_FAILED, "merge operator '" + name + "' is not registered on " +
                "member " + config.memberId());
        }
        return (MergeOperator<Object, Object>)operator;
    }

    /**
     * @param name  a codec's name.
     * @param cache the cache that wants it, for the error message.
     * @return the codec, built in or registered on this member.
     * @throws InvalidConfigurationException if it is neither.
     */
    Codec<?> codec(final String name, final String cache)
    {
        final Codec<?> registered = config.codecs().get(name);
        if (registered != null)
        {
            return registered;
        }
        try
        {
            return Codecs.byName(name);
        }
        catch (final InvalidConfigurationException ex)
        {
            throw new InvalidConfigurationException("cache '" + cache + "' uses codec '" + name +
                "', which is neither built in nor registered on member " + config.memberId());
        }
    }

    /**
     * @param name  a codec's name.
     * @param cache the cache that wants it, for the error message.
     * @return the codec, typed for the member's untyped uses (the thin client's cache creation).
     */
    @SuppressWarnings("unchecked")
    Codec<Object> codecNamed(final String name, final String cache)
    {
        return (Codec<Object>)codec(name, cache);
    }

    /**
     * @param cache a cache.
     * @return its merge operator on encoded values, or null if it has none registered here.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    BytesMergeOperator resolve(final CacheDescriptor cache)
    {
        final MergeOperator operator = mergeOperators.get(cache.mergeOperator());
        if (operator == null)
        {
            return null;
        }
        final Codec keyCodec = codec(cache.keyCodec(), cache.name());
        final Codec valueCodec = codec(cache.valueCodec(), cache.name());
        return (key, current, operand) ->
        {
            final Object merged = operator.merge(keyCodec.decode(key),
                current == null ? null : valueCodec.decode(current), List.of(valueCodec.decode(operand)));
            return merged == null ? null : valueCodec.encode(merged);
        };
    }

    /**
     * @param cache a cache.
     * @param name  an entry processor's name.
     * @return the processor registered on this member under the name, on the cache's encoded keys and values, or null
     *         if none is.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    BytesEntryProcessor resolveProcessor(final CacheDescriptor cache, final String name)
    {
        final EntryProcessor processor = entryProcessors.get(name);
        if (processor == null)
        {
            return null;
        }
        final Codec keyCodec = codec(cache.keyCodec(), cache.name());
        final Codec valueCodec = codec(cache.valueCodec(), cache.name());
        return (key, current, argument, currentExpireAtMs, nowMs) ->
        {
            final ProcessedEntry entry = new ProcessedEntry(keyCodec.decode(key),
                current == null ? null : valueCodec.decode(current), currentExpireAtMs, nowMs);
            final Object result = processor.process(entry, argument == null ? null : valueCodec.decode(argument));
            return new BytesEntryProcessor.Processed(entry.changed, entry.value == null ? null :
                valueCodec.encode(entry.value), result == null ? null : valueCodec.encode(result),
                entry.expirySet ? entry.expireAtMs : BytesEntryProcessor.Processed.BY_POLICY);
        };
    }

    /** The entry an entry processor changes: its decisions, applied once it returns. */
    private static final class ProcessedEntry implements MutableEntry<Object, Object>
    {
        private final Object key;
        private final long nowMs;
        private Object value;
        private boolean changed;
        private long expireAtMs;
        private boolean expirySet;

        ProcessedEntry(final Object key, final Object value, final long expireAtMs, final long nowMs)
        {
            this.key = key;
            this.value = value;
            this.expireAtMs = value == null ? 0 : expireAtMs;
            this.nowMs = nowMs;
        }

        @Override
        public Object key()
        {
            return key;
        }

        @Override
        public Object value()
        {
            return value;
        }

        @Override
        public boolean exists()
        {
            return value != null;
        }

        @Override
        public void setValue(final Object newValue)
        {
            value = Objects.requireNonNull(newValue, "an entry processor's value must not be null: use remove()");
            changed = true;
        }

        @Override
        public void remove()
        {
            value = null;
            changed = true;
            expireAtMs = 0;
            expirySet = false;
        }

        @Override
        public long expireAtMs()
        {
            return value == null ? 0 : expireAtMs;
        }

        @Override
        public void setExpireAtMs(final long newExpireAtMs)
        {
            if (newExpireAtMs < 0)
            {
                throw new IllegalArgumentException("an expiry time is epoch milliseconds or 0 for never, not " +
                    newExpireAtMs);
            }
            expireAtMs = newExpireAtMs;
            expirySet = true;
            changed = value != null || changed;
        }

        @Override
        public long nowMs()
        {
            return nowMs;
        }
    }
}
