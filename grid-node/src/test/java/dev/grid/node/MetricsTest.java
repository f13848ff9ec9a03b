package dev.grid.node;

import dev.grid.core.ErrorCode;
import dev.grid.core.MemberMetrics;
import dev.grid.core.engine.OpType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A member's metrics, and a sharded member's combined from its shards': histograms added (so the percentiles are the
 * whole member's, not an average of the shards'), counts and abort reasons summed.
 */
class MetricsTest
{
    @Test
    void shardsCombineIntoTheWholeMembersPercentilesAndSums()
    {
        final Metrics fast = new Metrics();
        final Metrics slow = new Metrics();
        for (int i = 0; i < 900; i++)
        {
            fast.record(OpType.GET, TimeUnit.MICROSECONDS.toNanos(100), 0);
        }
        for (int i = 0; i < 100; i++)
        {
            slow.record(OpType.GET, TimeUnit.MILLISECONDS.toNanos(10), 0);
        }
        slow.record(OpType.PUT, TimeUnit.MILLISECONDS.toNanos(1), ErrorCode.OPERATION_TIMEOUT.code());
        fast.routed(true);
        slow.routed(true);
        slow.routed(false);
        fast.transactionFinished(0, 1_000, 2_000);
        fast.transactionFinished(ErrorCode.TX_DEADLOCK_PREVENTION.code(), -1, 2_000);
        slow.transactionFinished(ErrorCode.TX_DEADLOCK_PREVENTION.code(), -1, 2_000);

        final MemberMetrics whole = Metrics.combined(List.of(fast, slow), 7, 4);
        final MemberMetrics.Latency gets = whole.latencies().get("get");
        assertEquals(1_000, gets.count());
        // 90% of the member's gets took 100 µs: its median is theirs, its 99th percentile the slow shard's.
        assertEquals(100, gets.p50Us(), 1);
        assertEquals(10_000, gets.p99Us(), 10);
        assertEquals(10_000, gets.maxUs(), 10);
        assertEquals(1, whole.latencies().get("put").count());
        assertEquals(1, whole.timeouts());
        assertEquals(2, whole.servedAsPrimary());
        assertEquals(1, whole.forwarded());
        assertEquals(1, whole.transactions().commits());
        assertEquals(Map.of(ErrorCode.TX_DEADLOCK_PREVENTION.name(), 2L), whole.transactions().aborts());
        assertEquals(7, whole.topologyVersion());
        assertEquals(4, whole.members());

        // Combining reads the shards without changing them: each still reports its own.
        final MemberMetrics alone = Metrics.combined(List.of(fast), 7, 4);
        assertEquals(900, alone.latencies().get("get").count());
        assertEquals(100, alone.latencies().get("get").maxUs(), 1);
        assertEquals(1_000, Metrics.combined(List.of(fast, slow), 7, 4).latencies().get("get").count(),
            "a second combination counts the same operations once");
        assertTrue(slow.snapshot(7, 4).latencies().get("get").p50Us() >= 9_990);
    }
}
