package dev.grid.core.engine;

/**
 * How one MOVING copy catches up in this version.
 *
 * @param cacheId       the cache.
 * @param partition     the partition.
 * @param demander      member index of the MOVING copy.
 * @param supplier      member index of the OWNING copy that streams to it.
 * @param full          true: the copy was cleared and receives every entry; false: historical, it receives the
 *                      supplier's WAL records of {@code (fromExclusive, toInclusive]}.
 * @param fromExclusive the last counter the demander has (historical).
 * @param toInclusive   the supplier's counter when the version was installed; updates above it arrive live.
 * @param why           why this mode was chosen, for the log and the admin view.
 */
public record RebalancePlan(int cacheId, int partition, int demander, int supplier, boolean full,
    long fromExclusive, long toInclusive, String why)
{
}
