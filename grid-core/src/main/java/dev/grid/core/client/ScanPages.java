package dev.grid.core.client;

import dev.grid.core.Codec;
import dev.grid.core.ScanCursor;
import dev.grid.core.ScanQuery;
import dev.grid.core.ValuePredicate;
import dev.grid.core.codec.MalformedMessageException;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.BiPredicate;

/**
 * The encoding of a scan's pages, shared by the members (a primary reads a page of a partition and its origin or the
 * thin client's member passes it on unchanged) and the thin client, in {@link FrameWriter}'s encoding.
 * <p>
 * A page is asked for with a {@link Spec}: where the previous page ended, how much a page may hold, and a filter on
 * encoded bytes (a key prefix and a {@link ValuePredicate}) that the primary applies, so only matching entries cross
 * the network. A {@link Page} answers: whether the partition ended, the key it ended at (the next page starts after
 * it, whether or not that key matched), and the entries. The primary reads a page in one step of its duty cycle, so
 * a page is the partition's contents at one update counter.
 * <p>
 * Stateless; thread-safe.
 */
public final class ScanPages
{
    /** The most entries a page holds, however many are asked for. */
    public static final int PAGE_ENTRIES_MAX = ScanQuery.PAGE_ENTRIES_MAX;
    /** Bytes of keys and values after which a page ends (it holds at least one entry, however long). */
    public static final int PAGE_BYTES_MAX = 1 << 20;
    /** Entries a primary examines for one page at most: a filter that matches little still ends pages quickly. */
    public static final int EXAMINED_MAX = 65_536;

    private ScanPages()
    {
    }

    /**
     * What a page asks for.
     *
     * @param fromStart   whether the page starts at the partition's first key (else after the request's key).
     * @param maxEntries  the most entries the page holds, in [1, {@link #PAGE_ENTRIES_MAX}].
     * @param keyPrefix   only keys whose encoded bytes start with it, or null for every key.
     * @param valueKind   only values this predicate kind accepts with {@code operand} (PRESENT: every value).
     * @param operand     the predicate's encoded operand (EQUALS, NOT_EQUALS), else null.
     */
    public record Spec(boolean fromStart, int maxEntries, byte[] keyPrefix, ValuePredicate.Kind valueKind,
        byte[] operand)
    {
        /**
         * @throws IllegalArgumentException if the limits are out of range or the predicate cannot hold a value.
         */
        public Spec
        {
            if (maxEntries < 1 || maxEntries > PAGE_ENTRIES_MAX)
            {
                throw new IllegalArgumentException("page entries " + maxEntries + " out of [1, " + PAGE_ENTRIES_MAX +
                    "]");
            }
            if (valueKind == null || valueKind == ValuePredicate.Kind.ABSENT)
            {
                throw new IllegalArgumentException("a scan's value predicate must accept present values, got " +
                    valueKind);
            }
            if ((valueKind == ValuePredicate.Kind.EQUALS || valueKind == ValuePredicate.Kind.NOT_EQUALS) !=
                (operand != null))
            {
                throw new IllegalArgumentException(valueKind + " takes " + (operand == null ? "an" : "no") +
                    " operand");
            }
        }

        /** @return a spec of every entry, {@code maxEntries} a page. */
        public static Spec all(final boolean fromStart, final int maxEntries)
        {
            return new Spec(fromStart, maxEntries, null, ValuePredicate.Kind.PRESENT, null);
        }

        /** @return this spec for the page after the first. */
        public Spec next()
        {
            return new Spec(false, maxEntries, keyPrefix, valueKind, operand);
        }

        /** @return whether an entry passes the filter. */
        public boolean accepts(final byte[] key, final byte[] value)
        {
            if (keyPrefix != null && (key.length < keyPrefix.length ||
                !Arrays.equals(key, 0, keyPrefix.length, keyPrefix, 0, keyPrefix.length)))
            {
                return false;
            }
            return switch (valueKind)
            {
                case EQUALS -> Arrays.equals(value, operand);
                case NOT_EQUALS -> !Arrays.equals(value, operand);
                default -> true;
            };
        }

        /**
         * @return whether a journal's event passes the filter: its key the prefix, its value (if it has one: a
         *         removal has none) the predicate.
         */
        public boolean acceptsEvent(final byte[] key, final byte[] value)
        {
            return value == null ? keyPrefix == null || key.length >= keyPrefix.length &&
                Arrays.equals(key, 0, keyPrefix.length, keyPrefix, 0, keyPrefix.length) : accepts(key, value);
        }

        /** @return the spec encoded: {@code [bool fromStart][i32 maxEntries][bytes prefix][u8 kind][bytes operand]}. */
        public byte[] encode()
        {
            return write(new FrameWriter()).toBytes();
        }

        /** @return the writer, with the spec appended. */
        public FrameWriter write(final FrameWriter writer)
        {
            return writer.writeBoolean(fromStart).writeInt(maxEntries).writeBytes(keyPrefix)
                .writeByte(valueKind.ordinal()).writeBytes(operand);
        }

        /**
         * @param reader positioned at an encoded spec.
         * @return the spec.
         * @throws MalformedMessageException if it is truncated or out of range.
         */
        public static Spec read(final FrameReader reader)
        {
            final boolean fromStart = reader.readBoolean("fromStart");
            final int maxEntries = reader.readInt("maxEntries", 1, PAGE_ENTRIES_MAX);
            final byte[] prefix = reader.readBytes("keyPrefix");
            final int kind = reader.readByte("valueKind");
            final byte[] operand = reader.readBytes("operand");
            if (kind < 0 || kind >= ValuePredicate.Kind.values().length)
            {
                throw new MalformedMessageException("unknown value predicate kind " + kind);
            }
            try
            {
                return new Spec(fromStart, maxEntries, prefix, ValuePredicate.Kind.values()[kind], operand);
            }
            catch (final IllegalArgumentException ex)
            {
                throw new MalformedMessageException("scan page spec: " + ex.getMessage());
            }
        }

        /** @return the spec decoded from {@link #encode()}'s bytes. */
        public static Spec decode(final byte[] bytes)
        {
            if (bytes == null)
            {
                throw new MalformedMessageException("scan page request without its spec");
            }
            return read(new FrameReader().wrap(bytes, 0, bytes.length));
        }
    }

