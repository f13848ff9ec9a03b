package dev.grid.core.internal.cluster;

import dev.grid.core.CacheEvent;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.PartitionState;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;

import java.util.ArrayList;
import java.util.List;

/**
 * Expiry on a primary: removes the expired entries of its primary copies in the background, and extends the life of
 * an entry a read touched (caches whose policy counts from reads). Both are updates the primary decides and starts
 * like any other (a counter, the WAL, every backup), so copies stay equal whatever their clocks say, and historical
 * rebalance replays them. Until its removal an expired entry is absent to every operation (see {@link KeyOperations}).
 * <p>
 * Removal is bounded per sweep: every {@link #SWEEP_INTERVAL_NS} at most {@link #EXAMINED_PER_SWEEP} entries are
 * examined, going round the primary copies of caches with a policy from where the last sweep stopped, and the expired
 * ones among them are removed. A copy whose earliest expiry time is known (from its last full pass and the values the
 * primary stored since) and still to come is skipped, so a sweep of entries that cannot have expired costs nothing;
 * a copy that just became primary, or took a transaction's write, is passed over again. A copy a consistency check
 * holds still, or a key a transaction locks, is left for a later round.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class Expirations
{
    /** Between sweeps for expired entries. */
    static final long SWEEP_INTERVAL_NS = 10_000_000L;
    /** Entries a sweep examines at most. */
    static final int EXAMINED_PER_SWEEP = 4096;

    private final MemberContext context;
    private long nextSweepNs;
    /** Where the next sweep starts: a copy (packed cache id and partition) and the key after which it goes on. */
    private long cursorCopy = Long.MIN_VALUE;
    private byte[] cursorKey;

    Expirations(final MemberContext context)
    {
        this.context = context;
    }

    /**
     * Remove a bounded number of expired entries of this member's primary copies, if a sweep is due.
     *
     * @return the number of removals started.
     */
    int duty()
    {
        if (context.nowNs() < nextSweepNs)
        {
            return 0;
        }
        nextSweepNs = context.nowNs() + SWEEP_INTERVAL_NS;
        if (context.state() != MemberState.ACTIVE || context.isExchanging() || context.installedMap() == null ||
            !context.membership().hasQuorum())
        {
            return 0;
        }
        if (context.topology().caches().stream().noneMatch(StoredValues::expiring))
        {
            // No cache expires anything: the copies are not even looked at.
            return 0;
        }
        final List<LocalPartition> primaries = expiringPrimaries();
        if (primaries.isEmpty())
        {
            return 0;
        }
        int start = 0;
        while (start < primaries.size() && packed(primaries.get(start)) < cursorCopy)
        {
            start++;
        }
        final long nowMs = context.epochMs();
        int budget = EXAMINED_PER_SWEEP;
        int removed = 0;
        for (int i = 0; i < primaries.size() && budget > 0; i++)
        {
            final LocalPartition lp = primaries.get((start + i) % primaries.size());
            if (nowMs < lp.nextExpiryMs)
            {
                // Nothing in it can have expired yet: its earliest expiry time is known and still to come.
                continue;
            }
            final byte[] after = packed(lp) == cursorCopy ? cursorKey : null;
            final List<byte[]> keys = new ArrayList<>();
            final byte[][] last = new byte[1][];
            final int[] examined = new int[1];
            final int allowed = budget;
            final boolean ended = lp.store.scan(after, (key, value, counter) ->
            {
                if (examined[0] >= allowed)
                {
                    return false;
                }
                examined[0]++;
                last[0] = key;
                final long expireAtMs = StoredValues.expireAt(value);
                if (expireAtMs != 0 && expireAtMs <= nowMs)
                {
                    keys.add(key);
                }
                else if (expireAtMs != 0)
                {
                    lp.expiryPassMinMs = Math.min(lp.expiryPassMinMs, expireAtMs);
                }
                return true;
            });
            budget -= examined[0];
            cursorCopy = packed(lp);
            cursorKey = ended ? null : last[0];
            if (ended)
            {
                // The next sweep starts at the next copy; this one needs none until its earliest expiry time.
                cursorCopy = packed(lp) + 1;
                lp.nextExpiryMs = lp.expiryPassMinMs;
                lp.expiryPassMinMs = Long.MAX_VALUE;
            }
            removed += remove(lp, keys, nowMs);
        }
        return removed;
    }

    /** Start the removal of expired keys of a primary copy (those still expired and not locked). */
    private int remove(final LocalPartition lp, final List<byte[]> keys, final long nowMs)
    {
        final CacheDescriptor cache = context.topology().cache(lp.cacheId);
        int removed = 0;
        for (final byte[] key : keys)
        {
            final byte[] stored = lp.store.get(key);
            if (stored == null || !StoredValues.expired(stored, nowMs) || context.tx().isLocked(lp.cacheId, key))
            {
                continue;
            }
            final long sequence = context.newSequence();
            context.replication().startUpdate(lp, cache, new OpKey(context.incarnation(), sequence),
                context.incarnation(), sequence, OpOutcome.TRUE, key, null,
                context.nowNs() + cache.operationTimeoutNs(), (byte)CacheEvent.Kind.EXPIRED.ordinal());
            removed++;
        }
        if (removed > 0)
        {
            context.evictions().expired(lp.cacheId, removed);
        }
        return removed;
    }

    /**
     * A read of a live entry on its primary: under a policy that counts from reads, extend its life by an update once
     * less than half of it is left (so reads do not each cost a write).
     *
     * @param current the entry's value as the reader sees it.
     * @param stored  the entry's stored value.
     */
    void touched(final LocalPartition lp, final CacheDescriptor cache, final byte[] key, final byte[] current,
        final byte[] stored, final long nowMs)
    {
        if (!cache.expiry().extendsOnRead())
        {
            return;
        }
        final long expireAtMs = StoredValues.expireAt(stored);
        final long durationMs = cache.expiry().durationMs();
        if (expireAtMs == 0 || expireAtMs - nowMs >= durationMs / 2 || lp.pausedBy != 0 ||
            context.tx().isLocked(lp.cacheId, key) ||
            context.replication().lossRefusal(cache, lp.partition, true) != null)
        {
            return;
        }
        final long sequence = context.newSequence();
        context.replication().startUpdate(lp, cache, new OpKey(context.incarnation(), sequence),
            context.incarnation(), sequence, OpOutcome.TRUE, key,
            StoredValues.wrap(current, ExpiryPolicy.after(nowMs, durationMs)), context.nowNs() +
            cache.operationTimeoutNs(), EventJournal.NONE);
    }

    /** Forget where the sweep stood: the member joins again. */
    void reset()
    {
        cursorCopy = Long.MIN_VALUE;
        cursorKey = null;
    }

    /**
     * A value with an expiry time was stored in a primary copy: the copy's sweep is due by then (whether or not the
     * pass under way already went past the key).
     */
    static void stored(final LocalPartition lp, final long expireAtMs)
    {
        if (expireAtMs != 0)
        {
            lp.nextExpiryMs = Math.min(lp.nextExpiryMs, expireAtMs);
            lp.expiryPassMinMs = Math.min(lp.expiryPassMinMs, expireAtMs);
        }
    }

    /** @return this member's OWNING primary copies of caches with an expiry policy, in copy order. */
    private List<LocalPartition> expiringPrimaries()
    {
        final List<LocalPartition> primaries = new ArrayList<>();
        final int myIndex = context.installedMap().topology().indexOf(context.incarnation());
        for (final LocalPartition[] copies : context.allCopies())
        {
            for (final LocalPartition lp : copies)
            {
                if (lp == null)
                {
                    continue;
                }
                final CacheDescriptor cache = context.topology().cache(lp.cacheId);
                final boolean primary = lp.state == PartitionState.OWNING && cache != null &&
                    StoredValues.expiring(cache) &&
                    context.installedMap().rank(lp.cacheId, lp.partition, myIndex) == 0 &&
                    context.replication().lossRefusal(cache, lp.partition, true) == null;
                if (!primary)
                {
                    lp.sweptAsPrimary = false;
                    continue;
                }
                if (!lp.sweptAsPrimary)
                {
                    // Primary since the last sweep: what it stored as a backup was never noted, so it is swept.
                    lp.sweptAsPrimary = true;
                    lp.nextExpiryMs = 0;
                }
                if (lp.pausedBy == 0)
                {
                    primaries.add(lp);
                }
            }
        }
        primaries.sort((a, b) -> Long.compare(packed(a), packed(b)));
        return primaries;
    }

    private static long packed(final LocalPartition lp)
    {
        return dev.grid.core.engine.PartitionCopy.pack(lp.cacheId, lp.partition);
    }
}
