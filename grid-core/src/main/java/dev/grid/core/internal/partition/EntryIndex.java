package dev.grid.core.internal.partition;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * {@link PartitionStore}'s hash index: its entries by key bytes, in an open-addressing table (linear probing, a
 * power-of-two capacity at most half full), each slot's key hash kept beside it so that a probe passing other keys
 * reads no entry.
 * <p>
 * Why not a {@link HashMap}: its node per entry (32 bytes, a fourth object per entry beside the entry and its two
 * arrays) is one more dependent load on every read and one more object for the collector to copy; a WAL replay of a
 * million records made a million of them, and the map's lookups, inserts and resizes were about a quarter of the
 * replay's CPU. Here a read is the slot's hash, the entry and its key; a resize moves references.
 * <p>
 * <b>Keys chosen to collide.</b> Clients choose keys, and {@link Arrays#hashCode(byte[])} is easy to collide (so is
 * any public hash): keys whose hashes share a slot, or fill a run of slots, would make every probe through them long.
 * A probe that passes more than {@link #MAX_PROBE} slots, or more than {@link #MAX_SAME_HASH} other keys of its own
 * hash (each a comparison of key bytes, and keys may be megabytes), therefore moves the index into a {@link HashMap}
 * for good, whose crowded buckets become trees of {@link PartitionStore.Entry} (comparable by key bytes): from then on
 * an operation costs what it cost before this table existed. Random keys do not come near either limit (the longest
 * run in a table half full of random hashes is some dozens of slots even at millions of entries, and nine keys of one
 * 32-bit hash in one run do not happen by chance).
 * <p>
 * Not thread-safe: owned by its store.
 */
final class EntryIndex
{
    /** The most slots a probe passes before the index moves into a {@link HashMap}. */
    static final int MAX_PROBE = 256;
    /** The most other keys of its own hash a probe passes before the index moves into a {@link HashMap}. */
    static final int MAX_SAME_HASH = 8;
    private static final int INITIAL_CAPACITY = 16;

    private PartitionStore.Entry[] slots = new PartitionStore.Entry[INITIAL_CAPACITY];
    /** Each slot's entry's key hash (meaningless where the slot is empty). */
    private int[] hashes = new int[INITIAL_CAPACITY];
    private int size;
    /** The index once a probe ran too long (the table is dropped then), or null. */
    private HashMap<PartitionStore.Entry, PartitionStore.Entry> crowded;
    /** The key a crowded index's lookup looks for; reused, so a lookup allocates nothing. */
    private final PartitionStore.Entry probe = new PartitionStore.Entry(null, 0);

    /**
     * @param key  the key bytes.
     * @param hash {@code Arrays.hashCode(key)}.
     * @return the key's entry, or null.
     */
    PartitionStore.Entry get(final byte[] key, final int hash)
    {
        if (crowded != null)
        {
            probe.key = key;
            probe.hash = hash;
            final PartitionStore.Entry entry = crowded.get(probe);
            probe.key = null;
            return entry;
        }
        final PartitionStore.Entry[] slots = this.slots;
        final int mask = slots.length - 1;
        int slot = home(hash, mask);
        int sameHash = 0;
        for (int passed = 0; ; passed++)
        {
            final PartitionStore.Entry entry = slots[slot];
            if (entry == null)
            {
                return null;
            }
            if (hashes[slot] == hash)
            {
                if (Arrays.equals(entry.key, key))
                {
                    return entry;
                }
                sameHash++;
            }
            if (passed == MAX_PROBE || sameHash > MAX_SAME_HASH)
            {
                crowd();
                return get(key, hash);
            }
            slot = (slot + 1) & mask;
        }
    }

    /**
     * Add an entry whose key the index does not hold.
     *
     * @param entry the entry; its key and hash do not change while it is indexed.
     */
    void add(final PartitionStore.Entry entry)
    {
        if (crowded == null)
        {
            if (2 * (size + 1) > slots.length)
            {
                resize(2 * slots.length);
            }
            if (place(slots, hashes, entry, MAX_PROBE, MAX_SAME_HASH))
            {
                size++;
                return;
            }
            crowd();
        }
        crowded.put(entry, entry);
    }

    /** @return the number of entries. */
    int size()
    {
        return crowded != null ? crowded.size() : size;
    }

    /** @return the table's slots; 0 once the index is a {@link HashMap} (for tests). */
    int capacity()
    {
        return slots == null ? 0 : slots.length;
    }

    /** @return whether a probe ran too long and the index is a {@link HashMap} now (for tests). */
    boolean isCrowded()
    {
        return crowded != null;
    }

    /**
     * Visit every entry, in no order.
     *
     * @param visitor called once per entry; it must not change the index.
     */
    void forEach(final Consumer<PartitionStore.Entry> visitor)
    {
        if (crowded != null)
        {
            crowded.keySet().forEach(visitor);
            return;
        }
        for (final PartitionStore.Entry entry : slots)
        {
            if (entry != null)
            {
                visitor.accept(entry);
            }
        }
    }

    /**
     * Remove the entries a test selects: found in one pass, then each taken out with the entries after it in its run
     * shifted back (linear probing leaves no hole in a run), so that a purge that removes little costs little.
     *
     * @param remove    whether an entry goes; it must not change the index.
     * @param onRemoved called with each entry removed.
     * @return the number removed.
     */
    int removeIf(final Predicate<PartitionStore.Entry> remove, final Consumer<PartitionStore.Entry> onRemoved)
    {
        int removed = 0;
        if (crowded != null)
        {
            for (final Iterator<PartitionStore.Entry> it = crowded.keySet().iterator(); it.hasNext(); )
            {
                final PartitionStore.Entry entry = it.next();
                if (remove.test(entry))
                {
                    it.remove();
                    onRemoved.accept(entry);
                    removed++;
                }
            }
            return removed;
        }
        List<PartitionStore.Entry> going = null;
        for (final PartitionStore.Entry entry : slots)
        {
            if (entry != null && remove.test(entry))
            {
                if (going == null)
                {
                    going = new ArrayList<>();
                }
                going.add(entry);
            }
        }
        if (going == null)
        {
            return 0;
        }
        for (final PartitionStore.Entry entry : going)
        {
            delete(entry);
            onRemoved.accept(entry);
            removed++;
        }
        if (slots.length > INITIAL_CAPACITY && 8 * size < slots.length)
        {
            // A purge that left the table less than an eighth full gives its memory back: a quarter to a half full
            // again, so that adds after it do not grow it back at once and the next shrink needs another big purge.
            resize(Math.max(INITIAL_CAPACITY, Integer.highestOneBit(Math.max(1, size)) << 2));
        }
        return removed;
    }

    /** Take an indexed entry out, shifting back the entries after it in its run that may move to the hole. */
    private void delete(final PartitionStore.Entry entry)
    {
        final int mask = slots.length - 1;
        int hole = home(entry.hash, mask);
        while (slots[hole] != entry)
        {
            hole = (hole + 1) & mask;
        }
        int next = hole;
        while (true)
        {
            next = (next + 1) & mask;
            final PartitionStore.Entry moving = slots[next];
            if (moving == null)
            {
                break;
            }
            final int itsHome = home(hashes[next], mask);
            // It stays if its home lies cyclically in (hole, next]: its probe never passes the hole.
            final boolean stays = hole <= next ? hole < itsHome && itsHome <= next : hole < itsHome || itsHome <= next;
            if (!stays)
            {
                slots[hole] = moving;
                hashes[hole] = hashes[next];
                hole = next;
            }
        }
        slots[hole] = null;
        size--;
    }

    /** Remove every entry. */
    void clear()
    {
        // Both arrays first: a failed allocation leaves the index as it was.
        final PartitionStore.Entry[] newSlots = new PartitionStore.Entry[INITIAL_CAPACITY];
        final int[] newHashes = new int[INITIAL_CAPACITY];
        slots = newSlots;
        hashes = newHashes;
        size = 0;
        crowded = null;
    }

    private void resize(final int capacity)
    {
        // Filled on the side: a failed allocation leaves the index as it was.
        final PartitionStore.Entry[] newSlots = new PartitionStore.Entry[capacity];
        final int[] newHashes = new int[capacity];
        for (final PartitionStore.Entry entry : slots)
        {
            if (entry != null)
            {
                // Unbounded: a run grown long is noticed by the next probe through it.
                place(newSlots, newHashes, entry, Integer.MAX_VALUE, Integer.MAX_VALUE);
            }
        }
        slots = newSlots;
        hashes = newHashes;
    }

    /** Move every entry into a {@link HashMap}, the index from now on. */
    private void crowd()
    {
        final HashMap<PartitionStore.Entry, PartitionStore.Entry> map = new HashMap<>(Math.max(16, 2 * size));
        for (final PartitionStore.Entry entry : slots)
        {
            if (entry != null)
            {
                map.put(entry, entry);
            }
        }
        crowded = map;
        slots = null;
        hashes = null;
        size = 0;
    }

    /**
     * Put an entry in the first empty slot from its home on.
     *
     * @param maxPassed   the most slots to pass.
     * @param maxSameHash the most entries of the entry's hash to pass.
     * @return false, placing nothing, if it would pass more.
     */
    private static boolean place(final PartitionStore.Entry[] slots, final int[] hashes,
        final PartitionStore.Entry entry, final int maxPassed, final int maxSameHash)
    {
        final int mask = slots.length - 1;
        int slot = home(entry.hash, mask);
        int sameHash = 0;
        for (int passed = 0; slots[slot] != null; passed++)
        {
            if (hashes[slot] == entry.hash)
            {
                sameHash++;
            }
            if (passed == maxPassed || sameHash > maxSameHash)
            {
                return false;
            }
            slot = (slot + 1) & mask;
        }
        slots[slot] = entry;
        hashes[slot] = entry.hash;
        return true;
    }

    /** @return the key hash's first slot in a table of {@code mask + 1} slots. */
    private static int home(final int hash, final int mask)
    {
        return mixed(hash) & mask;
    }

    /** @return the hash mixed by MurmurHash3's 32-bit finalizer, so that every bit of it counts in a slot. */
    static int mixed(final int hash)
    {
        int h = hash;
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return h;
    }
}