    /**
     * A page of a partition.
     *
     * @param counter   the counter the primary read it at: every update of the partition up to it is in the page (the
     *                  same horizon a journal read stops at), later ones may be.
     * @param done      whether the partition has no entry after {@code endKey}.
     * @param endKey    the last key the primary examined (the next page starts after it), or null if it examined none.
     * @param keys      the matching entries' keys, in key order.
     * @param values    their values, index for index.
     */
    public record Page(long counter, boolean done, byte[] endKey, List<byte[]> keys, List<byte[]> values)
    {
        /** @return the number of entries. */
        public int size()
        {
            return keys.size();
        }

        /**
         * @param reader positioned at an encoded page.
         * @return the page.
         * @throws MalformedMessageException if it is truncated.
         */
        public static Page read(final FrameReader reader, final long counter)
        {
            final boolean done = reader.readBoolean("done");
            final byte[] endKey = reader.readBytes("endKey");
            final int count = reader.readInt("entries", 0, PAGE_ENTRIES_MAX);
            final List<byte[]> keys = new ArrayList<>(count);
            final List<byte[]> values = new ArrayList<>(count);
            for (int i = 0; i < count; i++)
            {
                keys.add(reader.readBytes("key"));
                values.add(reader.readBytes("value"));
            }
            return new Page(counter, done, endKey, keys, values);
        }

        /**
         * @param bytes   what a primary encoded.
         * @param counter the counter it read the page at (its outcome's count).
         * @return the page.
         */
        public static Page decode(final byte[] bytes, final long counter)
        {
            return read(new FrameReader().wrap(bytes, 0, bytes.length), counter);
        }
    }

    /**
     * Encodes a page as a primary reads it: {@code [bool done][bytes endKey][i32 n]([bytes key][bytes value])*n}.
     * Not thread-safe.
     */
    public static final class PageWriter
    {
        private final FrameWriter writer = new FrameWriter();
        private final FrameWriter entries = new FrameWriter();
        private int count;
        private int bytes;

        /** @return this, empty. */
        public PageWriter reset()
        {
            entries.reset();
            count = 0;
            bytes = 0;
            return this;
        }

        /** Add an entry. */
        public void add(final byte[] key, final byte[] value)
        {
            entries.writeBytes(key).writeBytes(value);
            count++;
            bytes += key.length + value.length;
        }

        /** @return the entries added. */
        public int count()
        {
            return count;
        }

        /** @return whether the page is full for {@code maxEntries}. */
        public boolean full(final int maxEntries)
        {
            return count >= maxEntries || bytes >= PAGE_BYTES_MAX;
        }

        /** @return the page, encoded. */
        public byte[] finish(final boolean done, final byte[] endKey)
        {
            writer.reset().writeBoolean(done).writeBytes(endKey).writeInt(count)
                .writeRaw(entries.array(), 0, entries.length());
            return writer.toBytes();
        }
    }

