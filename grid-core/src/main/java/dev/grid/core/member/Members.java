package dev.grid.core.member;

import dev.grid.core.MemberConfiguration;
import dev.grid.core.engine.BytesEntryProcessor;
import dev.grid.core.engine.BytesMergeOperator;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.Transactions;
import dev.grid.core.internal.cluster.MemberEngine;
import dev.grid.core.spi.CheckpointStore;
import dev.grid.core.spi.RandomSource;
import dev.grid.core.spi.Transport;
import dev.grid.core.spi.Wal;
import dev.grid.core.spi.WallClock;

import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Makes a member's {@link Engine} from its configuration and the SPIs it runs on: the one way a host (grid-node's
 * member, grid-sim's scenarios) gets an engine without reaching into grid-core's internals. The engine recovers
 * from the WAL (and the newest committed checkpoint) and starts joining before it is returned.
 * <p>
 * <b>Threading:</b> call on the thread that will drive the engine.
 */
public final class Members
{
    private Members()
    {
    }

    /**
     * An engine whose members know no entry processors (an invocation fails with
     * {@link dev.grid.core.ErrorCode#ENTRY_PROCESSOR_FAILED}) and read their monotonic time as the wall clock
     * ({@link WallClock#MONOTONIC}, for simulations).
     *
     * @see #newEngine(MemberConfiguration, Transport, Wal, CheckpointStore, RandomSource, Function, BiFunction,
     *      WallClock, Function, EngineListener, long, long)
     */
    public static Engine newEngine(
        final MemberConfiguration config,
        final Transport transport,
        final Wal wal,
        final CheckpointStore checkpoints,
        final RandomSource random,
        final Function<CacheDescriptor, BytesMergeOperator> mergeOperators,
        final Function<TransactionContext, Transactions> transactions,
        final EngineListener listener,
        final long retryIntervalNs,
        final long nowNs)
    {
        return newEngine(config, transport, wal, checkpoints, random, mergeOperators, (cache, name) -> null,
            WallClock.MONOTONIC, transactions, listener, retryIntervalNs, nowNs);
    }

    /**
     * @param config          the member's configuration (concluded here).
     * @param transport       to other members; its local address is this member's address.
     * @param wal             this member's WAL.
     * @param checkpoints     where checkpoints go, or null for none; recovery starts from the newest committed one.
     * @param random          seeded randomness (incarnations).
     * @param mergeOperators  resolves a cache's merge operator (by its name and codecs); returns null if unknown.
     * @param entryProcessors resolves an entry processor registered on the member, by cache (for its codecs) and name;
     *                        returns null if unknown.
     * @param wallClock       turns the engine's time into epoch milliseconds (entries' expiry times).
     * @param transactions    makes the member's transaction component (grid-tx's {@code TxManager::new}) from the
     *                        context the engine gives it.
     * @param listener        receives metrics and events.
     * @param retryIntervalNs between resends of unanswered requests, reports and maps.
     * @param nowNs           the current time.
     * @return the engine, joining.
     */
    public static Engine newEngine(
        final MemberConfiguration config,
        final Transport transport,
        final Wal wal,
        final CheckpointStore checkpoints,
        final RandomSource random,
        final Function<CacheDescriptor, BytesMergeOperator> mergeOperators,
        final BiFunction<CacheDescriptor, String, BytesEntryProcessor> entryProcessors,
        final WallClock wallClock,
        final Function<TransactionContext, Transactions> transactions,
        final EngineListener listener,
        final long retryIntervalNs,
        final long nowNs)
    {
        return new MemberEngine(config, transport, wal, checkpoints, random, mergeOperators, entryProcessors,
            wallClock, transactions, listener, retryIntervalNs, nowNs);
    }
}
