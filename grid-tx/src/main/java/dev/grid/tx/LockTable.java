package dev.grid.tx;

import dev.grid.core.ErrorCode;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.TxPartKey;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The wait-die lock table of a primary's keys: a transaction asking for a key held by a younger one waits,
 * one asking for a key held by an older one dies, so no cycle of waits can form. Single-key writes wait behind a
 * transaction's lock too ({@link #block}).
 * <p>
 * <b>Threading:</b> the engine's thread only, like every part of {@link TxManager}.
 */
final class LockTable
{
    private final TxManager manager;
    private final TransactionContext context;

    final HashMap<CacheKey, KeyLock> locks = new HashMap<>();

    /**
     * Reads and lock grants (their values) given under a map that has not settled, by part and request: answered
     * once it settles ({@link #answerRead}), each once however often its coordinator asks meanwhile.
     */
    final LinkedHashMap<HeldRead, byte[][]> heldReads = new LinkedHashMap<>();

    /** One held answer: the part (or the lone read's key), its request, whether it locks, the map it came under. */
    record HeldRead(TxPartKey key, long requestId, boolean lock, long mapVersion)
    {
    }

    LockTable(final TxManager manager)
    {
        this.manager = manager;
        this.context = manager.context;
    }

    /**
     * Answer a transaction's read or granted lock with the values its keys hold now, or hold the answer while the
     * installed map has not settled: the store may hold an update its primary applied under that map, which the next
     * exchange rebuilds away if only members a cut isolated at once installed it (as a single read is held,
     * {@code Replication.holdUntilSettled}); the transaction's commit would wait for the settling, but the values it
     * read reach its caller. The lock stays granted meanwhile. Without quorum it is refused, as a single read is: a
     * primary on the minority side may be one the majority replaced, and its values stale (the coordinator aborts,
     * and its rollback releases the lock).
     */
    void answerRead(final TxPartKey key, final long requestId, final byte[][] keys, final boolean lock)
    {
        if (!context.hasQuorum())
        {
            refuseForQuorum(key, requestId, lock);
            return;
        }
        if (context.mapVersion() > context.settledVersion())
        {
            heldReads.put(new HeldRead(key, requestId, lock, context.mapVersion()), keys);
            return;
        }
        final PartitionCopy lp = context.copy(key.cacheId(), key.partition());
        manager.answer(key, TxManager.ANSWER_LOCKED, requestId, TxManager.STATUS_OK, null,
            lp == null ? new byte[keys.length][] : read(lp, keys));
    }

    /**
     * Refuse every held read once this member lost quorum (it may never settle its map now), as single reads are.
     *
     * @return how many were refused.
     */
    int refuseHeldReadsWithoutQuorum()
    {
        if (heldReads.isEmpty() || context.hasQuorum())
        {
            return 0;
        }
        final List<HeldRead> due = new ArrayList<>(heldReads.keySet());
        heldReads.clear();
        due.forEach(held -> refuseForQuorum(held.key(), held.requestId(), held.lock()));
        return due.size();
    }

    private void refuseForQuorum(final TxPartKey key, final long requestId, final boolean lock)
    {
        manager.answerError(key, TxManager.ANSWER_LOCKED, requestId, new TransactionAbortedException(
            ErrorCode.NO_QUORUM, context.noQuorum("a transaction's " + (lock ? "lock" : "read") + " of cache id " +
            key.cacheId() + " partition " + key.partition()).detail()));
    }

    /**
     * The installed map settled: answer the held reads given under it, reading their keys again; a lock's only while
     * its part still holds it. Held under an older map, their parts were dropped with it (the coordinator asks again
     * and is told to remap, or aborts). Without quorum nothing goes: this member may be on a minority side.
     */
    void releaseHeldReads()
    {
        if (heldReads.isEmpty() || !context.hasQuorum() || context.mapVersion() > context.settledVersion())
        {
            return;
        }
        final List<Map.Entry<HeldRead, byte[][]>> due = new ArrayList<>(heldReads.entrySet());
        heldReads.clear();
        for (final Map.Entry<HeldRead, byte[][]> entry : due)
        {
            final HeldRead held = entry.getKey();
            final TxPart part = manager.parts.get(held.key());
            if (held.mapVersion() == context.mapVersion() && (!held.lock() ||
                (part != null && part.state == TxParticipantState.LOCKING && part.wait == null)))
            {
                answerRead(held.key(), held.requestId(), entry.getValue(), held.lock());
            }
        }
    }

