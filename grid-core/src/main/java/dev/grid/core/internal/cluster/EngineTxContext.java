package dev.grid.core.internal.cluster;

import dev.grid.core.GridException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.TxPartKey;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.CacheDescriptor;

/**
 * The {@link TransactionContext} a {@link MemberEngine} gives its transaction component: each method answers from the
 * engine's shared state or forwards to the component that owns the matter (membership for quorum, replication for
 * loss refusals, the WAL records and durability for appends and waits). The copies it hands out are the engine's
 * {@link LocalPartition}s, and only those come back.
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
final class EngineTxContext implements TransactionContext
{
    private final MemberContext context;

    EngineTxContext(final MemberContext context)
    {
        this.context = context;
    }

    @Override
    public long nowNs()
    {
        return context.nowNs();
    }

    @Override
    public long epochMs()
    {
        return context.epochMs();
    }

    @Override
    public long retryIntervalNs()
    {
        return context.retryIntervalNs();
    }

    @Override
    public String memberId()
    {
        return context.config().memberId();
    }

    @Override
    public long incarnation()
    {
        return context.incarnation();
    }

    @Override
    public long newSequence()
    {
        return context.newSequence();
    }

    @Override
    public boolean isExchanging()
    {
        return context.isExchanging();
    }

    @Override
    public boolean isMember(final long incarnation)
    {
        return context.topology().indexOf(incarnation) >= 0;
    }

    @Override
    public void parkUntilInstalled()
    {
        context.parkTxMessage();
    }

    @Override
    public long topologyVersion()
    {
        return context.topology().version();
    }

    @Override
    public int partitionsOf(final int cacheId)
    {
        final CacheDescriptor cache = context.topology().cache(cacheId);
        return cache == null ? 0 : cache.partitions();
    }

    @Override
    public String cacheName(final int cacheId)
    {
        final CacheDescriptor cache = context.topology().cache(cacheId);
        return cache == null ? null : cache.name();
    }

    @Override
    public boolean hasMap()
    {
        return context.installedMap() != null;
    }

    @Override
    public long mapVersion()
    {
        return context.installedMap() == null ? -1 : context.installedMap().version();
    }

    @Override
    public long settledVersion()
    {
        return context.exchange().settledVersion();
    }

    @Override
    public boolean isMapActive()
    {
        return context.installedMap() != null && context.installedMap().isActive();
    }

    @Override
    public long primaryOf(final int cacheId, final int partition)
    {
        final MemberRecord primary = context.installedMap() == null ? null :
            context.installedMap().primary(cacheId, partition);
        return primary == null ? NO_MEMBER : primary.incarnation();
    }

    @Override
    public int rankOf(final int cacheId, final int partition, final long member)
    {
        final PartitionTable map = context.installedMap();
        return map == null ? -1 : map.rank(cacheId, partition, map.topology().indexOf(member));
    }

    @Override
    public long[] ownersOf(final int cacheId, final int partition)
    {
        final PartitionTable map = context.installedMap();
        final int[] owners = map.owners(cacheId, partition);
        final long[] incarnations = new long[owners.length];
        for (int i = 0; i < owners.length; i++)
        {
            incarnations[i] = map.topology().members().get(owners[i]).incarnation();
        }
        return incarnations;
    }

    @Override
    public boolean isLost(final int cacheId, final int partition)
    {
        return context.installedMap() != null && context.installedMap().isLost(cacheId, partition);
    }

    @Override
    public PartitionCopy copy(final int cacheId, final int partition)
    {
        return context.localCopy(cacheId, partition);
    }

    @Override
    public boolean isPaused(final int cacheId, final int partition)
    {
        return context.isPaused(cacheId, partition);
    }

    @Override
    public String lossRefusal(final int cacheId, final int partition, final boolean write)
    {
        return context.replication().lossRefusal(context.topology().cache(cacheId), partition, write);
    }

    @Override
    public GridException memoryRefusal(final int cacheId, final int partition, final byte[] key)
    {
        final CacheDescriptor cache = context.topology().cache(cacheId);
        final LocalPartition lp = context.localCopy(cacheId, partition);
        return cache == null || lp == null ? null : context.evictions().refusal(lp, cache, key);
    }

    @Override
    public void closeRange(final PartitionCopy copy, final long start, final long count)
    {
        context.replication().closeRange((LocalPartition)copy, start, count);
    }

    @Override
    public void updateStarted()
    {
        context.updateStarted();
    }

    @Override
    public void updateFinished()
    {
        context.updateFinished();
    }

    @Override
    public boolean hasQuorum()
    {
        return context.membership().hasQuorum();
    }

    @Override
    public boolean refusesForQuorum()
    {
        return context.membership().refusesForQuorum();
    }

    @Override
    public GridException noQuorum(final String what)
    {
        return context.membership().noQuorum(what);
    }

    @Override
    public MemberMessages messages()
    {
        return context.messages();
    }

    @Override
    public void send(final long destination)
    {
        context.sendTo(destination);
    }

    @Override
    public long appendTxPrepare(final TxPartKey key, final long priority, final long[] participants,
        final byte[][] keys, final byte[][] values)
    {
        return context.walRecords().appendTxPrepare(key, priority, participants, keys, values);
    }

    @Override
    public long appendTxVoid(final TxPartKey key)
    {
        return context.walRecords().appendTxVoid(key);
    }

    @Override
    public long appendTxEnd(final TxPartKey key, final boolean committed)
    {
        return context.walRecords().appendTxEnd(key, committed);
    }

    @Override
    public long appendTxData(final PartitionCopy copy, final long counter, final long coordinator, final long seq,
        final byte[] key, final byte[] value)
    {
        return context.walRecords().appendTxData((LocalPartition)copy, counter, coordinator, seq, key, value);
    }

    @Override
    public long appendedPosition()
    {
        return context.walRecords().appendedPosition();
    }

    @Override
    public void awaitDurable(final long position, final PartitionCopy copy, final long counter,
        final Runnable onDurable)
    {
        context.durability().awaitDurable(position, (LocalPartition)copy, counter, onDurable);
    }

    @Override
    public void event(final String message)
    {
        context.listener().onEvent(message);
    }

    @Override
    public void transactionPrepared(final long prepareNs)
    {
        context.listener().onTransactionPrepared(prepareNs);
    }

    @Override
    public void transactionFinished(final int errorCode, final long commitNs, final long totalNs)
    {
        context.listener().onTransactionFinished(errorCode, commitNs, totalNs);
    }

    @Override
    public void lockWaited(final long waitNs)
    {
        context.listener().onLockWait(waitNs);
    }
}
