package dev.grid.core.internal.cluster;

import dev.grid.core.BaselineTopology;
import dev.grid.core.CacheMetrics;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.GridException;
import dev.grid.core.QuorumStatus;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.CopyView;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.EngineStatus;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.PartitionContents;
import dev.grid.core.internal.cluster.LocalPartition.PrimaryUpdate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Read-only views of a member's engine ({@link Engine#status}): whether it is settled, quiescent or ready for a
 * restart, its quorum, primaries, baseline and lost partitions, its copies, rebalance progress, pending operations,
 * the consistency check, and descriptions of what is in flight for diagnostics.
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
final class StatusFacade implements EngineStatus
{
    private final MemberContext context;

    StatusFacade(final MemberContext context)
    {
        this.context = context;
    }

    /**
     * @return true if the member has installed the map of its current topology (no exchange in progress) and holds
     *         quorum.
     */
    public boolean isSettled()
    {
        return hasInstalledCurrentMap() && context.membership().hasQuorum();
    }

    /**
     * @return true if the member is active and has installed the map of its current topology, with or without quorum.
     */
    public boolean hasInstalledCurrentMap()
    {
        return context.state() == MemberState.ACTIVE && context.installedMap() != null &&
            context.installedMap().version() == context.topology().version();
    }

    /**
     * @return this member's view of the quorum.
     */
    public QuorumStatus quorum()
    {
        return context.membership().quorumStatus();
    }

    /**
     * @return true once an {@link MemberState#EXPELLED} engine has made its WAL durable and finished its checkpoint:
     *         its host may start a new engine on the same WAL and checkpoints, which recovers and rejoins.
     */
    public boolean isReadyForRestart()
    {
        return context.state() == MemberState.EXPELLED &&
            context.wal().durablePosition() >= context.wal().appendedPosition() &&
            context.checkpointer().isIdle();
    }

    /**
     * @return true if settled and nothing is in flight: no own operation (listeners' journal reads aside), no update
     *         waiting for backups or WAL.
     */
    public boolean isQuiescent()
    {
        return isSettled() && context.near().pendingBesidesJournalReads() == 0 &&
            context.cacheAdmin().pending() == 0 && context.inFlightUpdates() == 0 && context.tx().isIdle() &&
            context.installedMap().plans().isEmpty() && context.rebalancer().isIdle() && context.checker().isIdle() &&
            context.durability().waiting() == 0 && context.parkedMessages().isEmpty() &&
            !context.exchange().isCoordinating();
    }

    /**
     * @return what the member is waiting for, for diagnostics: updates in flight, WAL durability, parked messages, the
     * exchange's progress.
     */
    public String describeProgress()
    {
        return context.tx().describe() + " " + context.rebalancer().describe() + " plans=" +
            (context.installedMap() == null ? "-" : context.installedMap().plans().size()) + " inFlightUpdates=" +
            context.inFlightUpdates() +
            " awaitingDurability=" +
            context.durability().waiting() + " wal=" +
            context.wal().durablePosition() + "/" + context.wal().appendedPosition() + " parked=" +
            context.parkedMessages().size() +
            " " + context.exchange().describe() + describeInFlight();
    }

    private String describeInFlight()
    {
        if (context.inFlightUpdates() == 0)
        {
            return "";
        }
        final StringBuilder out = new StringBuilder(" quorum=").append(context.membership().hasQuorum())
            .append(" inFlight=[");
        for (final LocalPartition[] local : context.allCopies())
        {
            for (final LocalPartition lp : local)
            {
                if (lp != null)
                {
                    for (final PrimaryUpdate update : lp.inFlight.values())
                    {
                        out.append(" p").append(lp.partition).append('#').append(update.counter).append(" v")
                            .append(update.topologyVersion).append(update.durable ? " durable" : " not durable")
                            .append(" waits for ").append(update.pendingBackups);
                    }
                }
            }
        }
        return out.append(" ]").toString();
    }

    /**
     * Compare every OWNING copy of each partition of a cache at the same counter, while writes go on (see
     * {@link ConsistencyChecker}). The callback runs once, on the engine's thread.
     *
     * @param cacheName the cache.
     * @param callback  the report, or the error (cache not found or destroyed, member not active).
     */
    public void checkConsistency(final String cacheName,
        final BiConsumer<ConsistencyReport, GridException> callback)
    {
        if (context.state() != MemberState.ACTIVE)
        {
            callback.accept(null, context.notActive());
            return;
        }
        final CacheDescriptor cache = context.topology().cache(cacheName);
        if (cache == null)
        {
            callback.accept(null, new CacheNotFoundException("no cache named '" + cacheName + "'"));
            return;
        }
        context.checker().start(cache, callback);
    }

    /**
     * @return what this member's rebalance is doing, and its totals since start.
     */
    public RebalanceStatus rebalanceStatus()
    {
        return context.rebalancer().status();
    }

    /**
     * @return the number of this member's own operations not yet completed.
     */
    public int pendingOperations()
    {
        return context.near().pending() + context.cacheAdmin().pending();
    }

    /**
     * Inspect this member's copy of a partition (for tests, the simulator and admin views).
     *
     * @param cacheId   of the cache.
     * @param partition of the cache.
     * @return a snapshot of the copy, or null if this member holds none.
     */
    public CopyView copy(final int cacheId, final int partition)
    {
        final LocalPartition lp = context.localCopy(cacheId, partition);
        if (lp == null)
        {
            return null;
        }
        final boolean primary = context.installedMap() != null && context.installedMap().rank(cacheId, partition,
            context.installedMap().topology().indexOf(context.incarnation())) == 0;
        return new CopyView(lp.counter.lwm(), lp.counter.hwm(), lp.counter.gaps(), lp.store.size(),
            lp.store.contentHash(), context.checkpointer().historyFrom(cacheId, partition), lp.state, primary);
    }

