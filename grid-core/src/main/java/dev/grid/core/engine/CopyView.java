package dev.grid.core.engine;

import dev.grid.core.internal.partition.CounterRange;

import java.util.List;

/**
 * A snapshot of one copy's counters and content.
 *
 * @param lwm         low watermark.
 * @param hwm         high watermark.
 * @param gaps        applied ranges above LWM.
 * @param size        live entries.
 * @param contentHash order-independent hash of the live entries.
 * @param historyFrom the counter after which this member's retained WAL holds the copy's complete history.
 * @param state       the copy's partition state.
 * @param primary     whether this member is the partition's primary in the installed map.
 */
public record CopyView(long lwm, long hwm, List<CounterRange> gaps, int size, long contentHash, long historyFrom,
    PartitionState state, boolean primary)
{
}
