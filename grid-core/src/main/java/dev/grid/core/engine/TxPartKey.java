package dev.grid.core.engine;

/**
 * One transaction's part on one partition, identified across members: the coordinator's incarnation and its
 * sequence of the transaction, and the partition. Logged in WAL records and carried in rebalance batches.
 *
 * @param coordinator the incarnation of the member coordinating the transaction.
 * @param seq         the transaction's sequence on its coordinator.
 * @param cacheId     the cache.
 * @param partition   the partition.
 */
public record TxPartKey(long coordinator, long seq, int cacheId, int partition)
{
}
