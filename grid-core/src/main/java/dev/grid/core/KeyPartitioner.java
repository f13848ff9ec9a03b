package dev.grid.core;

import org.apache.commons.codec.digest.MurmurHash3;

/**
 * Maps a key's encoded bytes to its partition. This is part of the wire contract: members and thin clients in any
 * language must compute the same partition for the same bytes, so the function is fixed and documented here:
 * <pre>
 *   hash      = MurmurHash3_x86_32(keyBytes, seed = 0)      (the reference algorithm, little-endian blocks)
 *   partition = (hash &amp; 0x7FFFFFFF) mod partitions
 * </pre>
 * Examples (golden values pinned by tests): the UTF-8 key {@code "grid"} hashes to 1999892606, partition
 * {@value #GOLDEN_GRID_1024} of 1024; the {@code long} key 42 (8 bytes big-endian) hashes to -2092291273, partition 823
 * of 1024.
 * <p>
 * Pure and thread-safe.
 */
public final class KeyPartitioner
{
    /** The seed of the MurmurHash3 hash; zero, as in the reference implementation's examples. */
    public static final int HASH_SEED = 0;

    /** The partition of the UTF-8 key "grid" among 1024 partitions, pinned by tests. */
    public static final int GOLDEN_GRID_1024 = 126;

    private KeyPartitioner()
    {
    }

    /**
     * The 32-bit hash of a key's bytes.
     *
     * @param keyBytes the encoded key.
     * @return MurmurHash3_x86_32 of the bytes with seed {@link #HASH_SEED}.
     */
    public static int hash(final byte[] keyBytes)
    {
        return MurmurHash3.hash32x86(keyBytes, 0, keyBytes.length, HASH_SEED);
    }

    /**
     * The partition of a key.
     *
     * @param keyBytes   the encoded key.
     * @param partitions the cache's partition count, positive.
     * @return the partition, in {@code [0, partitions)}.
     */
    public static int partition(final byte[] keyBytes, final int partitions)
    {
        if (partitions <= 0)
        {
            throw new IllegalArgumentException("partitions must be positive: " + partitions);
        }
        return (hash(keyBytes) & 0x7FFFFFFF) % partitions;
    }
}
