package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.core.engine.TxCallback;
import dev.grid.core.internal.cluster.BytesMergeOperator;
import dev.grid.tx.CacheKey;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A transaction coordinated by an embedded member: the semantics of concurrency and isolation (what is locked when,
 * what is remembered, what is validated at commit) over the engine's transaction steps (enlist with or without lock,
 * commit, rollback).
 * <p>
 * <b>Threading:</b> the user calls it from one thread at a time; its state is touched only on the member's agent
 * thread (every step is a command there), so it needs no locking.
 */
final class MemberTransaction implements Transaction
{
    private final GridMember member;
    private final TransactionConcurrency concurrency;
    private final TransactionIsolation isolation;
    private final long timeoutNs;
    private final long priority;

    // Agent thread only.
    private long txId;
    private long assignedPriority;
    private boolean committed;
    private boolean rolledBack;
    private GridException failure;
    private final Map<CacheKey, byte[]> seen = new HashMap<>();
    private final Set<CacheKey> locked = new HashSet<>();
    private final LinkedHashMap<CacheKey, Pending> writes = new LinkedHashMap<>();

    MemberTransaction(final GridMember member, final TransactionConcurrency concurrency,
        final TransactionIsolation isolation, final long timeoutNs, final long priority)
    {
        this.member = member;
        this.concurrency = concurrency;
        this.isolation = isolation;
        this.timeoutNs = timeoutNs;
        this.priority = priority;
    }

    public TransactionConcurrency concurrency()
    {
        return concurrency;
    }

