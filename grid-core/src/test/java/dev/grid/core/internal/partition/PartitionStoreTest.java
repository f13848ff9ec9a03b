package dev.grid.core.internal.partition;

import org.apache.commons.codec.digest.MurmurHash3;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class PartitionStoreTest
{
    private static byte[] bytes(final String s)
    {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A store that builds its key-ordered tree late (at its first use in key order) ends in the same store as one that
     * kept it from the start: entries, counters, tombstones, sizes, accounted bytes, the content hash and key order,
     * over seeded random updates with stale counters, removals and keys that sort by unsigned bytes; and updates after
     * the build go into the tree too.
     */
    @Test
    void aTreeBuiltLateHoldsWhatATreeKeptFromTheStartHolds()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            final SplittableRandom random = new SplittableRandom(seed);
            final PartitionStore kept = new PartitionStore(3);
            // A use in key order of the empty store: its tree is kept from the first update on.
            kept.forEach((key, value, counter) -> fail("empty"));
            final PartitionStore late = new PartitionStore(3);
            for (int i = 0; i < 3_000; i++)
            {
                final byte[] key = new byte[] {(byte)random.nextInt(256), (byte)random.nextInt(4)};
                final byte[] value = random.nextInt(5) == 0 ? null : new byte[] {(byte)i, (byte)(i >> 8)};
                // Counters mostly rising, sometimes older than what the key holds (not installed).
                final long counter = 100 + i - (random.nextInt(10) == 0 ? 90 : 0);
                assertEquals(kept.apply(key, value, counter), late.apply(key, value, counter));
                if (i == 2_000)
                {
                    assertEquals(entries(kept), entries(late), "the same entries in the same order, seed " + seed);
                }
            }
            assertEquals(kept.entryCount(), late.entryCount());
            assertEquals(kept.size(), late.size());
            assertEquals(kept.tombstoneCount(), late.tombstoneCount());
            assertEquals(kept.accountedBytes(), late.accountedBytes());
            assertEquals(kept.contentHash(), late.contentHash());
            assertEquals(entries(kept), entries(late), "updates after the build reach the tree, seed " + seed);
            final byte[] probe = new byte[] {(byte)random.nextInt(256), (byte)random.nextInt(4)};
            assertEquals(kept.counterOf(probe), late.counterOf(probe));
            assertArrayEquals(kept.evictionCandidate(probe, 8, false, null),
                late.evictionCandidate(probe, 8, false, null), "the same use clock, so the same eviction choice");
            assertEquals(kept.purgeTombstones(Long.MAX_VALUE), late.purgeTombstones(Long.MAX_VALUE));
            assertEquals(kept.entryCount(), late.entryCount());
            assertEquals(entries(kept), entries(late), "the same entries after the purge, seed " + seed);
        }
    }

    /** @return the store's entries, tombstones included, in the order {@link PartitionStore#forEach} visits them. */
    private static List<String> entries(final PartitionStore store)
    {
        final List<String> entries = new ArrayList<>();
        store.forEach((key, value, counter) -> entries.add(java.util.Arrays.toString(key) + "=" +
            java.util.Arrays.toString(value) + "@" + counter));
        return entries;
    }

    @Test
    void tombstonesPurgedBeforeTheTreeIsBuiltAreNotInIt()
    {
        final PartitionStore store = new PartitionStore(0);
        store.apply(new byte[] {1}, new byte[] {10}, 1);
        store.apply(new byte[] {2}, null, 2);
        store.apply(new byte[] {3}, null, 3);
        assertEquals(1, store.purgeTombstones(2), "only the tombstone at or below the counter");
        final List<Integer> order = new ArrayList<>();
        store.forEach((key, value, counter) -> order.add((int)key[0]));
        assertEquals(List.of(1, 3), order);
        assertEquals(1, store.purgeTombstones(3), "and once the tree is kept, from both indexes");
        assertEquals(List.of("[1]=[10]@1"), entries(store));
        assertEquals(PartitionStore.accountedBytes(new byte[] {1}, new byte[] {10}), store.accountedBytes());
    }

    @Test
    void keysWhoseHashesCollideStillLoad()
    {
        // (x, y) and (x + 1, y - 31) have the same Arrays.hashCode: a thousand keys in a few buckets.
        final PartitionStore store = new PartitionStore(0);
        int keys = 0;
        for (int x = 0; x < 40; x++)
        {
            for (int y = 0; y < 25; y++)
            {
                store.apply(new byte[] {(byte)(x + y), (byte)(100 - 31 * y)}, new byte[] {1}, ++keys);
            }
        }
        assertEquals(keys, store.size());
        final int[] visited = {0};
        assertTrue(store.scan(null, (key, value, counter) -> ++visited[0] > 0));
        assertEquals(keys, visited[0]);
        // Removing from the crowded buckets, and from the tree built by the scan: every other key's tombstone purged.
        int removed = 0;
        for (int x = 0; x < 40; x += 2)
        {
            for (int y = 0; y < 25; y++)
            {
                store.apply(new byte[] {(byte)(x + y), (byte)(100 - 31 * y)}, null, ++keys);
                removed++;
            }
        }
        assertEquals(removed, store.purgeTombstones(Long.MAX_VALUE));
        assertEquals(0, store.tombstoneCount());
        final int[] left = {0};
        assertTrue(store.scan(null, (key, value, counter) -> ++left[0] > 0));
        assertEquals(store.size(), left[0]);
        for (int x = 0; x < 40; x++)
        {
            for (int y = 0; y < 25; y++)
            {
                final byte[] key = {(byte)(x + y), (byte)(100 - 31 * y)};
                assertEquals(x % 2 == 1, store.get(key) != null, "key " + x + "," + y);
            }
        }
    }

    @Test
    void aClearedStoreBuildsItsTreeAgain()
    {
        final PartitionStore store = new PartitionStore(0);
        store.apply(new byte[] {2}, new byte[] {20}, 1);
        assertEquals(List.of("[2]=[20]@1"), entries(store));
        store.clear();
        store.apply(new byte[] {(byte)0xF0}, new byte[] {30}, 2);
        store.apply(new byte[] {1}, new byte[] {10}, 3);
        assertEquals(List.of("[1]=[10]@3", "[-16]=[30]@2"), entries(store));
        assertEquals(List.of("[1]=[10]@3", "[-16]=[30]@2"), entries(store), "kept: the same when asked again");
    }

    @Test
    void putsRemovesAndTombstones()
    {
        final PartitionStore store = new PartitionStore(5);
        assertTrue(store.apply(bytes("a"), bytes("1"), 1));
        assertTrue(store.apply(bytes("b"), bytes("2"), 2));
        assertEquals(2, store.size());
        assertArrayEquals(bytes("1"), store.get(bytes("a")));

        assertTrue(store.apply(bytes("a"), null, 3));
        assertNull(store.get(bytes("a")));
        assertEquals(1, store.size());
        assertEquals(1, store.tombstoneCount());
        assertEquals(3, store.counterOf(bytes("a")));

        // An older update delivered late cannot resurrect the removed key.
        assertFalse(store.apply(bytes("a"), bytes("old"), 2));
        assertNull(store.get(bytes("a")));
        // Nor can a duplicate re-apply.
        assertFalse(store.apply(bytes("b"), bytes("2"), 2));

        assertEquals(0, store.purgeTombstones(2));
        assertEquals(1, store.purgeTombstones(3));
        assertEquals(0, store.tombstoneCount());
        assertEquals(0, store.counterOf(bytes("a")));
        assertTrue(store.apply(bytes("a"), bytes("new"), 4));
        assertEquals(2, store.size());
    }

    @Test
    void iterationIsInUnsignedKeyOrderIncludingTombstones()
    {
        final PartitionStore store = new PartitionStore(0);
        store.apply(new byte[]{ (byte)0x80 }, bytes("high"), 1);
        store.apply(new byte[]{ 0x01 }, bytes("low"), 2);
        store.apply(new byte[]{ 0x01, 0x00 }, null, 3);
        final List<String> seen = new ArrayList<>();
        store.forEach((key, value, counter) ->
            seen.add((key[0] & 0xFF) + "/" + key.length + "=" + (value == null ? "tombstone" : new String(value,
                StandardCharsets.UTF_8)) + "@" + counter));
        assertEquals(List.of("1/1=low@2", "1/2=tombstone@3", "128/1=high@1"), seen);
    }

    /**
     * Members compare copies' content hashes (exchange, consistency check), members of different versions too: an
     * entry's hash stays the one earlier versions computed with commons-codec's MurmurHash3.
     */
    @Test
    void anEntrysHashIsTheOneEarlierVersionsComputed()
    {
        final SplittableRandom random = new SplittableRandom(22);
        for (int i = 0; i < 10_000; i++)
        {
            final byte[] key = new byte[random.nextInt(64)];
            final byte[] value = new byte[random.nextInt(300)];
            random.nextBytes(key);
            random.nextBytes(value);
            final long keyHash = MurmurHash3.hash128x64(key, 0, key.length, 0)[0];
            final long valueHash = MurmurHash3.hash128x64(value, 0, value.length, 0x5EED)[0];
            assertEquals((keyHash * 0x9E3779B97F4A7C15L) ^ Long.rotateLeft(valueHash, 29),
                PartitionStore.entryHash(key, value), "key of " + key.length + " bytes, value of " + value.length);
        }
    }

    @Test
    void contentHashIgnoresInsertionOrderButSeesContent()
    {
        final List<Integer> keys = new ArrayList<>();
        for (int i = 0; i < 500; i++)
        {
            keys.add(i);
        }
        final PartitionStore ordered = new PartitionStore(0);
        for (final int key : keys)
        {
            ordered.apply(bytes("k" + key), bytes("v" + key), key + 1);
        }
        Collections.shuffle(keys, new java.util.Random(7));
        final PartitionStore shuffled = new PartitionStore(0);
        for (final int key : keys)
        {
            // Different counters and an extra removed key: neither is content.
            shuffled.apply(bytes("k" + key), bytes("v" + key), 1000 + key);
        }
        shuffled.apply(bytes("gone"), null, 5000);
        assertEquals(ordered.contentHash(), shuffled.contentHash());

        shuffled.apply(bytes("k3"), bytes("changed"), 6000);
        assertNotEquals(ordered.contentHash(), shuffled.contentHash());
        assertEquals(0, new PartitionStore(1).contentHash());
    }

    @Test
    void keyValueBoundaryIsPartOfTheHash()
    {
        final PartitionStore a = new PartitionStore(0);
        a.apply(bytes("ab"), bytes("c"), 1);
        final PartitionStore b = new PartitionStore(0);
        b.apply(bytes("a"), bytes("bc"), 1);
        assertNotEquals(a.contentHash(), b.contentHash());
    }

    @Test
    void outOfOrderApplicationConvergesToTheNewestCounter()
    {
        final SplittableRandom random = new SplittableRandom(11);
        final List<long[]> updates = new ArrayList<>();
        for (int counter = 1; counter <= 2000; counter++)
        {
            updates.add(new long[]{ random.nextInt(50), counter, random.nextInt(4) == 0 ? -1 : random.nextInt(1000) });
        }
        final PartitionStore inOrder = apply(updates);
        Collections.shuffle(updates, new java.util.Random(3));
        final PartitionStore reordered = apply(updates);
        assertEquals(inOrder.size(), reordered.size());
        assertEquals(inOrder.contentHash(), reordered.contentHash());
    }

    private static PartitionStore apply(final List<long[]> updates)
    {
        final PartitionStore store = new PartitionStore(0);
        for (final long[] update : updates)
        {
            store.apply(bytes("key" + update[0]), update[2] < 0 ? null : bytes("v" + update[2]), update[1]);
        }
        return store;
    }

    @Test
    void contentHashKeptOnEveryApplyEqualsTheHashOfTheSameLiveContentsBuiltAfresh()
    {
        final PartitionStore churned = new PartitionStore(3);
        final java.util.Random random = new java.util.Random(5);
        long counter = 0;
        for (int i = 0; i < 2_000; i++)
        {
            final byte[] key = {(byte)random.nextInt(50)};
            churned.apply(key, random.nextInt(4) == 0 ? null : new byte[] {(byte)random.nextInt(7)}, ++counter);
        }
        final PartitionStore fresh = new PartitionStore(3);
        churned.forEach((key, value, entryCounter) ->
        {
            if (value != null)
            {
                fresh.apply(key, value, 1);
            }
        });
        assertEquals(fresh.contentHash(), churned.contentHash());
        assertEquals(fresh.size(), churned.size());
    }

    @Test
    void accountedBytesFollowEveryInstallRemoveTombstonePurgeAndClear()
    {
        final PartitionStore store = new PartitionStore(0);
        final byte[] key = utf8("key");
        final byte[] value = utf8("a value of 19 bytes");
        store.apply(key, value, 1);
        assertEquals(PartitionStore.ENTRY_OVERHEAD_BYTES + 8 + 24, store.accountedBytes(), "padded to 8 bytes");
        store.apply(key, utf8("v"), 2);
        assertEquals(PartitionStore.ENTRY_OVERHEAD_BYTES + 8 + 8, store.accountedBytes());
        store.apply(key, null, 3);
        assertEquals(PartitionStore.ENTRY_OVERHEAD_BYTES + 8, store.accountedBytes(), "a tombstone keeps its key");
        store.apply(utf8("other"), value, 4);
        store.purgeTombstones(3);
        assertEquals(PartitionStore.accountedBytes(utf8("other"), value), store.accountedBytes());
        store.apply(utf8("late"), value, 1);
        assertEquals(2 * PartitionStore.accountedBytes(utf8("other"), value), store.accountedBytes());
        store.clear();
        assertEquals(0, store.accountedBytes());
    }

    @Test
    void evictionPicksTheLeastRecentlyOrLeastOftenUsedOfTheSampleAndNeverTheSparedKey()
    {
        final PartitionStore store = new PartitionStore(0);
        for (int i = 0; i < 10; i++)
        {
            store.apply(utf8("k" + i), utf8("v"), i + 1);
        }
        store.apply(utf8("k3"), null, 20);
        // Installed in order k0..k9: k0 is the least recently used; a touch makes it the most recent.
        assertArrayEquals(utf8("k0"), store.evictionCandidate(new byte[0], 16, false, null));
        store.touch(utf8("k0"));
        assertArrayEquals(utf8("k1"), store.evictionCandidate(new byte[0], 16, false, null));
        assertArrayEquals(utf8("k2"), store.evictionCandidate(new byte[0], 16, false, utf8("k1")));
        // The sample starts at a point of the key space and wraps around; a tombstone is never picked.
        assertArrayEquals(utf8("k4"), store.evictionCandidate(utf8("k3"), 2, false, null));
        assertArrayEquals(utf8("k1"), store.evictionCandidate(utf8("k9"), 3, false, null));
        // By uses: everything used once but k0 (twice) and k5 (three times).
        store.touch(utf8("k5"));
        store.touch(utf8("k5"));
        assertArrayEquals(utf8("k1"), store.evictionCandidate(utf8("k0"), 16, true, null));
        assertNull(new PartitionStore(1).evictionCandidate(new byte[0], 16, false, null));
    }

    private static byte[] utf8(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Purging removes tombstones from the hash index as well as from the tree, and subtracts each tombstone's own key
     * length: removing a tree node moves its successor's key into it, which a purge once read instead of its own.
     */
    @Test
    void purgingForgetsEachTombstoneInBothIndexesAndCountsItsOwnKey()
    {
        final PartitionStore store = new PartitionStore(0);
        long counter = 0;
        final List<byte[]> keys = new ArrayList<>();
        for (int i = 0; i < 64; i++)
        {
            // Keys of lengths 1 to 32, so that a key read from the wrong node would count other bytes.
            final byte[] key = new byte[1 + i % 32];
            key[0] = (byte)i;
            keys.add(key);
            store.apply(key, new byte[] {1}, ++counter);
        }
        long kept = 0;
        for (int i = 0; i < keys.size(); i++)
        {
            if (i % 3 != 0)
            {
                store.apply(keys.get(i), null, ++counter);
            }
            else
            {
                kept += PartitionStore.accountedBytes(keys.get(i), new byte[] {1});
            }
        }
        assertEquals(42, store.purgeTombstones(Long.MAX_VALUE));
        assertEquals(kept, store.accountedBytes());
        assertEquals(22, store.entryCount());
        assertEquals(0, store.tombstoneCount());
        for (int i = 0; i < keys.size(); i++)
        {
            assertEquals(i % 3 == 0 ? i + 1 : 0, store.counterOf(keys.get(i)), "key " + i);
        }
        // A purged key is new to the store again: an update with any counter installs it, in both indexes.
        assertTrue(store.apply(keys.get(1), new byte[] {2}, 1));
        assertArrayEquals(new byte[] {2}, store.get(keys.get(1)));
        final List<Integer> order = new ArrayList<>();
        store.forEach((key, value, c) -> order.add(key[0] & 0xFF));
        assertEquals(23, order.size());
        assertTrue(order.contains(1));
    }

    /**
     * Eighty-one keys of one Arrays.hashCode (a client can choose such keys) move the store's hash index into a map,
     * where they stay readable, updatable, scannable in key order and purgeable, as in the table.
     */
    @Test
    void keysOfOneHashMoveTheIndexIntoAMapThatServesEveryOperation()
    {
        final PartitionStore store = new PartitionStore(0);
        final List<byte[]> keys = new ArrayList<>();
        for (int i = 0; i < 9; i++)
        {
            for (int j = 0; j < 9; j++)
            {
                // 31^3 i + 31^2 (120 - 31 i) does not depend on i, nor 31 j + (120 - 31 j) on j.
                keys.add(new byte[] {(byte)i, (byte)(120 - 31 * i), (byte)j, (byte)(120 - 31 * j)});
            }
        }
        long counter = 0;
        for (final byte[] key : keys)
        {
            assertEquals(Arrays.hashCode(keys.get(0)), Arrays.hashCode(key));
            assertTrue(store.apply(key, key, ++counter));
        }
        assertTrue(store.indexCrowded());
        for (final byte[] key : keys)
        {
            assertArrayEquals(key, store.get(key.clone()));
            assertTrue(store.apply(key.clone(), new byte[] {key[0], key[2]}, ++counter), "updated in place");
        }
        final List<byte[]> scanned = new ArrayList<>();
        assertTrue(store.scan(null, (key, value, c) -> scanned.add(key)));
        assertEquals(keys.size(), scanned.size());
        for (int i = 1; i < scanned.size(); i++)
        {
            assertTrue(Arrays.compareUnsigned(scanned.get(i - 1), scanned.get(i)) < 0, "in key order");
        }
        for (int k = 0; k < keys.size(); k += 2)
        {
            store.apply(keys.get(k).clone(), null, ++counter);
        }
        assertEquals((keys.size() + 1) / 2, store.purgeTombstones(Long.MAX_VALUE));
        for (int k = 0; k < keys.size(); k++)
        {
            final byte[] key = keys.get(k);
            assertEquals(k % 2 == 1, store.get(key.clone()) != null, "key " + k);
            assertEquals(k % 2 == 1 ? keys.size() + k + 1 : 0, store.counterOf(key.clone()), "key " + k);
        }
        assertEquals(keys.size() / 2, store.size());
        assertEquals(keys.size() / 2, store.entryCount());
    }

    /** Keys whose hashes collide are told apart by their bytes when read, updated in place and removed one by one. */
    @Test
    void keysWhoseHashesCollideAreReadAndUpdatedApart()
    {
        final PartitionStore store = new PartitionStore(0);
        final List<byte[]> keys = new ArrayList<>();
        for (int y = 0; y < 8; y++)
        {
            for (int x = 0; x < 30; x++)
            {
                // (x, y) and (x + 1, y - 31) have the same Arrays.hashCode.
                keys.add(new byte[] {(byte)(x + y), (byte)(100 - 31 * y), (byte)x});
            }
        }
        long counter = 0;
        for (final byte[] key : keys)
        {
            assertTrue(store.apply(key, key, ++counter));
        }
        for (final byte[] key : keys)
        {
            assertTrue(store.apply(key.clone(), new byte[] {key[2], 7}, ++counter), "updated in place");
        }
        for (int i = 0; i < keys.size(); i++)
        {
            assertArrayEquals(new byte[] {keys.get(i)[2], 7}, store.get(keys.get(i).clone()));
            assertEquals(keys.size() + i + 1, store.counterOf(keys.get(i)));
        }
        assertEquals(keys.size(), store.size());
        assertEquals(keys.size(), store.entryCount());
    }
}
