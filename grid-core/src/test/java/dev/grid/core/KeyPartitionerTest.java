package dev.grid.core;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeyPartitionerTest
{
    @Test
    void goldenHashesMatchTheReferenceMurmurHash3()
    {
        // Cross-checked against an independent implementation of MurmurHash3_x86_32; the thin client relies on these.
        assertEquals(1999892606, KeyPartitioner.hash("grid".getBytes(StandardCharsets.UTF_8)));
        assertEquals(KeyPartitioner.GOLDEN_GRID_1024,
            KeyPartitioner.partition("grid".getBytes(StandardCharsets.UTF_8), 1024));
        assertEquals(-2092291273, KeyPartitioner.hash(Codecs.LONG.encode(42L)));
        assertEquals(823, KeyPartitioner.partition(Codecs.LONG.encode(42L), 1024));
        assertEquals(0, KeyPartitioner.hash(new byte[0]));
    }

    @Test
    void partitionsAreInRangeAndSpread()
    {
        final int[] counts = new int[64];
        for (int i = 0; i < 64_000; i++)
        {
            final int partition = KeyPartitioner.partition(Codecs.INT.encode(i), 64);
            counts[partition]++;
        }
        for (final int count : counts)
        {
            assertTrue(count > 800 && count < 1200, "uneven partition count " + count);
        }
        assertThrows(IllegalArgumentException.class, () -> KeyPartitioner.partition(new byte[1], 0));
    }
}