    @Override
    public PartitionContents contents(final int cacheId, final int partition)
    {
        final LocalPartition lp = context.localCopy(cacheId, partition);
        final CacheDescriptor cache = context.topology() == null ? null : context.topology().cache(cacheId);
        if (lp == null || cache == null)
        {
            return null;
        }
        final int stored = lp.store.entryCount();
        final byte[][] keys = new byte[stored][];
        final byte[][] values = new byte[stored][];
        final long[] counters = new long[stored];
        lp.store.snapshot(keys, values, counters);
        int live = 0;
        final boolean expiring = StoredValues.expiring(cache);
        final long[] expireAtMs = new long[stored];
        for (int i = 0; i < stored; i++)
        {
            if (values[i] != null)
            {
                keys[live] = keys[i];
                counters[live] = counters[i];
                expireAtMs[live] = expiring ? StoredValues.expireAt(values[i]) : 0;
                values[live] = expiring ? StoredValues.unwrap(values[i]) : values[i];
                live++;
            }
        }
        final boolean primary = context.installedMap() != null && context.installedMap().rank(cacheId, partition,
            context.installedMap().topology().indexOf(context.incarnation())) == 0;
        return new PartitionContents(lp.counter.lwm(), lp.counter.hwm(), lp.counter.gaps(), primary, lp.state,
            Arrays.copyOf(keys, live), Arrays.copyOf(values, live), Arrays.copyOf(expireAtMs, live),
            Arrays.copyOf(counters, live));
    }

    /**
     * @param cacheId a cache.
     * @return its data on this member. Engine thread only.
     * @throws CacheNotFoundException if there is no such cache.
     */
    @Override
    public CacheMetrics cacheMetrics(final int cacheId)
    {
        final CacheDescriptor cache = context.topology() == null ? null : context.topology().cache(cacheId);
        if (cache == null)
        {
            throw new CacheNotFoundException("no cache with id " + cacheId);
        }
        final LocalPartition[] copies = context.copies().get(cacheId);
        final int myIndex = context.installedMap() == null ? -1 :
            context.installedMap().topology().indexOf(context.incarnation());
        long entries = 0;
        long primaryEntries = 0;
        long bytes = 0;
        for (int p = 0; copies != null && p < copies.length; p++)
        {
            if (copies[p] != null)
            {
                entries += copies[p].store.size();
                bytes += copies[p].store.accountedBytes();
                if (myIndex >= 0 && context.installedMap().hasCache(cacheId) &&
                    context.installedMap().rank(cacheId, p, myIndex) == 0)
                {
                    primaryEntries += copies[p].store.size();
                }
            }
        }
        final long[] counts = context.evictions().counts(cacheId);
        return new CacheMetrics(cache.name(), entries, primaryEntries, bytes, context.evictions().accountedBytes(),
            context.config().cacheMemoryMaxBytes(), counts[0], counts[1]);
    }

    /**
     * @param cacheName of a cache.
     * @return per partition, the index in the installed map's topology of its primary, -1 if none; null if no map
     *         is installed. Engine thread only.
     * @throws CacheNotFoundException if there is no cache of that name.
     */
    @Override
    public int[] primaries(final String cacheName)
    {
        final CacheDescriptor cache = context.topology() == null ? null : context.topology().cache(cacheName);
        if (cache == null)
        {
            throw new CacheNotFoundException("no cache named '" + cacheName + "'");
        }
        if (context.installedMap() == null || !context.installedMap().hasCache(cache.cacheId()))
        {
            return null;
        }
        final int[] primaries = new int[cache.partitions()];
        for (int p = 0; p < primaries.length; p++)
        {
            primaries[p] = context.installedMap().owningCount(cache.cacheId(), p) == 0 ? -1 :
                context.installedMap().owners(cache.cacheId(), p)[0];
        }
        return primaries;
    }

    /**
     * @return the baseline as this member knows it, or null before it joined. Engine thread only.
     */
    public BaselineTopology baseline()
    {
        if (context.topology() == null)
        {
            return null;
        }
        final List<String> running = new ArrayList<>();
        context.topology().members().forEach(m -> running.add(m.memberId()));
        Collections.sort(running);
        return new BaselineTopology(context.topology().baseline().memberIds(), running,
            context.topology().baseline().autoAdjustTimeoutNs(), context.topology().version());
    }

    /**
     * @param name of a cache.
     * @return its lost partitions in the installed map, ascending; empty if none or no map yet. Engine thread only.
     * @throws CacheNotFoundException if there is no cache of that name.
     */
    public List<Integer> lostPartitions(final String name)
    {
        final CacheDescriptor cache = context.topology() == null ? null : context.topology().cache(name);
        if (cache == null)
        {
            throw new CacheNotFoundException("no cache named '" + name + "'");
        }
        return context.installedMap() == null ? List.of() : context.installedMap().lostPartitions(cache.cacheId());
    }

    /**
     * @return tombstones dropped since start (see {@link #purgeTombstones()}).
     */
    public long tombstonesPurged()
    {
        return context.tombstones().tombstonesPurged();
    }
}
