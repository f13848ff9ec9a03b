package dev.grid.node;

import dev.grid.core.ErrorCode;
import dev.grid.core.MemberMetrics;
import dev.grid.core.engine.OpType;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A member's operation metrics: one HdrHistogram recorder per operation type, written by the agent thread without
 * locks and read by any thread through {@link #snapshot} (or {@link #combined} for a member of several shards), which
 * fold each interval into a histogram since start.
 */
final class Metrics
{
    private static final long HIGHEST_TRACKABLE_US = TimeUnit.MINUTES.toMicros(10);

    private final SingleWriterRecorder[] recorders = new SingleWriterRecorder[OpType.values().length];
    private final Histogram[] totals = new Histogram[OpType.values().length];
    private final Histogram[] intervals = new Histogram[OpType.values().length];
    private final AtomicLong remaps = new AtomicLong();
    private final AtomicLong servedAsPrimary = new AtomicLong();
    private final AtomicLong forwarded = new AtomicLong();
    private final AtomicLong timeouts = new AtomicLong();
    private final AtomicLong cacheDestroyed = new AtomicLong();
    private final AtomicLong otherFailures = new AtomicLong();
    private static final String[] TX_HISTOGRAMS = {"tx.total", "tx.prepare", "tx.commit", "tx.lockWait"};
    private final SingleWriterRecorder[] txRecorders = new SingleWriterRecorder[TX_HISTOGRAMS.length];
    private final Histogram[] txTotals = new Histogram[TX_HISTOGRAMS.length];
    private final Histogram[] txIntervals = new Histogram[TX_HISTOGRAMS.length];
    private final AtomicLong txCommits = new AtomicLong();
    private final AtomicLong txUnknown = new AtomicLong();
    private final java.util.concurrent.ConcurrentHashMap<String, AtomicLong> txAborts =
        new java.util.concurrent.ConcurrentHashMap<>();

    Metrics()
    {
        for (int i = 0; i < recorders.length; i++)
        {
            recorders[i] = new SingleWriterRecorder(HIGHEST_TRACKABLE_US, 3);
            totals[i] = new Histogram(HIGHEST_TRACKABLE_US, 3);
        }
        for (int i = 0; i < txRecorders.length; i++)
        {
            txRecorders[i] = new SingleWriterRecorder(HIGHEST_TRACKABLE_US, 3);
            txTotals[i] = new Histogram(HIGHEST_TRACKABLE_US, 3);
        }
    }

    private void recordTx(final int histogram, final long ns)
    {
        txRecorders[histogram].recordValue(Math.min(HIGHEST_TRACKABLE_US, Math.max(0, ns / 1000)));
    }

    /** Agent thread only. */
    void transactionPrepared(final long prepareNs)
    {
        recordTx(1, prepareNs);
    }

    /** Agent thread only. */
    void transactionFinished(final int errorCode, final long commitNs, final long totalNs)
    {
        recordTx(0, totalNs);
        if (commitNs >= 0)
        {
            recordTx(2, commitNs);
        }
        if (errorCode == 0)
        {
            txCommits.incrementAndGet();
        }
        else if (errorCode == ErrorCode.TX_COMMIT_STATUS_UNKNOWN.code())
        {
            txUnknown.incrementAndGet();
        }
        else
        {
            txAborts.computeIfAbsent(ErrorCode.ofCode(errorCode).name(), k -> new AtomicLong()).incrementAndGet();
        }
    }

    /** Agent thread only. */
    void lockWait(final long waitNs)
    {
        recordTx(3, waitNs);
    }

    /** Agent thread only. */
    void record(final OpType type, final long latencyNs, final int errorCode)
    {
        recorders[type.ordinal()].recordValue(Math.min(HIGHEST_TRACKABLE_US, Math.max(0, latencyNs / 1000)));
        if (errorCode == ErrorCode.OPERATION_TIMEOUT.code())
        {
            timeouts.incrementAndGet();
        }
        else if (errorCode == ErrorCode.CACHE_DESTROYED.code())
        {
            cacheDestroyed.incrementAndGet();
        }
        else if (errorCode != 0)
        {
            otherFailures.incrementAndGet();
        }
    }

    /** Agent thread only. */
    void remap()
    {
        remaps.incrementAndGet();
    }

    void routed(final boolean toSelf)
    {
        (toSelf ? servedAsPrimary : forwarded).incrementAndGet();
    }

    /** Fold every recorder's interval into its histogram since start; under this object's lock. */
    private Map<String, Histogram> fold()
    {
        final Map<String, Histogram> folded = new LinkedHashMap<>();
        for (final OpType type : OpType.values())
        {
            final int i = type.ordinal();
            intervals[i] = recorders[i].getIntervalHistogram(intervals[i]);
            totals[i].add(intervals[i]);
            folded.put(type.name().toLowerCase(), totals[i]);
        }
        for (int i = 0; i < txRecorders.length; i++)
        {
            txIntervals[i] = txRecorders[i].getIntervalHistogram(txIntervals[i]);
            txTotals[i].add(txIntervals[i]);
            folded.put(TX_HISTOGRAMS[i], txTotals[i]);
        }
        return folded;
    }

    /**
     * @return a copy of each latency histogram since start (microseconds), by the names of
     *     {@link MemberMetrics#latencies()}.
     */
    synchronized Map<String, Histogram> histograms()
    {
        final Map<String, Histogram> copies = new LinkedHashMap<>();
        fold().forEach((name, histogram) -> copies.put(name, histogram.copy()));
        return copies;
    }

    synchronized MemberMetrics snapshot(final long topologyVersion, final int members)
    {
        return summarize(fold(), List.of(this), topologyVersion, members);
    }

    /**
     * The metrics of a member of several shards: every shard's histograms added into one per name (HdrHistogram adds
     * them exactly, so the percentiles are the whole member's), every count summed.
     *
     * @param shards          each shard's metrics.
     * @param topologyVersion the member's current topology version.
     * @param members         members (nodes: shards count) in that topology.
     * @return the snapshot.
     */
    static MemberMetrics combined(final List<Metrics> shards, final long topologyVersion, final int members)
    {
        if (shards.size() == 1)
        {
            return shards.get(0).snapshot(topologyVersion, members);
        }
        final Map<String, Histogram> merged = new LinkedHashMap<>();
        for (final Metrics shard : shards)
        {
            shard.addTotalsTo(merged);
        }
        return summarize(merged, shards, topologyVersion, members);
    }

    /** Add each histogram since start into {@code into}'s of its name (made on first use). */
    private synchronized void addTotalsTo(final Map<String, Histogram> into)
    {
        fold().forEach((name, total) -> into.computeIfAbsent(name, n -> new Histogram(HIGHEST_TRACKABLE_US, 3))
            .add(total));
    }

    private static MemberMetrics summarize(final Map<String, Histogram> histograms, final List<Metrics> shards,
        final long topologyVersion, final int members)
    {
        final Map<String, MemberMetrics.Latency> latencies = new LinkedHashMap<>();
        histograms.forEach((name, total) -> latencies.put(name, new MemberMetrics.Latency(total.getTotalCount(),
            total.getValueAtPercentile(50), total.getValueAtPercentile(99), total.getValueAtPercentile(99.9),
            total.getMaxValue())));
        final Map<String, Long> aborts = new TreeMap<>();
        long remaps = 0;
        long timeouts = 0;
        long cacheDestroyed = 0;
        long otherFailures = 0;
        long commits = 0;
        long unknown = 0;
        long servedAsPrimary = 0;
        long forwarded = 0;
        for (final Metrics shard : shards)
        {
            shard.txAborts.forEach((reason, count) -> aborts.merge(reason, count.get(), Long::sum));
            remaps += shard.remaps.get();
            timeouts += shard.timeouts.get();
            cacheDestroyed += shard.cacheDestroyed.get();
            otherFailures += shard.otherFailures.get();
            commits += shard.txCommits.get();
            unknown += shard.txUnknown.get();
            servedAsPrimary += shard.servedAsPrimary.get();
            forwarded += shard.forwarded.get();
        }
        return new MemberMetrics(latencies, remaps, timeouts, cacheDestroyed, otherFailures, topologyVersion, members,
            new MemberMetrics.TransactionCounts(commits, unknown, Map.copyOf(aborts)), servedAsPrimary, forwarded);
    }
}
