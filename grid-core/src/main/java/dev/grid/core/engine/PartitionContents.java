package dev.grid.core.engine;

import dev.grid.core.internal.partition.CounterRange;

import java.util.List;

/**
 * A copy's live entries and counters as they were at one moment of the engine's thread: a consistent cut of the copy,
 * for snapshots. Tombstones are left out; for a cache with an expiry policy the values are without their expiry
 * header, which is in {@link #expireAtMs}. The arrays hold the store's own (immutable) byte arrays: read them, never
 * change them.
 *
 * @param lwm        the copy's low watermark at that moment: every update at or below it is in the entries.
 * @param hwm        its high watermark.
 * @param gaps       applied ranges above the LWM (their updates are in the entries too).
 * @param primary    whether the member was the partition's primary in the installed map.
 * @param state      the copy's partition state.
 * @param keys       the live entries' keys, as the cache's key codec wrote them.
 * @param values     their values, as the value codec wrote them.
 * @param expireAtMs each entry's expiry time, 0 for never.
 * @param counters   each entry's update counter.
 */
public record PartitionContents(long lwm, long hwm, List<CounterRange> gaps, boolean primary, PartitionState state,
    byte[][] keys, byte[][] values, long[] expireAtMs, long[] counters)
{
}
