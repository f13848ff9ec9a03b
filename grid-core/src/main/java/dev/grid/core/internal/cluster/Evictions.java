package dev.grid.core.internal.cluster;

import dev.grid.core.CacheEvent;
import dev.grid.core.ErrorCode;
import dev.grid.core.EvictionPolicy;
import dev.grid.core.GridException;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.PartitionMap;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.PartitionState;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;
import dev.grid.core.internal.partition.PartitionStore;
import org.agrona.collections.Int2ObjectHashMap;

import java.util.ArrayList;
import java.util.List;

/**
 * The member's bound on cache data and the eviction of caches with an {@link EvictionPolicy}, on the primary.
 * <p>
 * <b>Accounting.</b> The member's cache data is the sum of its copies' accounted bytes
 * ({@link PartitionStore#accountedBytes()}), counted again every {@link #SWEEP_INTERVAL_NS} and raised by each write
 * this member starts as primary in between, so it never lags a burst of writes.
 * <p>
 * <b>Eviction</b> is a primary's decision, applied as counted removes replicated to every copy (so copies stay equal
 * and historical rebalance replays them). A partition's share of a policy's per-member bound is the bound times the
 * members over the partitions; a write that takes the partition over it evicts at once (at most
 * {@link #EVICTIONS_PER_WRITE}, never the key just written), and each sweep evicts what is still over, bounded too.
 * The victim is the least recently (LRU) or least often (LFU) used of {@link #SAMPLE} live entries that follow a random
 * point of the key space. Persistent members never evict: there, and for caches without a policy, a write at the
 * member's bound is refused ({@link ErrorCode#MEMORY_BOUND_EXCEEDED}); reads and removes are still served.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class Evictions
{
    /** Between recounts of the member's cache data and eviction sweeps. */
    static final long SWEEP_INTERVAL_NS = 10_000_000L;
    /** Live entries a victim is chosen among. */
    static final int SAMPLE = 16;
    /** Evictions a write may start at most. */
    static final int EVICTIONS_PER_WRITE = 8;
    /** Evictions a sweep may start at most. */
    static final int EVICTIONS_PER_SWEEP = 1024;

    private final MemberContext context;
    private long nextSweepNs;
    /** The member's cache data in accounted bytes: the last count plus the writes started since. */
    private long accountedBytes;
    /** Per cache id, {evictions, expirations} this member started as primary. */
    private final Int2ObjectHashMap<long[]> counts = new Int2ObjectHashMap<>();

    Evictions(final MemberContext context)
    {
        this.context = context;
    }

    /**
     * @return the member's cache data in accounted bytes, as last counted plus the writes started and the backup
     *         writes applied since.
     */
    long accountedBytes()
    {
        return accountedBytes;
    }

    /** @return {evictions, expirations} this member started as primary for a cache (zeros if none). */
    long[] counts(final int cacheId)
    {
        final long[] c = counts.get(cacheId);
        return c == null ? new long[2] : c.clone();
    }

    /** Count expirations a primary started, for the cache's metrics. */
    void expired(final int cacheId, final int count)
    {
        counts.computeIfAbsent(cacheId, id -> new long[2])[1] += count;
    }

    /** @return whether this member holds its bound of cache data (its heartbeats say so to the primaries). */
    boolean isFull()
    {
        return accountedBytes >= context.config().cacheMemoryMaxBytes();
    }

    /**
     * Whether a write that stores a value may start on this primary: refused if this member, or a backup of the
     * partition (as its heartbeats say), holds its bound of cache data and the primary cannot evict for the cache (a
     * persistent member, or a cache without a policy). A backup applies what its primary decided and cannot refuse, so
     * the primary refuses for it; an evicting cache evicts in the partition instead, which the backup applies too.
     *
     * @return null if it may, else the refusal.
     */
    GridException refusal(final LocalPartition lp, final CacheDescriptor cache, final byte[] key)
    {
        final String fullBackup = isFull() ? null : fullBackup(lp);
        if (!isFull() && fullBackup == null)
        {
            return null;
        }
        if (evicts(cache))
        {
            // Make room in the write's own partition first; the sweep evicts from the others.
            evict(lp, cache, key, EVICTIONS_PER_WRITE, true, fullBackup != null);
            return null;
        }
        return new GridException(ErrorCode.MEMORY_BOUND_EXCEEDED, (fullBackup == null ? "member " +
            context.config().memberId() + " holds " + accountedBytes + " bytes of cache data, its bound " +
            "(cache.memory.max.bytes) is " + context.config().cacheMemoryMaxBytes() : "member " + fullBackup +
            ", a backup of partition " + lp.partition + ", holds its bound of cache data (cache.memory.max.bytes)") +
            ": the write to cache '" + cache.name() + "' was refused and nothing was stored (reads and removes are " +
            "served; " + (context.wal().retainsRecords() ? "a persistent member never evicts acknowledged data)" :
            "the cache has no eviction policy)"));
    }

    /** @return the id of a backup of the partition whose heartbeats say it is full, or null. */
    private String fullBackup(final LocalPartition lp)
    {
        final PartitionMap map = context.installedMap();
        if (map == null || !context.membership().anyMemoryFull())
        {
            return null;
        }
        for (final int owner : map.owners(lp.cacheId, lp.partition))
        {
            final MemberRecord member = map.topology().members().get(owner);
            if (member.incarnation() != context.incarnation() &&
                context.membership().isMemoryFull(member.incarnation()))
            {
                return member.memberId();
            }
        }
        return null;
    }

    /**
     * A write started on this primary: count its bytes, and evict what takes the partition over its share of the
     * cache's bound.
     *
     * @param key      the key written (never evicted for it).
     * @param previous the key's stored value before the write, or null (absent or a tombstone).
     * @param value    the stored value, or null for a remove.
     */
    void written(final LocalPartition lp, final CacheDescriptor cache, final byte[] key, final byte[] previous,
        final byte[] value)
    {
        // What the write added: its entry less the one it replaced (a tombstone replaced counts as nothing, so the
        // estimate errs high until the next recount).
        accountedBytes += PartitionStore.accountedBytes(key, value) -
            (previous == null ? 0 : PartitionStore.accountedBytes(key, previous));
        if (value != null && evicts(cache))
        {
            evict(lp, cache, key, EVICTIONS_PER_WRITE, false, false);
        }
    }

    /**
     * A backup applied its primary's write: count what it added at once, as a primary counts its writes, so that the
     * step to full reaches the primaries (a heartbeat round at once) with the write that made it, not up to a sweep
     * interval of writes later.
     *
     * @param deltaBytes the change of the copy's accounted bytes.
     */
    void applied(final long deltaBytes)
    {
        accountedBytes += deltaBytes;
    }

    /**
     * Recount the member's cache data and evict what is over, if a sweep is due.
     *
     * @return the evictions started.
     */
    int duty()
    {
        if (context.nowNs() < nextSweepNs)
        {
            return 0;
        }
        nextSweepNs = context.nowNs() + SWEEP_INTERVAL_NS;
        long total = 0;
        for (final LocalPartition[] copies : context.allCopies())
        {
            for (final LocalPartition lp : copies)
            {
                total += lp == null ? 0 : lp.store.accountedBytes();
            }
        }
        accountedBytes = total;
        if (context.state() != MemberState.ACTIVE || context.isExchanging() || context.installedMap() == null ||
            !context.membership().hasQuorum() || context.wal().retainsRecords())
        {
            return 0;
        }
        int budget = EVICTIONS_PER_SWEEP;
        final boolean overBound = accountedBytes >= context.config().cacheMemoryMaxBytes();
        for (final LocalPartition lp : evictingPrimaries())
        {
            if (budget <= 0)
            {
                break;
            }
            budget -= evict(lp, context.topology().cache(lp.cacheId), null, Math.min(budget, overBound ?
                EVICTIONS_PER_WRITE : budget), overBound, false);
        }
        return EVICTIONS_PER_SWEEP - budget;
    }

    /** Forget the counts of a member that joins again (its copies go). */
    void reset()
    {
        accountedBytes = 0;
    }

    private boolean evicts(final CacheDescriptor cache)
    {
        return cache.eviction() != null && !context.wal().retainsRecords();
    }

    /**
     * Evict from a primary copy while it is over its share of the cache's bound (or, for the member's bound, while
     * the member is over it), at most {@code limit} entries.
     *
     * @return the evictions started.
     */
    private int evict(final LocalPartition lp, final CacheDescriptor cache, final byte[] spared, final int limit,
        final boolean forMemberBound, final boolean forFullBackup)
    {
        if (lp.pausedBy != 0 || lp.state != PartitionState.OWNING)
        {
            return 0;
        }
        final EvictionPolicy policy = cache.eviction();
        final int members = Math.max(1, context.installedMap().topology().members().size());
        final long entryShare = policy.maxEntries() == 0 ? Long.MAX_VALUE :
            Math.max(1, policy.maxEntries() * members / cache.partitions());
        final long byteShare = policy.maxBytes() == 0 ? Long.MAX_VALUE :
            Math.max(1, policy.maxBytes() * members / cache.partitions());
        int evicted = 0;
        // For a full backup, two per write: the partition shrinks on every copy while it is written.
        while (evicted < limit && (lp.store.size() > entryShare || lp.store.liveBytes() > byteShare ||
            forMemberBound && accountedBytes >= context.config().cacheMemoryMaxBytes() ||
            forFullBackup && evicted < 2))
        {
            final byte[] from = new byte[4];
            final int point = context.random().nextInt(Integer.MAX_VALUE);
            from[0] = (byte)(point >>> 24);
            from[1] = (byte)(point >>> 16);
            from[2] = (byte)(point >>> 8);
            from[3] = (byte)point;
            final byte[] victim = lp.store.evictionCandidate(from, SAMPLE, policy.kind() == EvictionPolicy.Kind.LFU,
                spared);
            if (victim == null || context.tx().isLocked(lp.cacheId, victim))
            {
                break;
            }
            final long sequence = context.newSequence();
            accountedBytes -= PartitionStore.accountedBytes(victim, lp.store.get(victim)) -
                PartitionStore.accountedBytes(victim, null);
            context.replication().startUpdate(lp, cache, new OpKey(context.incarnation(), sequence),
                context.incarnation(), sequence, OpOutcome.TRUE, victim, null,
                context.nowNs() + cache.operationTimeoutNs(), (byte)CacheEvent.Kind.EVICTED.ordinal());
            evicted++;
        }
        if (evicted > 0)
        {
            counts.computeIfAbsent(lp.cacheId, id -> new long[2])[0] += evicted;
        }
        return evicted;
    }

    /** @return this member's OWNING primary copies of caches it evicts for. */
    private List<LocalPartition> evictingPrimaries()
    {
        final List<LocalPartition> primaries = new ArrayList<>();
        final int myIndex = context.installedMap().topology().indexOf(context.incarnation());
        for (final LocalPartition[] copies : context.allCopies())
        {
            for (final LocalPartition lp : copies)
            {
                if (lp == null || lp.state != PartitionState.OWNING)
                {
                    continue;
                }
                final CacheDescriptor cache = context.topology().cache(lp.cacheId);
                if (cache != null && evicts(cache) &&
                    context.installedMap().rank(lp.cacheId, lp.partition, myIndex) == 0 &&
                    context.replication().lossRefusal(cache, lp.partition, true) == null)
                {
                    primaries.add(lp);
                }
            }
        }
        return primaries;
    }
}