    /**
     * A read of a partition's event journal: the events after the reader's position up to the primary's horizon.
     *
     * @param lost     whether the journal no longer holds the events after the position (the reader goes on from
     *                 {@code floor}).
     * @param floor    the counter at or below which the journal knows nothing.
     * @param readUpTo where the next read starts.
     * @param counters the events' counters, ascending.
     * @param kinds    their kinds' ordinals ({@code CacheEvent.Kind}).
     * @param keys     their keys.
     * @param values   their values (null for removals).
     */
    public record Events(boolean lost, long floor, long readUpTo, long[] counters, byte[] kinds, List<byte[]> keys,
        List<byte[]> values)
    {
        /** @return the request value of a journal read: {@code [i64 after]} and the spec. */
        public static byte[] request(final long after, final Spec spec)
        {
            return spec.write(new FrameWriter().writeLong(after)).toBytes();
        }

        /**
         * @param waitMs how long the primary may hold the read while it has nothing after {@code after} (answering as
         *               soon as it has): {@code [i64 after][spec][i64 waitMs]}.
         * @return the request value of a journal read that may wait.
         */
        public static byte[] request(final long after, final Spec spec, final long waitMs)
        {
            return spec.write(new FrameWriter().writeLong(after)).writeLong(waitMs).toBytes();
        }

        /** @return the events decoded from the bytes a primary encoded. */
        public static Events decode(final byte[] bytes)
        {
            return read(new FrameReader().wrap(bytes, 0, bytes.length));
        }

        /** @return the events read from a reader positioned at them. */
        public static Events read(final FrameReader reader)
        {
            final boolean lost = reader.readBoolean("lost");
            final long floor = reader.readLong("floor");
            final long readUpTo = reader.readLong("readUpTo");
            final int count = reader.readInt("events", 0, PAGE_ENTRIES_MAX);
            final long[] counters = new long[count];
            final byte[] kinds = new byte[count];
            final List<byte[]> keys = new ArrayList<>(count);
            final List<byte[]> values = new ArrayList<>(count);
            for (int i = 0; i < count; i++)
            {
                counters[i] = reader.readLong("counter");
                kinds[i] = reader.readByte("kind");
                keys.add(reader.readBytes("key"));
                values.add(reader.readBytes("value"));
            }
            return new Events(lost, floor, readUpTo, counters, kinds, keys, values);
        }
    }

    /** Reads a page of a partition for a {@link Cursor}, blocking until it arrives. */
    @FunctionalInterface
    public interface PageSource
    {
        /**
         * @param partition the partition.
         * @param afterKey  where the previous page ended, or null for the first page.
         * @param spec      the page's limits and filter.
         * @return the page.
         */
        Page fetch(int partition, byte[] afterKey, Spec spec);
    }

    /**
     * @param query      a scan's query.
     * @param keyCodec   the cache's key codec (for the prefix).
     * @param valueCodec the cache's value codec (for the predicate's operand).
     * @return the spec of the first page of each partition.
     */
    public static <K, V> Spec spec(final ScanQuery<K, V> query, final Codec<K> keyCodec, final Codec<V> valueCodec)
    {
        final byte[] prefix = query.keyPrefix() == null ? null : keyCodec.encode(query.keyPrefix());
        final ValuePredicate.Kind kind = query.value() == null ? ValuePredicate.Kind.PRESENT : query.value().kind();
        final byte[] operand = query.value() == null || query.value().operand() == null ? null :
            valueCodec.encode(query.value().operand());
        return new Spec(true, query.pageEntries(), prefix, kind, operand);
    }

    /**
     * A scan's entries, partition after partition, a page at a time (see {@link ScanCursor}). Not thread-safe.
     *
     * @param <K> the key type.
     * @param <V> the value type.
     */
    public static final class Cursor<K, V> implements ScanCursor<K, V>
    {
        private final int partitions;
        private final Spec firstSpec;
        private final Codec<K> keyCodec;
        private final Codec<V> valueCodec;
        private final BiPredicate<? super K, ? super V> predicate;
        private final PageSource source;
        private int partition;
        private Page page;
        private int index;
        private Map.Entry<K, V> nextEntry;
        private boolean closed;

        /**
         * @param partitions the cache's partition count.
         * @param query      the scan's query.
         * @param keyCodec   the cache's key codec.
         * @param valueCodec the cache's value codec.
         * @param source     reads pages.
         */
        public Cursor(final int partitions, final ScanQuery<K, V> query, final Codec<K> keyCodec,
            final Codec<V> valueCodec, final PageSource source)
        {
            this.partitions = partitions;
            this.firstSpec = spec(query, keyCodec, valueCodec);
            this.keyCodec = keyCodec;
            this.valueCodec = valueCodec;
            this.predicate = query.predicate();
            this.source = source;
        }

        @Override
        public boolean hasNext()
        {
            while (nextEntry == null && !closed)
            {
                if (page != null && index < page.size())
                {
                    final K key = keyCodec.decode(page.keys().get(index));
                    final V value = valueCodec.decode(page.values().get(index));
                    index++;
                    if (predicate == null || predicate.test(key, value))
                    {
                        nextEntry = new AbstractMap.SimpleImmutableEntry<>(key, value);
                    }
                    continue;
                }
                if (page != null && page.done())
                {
                    partition++;
                    page = null;
                }
                if (partition >= partitions)
                {
                    closed = true;
                    break;
                }
                final byte[] afterKey = page == null ? null : page.endKey();
                page = source.fetch(partition, afterKey, afterKey == null ? firstSpec : firstSpec.next());
                index = 0;
            }
            return nextEntry != null;
        }

        @Override
        public Map.Entry<K, V> next()
        {
            if (!hasNext())
            {
                throw new NoSuchElementException("the scan has no more entries");
            }
            final Map.Entry<K, V> entry = nextEntry;
            nextEntry = null;
            return entry;
        }

        @Override
        public void close()
        {
            closed = true;
            nextEntry = null;
            page = null;
        }
    }
}
