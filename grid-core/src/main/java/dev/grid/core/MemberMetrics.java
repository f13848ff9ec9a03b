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
 */
public record MemberMetrics(
    Map<String, Latency> latencies,
    long remaps,
    long timeouts,
    long cacheDestroyed,
    long otherFailures,
    long topologyVersion,
    int members)
{
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
