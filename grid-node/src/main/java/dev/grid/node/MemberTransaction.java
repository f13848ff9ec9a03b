package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.TransactionIsolation;
import dev.grid.core.engine.TransactionSteps;
import dev.grid.core.engine.TxCallback;
import dev.grid.core.engine.BytesMergeOperator;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.Topology;
import dev.grid.tx.TxSession;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A transaction coordinated by an embedded member: the user's typed calls, each handed to the member's agent thread
 * as a step of a {@link TxSession} (grid-tx), which holds the semantics of concurrency and isolation (what is locked
 * when, what is remembered, what is validated at commit) over the engine's transaction steps.
 * <p>
 * <b>Threading:</b> the user calls it from one thread at a time; the session is touched only on the member's agent
 * thread (every step is a command there), so it needs no locking.
 */
final class MemberTransaction implements Transaction
{
    private final GridMember member;
    private final TxSession session;
    /**
     * The first failure of a write step the thin client sent without waiting for its answer (protocol version 3), or
     * null: the commit behind it rolls back instead, so that it never commits without that write. Set on the thread
     * that failed the step (the endpoint's, before the next frame is read, or the agent's, before its next step).
     */
    private volatile GridException failedWrite;

    MemberTransaction(final GridMember member, final TransactionConcurrency concurrency,
        final TransactionIsolation isolation, final long timeoutNs, final long priority)
    {
        this.member = member;
        this.session = new TxSession(new EngineSteps(member), concurrency, isolation, timeoutNs, priority,
            this::merge);
    }

    public TransactionConcurrency concurrency()
    {
        return session.concurrency();
    }

