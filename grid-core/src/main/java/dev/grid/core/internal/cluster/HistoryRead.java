package dev.grid.core.internal.cluster;

import java.util.List;

/**
 * The outcome of {@link Checkpointer#readHistory}: whether every counter of the range is present, and the records in
 * counter order (an update carries its key and value, null for a remove; a closed hole carries neither).
 *
 * @param complete whether the retained WAL covers every counter of the range.
 * @param records  in counter order, one per counter found.
 * @param why      when incomplete, what is missing.
 */
record HistoryRead(boolean complete, List<HistoryRecord> records, String why)
{
}