    static byte[][] read(final PartitionCopy lp, final byte[][] keys)
    {
        final byte[][] values = new byte[keys.length][];
        for (int i = 0; i < keys.length; i++)
        {
            values[i] = lp.get(keys[i]);
        }
        return values;
    }

    void lockGranted(final TxPart part)
    {
        final LockWait wait = part.wait;
        part.wait = null;
        if (wait.startedNs != context.nowNs())
        {
            context.lockWaited(context.nowNs() - wait.startedNs);
        }
        answerRead(part.key, wait.requestId, wait.keys, true);
    }

    /** Wait-die: a younger transaction asking for an older one's key is aborted, releasing what it holds. */
    void die(final TxPart part, final TxPart holder)
    {
        final long requestId = part.wait == null ? 0 : part.wait.requestId;
        drop(part);
        manager.answerError(part.key, TxManager.ANSWER_LOCKED, requestId, new TransactionAbortedException(
            ErrorCode.TX_DEADLOCK_PREVENTION, "a key of cache id " + part.key.cacheId() + " partition " +
            part.key.partition() + " is held by an older transaction; wait-die aborts the younger"));
    }

    /** Forget a part that holds no reservation: release its locks and stop its waits. */
    void drop(final TxPart part)
    {
        manager.parts.remove(part.key);
        releaseLocks(part);
    }

    /**
     * A prepared part taken over at an install holds its keys' locks; where another part holds a key, the key is owed
     * to it. Owed parts hold the key in the order they were owed it, each as soon as the part before releases it and
     * before any waiter, and a part commits only once it holds every key of its writes (its coordinator's resend,
     * recovery's duty or a probe finds it so). A commit without the lock let a transaction that locked the key
     * meanwhile write it, and the commit then wrote the prepared values over that write (whole-cluster bank seed
     * 0x16acc51a).
     */
    void holdOrOwe(final TxPart part, final byte[][] keys)
    {
        for (final byte[] k : keys)
        {
            final CacheKey lockKey = new CacheKey(part.key.cacheId(), k);
            final KeyLock keyLock = locks.computeIfAbsent(lockKey, x -> new KeyLock());
            if (keyLock.holder == null)
            {
                keyLock.holder = part;
                part.held.add(lockKey);
            }
            else
            {
                owe(keyLock, part);
            }
        }
    }

    private void owe(final KeyLock keyLock, final TxPart part)
    {
        if (keyLock.owedTo == null)
        {
            keyLock.owedTo = new ArrayList<>(1);
        }
        keyLock.owedTo.add(part);
        part.owed++;
    }

    void releaseLocks(final TxPart part)
    {
        if (part.owed > 0)
        {
            for (final KeyLock keyLock : locks.values())
            {
                if (keyLock.owedTo != null)
                {
                    keyLock.owedTo.remove(part);
                }
            }
            part.owed = 0;
        }
        if (part.wait != null)
        {
            for (final CacheKey lockKey : part.wait.waitingOn)
            {
                final KeyLock keyLock = locks.get(lockKey);
                if (keyLock != null)
                {
                    keyLock.waiters.remove(part);
                    forgetIfFree(lockKey, keyLock);
                }
            }
            part.wait = null;
        }
        final List<CacheKey> held = new ArrayList<>(part.held);
        part.held.clear();
        for (final CacheKey lockKey : held)
        {
            final KeyLock keyLock = locks.get(lockKey);
            if (keyLock != null && keyLock.holder == part)
            {
                keyLock.holder = null;
                grantNext(lockKey, keyLock);
            }
        }
    }

    private void grantNext(final CacheKey lockKey, final KeyLock keyLock)
    {
        keyLock.waiters.removeIf(waiter -> manager.parts.get(waiter.key) != waiter);
        TxPart debtor = null;
        while (debtor == null && keyLock.owedTo != null && !keyLock.owedTo.isEmpty())
        {
            final TxPart next = keyLock.owedTo.remove(0);
            debtor = manager.parts.get(next.key) == next ? next : null;
        }
        if (debtor != null)
        {
            keyLock.holder = debtor;
            debtor.held.add(lockKey);
            debtor.owed--;
            for (final TxPart waiter : new ArrayList<>(keyLock.waiters))
            {
                if (!older(waiter, debtor) && manager.parts.get(waiter.key) == waiter)
                {
                    die(waiter, debtor);
                }
            }
            return;
        }
        while (keyLock.holder == null && !keyLock.waiters.isEmpty())
        {
            TxPart oldest = keyLock.waiters.get(0);
            for (final TxPart waiter : keyLock.waiters)
            {
                if (older(waiter, oldest))
                {
                    oldest = waiter;
                }
            }
            keyLock.waiters.remove(oldest);
            keyLock.holder = oldest;
            oldest.held.add(lockKey);
            oldest.wait.waitingOn.remove(lockKey);
            // Waiters younger than the new holder would now wait for an older transaction: wait-die aborts them.
            for (final TxPart waiter : new ArrayList<>(keyLock.waiters))
            {
                if (!older(waiter, oldest) && manager.parts.get(waiter.key) == waiter)
                {
                    die(waiter, oldest);
                }
            }
            // Aborting those may have aborted the new holder too (through a key it waits for elsewhere).
            if (manager.parts.get(oldest.key) == oldest && oldest.wait != null && --oldest.wait.waiting == 0)
            {
                lockGranted(oldest);
            }
        }
        forgetIfFree(lockKey, keyLock);
    }

