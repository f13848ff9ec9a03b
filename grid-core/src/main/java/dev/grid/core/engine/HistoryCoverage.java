package dev.grid.core.engine;

/**
 * How much of a copy's history in a counter range a member's retained WAL holds ({@link
 * EngineHistory#historyCoverage}).
 *
 * @param complete whether the retained WAL holds every counter of the range.
 * @param records  how many counters of the range it holds, one record each.
 * @param why      when incomplete, what is missing; otherwise null.
 */
public record HistoryCoverage(boolean complete, int records, String why)
{
}
