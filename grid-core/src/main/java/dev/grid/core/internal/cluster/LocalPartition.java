package dev.grid.core.internal.cluster;

import dev.grid.core.CacheEvent;
import dev.grid.core.engine.MemberSet;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.PartitionState;
import dev.grid.core.internal.partition.PartitionStore;
import dev.grid.core.internal.partition.PartitionUpdateCounter;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongHashSet;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * This member's copy of one partition of one cache: its store, its update counter, the outcomes of recent operations
 * (so that an operation retried after a lost answer or a primary's failure is answered, not applied twice) and, on the
 * primary, the updates still waiting for backups. Owned by the engine's thread.
 */
final class LocalPartition implements PartitionCopy
{
    /** The size below which the live memory of outcomes (and recovery's replayed list) is not swept. */
    static final int RECENT_OUTCOMES = 256;

    /** Epochs remembered per copy; a copy that comes back after more epochs than this catches up fully. */
    static final int EPOCHS_KEPT = 16;

    final int cacheId;
    final int partition;
    /** Set by the engine at each installed map (the constructor's OWNING is for recovery and new owners). */
    PartitionState state = PartitionState.OWNING;
    /** The lineage epoch this copy follows (see {@link PartitionTable#epochId}); 0 before any. */
    long epochId;
    /** The epochs this copy followed, oldest first, as {id, floor}; the last is {@link #epochId}. */
    final ArrayDeque<long[]> epochs = new ArrayDeque<>();
    final PartitionStore store;
    /**
     * The copy's event journal, for a cache with one (see {@link EventJournal}); null until its first event, or for a
     * cache without one.
     */
    EventJournal journal;
    /**
     * The highest counter this copy applied without journaling it (rebalance, recovery, a transaction's write before
     * the journal existed): a journal knows nothing at or below it.
     */
    long journalFloor;
    /**
     * Expiry on a primary copy ({@link Expirations}): the earliest expiry time it may hold (0: unknown, sweep it), the
     * earliest seen by the sweep pass under way, and whether it was a primary at the last sweep.
     */
    long nextExpiryMs;
    long expiryPassMinMs = Long.MAX_VALUE;
    boolean sweptAsPrimary;

    /** An update at {@code counter} applied here without an event: a journal can no longer vouch for it. */
    void unjournaled(final long counter)
    {
        journalFloor = Math.max(journalFloor, counter);
        if (journal != null)
        {
            journal.raiseFloor(counter);
        }
    }
    /** Non-zero while a consistency check holds this (primary) copy still: writes wait in {@link #pausedOps}. */
    long pausedBy;
    final List<Runnable> pausedOps = new ArrayList<>();
    final PartitionUpdateCounter counter;
    /**
     * Backups that refused an update of this primary copy since the last installed map (they had skipped the map it
     * was stamped with): they lack it, so this primary's report cannot vouch for them.
     */
    final LongHashSet refusedBackups = new LongHashSet();
    /** Updates this copy applied as primary and not yet acknowledged, by counter. */
    final Long2ObjectHashMap<PrimaryUpdate> inFlight = new Long2ObjectHashMap<>();
    /**
     * Outcomes by operation key, oldest first; a null value means the operation is still in flight here. Nothing is
     * evicted by count: an operation in flight is never forgotten (with a backup stalled, hundreds may wait, each
     * resent by its origin every retry interval, and a forgotten one was applied again), and an outcome is retired
     * only once its origin can no longer resend it ({@link #retireOutcomes}).
     */
    final LinkedHashMap<OpKey, OpOutcome> recent = new LinkedHashMap<>(64, 0.75f, false);
    /** The size of {@link #recent} at which it is next swept for retired outcomes. */
    private int sweepAt = RECENT_OUTCOMES;

    /**
     * Retire the outcomes no origin can resend any more: those of an origin that left the cluster (its messages are
     * refused), and those below the sequence its origin reported as the lowest it may still resend. Swept when the
     * memory doubled since the last sweep, so the cost per operation is constant.
     *
     * @param watermarks     per origin incarnation, the lowest sequence it may still resend (missing: none known).
     * @param originPresent  whether an origin incarnation is still a member.
     */
    void retireOutcomes(final Long2LongHashMap watermarks, final java.util.function.LongPredicate originPresent)
    {
        if (recent.size() < sweepAt)
        {
            return;
        }
        for (final java.util.Iterator<Map.Entry<OpKey, OpOutcome>> it = recent.entrySet().iterator(); it.hasNext(); )
        {
            final Map.Entry<OpKey, OpOutcome> entry = it.next();
            if (entry.getValue() == null)
            {
                continue;
            }
            final long origin = entry.getKey().originIncarnation();
            if (!originPresent.test(origin) || entry.getKey().sequence() < watermarks.get(origin))
            {
                it.remove();
            }
        }
        sweepAt = Math.max(RECENT_OUTCOMES, 2 * recent.size());
    }

    // During recovery only: the replayed outcomes, in order, moved into recent when replay ends. Those their origin can
    // no longer resend (below its watermark, which later WAL records carry) are dropped as replay goes, whenever the
    // list doubled, so it holds about what the live memory held rather than every operation since the checkpoint;
    // nothing is dropped by count (a ring of the last 256 forgot older operations still waiting for their answers).
    private ReplayedOutcomes replayed;
    private int replayCompactAt = RECENT_OUTCOMES;
    private List<OpKey> olderKeys;
    private List<OpOutcome> olderOutcomes;

    /**
     * Remember an outcome replayed from the WAL.
     *
     * @param originIncarnation the operation's origin incarnation.
     * @param sequence          the operation's sequence at its origin.
     * @param flag              its outcome's flag.
     * @param value             its outcome's value, or null.
     * @param ifAbsent          keep an outcome already known for the key (a predecessor's identity carried by a later
     *                          update).
     * @param watermarks        per origin incarnation, the highest watermark replayed so far (missing: none known).
     */
    void replayRecent(final long originIncarnation, final long sequence, final boolean flag, final byte[] value,
        final boolean ifAbsent, final Long2LongHashMap watermarks)
    {
        if (replayed == null)
        {
            replayed = new ReplayedOutcomes();
        }
        replayed.add(originIncarnation, sequence, flag, value, ifAbsent);
        if (replayed.size() >= replayCompactAt)
        {
            replayed.dropBelow(watermarks);
            replayCompactAt = Math.max(RECENT_OUTCOMES, 2 * replayed.size());
        }
    }

    /**
     * Remember outcomes older than every one known here (a rebalance supplier's memory arrives after live updates
     * reached this copy): they go before the known ones, keeping the memory oldest first.
     */
    void rememberOlder(final List<OpKey> keys, final List<OpOutcome> outcomes)
    {
        final LinkedHashMap<OpKey, OpOutcome> newer = new LinkedHashMap<>(recent);
        recent.clear();
        for (int i = 0; i < keys.size(); i++)
        {
            if (!newer.containsKey(keys.get(i)))
            {
                recent.put(keys.get(i), outcomes.get(i));
            }
        }
        recent.putAll(newer);
    }

    /**
     * During replay: outcomes a rebalance brought, older than the updates replayed around them.
     */
    void replayOlder(final OpKey key, final OpOutcome outcome)
    {
        if (olderKeys == null)
        {
            olderKeys = new ArrayList<>();
            olderOutcomes = new ArrayList<>();
        }
        olderKeys.add(key);
        olderOutcomes.add(outcome);
    }

    /**
     * Move the replayed outcomes into {@link #recent}, oldest first, after those an image brought.
     *
     * @param watermarks per origin incarnation, the highest watermark replayed (missing: none known).
     */
    void finishReplay(final Long2LongHashMap watermarks)
    {
        if (olderKeys != null)
        {
            for (int i = 0; i < olderKeys.size(); i++)
            {
                recent.putIfAbsent(olderKeys.get(i), olderOutcomes.get(i));
            }
            olderKeys = null;
            olderOutcomes = null;
        }
        if (replayed == null)
        {
            return;
        }
        replayed.dropBelow(watermarks);
        replayed.moveInto(recent);
        replayed = null;
    }

    /**
     * Forget what only the member's life that ends knew of this copy, keeping what a restart would recover from a WAL:
     * its entries, counter (reservations of prepares stay open), lineage and the outcomes of its operations, those
     * applied here and still waiting for backups included (their origins may resend them to another primary, which
     * must answer, not apply them twice). Gone: the updates' wait for backups, operations not applied and those a
     * consistency check held, backups' refusals, the expiry sweep's progress. The copy reports as OWNING, as a
     * recovered one does (set, not moved: a new life's first map gives it its state): the exchange judges it by its
     * counter.
     */
    void forgetLiveState()
    {
        state = PartitionState.OWNING;
        for (final PrimaryUpdate update : inFlight.values())
        {
            recent.put(update.opKey, update.outcome);
        }
        inFlight.clear();
        pausedBy = 0;
        pausedOps.clear();
        refusedBackups.clear();
        recent.values().removeIf(Objects::isNull);
        nextExpiryMs = 0;
        expiryPassMinMs = Long.MAX_VALUE;
        sweptAsPrimary = false;
    }

    /**
     * Follow a new epoch of the partition's lineage.
     *
     * @return false if the copy already follows it.
     */
    boolean adoptEpoch(final long id, final long floor)
    {
        for (final long[] epoch : epochs)
        {
            if (epoch[0] == id)
            {
                // Known already (replay meets epochs a checkpoint's manifest brought).
                return false;
            }
        }
        epochId = id;
        epochs.addLast(new long[] {id, floor});
        while (epochs.size() > EPOCHS_KEPT)
        {
            epochs.removeFirst();
        }
        return true;
    }

    /**
     * Whether a copy that followed {@code theirEpoch} last, with counters closed up to {@code theirHighest}, holds only
     * updates of this copy's lineage: true if it follows the same epoch, or if every update it holds is at or below
     * the floor of the first epoch it missed (above that floor, the primary it followed may have left with updates
     * nobody else has).
     *
     * @return null if it does, else why not.
     */
    String lineageMismatch(final long theirEpoch, final long theirHighest)
    {
        if (theirEpoch == epochId)
        {
            return null;
        }
        boolean found = false;
        for (final long[] epoch : epochs)
        {
            if (found)
            {
                return theirHighest <= epoch[1] ? null : "the copy holds counters up to " + theirHighest +
                    " but its lineage split at counter " + epoch[1] + " (a primary left)";
            }
            found = epoch[0] == theirEpoch;
        }
        return "the copy's lineage epoch " + Long.toHexString(theirEpoch) + " is not among the supplier's last " +
            epochs.size();
    }

    LocalPartition(final int cacheId, final int partition)
    {
        this(cacheId, partition, new PartitionUpdateCounter(partition, PartitionUpdateCounter.GAPS_MAX_DEFAULT));
    }

    LocalPartition(final int cacheId, final int partition, final PartitionUpdateCounter counter)
    {
        this.cacheId = cacheId;
        this.partition = partition;
        this.store = new PartitionStore(partition);
        this.counter = counter;
    }

    @Override
    public long reserve(final int count)
    {
        return counter.reserve(count);
    }

    @Override
    public boolean isClosed(final long updateCounter)
    {
        return counter.isClosed(updateCounter);
    }

    @Override
    public void apply(final byte[] key, final byte[] value, final long updateCounter)
    {
        // A transaction's write: journaled as this copy sees it (created or updated by its own value before).
        final byte kind = journal == null ? EventJournal.NONE : EventJournal.byValue(store.get(key) != null, value);
        // A transaction's value may carry an expiry time this copy cannot read here: its next sweep looks.
        nextExpiryMs = 0;
        store.apply(key, value, updateCounter);
        if (journal != null)
        {
            journal.record(updateCounter, CacheEvent.Kind.values()[kind], key, value);
        }
        else
        {
            unjournaled(updateCounter);
        }
    }

    @Override
    public byte[] get(final byte[] key)
    {
        return store.get(key);
    }

    @Override
    public void refuseBackup(final long member)
    {
        refusedBackups.add(member);
    }

    /**
     * An operation's identity across retries: the incarnation of the member that submitted it and its sequence there.
     */
    record OpKey(long originIncarnation, long sequence)
    {
    }

    /**
     * The identities and outcomes of earlier updates of a key whose effect a later update's value carries: a copy
     * that missed one (it holds a hole there) must still know it, or a retry of it after failover is applied twice.
     * Travels with the update in replication, the WAL and historical rebalance, encoded as a count and then
     * (origin, sequence, flag, outcome value) each.
     *
     * @param keys     the operations.
     * @param outcomes their outcomes, index for index.
     */
    record Predecessors(OpKey[] keys, OpOutcome[] outcomes)
    {
        static final Predecessors NONE = new Predecessors(new OpKey[0], new OpOutcome[0]);

        int count()
        {
            return keys.length;
        }

        /** @return about how many bytes they take in a message. */
        int encodedLength()
        {
            int length = 4;
            for (final OpOutcome outcome : outcomes)
            {
                length += 24 + (outcome.value() == null ? 0 : outcome.value().length);
            }
            return length;
        }

        /** Remember them in a copy's memory, keeping any outcome it knows already. */
        void rememberIn(final LocalPartition lp)
        {
            for (int i = 0; i < keys.length; i++)
            {
                lp.recent.putIfAbsent(keys[i], outcomes[i]);
            }
        }
    }

    /**
     * An update this copy applied as primary, waiting for its backups and its own WAL.
     */
    static final class PrimaryUpdate
    {
        final long counter;
        final OpKey opKey;
        /** The member whose request this is, and its number there: where the answer goes. */
        final long replyTo;
        final long replySequence;
        final OpOutcome outcome;
        final byte[] key;
        final byte[] value;
        final long topologyVersion;
        /** The backups whose acknowledgement it waits for; sized by the constructor for the cache's backups. */
        final MemberSet pendingBackups;
        final long deadlineNs;
        long lastSentNs;
        boolean durable;
        /** A backup left the topology before acknowledging: answered only once the map without it is installed. */
        boolean backupForgotten;
        /** The event journaled for it ({@link EventJournal#NONE}, or a kind's ordinal), shipped to the backups. */
        byte eventKind = EventJournal.NONE;

        PrimaryUpdate(
            final long counter,
            final OpKey opKey,
            final long replyTo,
            final long replySequence,
            final OpOutcome outcome,
            final byte[] key,
            final byte[] value,
            final long topologyVersion,
            final long deadlineNs,
            final int backups)
        {
            this.pendingBackups = new MemberSet(backups);
            this.counter = counter;
            this.opKey = opKey;
            this.replyTo = replyTo;
            this.replySequence = replySequence;
            this.outcome = outcome;
            this.key = key;
            this.value = value;
            this.topologyVersion = topologyVersion;
            this.deadlineNs = deadlineNs;
        }
    }
}