    public TransactionIsolation isolation()
    {
        return session.isolation();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Reads.
    // ------------------------------------------------------------------------------------------------------------

    // The blocking forms wait on the agent's future and decode on the caller's thread; the asynchronous forms hand
    // the completion to the member's user executor first, so user code never runs on the agent thread.

    public <K, V> V get(final Cache<K, V> cache, final K key)
    {
        final MemberCache<K, V> mc = own(cache);
        return mc.decodeValue(Futures.await(read(mc, mc.encodeKey(key)))[0]);
    }

    public <K, V> CompletableFuture<V> getAsync(final Cache<K, V> cache, final K key)
    {
        final MemberCache<K, V> mc = own(cache);
        return member.toUser(read(mc, mc.encodeKey(key))).thenApply(values -> mc.decodeValue(values[0]));
    }

    public <K, V> Map<K, V> getAll(final Cache<K, V> cache, final Collection<? extends K> keys)
    {
        final MemberCache<K, V> mc = own(cache);
        final List<K> order = new ArrayList<>(new LinkedHashSet<>(keys));
        return decodeAll(mc, order, Futures.await(read(mc, encodeAll(mc, order))));
    }

    public <K, V> CompletableFuture<Map<K, V>> getAllAsync(final Cache<K, V> cache, final Collection<? extends K> keys)
    {
        final MemberCache<K, V> mc = own(cache);
        final List<K> order = new ArrayList<>(new LinkedHashSet<>(keys));
        return member.toUser(read(mc, encodeAll(mc, order))).thenApply(values -> decodeAll(mc, order, values));
    }

    private static <K> byte[][] encodeAll(final MemberCache<K, ?> cache, final List<K> keys)
    {
        final byte[][] encoded = new byte[keys.size()][];
        for (int i = 0; i < encoded.length; i++)
        {
            encoded[i] = cache.encodeKey(keys.get(i));
        }
        return encoded;
    }

    private static <K, V> Map<K, V> decodeAll(final MemberCache<K, V> cache, final List<K> keys,
        final byte[][] values)
    {
        final Map<K, V> result = new LinkedHashMap<>();
        for (int i = 0; i < values.length; i++)
        {
            if (values[i] != null)
            {
                result.put(keys.get(i), cache.decodeValue(values[i]));
            }
        }
        return result;
    }

    /**
     * The thin client's read ({@link ClientService}): as {@link #getAsync}, but completed on the member thread, where
     * its continuation only encodes the answer. The thin-client variants of the steps below (the {@code ...Raw}
     * methods) complete there too: a hop to the user pool per step cost a thread wake-up each, five per transfer.
     */
    CompletableFuture<byte[]> getRaw(final MemberCache<byte[], byte[]> cache, final byte[] key)
    {
        final MemberCache<byte[], byte[]> mc = own(cache);
        return read(mc, mc.encodeKey(key)).thenApply(values -> mc.decodeValue(values[0]));
    }

    private CompletableFuture<byte[][]> read(final MemberCache<?, ?> cache, final byte[]... keys)
    {
        final CompletableFuture<byte[][]> future = new CompletableFuture<>();
        member.execute(() -> session.read(cache.descriptor().cacheId(), keys, complete(future)), future);
        return future;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Writes.
    // ------------------------------------------------------------------------------------------------------------

    public <K, V> void put(final Cache<K, V> cache, final K key, final V value)
    {
        Futures.await(putRaw(cache, key, value));
    }

    public <K, V> CompletableFuture<Void> putAsync(final Cache<K, V> cache, final K key, final V value)
    {
        return member.toUser(putRaw(cache, key, value));
    }

    <K, V> CompletableFuture<Void> putRaw(final Cache<K, V> cache, final K key, final V value)
    {
        final MemberCache<K, V> mc = own(cache);
        return write(mc, mc.encodeKey(key), mc.encodeValue(value, "value"), false);
    }

    public <K, V> void remove(final Cache<K, V> cache, final K key)
    {
        Futures.await(removeRaw(cache, key));
    }

    public <K, V> CompletableFuture<Void> removeAsync(final Cache<K, V> cache, final K key)
    {
        return member.toUser(removeRaw(cache, key));
    }

    <K, V> CompletableFuture<Void> removeRaw(final Cache<K, V> cache, final K key)
    {
        final MemberCache<K, V> mc = own(cache);
        return write(mc, mc.encodeKey(key), null, false);
    }

    public <K, V> void merge(final Cache<K, V> cache, final K key, final V operand)
    {
        Futures.await(mergeRaw(cache, key, operand));
    }

    public <K, V> CompletableFuture<Void> mergeAsync(final Cache<K, V> cache, final K key, final V operand)
    {
        return member.toUser(mergeRaw(cache, key, operand));
    }

    <K, V> CompletableFuture<Void> mergeRaw(final Cache<K, V> cache, final K key, final V operand)
    {
        final MemberCache<K, V> mc = own(cache);
        if (mc.descriptor().mergeOperator() == null)
        {
            throw new GridException(ErrorCode.MERGE_FAILED, "cache '" + mc.name() + "' has no merge operator");
        }
        return write(mc, mc.encodeKey(key), mc.encodeValue(operand, "operand"), true);
    }

    private CompletableFuture<Void> write(final MemberCache<?, ?> cache, final byte[] key, final byte[] value,
        final boolean merge)
    {
        final CompletableFuture<Void> future = new CompletableFuture<>();
        member.execute(() ->
        {
            final int cacheId = cache.descriptor().cacheId();
            if (merge)
            {
                session.merge(cacheId, key, value, done(future));
            }
            else
            {
                session.put(cacheId, key, value, done(future));
            }
        }, future);
        return future;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Commit and rollback.
    // ------------------------------------------------------------------------------------------------------------

    public void commit()
    {
        Futures.await(commitRaw());
    }

    public CompletableFuture<Void> commitAsync()
    {
        return member.toUser(commitRaw());
    }

    CompletableFuture<Void> commitRaw()
    {
        final CompletableFuture<Void> future = new CompletableFuture<>();
        member.execute(() ->
        {
            final GridException write = failedWrite;
            if (write == null)
            {
                session.commit(done(future));
                return;
            }
            final TransactionAbortedException refused = new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
                "nothing was applied: a write of the transaction failed: " + write.getMessage());
            session.rollback(new TxCallback()
            {
                public void onSuccess(final byte[][] values)
                {
                    future.completeExceptionally(refused);
                }

                public void onFailure(final GridException error)
                {
                    future.completeExceptionally(refused);
                }
            });
        }, future);
        return future;
    }

    /**
     * A write step of the thin client failed (refused, malformed, or failed in the session): the commit rolls back.
     *
     * @param failure why the write failed; the first one is kept.
     */
    void refuseCommit(final GridException failure)
    {
        if (failedWrite == null)
        {
            failedWrite = failure;
        }
    }

    public void rollback()
    {
        Futures.await(rollbackRaw());
    }

    public CompletableFuture<Void> rollbackAsync()
    {
        return member.toUser(rollbackRaw());
    }

    CompletableFuture<Void> rollbackRaw()
    {
        final CompletableFuture<Void> future = new CompletableFuture<>();
        member.execute(() -> session.rollback(done(future)), future);
        return future;
    }

    public void close()
    {
        final CompletableFuture<Boolean> open = new CompletableFuture<>();
        member.execute(() -> open.complete(session.isOpen()), open);
        try
        {
            if (Futures.await(open))
            {
                rollback();
            }
        }
        catch (final GridException ex)
        {
            // The member stops: its transactions are rolled back with it.
        }
    }

    /**
     * @return on the agent thread, this transaction's priority in the engine (0 before its first step).
     */
    long assignedPriority()
    {
        return session.assignedPriority();
    }

    /**
     * @return from any thread, this transaction's priority in the engine (0 before its first step, or if the member
     * stopped).
     */
    long priority()
    {
        final CompletableFuture<Long> future = new CompletableFuture<>();
        member.execute(() -> future.complete(session.assignedPriority()), future);
        try
        {
            return Futures.await(future);
        }
        catch (final GridException ex)
        {
            return 0;
        }
    }

    /**
     * @return from any thread, whether it committed or rolled back (false if the member stopped).
     */
    boolean isFinished()
    {
        final CompletableFuture<Boolean> future = new CompletableFuture<>();
        member.execute(() -> future.complete(!session.isOpen()), future);
        try
        {
            return Futures.await(future);
        }
        catch (final GridException ex)
        {
            return false;
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Helpers (agent thread).
    // ------------------------------------------------------------------------------------------------------------

    private static TxCallback complete(final CompletableFuture<byte[][]> future)
    {
        return new TxCallback()
        {
            public void onSuccess(final byte[][] values)
            {
                future.complete(values);
            }

            public void onFailure(final GridException error)
            {
                future.completeExceptionally(error);
            }
        };
    }

    private static TxCallback done(final CompletableFuture<Void> future)
    {
        return new TxCallback()
        {
            public void onSuccess(final byte[][] values)
            {
                future.complete(null);
            }

            public void onFailure(final GridException error)
            {
                future.completeExceptionally(error);
            }
        };
    }

    /** Agent thread: a merge computed with the operator this member registered for the cache. */
    private byte[] merge(final int cacheId, final byte[] key, final byte[] current, final byte[] operand)
    {
        // A member back to joining has no topology: the merge fails as for an unknown cache.
        final Topology topology = member.engine().topology();
        final CacheDescriptor cache = topology == null ? null : topology.cache(cacheId);
        final BytesMergeOperator operator = cache == null ? null : member.codecs.resolve(cache);
        if (operator == null)
        {
            throw new GridException(ErrorCode.MERGE_FAILED, "merge operator of cache '" +
                (cache == null ? "?" : cache.name()) + "' is not registered on this member");
        }
        try
        {
            return operator.merge(key, current, operand);
        }
        catch (final RuntimeException ex)
        {
            throw new GridException(ErrorCode.MERGE_FAILED, "merge operator of cache '" + cache.name() +
                "' threw " + ex);
        }
    }

    @SuppressWarnings("unchecked")
    private <K, V> MemberCache<K, V> own(final Cache<K, V> cache)
    {
        if (!(cache instanceof MemberCache<?, ?> mc))
        {
            throw new IllegalArgumentException("cache '" + (cache == null ? null : cache.name()) +
                "' is not a cache of an embedded member");
        }
        // A handle opened on another member of the cluster names the same cache: use this member's.
        return mc.member() == member ? (MemberCache<K, V>)mc : (MemberCache<K, V>)member.<K, V>cache(mc.name());
    }

    /**
     * The engine's transaction steps, looked up at each step on the agent thread: an expelled member restarts with a
     * new engine, and a transaction begun after that must take its steps there, not on the engine of its creation.
     */
    private record EngineSteps(GridMember member) implements TransactionSteps
    {
        public long begin(final long timeoutNs, final long priority)
        {
            // On the agent thread, when the transaction first reaches the engine: refused once deactivated.
            member.activation.requireActive();
            return member.engine().transactions().begin(timeoutNs, priority);
        }

        public long priority(final long txId)
        {
            return member.engine().transactions().priority(txId);
        }

        public void enlist(final long txId, final int cacheId, final byte[][] keys, final boolean lock,
            final TxCallback callback)
        {
            member.engine().transactions().enlist(txId, cacheId, keys, lock, callback);
        }

        public void commit(final long txId, final int[] cacheIds, final byte[][] keys, final byte[][] values,
            final TxCallback callback)
        {
            member.engine().transactions().commit(txId, cacheIds, keys, values, callback);
        }

        public void rollback(final long txId, final TxCallback callback)
        {
            member.engine().transactions().rollback(txId, callback);
        }
    }
}
