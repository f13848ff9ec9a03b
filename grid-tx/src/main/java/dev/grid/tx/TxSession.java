package dev.grid.tx;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.TransactionCommitStatusUnknownException;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.core.engine.TransactionSteps;
import dev.grid.core.engine.TxCallback;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One user transaction's semantics over the engine's transaction steps: what its concurrency and isolation lock when,
 * what it remembers of what it read, what it validates at commit, and what it writes (values, removes, merges computed
 * on the values current at commit).
 * <ul>
 *     <li>PESSIMISTIC: a key is locked when first read (REPEATABLE_READ, SERIALIZABLE) or written; READ_COMMITTED
 *     reads without locks and sees the latest committed value each time.</li>
 *     <li>OPTIMISTIC: reads take no locks (REPEATABLE_READ and SERIALIZABLE remember the first value seen); commit
 *     locks every written key and, under SERIALIZABLE, every key read, and aborts with {@link ErrorCode#TX_CONFLICT}
 *     if a value read changed.</li>
 *     <li>A read sees the transaction's own writes; a merge pending on a key is applied to the value read.</li>
 * </ul>
 * The engine's thread only: an embedded member's {@code MemberTransaction} hands every step to it there, the
 * simulator calls it directly, so both run these rules.
 * <p>
 * <b>Threading:</b> the engine's thread only; no method blocks, every outcome comes through a callback.
 */
public final class TxSession
{
    private static final byte[][] NONE = new byte[0][];

    /** Computes a merge: the value a key takes when {@code operand} is merged into {@code current}. */
    @FunctionalInterface
    public interface Merges
    {
        /**
         * @return the merged value (null: the key is removed).
         * @throws GridException with {@link ErrorCode#MERGE_FAILED} if the cache has no operator here, or it failed.
         */
        byte[] merge(int cacheId, byte[] key, byte[] current, byte[] operand);
    }

    private final TransactionSteps steps;
    private final TransactionConcurrency concurrency;
    private final TransactionIsolation isolation;
    private final long timeoutNs;
    private final long priority;
    private final Merges merges;

    private long txId;
    private long assignedPriority;
    private boolean committed;
    private boolean rolledBack;
    private GridException failure;
    private final Map<CacheKey, byte[]> seen = new HashMap<>();
    private final Set<CacheKey> locked = new HashSet<>();
    private final LinkedHashMap<CacheKey, Pending> writes = new LinkedHashMap<>();

    /**
     * @param steps       the engine's transaction steps.
     * @param concurrency when keys are locked.
     * @param isolation   what reads see and commit validates.
     * @param timeoutNs   after which the transaction, not yet decided, rolls back.
     * @param priority    its age for deadlock prevention: 0 for a new one, a retry's first attempt's otherwise.
     * @param merges      how merges are computed.
     */
    public TxSession(final TransactionSteps steps, final TransactionConcurrency concurrency,
        final TransactionIsolation isolation, final long timeoutNs, final long priority, final Merges merges)
    {
        this.steps = steps;
        this.concurrency = concurrency;
        this.isolation = isolation;
        this.timeoutNs = timeoutNs;
        this.priority = priority;
        this.merges = merges;
    }

    /**
     * Read keys as this transaction sees them: its own writes first, then what it read before (REPEATABLE_READ,
     * SERIALIZABLE, or a key it locked), then the cluster (locking under PESSIMISTIC unless READ_COMMITTED).
     *
     * @param callback gets the values in the order of {@code keys} (null: absent).
     */
    public void read(final int cacheId, final byte[][] keys, final TxCallback callback)
    {
        if (!begun(callback))
        {
            return;
        }
        final boolean lock = concurrency == TransactionConcurrency.PESSIMISTIC &&
            isolation != TransactionIsolation.READ_COMMITTED;
        final List<byte[]> missing = new ArrayList<>();
        for (final byte[] key : keys)
        {
            final CacheKey entry = new CacheKey(cacheId, key);
            final Pending pending = writes.get(entry);
            final boolean known = locked.contains(entry) ||
                (isolation != TransactionIsolation.READ_COMMITTED && seen.containsKey(entry));
            if (!known && (pending == null || pending.needsBase()))
            {
                missing.add(key);
            }
        }
        final byte[][] fetch = missing.toArray(NONE);
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
                    final CacheKey entry = new CacheKey(cacheId, keys[i]);
                    final byte[] base = fetched.containsKey(entry) ? fetched.get(entry) : seen.get(entry);
                    final Pending pending = writes.get(entry);
                    result[i] = pending == null ? base : pending.apply(merges, entry, base);
                }
            }
            catch (final GridException ex)
            {
                callback.onFailure(ex);
                return;
            }
            callback.onSuccess(result);
        }, callback);
    }

    /**
     * Write a value (null: remove the key) at commit; under PESSIMISTIC the key is locked now.
     */
    public void put(final int cacheId, final byte[] key, final byte[] value, final TxCallback callback)
    {
        write(cacheId, key, value == null ? Pending.removed() : Pending.value(value), null, callback);
    }

    /**
     * Merge {@code operand} into the key's value at commit (on the value current then, after any earlier write of
     * this transaction); under PESSIMISTIC the key is locked now.
     */
    public void merge(final int cacheId, final byte[] key, final byte[] operand, final TxCallback callback)
    {
        write(cacheId, key, null, operand, callback);
    }

    private void write(final int cacheId, final byte[] key, final Pending replace, final byte[] operand,
        final TxCallback callback)
    {
        if (!begun(callback))
        {
            return;
        }
        final CacheKey entry = new CacheKey(cacheId, key);
        if (replace != null)
        {
            writes.put(entry, replace);
        }
        else
        {
            writes.computeIfAbsent(entry, k -> Pending.current()).operands.add(operand);
        }
        if (concurrency == TransactionConcurrency.PESSIMISTIC && !locked.contains(entry))
        {
            enlist(cacheId, new byte[][] {key}, true, values -> callback.onSuccess(NONE), callback);
        }
        else
        {
            callback.onSuccess(NONE);
        }
    }

    /**
     * Commit: lock what is not locked yet (every written key and, under optimistic serializable, every key read),
     * validate what optimistic serializable read, compute the writes and commit them. Committing twice succeeds.
     */
    public void commit(final TxCallback callback)
    {
        if (committed)
        {
            callback.onSuccess(NONE);
            return;
        }
        if (!begun(callback))
        {
            return;
        }
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
        lockAll(new ArrayList<>(toLock.entrySet()), 0, current, () -> validateAndCommit(validate, current, callback),
            callback);
    }

    private void validateAndCommit(final Set<CacheKey> validate, final Map<CacheKey, byte[]> current,
        final TxCallback callback)
    {
        for (final CacheKey key : validate)
        {
            if (current.containsKey(key) && !Arrays.equals(current.get(key), seen.get(key)))
            {
                fail(new TransactionAbortedException(ErrorCode.TX_CONFLICT, "a value the transaction read " +
                    "changed before it committed (optimistic serializable); nothing was applied"), callback);
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
                values[i] = write.getValue().apply(merges, key, base);
                i++;
            }
        }
        catch (final GridException ex)
        {
            fail(ex, callback);
            return;
        }
        steps.commit(txId, cacheIds, keys, values, new TxCallback()
        {
            public void onSuccess(final byte[][] ignored)
            {
                committed = true;
                callback.onSuccess(NONE);
            }

            public void onFailure(final GridException error)
            {
                failure = error;
                rolledBack = !(error instanceof TransactionCommitStatusUnknownException);
                callback.onFailure(error);
            }
        });
    }

    private void lockAll(final List<Map.Entry<Integer, List<CacheKey>>> groups, final int index,
        final Map<CacheKey, byte[]> current, final Runnable then, final TxCallback callback)
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
            lockAll(groups, index + 1, current, then, callback);
        }, callback);
    }

    /**
     * Roll back (a transaction never begun rolls back at once); refused once committed.
     */
    public void rollback(final TxCallback callback)
    {
        if (committed)
        {
            callback.onFailure(new GridException(ErrorCode.CONFIGURATION_INVALID,
                "the transaction is already committed"));
            return;
        }
        rolledBack = true;
        if (txId == 0)
        {
            callback.onSuccess(NONE);
            return;
        }
        steps.rollback(txId, callback);
    }

    /** @return its id on the coordinating member (0 before its first step). */
    public long id()
    {
        return txId;
    }

    /** @return whether it neither committed nor rolled back yet. */
    public boolean isOpen()
    {
        return !committed && !rolledBack;
    }

    /** @return this transaction's priority in the engine (0 before its first step). */
    public long assignedPriority()
    {
        return assignedPriority;
    }

    /** @return its concurrency. */
    public TransactionConcurrency concurrency()
    {
        return concurrency;
    }

    /** @return its isolation. */
    public TransactionIsolation isolation()
    {
        return isolation;
    }

    private boolean begun(final TxCallback callback)
    {
        if (committed)
        {
            callback.onFailure(new GridException(ErrorCode.CONFIGURATION_INVALID,
                "the transaction is already committed"));
            return false;
        }
        if (rolledBack)
        {
            callback.onFailure(failure != null ? failure : new TransactionAbortedException(
                ErrorCode.TX_ROLLED_BACK, "the transaction was rolled back"));
            return false;
        }
        if (txId == 0)
        {
            try
            {
                txId = steps.begin(timeoutNs, priority);
            }
            catch (final GridException refused)
            {
                // The host refused to begin (a deactivated member): nothing began, the step fails with it.
                callback.onFailure(refused);
                return false;
            }
            assignedPriority = steps.priority(txId);
        }
        return true;
    }

    /** Values read, in the order asked. */
    @FunctionalInterface
    private interface Values
    {
        void accept(byte[][] values);
    }

    private void enlist(final int cacheId, final byte[][] keys, final boolean lock, final Values then,
        final TxCallback callback)
    {
        if (keys.length == 0)
        {
            then.accept(keys);
            return;
        }
        steps.enlist(txId, cacheId, keys, lock, new TxCallback()
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
                fail(error, callback);
            }
        });
    }

    private void fail(final GridException error, final TxCallback callback)
    {
        failure = error;
        if (!rolledBack)
        {
            rolledBack = true;
            steps.rollback(txId, new TxCallback()
            {
                public void onSuccess(final byte[][] values)
                {
                }

                public void onFailure(final GridException ignored)
                {
                }
            });
        }
        callback.onFailure(error);
    }

    /** What the transaction will write to a key: a base (a value, a remove, or the value at commit), then merges. */
    private static final class Pending
    {
        private static final int BASE_VALUE = 0;
        private static final int BASE_REMOVED = 1;
        private static final int BASE_CURRENT = 2;

        final int base;
        final byte[] value;
        final List<byte[]> operands = new ArrayList<>(0);

        private Pending(final int base, final byte[] value)
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

        static Pending current()
        {
            return new Pending(BASE_CURRENT, null);
        }

        boolean needsBase()
        {
            return base == BASE_CURRENT;
        }

        byte[] apply(final Merges merges, final CacheKey key, final byte[] current)
        {
            byte[] result = switch (base)
            {
                case BASE_VALUE -> value;
                case BASE_REMOVED -> null;
                default -> current;
            };
            for (final byte[] operand : operands)
            {
                result = merges.merge(key.cacheId(), key.key(), result, operand);
            }
            return result;
        }
    }
}