    private void forgetIfFree(final CacheKey lockKey, final KeyLock keyLock)
    {
        if (keyLock.holder != null)
        {
            return;
        }
        if (keyLock.waiters.isEmpty())
        {
            locks.remove(lockKey);
        }
        if (!keyLock.blocked.isEmpty())
        {
            final List<Runnable> blocked = new ArrayList<>(keyLock.blocked);
            keyLock.blocked.clear();
            blocked.forEach(Runnable::run);
        }
    }

    /**
     * @return true if a transaction holds the key: a single-key write of it must wait ({@link #block}).
     */
    boolean isLocked(final int cacheId, final byte[] key)
    {
        if (locks.isEmpty())
        {
            return false;
        }
        final KeyLock keyLock = locks.get(new CacheKey(cacheId, key));
        return keyLock != null && keyLock.holder != null;
    }

    /**
     * Run {@code retry} when the key's lock is released (a single-key write waiting for a transaction).
     */
    void block(final int cacheId, final byte[] key, final Runnable retry)
    {
        locks.get(new CacheKey(cacheId, key)).blocked.add(retry);
    }

    static boolean older(final TxPart a, final TxPart b)
    {
        if (a.priority != b.priority)
        {
            return a.priority < b.priority;
        }
        if (a.key.coordinator() != b.key.coordinator())
        {
            return a.key.coordinator() < b.key.coordinator();
        }
        // Equal age on one coordinator: a retry and its aborted predecessor, still releasing. The retry counts as
        // older, so it waits for the release instead of dying against its own past.
        return a.key.seq() > b.key.seq();
    }

    /**
     * A key's lock on its primary: the holder, the parts it is owed to (served first), the transactions waiting
     * (oldest served first), blocked writes.
     */
    static final class KeyLock
    {
        TxPart holder;
        /** Prepared parts taken over while another part held the key, in order: the key is theirs next (see owe). */
        List<TxPart> owedTo;
        final List<TxPart> waiters = new ArrayList<>(2);
        final List<Runnable> blocked = new ArrayList<>(0);
    }

    static final class LockWait
    {
        final long requestId;
        final byte[][] keys;
        final long deadlineNs;
        final long startedNs;
        final List<CacheKey> waitingOn = new ArrayList<>(2);
        int waiting;

        LockWait(final long requestId, final byte[][] keys, final long deadlineNs, final long startedNs)
        {
            this.requestId = requestId;
            this.keys = keys;
            this.deadlineNs = deadlineNs;
            this.startedNs = startedNs;
        }
    }

    /**
     * A part asks for locks on keys: free ones are granted, held ones are waited for if the holder is younger
     * (wait-die: an older one waits), or the part dies if the holder is older. Once every key is held, the lock is
     * granted.
     */
    void acquire(final TxPart part, final int cacheId, final byte[][] keys, final long requestId,
        final long deadlineNs)
    {
        final LockWait wait = new LockWait(requestId, keys, deadlineNs, context.nowNs());
        part.wait = wait;
        int waiting = 0;
        for (final byte[] k : keys)
        {
            final CacheKey lockKey = new CacheKey(cacheId, k);
            final KeyLock keyLock = locks.computeIfAbsent(lockKey, x -> new KeyLock());
            if (keyLock.holder == null)
            {
                keyLock.holder = part;
                part.held.add(lockKey);
            }
            else if (keyLock.holder != part)
            {
                if (older(part, keyLock.holder))
                {
                    keyLock.waiters.add(part);
                    wait.waitingOn.add(lockKey);
                    waiting++;
                }
                else
                {
                    die(part, keyLock.holder);
                    return;
                }
            }
        }
        wait.waiting = waiting;
        if (waiting == 0)
        {
            lockGranted(part);
        }
    }
}
