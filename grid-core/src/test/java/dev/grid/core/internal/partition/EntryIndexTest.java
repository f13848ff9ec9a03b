package dev.grid.core.internal.partition;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EntryIndexTest
{
    private static PartitionStore.Entry entry(final byte[] key)
    {
        return new PartitionStore.Entry(key, Arrays.hashCode(key));
    }

    /**
     * Seeded random adds, reads of held and absent keys (fresh arrays of the same bytes), purges of random subsets and
     * a clear agree with a {@link HashMap} at every step, and every entry is visited once; random keys never crowd the
     * index into a map.
     */
    @Test
    void randomAddsReadsAndRemovalsAgreeWithAMap()
    {
        final SplittableRandom random = new SplittableRandom(0x5EED);
        final EntryIndex index = new EntryIndex();
        final Map<ByteBuffer, PartitionStore.Entry> expected = new HashMap<>();
        for (int round = 0; round < 6; round++)
        {
            for (int i = 0; i < 20_000; i++)
            {
                final byte[] key = new byte[1 + random.nextInt(12)];
                for (int b = 0; b < key.length; b++)
                {
                    // A small alphabet, so that keys repeat and short keys share hashes now and then.
                    key[b] = (byte)random.nextInt(6);
                }
                final PartitionStore.Entry held = expected.get(ByteBuffer.wrap(key));
                assertSame(held, index.get(key.clone(), Arrays.hashCode(key)));
                if (held == null)
                {
                    final PartitionStore.Entry added = entry(key);
                    index.add(added);
                    expected.put(ByteBuffer.wrap(key), added);
                }
            }
            assertEquals(expected.size(), index.size());
            final int parity = round % 3;
            final List<PartitionStore.Entry> removed = new ArrayList<>();
            final int count = index.removeIf(e -> (e.key.length + e.key[0]) % 3 == parity, removed::add);
            assertEquals(removed.size(), count);
            for (final PartitionStore.Entry gone : removed)
            {
                assertSame(gone, expected.remove(ByteBuffer.wrap(gone.key)));
                assertNull(index.get(gone.key.clone(), gone.hash));
            }
            assertEquals(expected.size(), index.size());
            final Set<PartitionStore.Entry> visited = new HashSet<>();
            index.forEach(e -> assertTrue(visited.add(e), "visited once"));
            assertEquals(new HashSet<>(expected.values()), visited);
            for (final PartitionStore.Entry kept : expected.values())
            {
                assertSame(kept, index.get(kept.key.clone(), kept.hash));
            }
            if (round == 3)
            {
                index.clear();
                expected.clear();
                assertEquals(0, index.size());
            }
        }
        assertFalse(index.isCrowded(), "random keys keep the table");
    }

    /**
     * A purge that leaves the table less than an eighth full shrinks it (before, a table kept its largest size for
     * good): every key kept is found, none removed is, and adds after it grow it again.
     */
    @Test
    void aPurgeThatEmptiesMostOfTheTableShrinksIt()
    {
        final SplittableRandom random = new SplittableRandom(0x5A1L);
        final EntryIndex index = new EntryIndex();
        final List<PartitionStore.Entry> entries = new ArrayList<>();
        for (int i = 0; i < 10_000; i++)
        {
            final PartitionStore.Entry entry = entry(("key-" + i + "-" + random.nextInt()).getBytes(StandardCharsets.UTF_8));
            index.add(entry);
            entries.add(entry);
        }
        assertEquals(32_768, index.capacity());
        final Set<PartitionStore.Entry> kept = new HashSet<>(entries.subList(0, 100));
        assertEquals(9_900, index.removeIf(e -> !kept.contains(e), e -> { }));
        assertEquals(256, index.capacity(), "100 entries in a table a quarter to a half full");
        for (final PartitionStore.Entry entry : entries)
        {
            final PartitionStore.Entry found = index.get(entry.key.clone(), entry.hash);
            if (kept.contains(entry))
            {
                assertSame(entry, found);
            }
            else
            {
                assertNull(found);
            }
        }
        assertEquals(0, index.removeIf(e -> false, e -> { }));
        assertEquals(256, index.capacity(), "a purge that removes nothing keeps the table");
        for (final PartitionStore.Entry entry : entries.subList(100, 10_000))
        {
            index.add(entry);
        }
        assertEquals(10_000, index.size());
        for (final PartitionStore.Entry entry : entries)
        {
            assertSame(entry, index.get(entry.key.clone(), entry.hash));
        }
        assertEquals(10_000, index.removeIf(e -> true, e -> { }));
        assertEquals(16, index.capacity(), "emptied: the first table's size");
    }

    /**
     * Keys with one hash (clients choose keys, and Arrays.hashCode is easy to collide: see PartitionStoreTest) move
     * the index into a map once a probe passes {@link EntryIndex#MAX_PROBE} slots: every key is still found, absent
     * ones are not, and removal and visits go on in the map.
     */
    @Test
    void keysOfOneHashCrowdTheIndexIntoAMapThatStillFindsEveryKey()
    {
        final EntryIndex index = new EntryIndex();
        // One hash forced on distinct keys: the index takes an entry's hash as given.
        final List<PartitionStore.Entry> sameHash = new ArrayList<>();
        for (int x = 0; x < 2 * EntryIndex.MAX_PROBE; x++)
        {
            sameHash.add(new PartitionStore.Entry(new byte[] {(byte)x, (byte)(x >> 8), 1}, 42));
        }
        for (final PartitionStore.Entry e : sameHash)
        {
            assertNull(index.get(e.key.clone(), 42));
            index.add(e);
        }
        assertTrue(index.isCrowded(), "a probe through more than MAX_PROBE slots of one hash");
        assertEquals(sameHash.size(), index.size());
        for (final PartitionStore.Entry e : sameHash)
        {
            assertSame(e, index.get(e.key.clone(), 42));
        }
        assertNull(index.get(new byte[] {9, 9, 9, 9}, 42));
        assertEquals(sameHash.size() / 2, index.removeIf(e -> e.key[0] % 2 == 0, e -> { }));
        final int[] visited = {0};
        index.forEach(e -> visited[0]++);
        assertEquals(sameHash.size() / 2, visited[0]);
        index.clear();
        assertFalse(index.isCrowded(), "a cleared index starts as a table again");
    }

    /**
     * Distinct hashes chosen so that their first slots fill a run longer than {@link EntryIndex#MAX_PROBE} (each entry
     * in its own first slot, so no add passes far): a read of an absent key that starts at the run's head moves the
     * index into a map, and every key is still found.
     */
    @Test
    void aLongRunOfFirstSlotsCrowdsTheIndexOnAReadThroughIt()
    {
        final int capacity = 1024;
        final int run = 400;
        final int[] byHome = new int[run];
        Arrays.fill(byHome, -1);
        int absentAtHead = -1;
        for (int h = 1, found = 0; found < run || absentAtHead < 0; h++)
        {
            final int home = EntryIndex.mixed(h) & (capacity - 1);
            if (home < run && byHome[home] < 0)
            {
                byHome[home] = h;
                found++;
            }
            else if (home == 0 && absentAtHead < 0 && byHome[0] >= 0)
            {
                absentAtHead = h;
            }
        }
        final EntryIndex index = new EntryIndex();
        final List<PartitionStore.Entry> added = new ArrayList<>();
        for (int i = 0; i < run; i++)
        {
            final PartitionStore.Entry e = new PartitionStore.Entry(new byte[] {(byte)i, (byte)(i >> 8)}, byHome[i]);
            index.add(e);
            added.add(e);
        }
        assertFalse(index.isCrowded(), "every entry in its own first slot");
        assertNull(index.get(new byte[] {1, 2, 3}, absentAtHead));
        assertTrue(index.isCrowded(), "the read passed more than MAX_PROBE slots");
        for (final PartitionStore.Entry e : added)
        {
            assertSame(e, index.get(e.key.clone(), e.hash));
        }
    }

    /**
     * Adds alone (no read first) of keys of one hash move the index into a map once an add passes more than
     * {@link EntryIndex#MAX_SAME_HASH} keys of its hash, long before {@link EntryIndex#MAX_PROBE} slots: each is a
     * comparison of key bytes on every read through them.
     */
    @Test
    void addsOfKeysOfOneHashCrowdTheIndexAfterAFewOfThem()
    {
        final EntryIndex index = new EntryIndex();
        final List<PartitionStore.Entry> added = new ArrayList<>();
        for (int x = 0; x <= EntryIndex.MAX_SAME_HASH; x++)
        {
            final PartitionStore.Entry e = new PartitionStore.Entry(new byte[] {(byte)x, 5}, 7);
            index.add(e);
            added.add(e);
            assertFalse(index.isCrowded(), "an add passed " + x + " keys of its hash");
        }
        final PartitionStore.Entry last = new PartitionStore.Entry(new byte[] {99, 5}, 7);
        index.add(last);
        added.add(last);
        assertTrue(index.isCrowded(), "an add passed more than MAX_SAME_HASH keys of its hash");
        assertEquals(added.size(), index.size());
        for (final PartitionStore.Entry e : added)
        {
            assertSame(e, index.get(e.key.clone(), 7));
        }
    }

    /**
     * Removing entries of a run that wraps round the table's end shifts the later ones back across the end (no hole
     * left in a run): every entry kept is still found, whichever are removed, in every order.
     */
    @Test
    void removalsShiftTheRestOfARunBackAcrossTheTablesEnd()
    {
        // Hashes whose first slots in the initial table of 16 are 14, 14, 15, 15, 0 and 1: one run 14, 15, 0, 1, 2, 3.
        final int[] homes = {14, 14, 15, 15, 0, 1};
        final int[] hashes = new int[homes.length];
        final Set<Integer> taken = new HashSet<>();
        for (int i = 0; i < homes.length; i++)
        {
            for (int h = 1; ; h++)
            {
                if ((EntryIndex.mixed(h) & 15) == homes[i] && taken.add(h))
                {
                    hashes[i] = h;
                    break;
                }
            }
        }
        for (int removedSet = 1; removedSet < 1 << homes.length; removedSet++)
        {
            final EntryIndex index = new EntryIndex();
            final List<PartitionStore.Entry> entries = new ArrayList<>();
            for (int i = 0; i < homes.length; i++)
            {
                final PartitionStore.Entry e = new PartitionStore.Entry(new byte[] {(byte)i}, hashes[i]);
                index.add(e);
                entries.add(e);
            }
            final int set = removedSet;
            assertEquals(Integer.bitCount(set), index.removeIf(e -> (set & 1 << e.key[0]) != 0, e -> { }));
            assertEquals(homes.length - Integer.bitCount(set), index.size());
            for (final PartitionStore.Entry e : entries)
            {
                final boolean kept = (set & 1 << e.key[0]) == 0;
                assertEquals(kept ? e : null, index.get(new byte[] {e.key[0]}, e.hash), "entry " + e.key[0] +
                    " after removing the set " + Integer.toBinaryString(set));
            }
        }
    }
}