    public TransactionIsolation isolation()
    {
        return isolation;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Reads.
    // ------------------------------------------------------------------------------------------------------------

    // The blocking forms wait on the agent's future and decode on the caller's thread; the asynchronous forms hand
    // the completion to the member's user executor first, so user code never runs on the agent thread.

    public <K, V> V get(final Cache<K, V> cache, final K key)
    {
        final MemberCache<K, V> mc = own(cache);
        return mc.decodeValue(GridMember.await(read(mc, mc.encodeKey(key)))[0]);
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
        return decodeAll(mc, order, GridMember.await(read(mc, encodeAll(mc, order))));
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

    private CompletableFuture<byte[][]> read(final MemberCache<?, ?> cache, final byte[]... keys)
    {
        final CompletableFuture<byte[][]> future = new CompletableFuture<>();
        member.execute(() -> read(cache, keys, future), future);
        return future;
    }

    /** Agent thread: the values of keys as this transaction sees them. */
    private void read(final MemberCache<?, ?> cache, final byte[][] keys, final CompletableFuture<byte[][]> future)
    {
        if (!begun(future))
        {
            return;
        }
        final int cacheId = cache.descriptor().cacheId();
        final boolean lock = concurrency == TransactionConcurrency.PESSIMISTIC &&
            isolation != TransactionIsolation.READ_COMMITTED;
        final List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < keys.length; i++)
        {
            final CacheKey key = new CacheKey(cacheId, keys[i]);
            final Pending pending = writes.get(key);
            final boolean known = locked.contains(key) ||
                (isolation != TransactionIsolation.READ_COMMITTED && seen.containsKey(key));
            if (!known && (pending == null || pending.needsBase()))
            {
                missing.add(i);
            }
        }
        final byte[][] fetch = new byte[missing.size()][];
        for (int i = 0; i < fetch.length; i++)
        {
            fetch[i] = keys[missing.get(i)];
        }
        enlist(cacheId, fetch, lock, values ->
        {
            final Map<CacheKey, byte[]> fetched = new HashMap<>();
            for (int i = 0; i < fetch.length; i++)
            {
                fetched.put(new CacheKey(cacheId, fetch[i]), values[i]);
            }
            final byte[][] result = new byte[keys.length][];
            try
            {
                for (int i = 0; i < keys.length; i++)
                {
                    final CacheKey key = new CacheKey(cacheId, keys[i]);
                    final byte[] base = fetched.containsKey(key) ? fetched.get(key) : seen.get(key);
                    final Pending pending = writes.get(key);
                    result[i] = pending == null ? base : pending.apply(cache, keys[i], base);
                }
            }
            catch (final GridException ex)
            {
                future.completeExceptionally(ex);
                return;
            }
            future.complete(result);
        }, future);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Writes.
    // ------------------------------------------------------------------------------------------------------------

    public <K, V> void put(final Cache<K, V> cache, final K key, final V value)
    {
        GridMember.await(putRaw(cache, key, value));
    }

    public <K, V> CompletableFuture<Void> putAsync(final Cache<K, V> cache, final K key, final V value)
    {
        return member.toUser(putRaw(cache, key, value));
    }

    private <K, V> CompletableFuture<Void> putRaw(final Cache<K, V> cache, final K key, final V value)
    {
        final MemberCache<K, V> mc = own(cache);
        return write(mc, mc.encodeKey(key), Pending.value(mc.encodeValue(value, "value")), null);
    }

    public <K, V> void remove(final Cache<K, V> cache, final K key)
    {
        GridMember.await(removeRaw(cache, key));
    }

    public <K, V> CompletableFuture<Void> removeAsync(final Cache<K, V> cache, final K key)
    {
        return member.toUser(removeRaw(cache, key));
    }

    private <K, V> CompletableFuture<Void> removeRaw(final Cache<K, V> cache, final K key)
    {
        final MemberCache<K, V> mc = own(cache);
        return write(mc, mc.encodeKey(key), Pending.removed(), null);
    }

    public <K, V> void merge(final Cache<K, V> cache, final K key, final V operand)
    {
        GridMember.await(mergeRaw(cache, key, operand));
    }

    public <K, V> CompletableFuture<Void> mergeAsync(final Cache<K, V> cache, final K key, final V operand)
    {
        return member.toUser(mergeRaw(cache, key, operand));
    }

    private <K, V> CompletableFuture<Void> mergeRaw(final Cache<K, V> cache, final K key, final V operand)
    {
        final MemberCache<K, V> mc = own(cache);
        if (mc.descriptor().mergeOperator() == null)
        {
            throw new GridException(ErrorCode.MERGE_FAILED, "cache '" + mc.name() + "' has no merge operator");
        }
        return write(mc, mc.encodeKey(key), null, mc.encodeValue(operand, "operand"));
    }

    private CompletableFuture<Void> write(final MemberCache<?, ?> cache, final byte[] key, final Pending replace,
        final byte[] operand)
    {
        final CompletableFuture<Void> future = new CompletableFuture<>();
        member.execute(() ->
        {
            if (!begun(future))
            {
                return;
            }
            final CacheKey entry = new CacheKey(cache.descriptor().cacheId(), key);
            if (replace != null)
            {
                writes.put(entry, replace);
            }
            else
            {
                writes.computeIfAbsent(entry, k -> new Pending(Pending.BASE_CURRENT, null)).operands.add(operand);
            }
            if (concurrency == TransactionConcurrency.PESSIMISTIC && !locked.contains(entry))
            {
                enlist(entry.cacheId(), new byte[][] {key}, true, values -> future.complete(null), future);
            }
            else
            {
                future.complete(null);
            }
        }, future);
        return future;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Commit and rollback.
    // ------------------------------------------------------------------------------------------------------------

    public void commit()
    {
        GridMember.await(commitRaw());
    }

    public CompletableFuture<Void> commitAsync()
    {
        return member.toUser(commitRaw());
    }

    private CompletableFuture<Void> commitRaw()
    {
        final CompletableFuture<Void> future = new CompletableFuture<>();
        member.execute(() -> commitOnAgent(future), future);
        return future;
    }

    private void commitOnAgent(final CompletableFuture<Void> future)
    {
        if (committed)
        {
            future.complete(null);
            return;
        }
        if (!begun(future))
        {
            return;
        }
        // Lock what is not locked yet: every written key, and under optimistic serializable every key read.
        final Map<Integer, List<CacheKey>> toLock = new LinkedHashMap<>();
        final Set<CacheKey> validate = new LinkedHashSet<>();
        for (final CacheKey key : writes.keySet())
        {
            if (!locked.contains(key))
            {
                toLock.computeIfAbsent(key.cacheId(), id -> new ArrayList<>()).add(key);
            }
        }
        if (concurrency == TransactionConcurrency.OPTIMISTIC && isolation == TransactionIsolation.SERIALIZABLE)
        {
            for (final CacheKey key : seen.keySet())
            {
                validate.add(key);
                if (!locked.contains(key) && !writes.containsKey(key))
                {
                    toLock.computeIfAbsent(key.cacheId(), id -> new ArrayList<>()).add(key);
                }
            }
        }
        final Map<CacheKey, byte[]> current = new HashMap<>();
        lockAll(new ArrayList<>(toLock.entrySet()), 0, current, () -> validateAndCommit(validate, current, future),
            future);
    }

    /**
     * Every key is locked: fail if a value read under optimistic serializable changed, else compute the writes (merges
     * on the values now current) and commit them.
     */
    private void validateAndCommit(final Set<CacheKey> validate, final Map<CacheKey, byte[]> current,
        final CompletableFuture<Void> future)
    {
        for (final CacheKey key : validate)
        {
            if (current.containsKey(key) && !Arrays.equals(current.get(key), seen.get(key)))
            {
                fail(new TransactionAbortedException(ErrorCode.TX_CONFLICT, "a value the transaction read " +
                    "changed before it committed (optimistic serializable); nothing was applied"), future);
                return;
            }
        }
        final int count = writes.size();
        final int[] cacheIds = new int[count];
        final byte[][] keys = new byte[count][];
        final byte[][] values = new byte[count][];
        int i = 0;
        try
        {
            for (final Map.Entry<CacheKey, Pending> write : writes.entrySet())
            {
                final CacheKey key = write.getKey();
                final byte[] base = current.containsKey(key) ? current.get(key) : seen.get(key);
                cacheIds[i] = key.cacheId();
                keys[i] = key.key();
                values[i] = write.getValue().apply(member.engine().topology().cache(key.cacheId()), member,
                    key.key(), base);
                i++;
            }
        }
        catch (final GridException ex)
        {
            fail(ex, future);
            return;
        }
        member.engine().transactions().commit(txId, cacheIds, keys, values, new TxCallback()
        {
            public void onSuccess(final byte[][] ignored)
            {
                committed = true;
                future.complete(null);
            }

            public void onFailure(final GridException error)
            {
                failure = error;
                rolledBack = !(error instanceof dev.grid.core.TransactionCommitStatusUnknownException);
                future.completeExceptionally(error);
            }
        });
    }

    private void lockAll(final List<Map.Entry<Integer, List<CacheKey>>> groups, final int index,
        final Map<CacheKey, byte[]> current, final Runnable then, final CompletableFuture<?> future)
    {
        if (index == groups.size())
        {
            then.run();
            return;
        }
        final int cacheId = groups.get(index).getKey();
        final List<CacheKey> keys = groups.get(index).getValue();
        final byte[][] encoded = new byte[keys.size()][];
        for (int i = 0; i < encoded.length; i++)
        {
            encoded[i] = keys.get(i).key();
        }
        enlist(cacheId, encoded, true, values ->
        {
            for (int i = 0; i < values.length; i++)
            {
                current.put(keys.get(i), values[i]);
            }
            lockAll(groups, index + 1, current, then, future);
        }, future);
    }

    public void rollback()
    {
        GridMember.await(rollbackRaw());
    }

    public CompletableFuture<Void> rollbackAsync()
    {
        return member.toUser(rollbackRaw());
    }

    private CompletableFuture<Void> rollbackRaw()
    {
        final CompletableFuture<Void> future = new CompletableFuture<>();
        member.execute(() ->
        {
            if (committed)
            {
                future.completeExceptionally(new GridException(ErrorCode.CONFIGURATION_INVALID,
                    "the transaction is already committed"));
                return;
            }
            rolledBack = true;
            if (txId == 0)
            {
                future.complete(null);
                return;
            }
            member.engine().transactions().rollback(txId, new TxCallback()
            {
                public void onSuccess(final byte[][] values)
                {
                    future.complete(null);
                }

                public void onFailure(final GridException error)
                {
                    future.completeExceptionally(error);
                }
            });
        }, future);
        return future;
    }

    public void close()
    {
        final CompletableFuture<Boolean> open = new CompletableFuture<>();
        member.execute(() -> open.complete(!committed && !rolledBack), open);
        try
        {
            if (GridMember.await(open))
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
        return assignedPriority;
    }

    /**
     * @return from any thread, this transaction's priority in the engine (0 before its first step, or if the member
     * stopped).
     */
    long priority()
    {
        final CompletableFuture<Long> future = new CompletableFuture<>();
        member.execute(() -> future.complete(assignedPriority), future);
        try
        {
            return GridMember.await(future);
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
        member.execute(() -> future.complete(committed || rolledBack), future);
        try
        {
            return GridMember.await(future);
        }
        catch (final GridException ex)
        {
            return false;
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Helpers (agent thread).
    // ------------------------------------------------------------------------------------------------------------

    private boolean begun(final CompletableFuture<?> future)
    {
        if (committed)
        {
            future.completeExceptionally(new GridException(ErrorCode.CONFIGURATION_INVALID,
                "the transaction is already committed"));
            return false;
        }
        if (rolledBack)
        {
            future.completeExceptionally(failure != null ? failure : new TransactionAbortedException(
                ErrorCode.TX_ROLLED_BACK, "the transaction was rolled back"));
            return false;
        }
        if (txId == 0)
        {
            txId = member.engine().transactions().begin(timeoutNs, priority);
            assignedPriority = member.engine().transactions().priority(txId);
        }
        return true;
    }

    private void enlist(final int cacheId, final byte[][] keys, final boolean lock,
        final java.util.function.Consumer<byte[][]> then, final CompletableFuture<?> future)
    {
        if (keys.length == 0)
        {
            then.accept(keys);
            return;
        }
        member.engine().transactions().enlist(txId, cacheId, keys, lock, new TxCallback()
        {
            public void onSuccess(final byte[][] values)
            {
                for (int i = 0; i < keys.length; i++)
                {
                    final CacheKey key = new CacheKey(cacheId, keys[i]);
                    if (lock)
                    {
                        locked.add(key);
                    }
                    if (lock || isolation != TransactionIsolation.READ_COMMITTED)
                    {
                        // The first value seen stays: optimistic serializable validates it against the value at commit.
                        seen.putIfAbsent(key, values[i]);
                    }
                }
                then.accept(values);
            }

            public void onFailure(final GridException error)
            {
                fail(error, future);
            }
        });
    }

    private void fail(final GridException error, final CompletableFuture<?> future)
    {
        failure = error;
        if (!rolledBack)
        {
            rolledBack = true;
            member.engine().transactions().rollback(txId, new TxCallback()
            {
                public void onSuccess(final byte[][] values)
                {
                }

                public void onFailure(final GridException ignored)
                {
                }
            });
        }
        future.completeExceptionally(error);
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

    /** What the transaction will write to a key: a base (a value, a remove, or the value at commit), then merges. */
    private static final class Pending
    {
        static final int BASE_VALUE = 0;
        static final int BASE_REMOVED = 1;
        static final int BASE_CURRENT = 2;

        final int base;
        final byte[] value;
        final List<byte[]> operands = new ArrayList<>(0);

        Pending(final int base, final byte[] value)
        {
            this.base = base;
            this.value = value;
        }

        static Pending value(final byte[] value)
        {
            return new Pending(BASE_VALUE, value);
        }

        static Pending removed()
        {
            return new Pending(BASE_REMOVED, null);
        }

        boolean needsBase()
        {
            return base == BASE_CURRENT;
        }

        byte[] apply(final MemberCache<?, ?> cache, final byte[] key, final byte[] current)
        {
            return apply(cache.descriptor(), cache.member(), key, current);
        }

        byte[] apply(final dev.grid.core.internal.cluster.CacheDescriptor cache, final GridMember member,
            final byte[] key, final byte[] current)
        {
            byte[] result = switch (base)
            {
                case BASE_VALUE -> value;
                case BASE_REMOVED -> null;
                default -> current;
            };
            if (!operands.isEmpty())
            {
                final BytesMergeOperator operator = cache == null ? null : member.codecs.resolve(cache);
                if (operator == null)
                {
                    throw new GridException(ErrorCode.MERGE_FAILED, "merge operator of cache '" +
                        (cache == null ? "?" : cache.name()) + "' is not registered on this member");
                }
                for (final byte[] operand : operands)
                {
                    try
                    {
                        result = operator.merge(key, result, operand);
                    }
                    catch (final RuntimeException ex)
                    {
                        throw new GridException(ErrorCode.MERGE_FAILED, "merge operator of cache '" + cache.name() +
                            "' threw " + ex);
                    }
                }
            }
            return result;
        }
    }
}
