package dev.grid.jcache;

import javax.cache.management.CacheStatisticsMXBean;
import java.util.concurrent.atomic.LongAdder;

/**
 * A JCache cache's statistics, as this cache manager saw its own operations (other managers' operations on the same
 * cache count in their own statistics): hits and misses of reads, puts, removals, and the average time of gets, puts
 * and removals in microseconds. Registered as the {@code CacheStatistics} MBean while statistics are enabled.
 * <p>
 * Thread-safe: counters are {@link LongAdder}s, so operations on many threads count without contending.
 */
public final class GridCacheStatistics implements CacheStatisticsMXBean
{
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder puts = new LongAdder();
    private final LongAdder removals = new LongAdder();
    private final LongAdder evictions = new LongAdder();
    private final LongAdder getTimeNs = new LongAdder();
    private final LongAdder putTimeNs = new LongAdder();
    private final LongAdder removeTimeNs = new LongAdder();

    @Override
    public void clear()
    {
        hits.reset();
        misses.reset();
        puts.reset();
        removals.reset();
        evictions.reset();
        getTimeNs.reset();
        putTimeNs.reset();
        removeTimeNs.reset();
    }

    @Override
    public long getCacheHits()
    {
        return hits.sum();
    }

    @Override
    public float getCacheHitPercentage()
    {
        final long hitCount = getCacheHits();
        final long gets = hitCount + getCacheMisses();
        return gets == 0 ? 0 : hitCount * 100.0f / gets;
    }

    @Override
    public long getCacheMisses()
    {
        return misses.sum();
    }

    @Override
    public float getCacheMissPercentage()
    {
        final long missCount = getCacheMisses();
        final long gets = missCount + getCacheHits();
        return gets == 0 ? 0 : missCount * 100.0f / gets;
    }

    @Override
    public long getCacheGets()
    {
        return getCacheHits() + getCacheMisses();
    }

    @Override
    public long getCachePuts()
    {
        return puts.sum();
    }

    @Override
    public long getCacheRemovals()
    {
        return removals.sum();
    }

    @Override
    public long getCacheEvictions()
    {
        return evictions.sum();
    }

    @Override
    public float getAverageGetTime()
    {
        return average(getTimeNs.sum(), getCacheGets());
    }

    @Override
    public float getAveragePutTime()
    {
        return average(putTimeNs.sum(), getCachePuts());
    }

    @Override
    public float getAverageRemoveTime()
    {
        return average(removeTimeNs.sum(), getCacheRemovals());
    }

    void hits(final int count)
    {
        hits.add(count);
    }

    void misses(final int count)
    {
        misses.add(count);
    }

    void puts(final int count)
    {
        puts.add(count);
    }

    void removals(final int count)
    {
        removals.add(count);
    }

    void getTime(final long elapsedNs)
    {
        getTimeNs.add(elapsedNs);
    }

    void putTime(final long elapsedNs)
    {
        putTimeNs.add(elapsedNs);
    }

    void removeTime(final long elapsedNs)
    {
        removeTimeNs.add(elapsedNs);
    }

    /** @return microseconds per operation. */
    private static float average(final long totalNs, final long operations)
    {
        return operations == 0 ? 0 : totalNs / 1_000.0f / operations;
    }
}
