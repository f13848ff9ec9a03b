package dev.grid.core.internal.partition;

import net.openhft.hashing.LongHashFunction;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The contents of one partition copy: key bytes to value bytes, each with the update counter of its last update.
 * <p>
 * <b>Newest counter wins.</b> {@link #apply} installs an update only if its counter is above the key's current one, so
 * updates applied out of order, replayed from the WAL or delivered twice converge to the same contents on every copy.
 * <b>Removes leave tombstones</b> carrying the remove's counter, so that an older update arriving later (reordered, or
 * streamed by rebalance) cannot resurrect the key. Tombstones are purged only up to a counter the caller knows no
 * rebalance or replay still needs ({@link #purgeTombstones}).
 * <p>
 * Iteration is in unsigned lexicographic order of the key bytes: stable across copies and runs. {@link #contentHash()}
 * is a sum of per-entry hashes over live entries, so it does not depend on insertion order and copies holding the same
 * data agree on it.
 * <p>
 * <b>Two indexes.</b> A hash index by key bytes serves reads and updates of keys the store holds; a tree in key order
 * serves scans, eviction samples and images (checkpoints and snapshots). The tree is built when the store is first
 * used in key order (one sort of the entries) and kept from then on, taking part in a write only when the key is new
 * to the store: a copy nobody scans (a member without persistence, scan queries, expiry or a memory bound) never
 * builds one, and recovery's replay fills the hash index alone.
 * <p>
 * <b>Accounted bytes.</b> The store keeps the heap its entries take by a fixed formula per entry
 * ({@link #accountedBytes(byte[], byte[])}: the tree node, the hash index's share, the entry object and both arrays
 * with their headers and padding, tombstones included), so a member bounds its cache data by bytes it counts, not by
 * guesses at run time.
 * <p>
 * <b>Use.</b> For eviction on a primary, each entry remembers when it was last used (a logical clock of the store,
 * advanced by {@link #touch} and by every install) and how often; neither is part of the contents, and copies do not
 * agree on them.
 * <p>
 * The store takes ownership of the arrays passed to it and never changes them. Not thread-safe: owned by the shard
 * that owns the partition.
 */
public final class PartitionStore
{
    /** Visits entries in key order. */
    @FunctionalInterface
    public interface EntryVisitor
    {
        /**
         * @param key     the key bytes; must not be changed.
         * @param value   the value bytes, or null for a tombstone; must not be changed.
         * @param counter the update counter of the entry's last update.
         */
        void onEntry(byte[] key, byte[] value, long counter);
    }

    /**
     * One key's entry, in both the hash index ({@link EntryIndex}) and the tree (as the value of its key bytes). Value
     * and counter change in place when an update is installed over it, so an update of a key the store holds touches
     * the hash index only. Equal by key bytes, and comparable by them unsigned, so that in a crowded index (a
     * {@link java.util.HashMap}) a bucket of keys whose hashes collide (clients choose keys) becomes a balanced tree,
     * not a list.
     */
    static final class Entry implements Comparable<Entry>
    {
        /** The key bytes; changed only in the index's probe, never in an entry held by the store. */
        byte[] key;
        /** {@code Arrays.hashCode(key)}. */
        int hash;
        private byte[] value;
        private long counter;
        /** The store's use clock at the entry's last use. */
        private long lastUse;
        /** How often the entry was used since it was installed here (saturating). */
        private int uses;

        Entry(final byte[] key, final int hash)
        {
            this.key = key;
            this.hash = hash;
        }

        @Override
        public int hashCode()
        {
            return hash;
        }

        @Override
        public boolean equals(final Object other)
        {
            return other instanceof Entry entry && entry.hash == hash && Arrays.equals(entry.key, key);
        }

        @Override
        public int compareTo(final Entry other)
        {
            return Arrays.compareUnsigned(key, other.key);
        }
    }

    /**
     * The heap an entry takes beyond its arrays' contents, with compressed references: the tree node (header, key,
     * value, left, right, parent, colour: 40; counted whether or not the store has built its tree yet, so that a scan
     * never takes a member past its memory bound), the hash index's share (40: in its table, a reference and a hash
     * per slot, 16 to 32 per entry while the store grows, up to 64 after a purge, as a purge shrinks the table only
     * when it leaves it less than an eighth full; in an index crowded by keys chosen to collide, a
     * {@link java.util.HashMap} node of 32, or a tree node of 56 in a bucket of colliding keys, and two to four table
     * slots), the entry object (header, key, hash, value, counter, use, uses: 48) and two array headers (16 each).
     */
    public static final int ENTRY_OVERHEAD_BYTES = 40 + 32 + 8 + 48 + 16 + 16;

    private final int partition;
    /** One instance, so that {@link TreeMap#putAll} recognises a run sorted by the same order (see ordered). */
    private static final Comparator<byte[]> UNSIGNED = Arrays::compareUnsigned;
    /** The halves of {@link #entryHash}. */
    private static final LongHashFunction KEY_HASH = LongHashFunction.murmur_3(0);
    private static final LongHashFunction VALUE_HASH = LongHashFunction.murmur_3(0x5EED);

    /**
     * Every entry by its key bytes: reads, and writes to keys the store holds, look up here (a hash and a probe or two)
     * instead of walking down the tree.
     */
    private final EntryIndex index = new EntryIndex();
    /** Every entry in unsigned key order, for scans, eviction samples and images; empty until {@link #treeKept}. */
    private final TreeMap<byte[], Entry> entries = new TreeMap<>(UNSIGNED);
    /** Whether {@link #entries} holds every entry: from the first use in key order ({@link #ordered()}) on. */
    private boolean treeKept;
    private int liveCount;
    private long liveHash;
    private long bytes;
    private long liveBytes;
    private long useClock;

    /**
     * The entries in key order, for any use that needs it: the first such use sorts the entries once and builds the
     * tree from the sorted run in linear time; from then on the tree is kept, a new key inserted into it as well.
     */
    private TreeMap<byte[], Entry> ordered()
    {
        if (!treeKept)
        {
            final List<Map.Entry<byte[], Entry>> run = new ArrayList<>(index.size());
            index.forEach(entry -> run.add(new AbstractMap.SimpleImmutableEntry<>(entry.key, entry)));
            run.sort(Map.Entry.comparingByKey(UNSIGNED));
            // TreeMap.putAll builds an empty tree from a SortedMap of the same comparator in one linear pass.
            entries.putAll(new SortedRun(run));
            // Only once built: a build that failed half way (no memory) is not taken for a whole tree.
            treeKept = true;
        }
        return entries;
    }

    /** @return whether keys chosen to collide moved the hash index into a map (for tests). */
    boolean indexCrowded()
    {
        return index.isCrowded();
    }

    /** @return the key's entry, or null if the store does not hold the key (nor a tombstone of it). */
    private Entry lookup(final byte[] key)
    {
        return lookup(key, Arrays.hashCode(key));
    }

    private Entry lookup(final byte[] key, final int hash)
    {
        return index.get(key, hash);
    }

    /**
     * A run of entries already sorted by {@link #UNSIGNED}, for {@link TreeMap#putAll}'s sorted fast path, which reads
     * only its size, comparator and entries in order.
     */
    private static final class SortedRun extends AbstractMap<byte[], PartitionStore.Entry>
        implements SortedMap<byte[], PartitionStore.Entry>
    {
        private final List<Map.Entry<byte[], PartitionStore.Entry>> run;

        SortedRun(final List<Map.Entry<byte[], PartitionStore.Entry>> run)
        {
            this.run = run;
        }

        @Override
        public Set<Map.Entry<byte[], PartitionStore.Entry>> entrySet()
        {
            return new AbstractSet<>()
            {
                @Override
                public Iterator<Map.Entry<byte[], PartitionStore.Entry>> iterator()
                {
                    return run.iterator();
                }

                @Override
                public int size()
                {
                    return run.size();
                }
            };
        }

        @Override
        public Comparator<? super byte[]> comparator()
        {
            return UNSIGNED;
        }

        @Override
        public SortedMap<byte[], PartitionStore.Entry> subMap(final byte[] fromKey, final byte[] toKey)
        {
            throw new UnsupportedOperationException("a sorted run only feeds TreeMap.putAll");
        }

        @Override
        public SortedMap<byte[], PartitionStore.Entry> headMap(final byte[] toKey)
        {
            throw new UnsupportedOperationException("a sorted run only feeds TreeMap.putAll");
        }

        @Override
        public SortedMap<byte[], PartitionStore.Entry> tailMap(final byte[] fromKey)
        {
            throw new UnsupportedOperationException("a sorted run only feeds TreeMap.putAll");
        }

        @Override
        public byte[] firstKey()
        {
            return run.get(0).getKey();
        }

        @Override
        public byte[] lastKey()
        {
            return run.get(run.size() - 1).getKey();
        }
    }

    /**
     * @param partition the partition this store holds.
     */
    public PartitionStore(final int partition)
    {
        this.partition = partition;
    }

    /**
     * @return the partition this store holds.
     */
    public int partition()
    {
        return partition;
    }

    /**
     * Install an update if it is newer than what the key holds.
     *
     * @param key     the key bytes.
     * @param value   the value bytes, or null to remove (leaving a tombstone).
     * @param counter the update's counter, positive.
     * @return true if installed; false if the key already holds this or a newer counter.
     */
    public boolean apply(final byte[] key, final byte[] value, final long counter)
    {
        if (counter <= 0)
        {
            throw new IllegalArgumentException("partition " + partition + ": counter must be positive: " + counter);
        }
        // An update of a key the store holds changes its entry in place: one hash lookup, no walk down the tree (the
        // hot path of writes). Only a new key is inserted into the tree as well (once the tree is kept).
        final int hash = Arrays.hashCode(key);
        Entry entry = lookup(key, hash);
        final boolean existed = entry != null;
        if (existed && entry.counter >= counter)
        {
            return false;
        }
        final byte[] previous = existed ? entry.value : null;
        if (!existed)
        {
            entry = new Entry(key, hash);
            index.add(entry);
            if (treeKept)
            {
                entries.put(key, entry);
            }
        }
        entry.value = value;
        entry.counter = counter;
        entry.lastUse = ++useClock;
        entry.uses = 1;
        liveCount += (value != null ? 1 : 0) - (previous != null ? 1 : 0);
        bytes += accountedBytes(key, value) - (existed ? accountedBytes(key, previous) : 0);
        liveBytes += (value == null ? 0 : accountedBytes(key, value)) -
            (previous == null ? 0 : accountedBytes(key, previous));
        liveHash += (value != null ? entryHash(key, value) : 0) - (previous != null ? entryHash(key, previous) : 0);
        return true;
    }

    /**
     * @param key the key bytes.
     * @return the value bytes (not to be changed), or null if absent or removed.
     */
    public byte[] get(final byte[] key)
    {
        final Entry entry = lookup(key);
        return entry == null ? null : entry.value;
    }

    /**
     * Record a use of a live entry (a read or write of it on the primary), for eviction.
     *
     * @param key the key bytes.
     */
    public void touch(final byte[] key)
    {
        final Entry entry = lookup(key);
        if (entry != null && entry.value != null)
        {
            entry.lastUse = ++useClock;
            entry.uses = entry.uses == Integer.MAX_VALUE ? entry.uses : entry.uses + 1;
        }
    }

    /**
     * Choose an entry to evict among about {@code sample} live entries that follow a random point of the key space:
     * the least recently used one, or the least often used one.
     *
     * @param from     where the sample starts (random bytes; the first key at or after them, wrapping around).
     * @param sample   how many live entries to look at.
     * @param byUses   true to compare by uses (LFU), false by last use (LRU).
     * @param excluded a key never chosen (the one just written), or null.
     * @return the chosen key, or null if no live entry other than {@code excluded} was found.
     */
    public byte[] evictionCandidate(final byte[] from, final int sample, final boolean byUses, final byte[] excluded)
    {
        byte[] chosen = null;
        long best = Long.MAX_VALUE;
        int seen = 0;
        for (int round = 0; round < 2 && seen < sample; round++)
        {
            final Map<byte[], Entry> part = round == 0 ? ordered().tailMap(from, true) : ordered().headMap(from, false);
            for (final Map.Entry<byte[], Entry> e : part.entrySet())
            {
                final Entry entry = e.getValue();
                if (entry.value == null || excluded != null && Arrays.equals(excluded, e.getKey()))
                {
                    continue;
                }
                final long score = byUses ? entry.uses : entry.lastUse;
                if (score < best)
                {
                    best = score;
                    chosen = e.getKey();
                }
                if (++seen >= sample)
                {
                    break;
                }
            }
        }
        return chosen;
    }

    /**
     * The heap an entry takes by the store's formula: its overhead and both arrays, each padded to 8 bytes.
     *
     * @param key   the key bytes.
     * @param value the value bytes, or null for a tombstone.
     * @return the accounted bytes.
     */
    public static long accountedBytes(final byte[] key, final byte[] value)
    {
        return ENTRY_OVERHEAD_BYTES + padded(key.length) + (value == null ? 0 : padded(value.length));
    }

    private static long padded(final int length)
    {
        return (length + 7L) & ~7L;
    }

    /**
     * @return the bytes this store's entries take by {@link #accountedBytes(byte[], byte[])}, tombstones included.
     */
    public long accountedBytes()
    {
        return bytes;
    }

    /** @return the accounted bytes of the live entries only (what an eviction can free; tombstones stay). */
    public long liveBytes()
    {
        return liveBytes;
    }

    /**
     * @param key the key bytes.
     * @return the counter of the key's last update or remove, or 0 if the store has never seen it (or purged it).
     */
    public long counterOf(final byte[] key)
    {
        final Entry entry = lookup(key);
        return entry == null ? 0 : entry.counter;
    }

    /** Visits live entries in key order until it declines one. */
    @FunctionalInterface
    public interface EntryScanner
    {
        /**
         * @param key     the key bytes; must not be changed.
         * @param value   the value bytes; must not be changed.
         * @param counter the update counter of the entry's last update.
         * @return true to take the entry and go on; false to stop before it.
         */
        boolean onEntry(byte[] key, byte[] value, long counter);
    }

    /**
     * Visit live entries (tombstones skipped) in key order after {@code afterKey}: a cursor that stays valid while the
     * store changes (rebalance streams a partition in batches this way).
     *
     * @param afterKey exclusive start, or null for the first key.
     * @param scanner  takes entries until it declines one.
     * @return true if every entry after {@code afterKey} was taken (the end was reached).
     */
    public boolean scan(final byte[] afterKey, final EntryScanner scanner)
    {
        final Map<byte[], Entry> tail = afterKey == null ? ordered() : ordered().tailMap(afterKey, false);
        for (final Map.Entry<byte[], Entry> entry : tail.entrySet())
        {
            if (entry.getValue().value != null &&
                !scanner.onEntry(entry.getKey(), entry.getValue().value, entry.getValue().counter))
            {
                return false;
            }
        }
        return true;
    }

    /**
     * @return the number of live entries (tombstones excluded).
     */
    public int size()
    {
        return liveCount;
    }

    /**
     * @return the number of tombstones held.
     */
    public int tombstoneCount()
    {
        return index.size() - liveCount;
    }

    /**
     * Drop tombstones no longer needed: those whose counter is at most {@code counterMax}.
     *
     * @param counterMax the highest counter whose tombstones may go.
     * @return the number dropped.
     */
    public int purgeTombstones(final long counterMax)
    {
        // The hash index, in no order (none is needed; a tree not kept is not built for this). Each entry carries its
        // own key: the tree's map entries cannot be trusted for it after a removal (removing a node with two children
        // moves its successor's key and value into it).
        return index.removeIf(entry -> entry.value == null && entry.counter <= counterMax, entry ->
        {
            if (treeKept)
            {
                entries.remove(entry.key);
            }
            bytes -= accountedBytes(entry.key, null);
        });
    }

    /**
     * Copy out every entry, tombstones included, in key order: the arrays share the store's key and value arrays,
     * which nobody changes, so the copy costs one pass over the entries.
     *
     * @param keys     receives the keys; its length must be {@link #entryCount()}.
     * @param values   receives the values (null for tombstones); same length.
     * @param counters receives each entry's counter; same length.
     */
    public void snapshot(final byte[][] keys, final byte[][] values, final long[] counters)
    {
        int i = 0;
        for (final Map.Entry<byte[], Entry> entry : ordered().entrySet())
        {
            keys[i] = entry.getKey();
            values[i] = entry.getValue().value;
            counters[i] = entry.getValue().counter;
            i++;
        }
    }

    /**
     * @return the number of entries, tombstones included.
     */
    public int entryCount()
    {
        return index.size();
    }

    /**
     * Visit every entry, tombstones included, in unsigned key order.
     *
     * @param visitor to call per entry.
     */
    public void forEach(final EntryVisitor visitor)
    {
        for (final Map.Entry<byte[], Entry> entry : ordered().entrySet())
        {
            visitor.onEntry(entry.getKey(), entry.getValue().value, entry.getValue().counter);
        }
    }

    /**
     * An order-independent hash of the live contents (keys and values, not counters or tombstones), for comparing
     * copies: the wrapping sum of a 64-bit hash per entry, kept up to date on every apply.
     *
     * @return the hash; 0 for an empty store.
     */
    public long contentHash()
    {
        return liveHash;
    }

    /**
     * Remove everything, as a full rebalance does before streaming the partition.
     */
    public void clear()
    {
        treeKept = false;
        index.clear();
        entries.clear();
        liveCount = 0;
        liveHash = 0;
        bytes = 0;
        liveBytes = 0;
    }

    static long entryHash(final byte[] key, final byte[] value)
    {
        // Hash key and value apart so that ("ab", "c") and ("a", "bc") differ; mix so the sum does not cancel.
        // MurmurHash3 x64 128's first half, as commons-codec's hash128x64(..)[0] (members of every version compare
        // these sums), computed without its array per call: two updates' worth per put.
        final long keyHash = KEY_HASH.hashBytes(key);
        final long valueHash = VALUE_HASH.hashBytes(value);
        return (keyHash * 0x9E3779B97F4A7C15L) ^ Long.rotateLeft(valueHash, 29);
    }
}
