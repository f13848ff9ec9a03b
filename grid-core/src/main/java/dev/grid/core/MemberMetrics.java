package dev.grid.core;

import java.util.Map;

/**
 * A snapshot of one member's metrics since it started: per operation type, a latency summary of the operations this
 * member's users submitted (from submission to completion, failures included), and counts of the outcomes operators
 * watch. Immutable.
 *
 * @param latencies          by operation name ({@code get}, {@code put}, ...).
 * @param remaps             answers from a primary that made an operation retry with a newer map.
 * @param timeouts           operations that failed with {@link ErrorCode#OPERATION_TIMEOUT}.
 * @param cacheDestroyed     operations that failed with {@link ErrorCode#CACHE_DESTROYED}.
 * @param otherFailures      operations that failed with any other error.
 * @param topologyVersion    the member's current topology version.
 * @param members            members in its current topology.
 * @param transactions       outcomes of the transactions this member coordinated.
 * @param servedAsPrimary    single-key operations of this member's users that it served as the key's primary.
 * @param forwarded          single-key operations of this member's users sent to another member, the key's primary.
 */
public record MemberMetrics(
    Map<String, Latency> latencies,
    long remaps,
    long timeouts,
    long cacheDestroyed,
    long otherFailures,
    long topologyVersion,
    int members,
    TransactionCounts transactions,
    long servedAsPrimary,
    long forwarded)
{
    /**
     * Outcomes of the transactions this member coordinated. Latencies of their phases are in {@link #latencies} under
     * {@code tx.total}, {@code tx.prepare} (commit request to every prepared answer), {@code tx.commit} (decision to
     * every confirmation) and {@code tx.lockWait} (time a transaction waited for a key lock on this member as primary).
     *
     * @param commits             transactions committed.
     * @param commitStatusUnknown transactions whose outcome could not be confirmed.
     * @param aborts              aborted transactions by error code name (user rollbacks under {@code TX_ROLLED_BACK}).
     */
    public record TransactionCounts(long commits, long commitStatusUnknown, Map<String, Long> aborts)
    {
    }

    /**
     * One operation type's latency distribution, in microseconds.
     *
     * @param count  operations recorded.
     * @param p50Us  median.
     * @param p99Us  99th percentile.
     * @param p999Us 99.9th percentile.
     * @param maxUs  maximum.
     */
    public record Latency(long count, long p50Us, long p99Us, long p999Us, long maxUs)
    {
    }
}
