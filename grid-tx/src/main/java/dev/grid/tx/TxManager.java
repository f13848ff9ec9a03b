package dev.grid.tx;

import org.agrona.sbe.MessageEncoderFlyweight;
import org.agrona.sbe.MessageDecoderFlyweight;
import dev.grid.core.codec.messages.TxAnswerEncoder;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.CacheDestroyedException;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.TransactionCommitStatusUnknownException;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.MessageTypes;
import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.TransactionView;
import dev.grid.core.engine.Transactions;
import dev.grid.core.engine.TxCallback;
import dev.grid.core.engine.TxPartKey;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/**
 * Transactions of one member, run on its engine's thread as its {@link Transactions} component: the coordinator side
 * (transactions this member's users began) and the participant side (this member as the primary or a backup of a
 * partition a transaction touches).
 * <p>
 * <b>Protocol.</b> The coordinator locks keys on their partitions' primaries (pessimistic: as the user touches them;
 * optimistic and predicate transactions: at commit), with wait-die deadlock prevention by age: a transaction asking
 * for a key held by a younger one waits, one asking for a key held by an older one dies ({@link
 * ErrorCode#TX_DEADLOCK_PREVENTION}), so no cycle of waits can form. At commit, a transaction that writes one
 * partition commits in one phase; otherwise each written partition's primary checks it is still primary at the
 * transaction's map version, reserves counters for the writes (HWM) and ships writes and counters to its backups
 * (prepare). Once every primary answered prepared, the coordinator decides commit: each primary writes the WAL,
 * applies, and ships the writes with their counters to its backups, which assign them in the same order; the answer
 * comes once every copy is durable. A rollback after reservation closes the reserved range on every backup first and
 * on the primary last, so no number stays a hole and recovery never commits on a backup what the primary rolled back.
 * <p>
 * <b>Failures.</b> Every request is resent until answered and handled idempotently per transaction and partition.
 * A map change aborts transactions not yet prepared everywhere ({@link ErrorCode#TX_TOPOLOGY_CHANGED}): primaries
 * drop their locks. Prepared parts survive it: the new primary (a backup holding the prepare) locks the keys again and
 * reserves fresh counters at commit, because the exchange dropped the old reservation (HWM back to LWM). If the
 * coordinator leaves, each prepared part's primary asks the other participants: any committed or all prepared
 * commits, any that never prepared (which then refuses to, for good) rolls back.
 * <p>
 * <b>Parts.</b> {@link TxCoordinator} runs the coordinator side, {@link TxParticipant} the primary's and backups'
 * side, {@link LockTable} the wait-die locks, {@link TxRecovery} the resolution of in-doubt transactions. This class
 * composes them, holds what they share (the parts on this member, the durable memory of prepared and finished parts
 * and how it is replayed, logged and checkpointed) and reacts to map changes and the duty cycle.
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
public final class TxManager implements Transactions
{
    static final int ANSWER_LOCKED = 1;
    static final int ANSWER_PREPARED = 2;

    static final int ANSWER_COMMITTED = 3;
    static final int ANSWER_ROLLED_BACK = 4;

    static final int STATUS_OK = 0;
    static final int STATUS_REMAP = 1;

    static final int STATUS_ERROR = 2;
    static final int BACKUP_PREPARE = 1;

    static final int BACKUP_COMMIT = 2;
    static final int BACKUP_ROLLBACK = 3;

    /** How a backup answering a prepare saw the transaction end (TX_BACKUP_ACK's outcome byte). */
    static final int OUTCOME_NONE = 0;

    static final int OUTCOME_COMMITTED = 1;
    static final int OUTCOME_ROLLED_BACK = 2;

    static final int PART_PREPARED = 1;
    static final int PART_COMMITTED = 2;

    static final int PART_ROLLED_BACK = 3;

    /** How many finished transaction parts each member remembers, to answer late or repeated messages. */
    static final int FINISHED_REMEMBERED = 1 << 16;

    static final byte[][] NO_VALUES = new byte[0][];

    final TransactionContext context;
    final TxRecovery recovery;

    final TxParticipant participant;
    final TxCoordinator coordinator;

    final LockTable lockTable;
    /** The transaction messages' flyweights. */
    final TxFlyweights wire = new TxFlyweights();

    // Participant side.
    final HashMap<TxPartKey, TxPart> parts = new HashMap<>();

    final HashMap<TxPartKey, TxPrepared> prepared = new HashMap<>();

    /**
     * As coordinator: the outcome of this member's recent transactions (seq: committed or rolled back), so that a
     * participant holding a stale prepare (it came back from its WAL after the end was sent) learns how it ended.
     */
    final LinkedHashMap<Long, Boolean> outcomes = remembering();

    /** The parts the loaded checkpoint's manifest lists as committed (recovery only; forgetCommittedBeforeImage). */
    final List<TxPartKey> checkpointCommitted = new ArrayList<>();

    final LinkedHashMap<TxPartKey, Boolean> finished = remembering();

    /** "Committed" answers held until the map they were given under settled (see {@link #answer}). */
    final HeldCommits heldCommits = new HeldCommits();

    /** @return a map in insertion order that forgets its eldest entries beyond {@link #FINISHED_REMEMBERED}. */
    private static <K> LinkedHashMap<K, Boolean> remembering()
    {
        return new LinkedHashMap<>(1024, 0.75f, false)
        {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(final Map.Entry<K, Boolean> eldest)
            {
                return size() > FINISHED_REMEMBERED;
            }
        };
    }

    /**
     * @param context what the member's engine gives its transactions.
     */
    public TxManager(final TransactionContext context)
    {
        this.context = context;
        this.recovery = new TxRecovery(this);
        this.participant = new TxParticipant(this);
        this.coordinator = new TxCoordinator(this);
        this.lockTable = new LockTable(this);
    }

    @Override
    public long begin(final long timeoutNs, final long priority)
    {
        return coordinator.begin(timeoutNs, priority);
    }

    @Override
    public long priority(final long txId)
    {
        return coordinator.priority(txId);
    }

    @Override
    public void enlist(final long txId, final int cacheId, final byte[][] keys, final boolean lock,
        final TxCallback callback)
    {
        coordinator.enlist(txId, cacheId, keys, lock, callback);
    }

    @Override
    public void commit(final long txId, final int[] cacheIds, final byte[][] keys, final byte[][] values,
        final TxCallback callback)
    {
        coordinator.commit(txId, cacheIds, keys, values, callback);
    }

    @Override
    public void rollback(final long txId, final TxCallback callback)
    {
        coordinator.rollback(txId, callback);
    }

    @Override
    public boolean coordinates(final long txId)
    {
        return coordinator.coordinates(txId);
    }

    @Override
    public List<TransactionView> views()
    {
        return coordinator.views();
    }

    @Override
    public boolean onMessage(final int type, final long sender)
    {
        switch (type)
        {
            case MessageTypes.TX_LOCK -> participant.onLock(sender);
            case MessageTypes.TX_PREPARE -> participant.onPrepare(sender);
            case MessageTypes.TX_COMMIT -> participant.onCommit(sender);
            case MessageTypes.TX_ROLLBACK -> participant.onRollback(sender);
            case MessageTypes.TX_ANSWER -> coordinator.onAnswer(sender);
            case MessageTypes.TX_BACKUP -> participant.onBackup(sender);
            case MessageTypes.TX_BACKUP_ACK -> participant.onBackupAck(sender);
            case MessageTypes.TX_STATUS -> recovery.onStatus(sender);
            case MessageTypes.TX_STATUS_ANSWER -> recovery.onStatusAnswer(sender);
            case MessageTypes.TX_QUERY -> recovery.onQuery(sender);
            case MessageTypes.TX_QUERY_ANSWER -> recovery.onQueryAnswer(sender);
            default ->
            {
                return false;
            }
        }
        return true;
    }

    @Override
    public void forgetMember(final long incarnation)
    {
        participant.forgetMember(incarnation);
    }

    @Override
    public boolean isLocked(final int cacheId, final byte[] key)
    {
        return lockTable.isLocked(cacheId, key);
    }

    @Override
    public void block(final int cacheId, final byte[] key, final Runnable retry)
    {
        lockTable.block(cacheId, key, retry);
    }

    /**
     * @return true if a prepared part still waits for a backup to acknowledge its prepare (sent again at install, so
     *         that every copy that may become primary holds it): the exchange report waits for these.
     */
    @Override
    public boolean hasUnacknowledgedPrepares()
    {
        for (final TxPart part : parts.values())
        {
            if (part.state == TxParticipantState.PREPARED && part.backupKind == BACKUP_PREPARE &&
                !part.pendingBackups.isEmpty())
            {
                return true;
            }
        }
        return false;
    }

    /**
     * @return true if a transaction part is committing or rolling back on this partition here (as its primary).
     */
    @Override
    public boolean isApplyingOn(final int cacheId, final int partition)
    {
        for (final TxPart part : parts.values())
        {
            if (part.key.cacheId() == cacheId && part.key.partition() == partition &&
                (part.state == TxParticipantState.COMMITTING || part.state == TxParticipantState.ROLLING_BACK))
            {
                return true;
            }
        }
        return false;
    }

    /** @return true if no transaction is in flight here, as coordinator or participant. */
    @Override
    public boolean isIdle()
    {
        return coordinator.nearTxs.isEmpty() && parts.isEmpty() && prepared.isEmpty() && participant.applying.isEmpty();
    }

    @Override
    public String describe()
    {
        int preparedParts = 0;
        for (final TxPart part : parts.values())
        {
            if (part.state == TxParticipantState.PREPARED)
            {
                preparedParts++;
            }
        }
        final StringBuilder stuck = new StringBuilder();
        for (final TxPart part : parts.values())
        {
            if (stuck.length() < 600)
            {
                stuck.append(" part ").append(Long.toHexString(part.key.coordinator())).append('/')
                    .append(part.key.seq())
                    .append(" p").append(part.key.partition()).append(' ').append(part.state).append(" v")
                    .append(part.version).append(" recovering=").append(part.recovering).append(" durable=")
                    .append(part.durable).append(" pending=").append(part.pendingBackups).append(" owed=")
                    .append(part.owed);
            }
        }
        for (final TxPartKey key : prepared.keySet())
        {
            if (stuck.length() < 600)
            {
                stuck.append(" prepared ").append(Long.toHexString(key.coordinator())).append('/').append(key.seq())
                    .append(" p").append(key.partition());
            }
        }
        return "txs=" + coordinator.nearTxs.size() + " txParts=" + parts.size() + " txPartsPrepared=" + preparedParts +
            " txPrepared=" + prepared.size() +
            " locks=" + lockTable.locks.size() + (stuck.length() > 0 ? " [" +
            stuck.toString().trim() + "]" : "");
    }

    /**
     * Remember a transaction's write replayed from the WAL as committed, so a late commit or status question is
     * answered rather than applied again.
     */
    @Override
    public void replayCommitted(final long coordinator, final long seq, final int cacheId, final int partition)
    {
        final TxPartKey key = new TxPartKey(coordinator, seq, cacheId, partition);
        finished.put(key, Boolean.TRUE);
        prepared.remove(key);
    }

    /**
     * The prepared transactions this member holds, by copy ({@link PartitionCopy#pack}): per copy, the
     * transactions' (coordinator, seq) pairs, sorted. They go into this member's exchange report, so that where the
     * durable table of last owners picks a partition's primary, it picks a copy holding every prepare another last
     * owner's copy holds (the exchange planner's lead rank).
     */
    @Override
    public Map<Long, long[]> preparesByCopy()
    {
        final HashMap<Long, List<TxPartKey>> keys = new HashMap<>();
        for (final TxPartKey key : prepared.keySet())
        {
            keys.computeIfAbsent(PartitionCopy.pack(key.cacheId(), key.partition()), c -> new ArrayList<>()).add(key);
        }
        for (final TxPart part : parts.values())
        {
            if (part.state == TxParticipantState.PREPARED && !prepared.containsKey(part.key))
            {
                keys.computeIfAbsent(PartitionCopy.pack(part.key.cacheId(), part.key.partition()),
                    c -> new ArrayList<>()).add(part.key);
            }
        }
        final HashMap<Long, long[]> byCopy = new HashMap<>();
        keys.forEach((copy, list) ->
        {
            list.sort((a, b) -> a.coordinator() != b.coordinator() ? Long.compare(a.coordinator(), b.coordinator()) :
                Long.compare(a.seq(), b.seq()));
            final long[] pairs = new long[list.size() * 2];
            for (int i = 0; i < list.size(); i++)
            {
                pairs[2 * i] = list.get(i).coordinator();
                pairs[2 * i + 1] = list.get(i).seq();
            }
            byCopy.put(copy, pairs);
        });
        return byCopy;
    }

    /**
     * Replay a prepare logged here ({@link TransactionContext#appendTxPrepare}): held like a backup's prepare, so that
     * once the cluster is active the partition's primary recovers it (its coordinator is gone after a restart).
     */
    @Override
    public void replayPrepare(final TxPartKey key, final long priority, final long[] participants,
        final byte[][] keys, final byte[][] values)
    {
        if (!finished.containsKey(key))
        {
            prepared.put(key, new TxPrepared(key, priority, keys, values, participants, context.nowNs(), true));
        }
    }

    /**
     * Replay a copy dropped (or every copy, or a cache destroyed): prepares of its lineage are void.
     *
     * @param cacheId   the cache.
     * @param partition the partition, or -1 for every partition of the cache, or cacheId -1 for every copy.
     */
    @Override
    public void forgetPrepared(final int cacheId, final int partition)
    {
        prepared.keySet().removeIf(key -> cacheId < 0 || (key.cacheId() == cacheId &&
            (partition < 0 || key.partition() == partition)));
    }

    /**
     * A copy of this partition is gone (dropped, or cleared for a full rebalance): the commits remembered for it are
     * forgotten, since the data that held their writes is gone. A copy rebuilt from one that held a transaction only
     * prepared, remembering the commit it had applied before, answered the coordinator's resent commit "committed" as
     * primary without the writes, and a later transfer overwrote the account without them (whole-cluster bank seed
     * 0x16acbeea). Forgotten, such a commit is applied when it comes again (a commit finding no prepare applies the
     * coordinator's writes); the rebuilt copy learns its supplier's commits with the data. Rollbacks stay remembered:
     * they are decisions, which a late prepare must not revive.
     */
    @Override
    public void forgetCommitted(final int cacheId, final int partition)
    {
        if (!finished.isEmpty())
        {
            finished.entrySet().removeIf(e -> e.getValue() && e.getKey().cacheId() == cacheId &&
                e.getKey().partition() == partition);
        }
    }

    /**
     * Replay reached the drop of a copy older than the checkpoint's image of the partition: the commits replayed so
     * far belong to the dropped copy and are forgotten, those of the checkpoint's manifest (taken after the drop)
     * stay.
     */
    @Override
    public void forgetCommittedBeforeImage(final int cacheId, final int partition)
    {
        forgetCommitted(cacheId, partition);
        for (final TxPartKey key : checkpointCommitted)
        {
            if (key.cacheId() == cacheId && key.partition() == partition)
            {
                finished.put(key, Boolean.TRUE);
            }
        }
    }

    /**
     * A copy of this partition is being rebuilt (cleared for a full rebalance, logged as dropped): log the prepares
     * held here for it again, after that record. They are about the partition, not the copy's data, and the member
     * still holds the partition; replay forgets the prepares logged before a dropped copy, and a restart lost them:
     * the rebuilt copy, made primary once the whole cluster came back, said "never prepared" to the backups that held
     * them, and the transaction rolled back there while its other partition had committed (whole-cluster bank seed
     * 0x16acbe62).
     */
    @Override
    public void relogPrepared(final int cacheId, final int partition)
    {
        participant.onCopyCleared(cacheId, partition);
        for (final TxPrepared p : prepared.values())
        {
            if (p.key().cacheId() == cacheId && p.key().partition() == partition)
            {
                context.appendTxPrepare(p.key(), p.priority(), p.participants(), p.keys(), p.values());
            }
        }
    }

    /**
     * @return the parts of a partition prepared here and still open: held as a backup's, or this member's as primary
     *         (preparing, prepared or committing).
     */
    @Override
    public List<TxPartKey> openOn(final int cacheId, final int partition)
    {
        final List<TxPartKey> result = new ArrayList<>();
        for (final TxPartKey key : prepared.keySet())
        {
            if (key.cacheId() == cacheId && key.partition() == partition)
            {
                result.add(key);
            }
        }
        for (final TxPart part : parts.values())
        {
            if (part.key.cacheId() == cacheId && part.key.partition() == partition && !prepared.containsKey(part.key) &&
                (part.state == TxParticipantState.PREPARING || part.state == TxParticipantState.PREPARED ||
                part.state == TxParticipantState.COMMITTING))
            {
                result.add(part.key);
            }
        }
        return result;
    }

    /**
     * A rebalance of this partition (full, or historical) finished: the prepares this member recovered from its WAL
     * that the supplier does not hold open ({@code supplierOpen}, its {@link #openOn}) are void, and logged so ({@link
     * TransactionContext#appendTxVoid}). The supplier owns the partition, and an owner holds every prepare of it still
     * open (a primary answers "prepared" only once every copy of its map held the prepare, and a member reports for the
     * next exchange only once every copy acknowledged the prepares it sent). A recovered prepare the supplier lacks was
     * finished by the others while this member was away: kept, and re-logged with the rebuilt copy, it came back as
     * this member became the partition's primary, and recovery, finding it prepared here and on its other partition
     * (also this member's, also stale), committed a transfer whose coordinator had rolled it back, over later transfers
     * (whole-cluster bank seed 0x16acbe39). Prepares this member received in this life are kept: one may still be on
     * its way to the supplier.
     */
    @Override
    public void voidReplayedNotOpen(final int cacheId, final int partition, final Set<TxPartKey> supplierOpen)
    {
        for (final TxPrepared p : new ArrayList<>(prepared.values()))
        {
            if (p.replayed() && p.key().cacheId() == cacheId && p.key().partition() == partition &&
                !supplierOpen.contains(p.key()))
            {
                prepared.remove(p.key());
                context.appendTxVoid(p.key());
                context.event("member " + context.memberId() + " voids the prepare of transaction " +
                    p.key().seq() + " of " + Long.toHexString(p.key().coordinator()) + " on partition " + partition +
                    " it recovered: the rebalance's supplier holds it no longer");
            }
        }
    }

    /**
     * Replay the void of a prepare held as a backup ({@link TransactionContext#appendTxVoid}): forgotten, its outcome
     * unknown here.
     */
    @Override
    public void replayVoid(final TxPartKey key)
    {
        prepared.remove(key);
    }

    /** Replay the end of a prepared part ({@link TransactionContext#appendTxEnd}). */
    @Override
    public void replayEnd(final TxPartKey key, final boolean committed)
    {
        prepared.remove(key);
        if (!committed)
        {
            // A commit is remembered from its writes' records, on the copies that applied them (an end record may
            // be a backup's that learned the outcome before the writes reached it).
            finished.put(key, Boolean.FALSE);
        }
    }

    /**
     * For a checkpoint's manifest: every part prepared here and not finished (held as backup, or as primary), whose
     * WAL records the checkpoint may release.
     */
    @Override
    public void encodePrepared(final MessageWriter writer)
    {
        TxManifest.encodePrepared(this, writer);
    }

    /**
     * Load the prepared parts of a checkpoint's manifest ({@link #encodePrepared}).
     */
    @Override
    public void decodePrepared(final MessageReader reader)
    {
        TxManifest.decodePrepared(this, reader);
    }

    /**
     * For a checkpoint's manifest: the parts remembered as committed, and those committing here (their writes are
     * applied and logged, the backups' acknowledgements still awaited). Replay rebuilds them from the commits' WAL
     * records, which the checkpoint may release; without them a participant recovering after a whole-cluster restart
     * would take a part committed before the checkpoint for one never prepared, and roll its transaction back
     * elsewhere. A part still committing when the checkpoint was taken was in neither list, its writes' records
     * before the checkpoint's replay position: its member, back as the partition's primary, answered "never prepared"
     * and the other partition rolled back (whole-cluster bank seed 0x16acbe62). Then the parts rolled back or rolling
     * back: a stale prepare brought back by a member that left before logging its rollback must find them
     * remembered (see {@link TxManifest#encodeCommitted}).
     */
    @Override
    public void encodeCommitted(final MessageWriter writer)
    {
        TxManifest.encodeCommitted(this, writer);
    }

    /**
     * The transaction parts this member remembers as finished on one partition (a rebalance supplier ships them, so
     * that the caught-up copy, once primary, answers a late commit instead of applying it again).
     *
     * @return {coordinator, seq, committed ? 1 : 0} per part.
     */
    @Override
    public List<long[]> finishedOn(final int cacheId, final int partition)
    {
        final List<long[]> result = new ArrayList<>();
        for (final Map.Entry<TxPartKey, Boolean> entry : finished.entrySet())
        {
            final TxPartKey key = entry.getKey();
            if (key.cacheId() == cacheId && key.partition() == partition)
            {
                result.add(new long[] {key.coordinator(), key.seq(), entry.getValue() ? 1 : 0});
            }
        }
        return result;
    }

    /**
     * Remember a part finished elsewhere (rebalance, or its replay), unless this member knows it already.
     */
    @Override
    public void rememberFinished(final long coordinator, final long seq, final int cacheId, final int partition,
        final boolean committed)
    {
        final TxPartKey key = new TxPartKey(coordinator, seq, cacheId, partition);
        if (finished.putIfAbsent(key, committed) == null)
        {
            // A prepare held here for a transaction that finished elsewhere (its outcome is in the rebalanced data)
            // is void: nothing will come to finish it.
            prepared.remove(key);
            final TxPart part = parts.get(key);
            if (part != null && (part.state == TxParticipantState.PREPARED ||
                part.state == TxParticipantState.LOCKING))
            {
                parts.remove(key);
                lockTable.releaseLocks(part);
            }
        }
    }

    /**
     * A new topology was adopted (an exchange starts): transactions of this coordinator that are not yet decided lose
     * their locks, so they abort; those on a destroyed cache abort with that reason.
     */
    @Override
    public void onTopologyChanged(final IntPredicate inNewTopology, final IntFunction<String> nameBefore)
    {
        for (final TxCoordinator.NearTx tx : new ArrayList<>(coordinator.nearTxs.values()))
        {
            String destroyed = null;
            for (final TxCoordinator.NearPart part : tx.parts.values())
            {
                if (!inNewTopology.test(part.cacheId))
                {
                    destroyed = nameBefore.apply(part.cacheId);
                }
            }
            if (destroyed != null)
            {
                final GridException error = new CacheDestroyedException("cache '" + destroyed +
                    "' was destroyed while the transaction was in flight");
                if (tx.state == TxState.COMMITTING)
                {
                    coordinator.completeUser(tx, error);
                    coordinator.nearTxs.remove(tx.seq);
                }
                else
                {
                    coordinator.abort(tx, error);
                }
            }
            else if (tx.state == TxState.PREPARING || (tx.state == TxState.ACTIVE && tx.lockedAny))
            {
                coordinator.abort(tx, coordinator.topologyChanged(tx));
            }
        }
    }

    @Override
    public void onMapSettled()
    {
        heldCommits.release(context.settledVersion(), context.hasQuorum(),
            key -> answer(key, ANSWER_COMMITTED, 0, STATUS_OK, null, null));
        lockTable.releaseHeldReads();
    }

    /**
     * A new map is installed: parts not prepared are dropped (their coordinators abort them); prepared parts move to
     * the partition's new primary, with fresh counters to come; prepared parts whose coordinator left are recovered.
     */
    @Override
    public void onInstalled()
    {
        // From this map on (once it is active), primaries send their prepared parts' prepares again to every copy
        // (below), and a copy cleared at this install (before this call) no longer remembers the commits that made it
        // answer "committed"; a commit of this map reaches a cleared copy only after its clearing.
        participant.answeredCommitted.clear();
        participant.clearedSinceInstall.clear();
        if (!context.isMapActive())
        {
            // The cluster waits for its last members: a prepare's other participants may be among them, so nothing
            // is recovered (decided) yet; the prepares stay as recovered.
            return;
        }
        dropUnprepared();
        for (final TxPrepared p : new ArrayList<>(prepared.values()))
        {
            final PartitionCopy lp = context.copy(p.key().cacheId(), p.key().partition());
            final int rank = lp == null ? -1 : context.rankHere(p.key().cacheId(), p.key().partition());
            if (rank < 0)
            {
                prepared.remove(p.key());
            }
            else if (rank == 0 && !recovery.isLostHere(p.key().cacheId(), p.key().partition()))
            {
                prepared.remove(p.key());
                takeOver(p);
            }
        }
        for (final TxPart part : new ArrayList<>(parts.values()))
        {
            if (part.state != TxParticipantState.PREPARED)
            {
                continue;
            }
            // The new backups (MOVING copies too, which may become primary once caught up) hold the prepare as
            // well, so it survives this primary's failure or move; resent until each acknowledged it.
            participant.sendBackups(part, BACKUP_PREPARE, true);
            if (!context.isMember(part.key.coordinator()))
            {
                recovery.startRecovery(part);
            }
        }
        for (final TxCoordinator.NearTx tx : coordinator.nearTxs.values())
        {
            for (final TxCoordinator.NearPart part : tx.parts.values())
            {
                part.lastSentNs = Long.MIN_VALUE / 2;
            }
        }
        duty();
    }

    /**
     * At a map install: parts not prepared are dropped and their waiters told to remap; a preparing part is kept as
     * prepared (backups may hold its prepare); a prepared part stays where this member is still primary (its
     * reservation is gone: a commit reserves afresh) and becomes a held prepare where it is a backup now; a commit or
     * rollback under way no longer waits for members that own no copy of its partition now.
     */
    private void dropUnprepared()
    {
        final List<TxPart> dropped = new ArrayList<>();
        for (final TxPart part : new ArrayList<>(parts.values()))
        {
            if (part.state == TxParticipantState.COMMITTING || part.state == TxParticipantState.ROLLING_BACK)
            {
                participant.forgetFormerOwners(part);
                continue;
            }
            final PartitionCopy lp = context.copy(part.key.cacheId(), part.key.partition());
            final int rank = lp == null ? -1 : context.rankHere(part.key.cacheId(), part.key.partition());
            if (part.state == TxParticipantState.PREPARING)
            {
                // Some backups may hold its prepare: keep it like a prepared part, so the coming rollback (its
                // coordinator aborts it) reaches them, or recovery decides it if the coordinator is gone.
                part.state = part.state.moveTo(TxParticipantState.PREPARED);
                part.preparedSinceNs = context.nowNs();
            }
            if (part.state == TxParticipantState.PREPARED && rank > 0)
            {
                prepared.put(part.key, new TxPrepared(part.key, part.priority, part.writeKeys, part.writeValues,
                    part.participants, context.nowNs(), false));
            }
            if (part.state == TxParticipantState.PREPARED && rank == 0)
            {
                // The exchange dropped the reservation on every copy (HWM back to LWM); a commit reserves afresh.
                part.start = -1;
                part.version = context.mapVersion();
                continue;
            }
            if (part.wait != null)
            {
                answer(part.key, ANSWER_LOCKED, part.wait.requestId, STATUS_REMAP, null, null);
            }
            parts.remove(part.key);
            dropped.add(part);
        }
        // Removed from the parts first, so that releasing one never grants its key to another being dropped.
        dropped.forEach(lockTable::releaseLocks);
    }

    /**
     * This member became the primary of a partition whose prepare it held (as a backup's, or recovered): the prepare
     * becomes a prepared part here, holding its keys' locks, and its end will be logged.
     */
    private void takeOver(final TxPrepared p)
    {
        final TxPart part = new TxPart(p.key(), p.priority(), context.mapVersion());
        part.state = part.state.moveTo(TxParticipantState.PREPARED);
        part.backupsMayHold = true;
        part.writeKeys = p.keys();
        part.writeValues = p.values();
        part.count = p.keys().length;
        part.participants = p.participants();
        // Logged here as the backup's (or a recovered) prepare: its end is logged too.
        part.prepareLogged = true;
        part.prepareDurable = true;
        part.preparedSinceNs = context.nowNs();
        parts.put(p.key(), part);
        lockTable.holdOrOwe(part, p.keys());
    }

    /**
     * This member stops or is removed: its own undecided transactions abort with {@code error} (their participants are
     * told when possible, and roll back anyway once this member is gone); decided ones end with commit status unknown.
     * Participant state is dropped with the copies.
     */
    @Override
    public void abandon(final GridException error, final boolean clearParticipants)
    {
        for (final TxCoordinator.NearTx tx : new ArrayList<>(coordinator.nearTxs.values()))
        {
            if (tx.state == TxState.COMMITTING || tx.state == TxState.PREPARING ||
                (tx.state == TxState.ROLLING_BACK && tx.answerAfterRollback))
            {
                // Preparing: the rollback sent now may not arrive before this member is gone, and then the
                // participants' recovery commits if every one of them prepared. Only an active transaction (no
                // prepare sent) is surely rolled back.
                coordinator.completeUser(tx, new TransactionCommitStatusUnknownException("member " +
                    context.memberId() +
                    " stopped before every partition confirmed " + (tx.state == TxState.COMMITTING ?
                    "the commit" : tx.state == TxState.ROLLING_BACK ? "the rollback" : "the prepare") +
                    " of transaction " + tx.seq + "; it commits if every " +
                    "participant prepared"));
                if (tx.state == TxState.PREPARING)
                {
                    tx.state = tx.state.moveTo(TxState.DONE);
                }
            }
            else
            {
                coordinator.abort(tx, error);
            }
        }
        coordinator.nearTxs.clear();
        if (clearParticipants)
        {
            TxAbandon.clearParticipants(this);
        }
    }

    @Override
    public void abandonKeepingPrepares(final GridException error)
    {
        TxAbandon.abandonKeepingPrepares(this, error);
    }

    /**
     * Timers: transaction timeouts, lock-wait timeouts, resends of unanswered requests, recovery questions.
     */
    @Override
    public int duty()
    {
        int work = 0;
        final long nowNs = context.nowNs();
        final long retryNs = context.retryIntervalNs();
        for (final TxCoordinator.NearTx tx : new ArrayList<>(coordinator.nearTxs.values()))
        {
            if (nowNs >= tx.deadlineNs)
            {
                if (tx.state == TxState.ACTIVE || tx.state == TxState.PREPARING)
                {
                    coordinator.abort(tx, new TransactionAbortedException(ErrorCode.TX_TIMEOUT,
                        "the transaction did not " +
                        (tx.state == TxState.ACTIVE ? "get its locks" : "prepare") + " within its timeout of " +
                        (tx.deadlineNs - tx.startedNs) / 1_000_000 + " ms"));
                    work++;
                    continue;
                }
                if (tx.state == TxState.COMMITTING && !tx.userAnswered && tx.commitCallback != null)
                {
                    coordinator.completeUser(tx, new TransactionCommitStatusUnknownException("transaction " + tx.seq +
                        " was decided to commit but not every partition confirmed within the timeout; it goes on " +
                        "committing"));
                }
            }
            if (context.isExchanging())
            {
                continue;
            }
            work += resendUnanswered(tx, nowNs, retryNs);
        }
        if ((!prepared.isEmpty() || !parts.isEmpty()) && nowNs >= recovery.nextOrphanCheckNs && !context.isExchanging())
        {
            recovery.nextOrphanCheckNs = nowNs + retryNs;
            work += recovery.askAboutOrphanedPrepares();
        }
        return work + participantDuty(nowNs, retryNs);
    }

    /** The coordinator's resends of a transaction's requests that got no answer within the retry interval. */
    private int resendUnanswered(final TxCoordinator.NearTx tx, final long nowNs, final long retryNs)
    {
        int work = 0;
        for (final TxCoordinator.NearPart part : new ArrayList<>(tx.parts.values()))
        {
            if (nowNs - part.lastSentNs < retryNs || !coordinator.nearTxs.containsKey(tx.seq))
            {
                continue;
            }
            if (tx.state == TxState.ACTIVE && !part.lockQueue.isEmpty())
            {
                coordinator.sendLock(tx, part);
                work++;
            }
            else if (part.request == MessageTypes.TX_PREPARE && !part.answered &&
                (tx.state == TxState.PREPARING || (tx.onePhase && tx.state == TxState.COMMITTING)))
            {
                coordinator.sendPrepare(tx, part);
                work++;
            }
            else if ((part.request == MessageTypes.TX_COMMIT ||
                part.request == MessageTypes.TX_ROLLBACK) && !part.answered)
            {
                coordinator.sendFinish(tx, part);
                work++;
            }
        }
        return work;
    }

    /** The participant's timers: lock waits past their deadline, resends to backups, recovery questions. */
    private int participantDuty(final long nowNs, final long retryNs)
    {
        int work = lockTable.refuseHeldReadsWithoutQuorum();
        for (final TxPart part : new ArrayList<>(parts.values()))
        {
            if (parts.get(part.key) != part)
            {
                continue;
            }
            if (part.state == TxParticipantState.LOCKING && part.wait != null && nowNs >= part.wait.deadlineNs)
            {
                final long requestId = part.wait.requestId;
                lockTable.drop(part);
                answerError(part.key, ANSWER_LOCKED, requestId, new TransactionAbortedException(ErrorCode.TX_TIMEOUT,
                    "waited for a lock on partition " + part.key.partition() + " past the transaction's timeout"));
                work++;
                continue;
            }
            if (nowNs - part.lastSentNs < retryNs)
            {
                continue;
            }
            if (!part.pendingBackups.isEmpty())
            {
                // Also during an exchange: this member's report waits for these to finish.
                participant.sendBackups(part, part.backupKind, false);
                work++;
            }
            if (part.recovering && !context.isExchanging())
            {
                recovery.sendStatusQueries(part);
                recovery.decideRecovery(part);
                work++;
            }
        }
        return work;
    }

    boolean isPrimary(final int cacheId, final int partition)
    {
        return context.rankHere(cacheId, partition) == 0;
    }

    void answer(final TxPartKey key, final int kind, final long requestId, final int status,
        final GridException error, final byte[][] values)
    {
        if (!context.isMember(key.coordinator()))
        {
            return;
        }
        if (kind == ANSWER_COMMITTED && status == STATUS_OK && context.mapVersion() > context.settledVersion())
        {
            // Until the map settled, as a single write's answer (see HeldCommits); asked again meanwhile, too.
            heldCommits.hold(key, context.mapVersion());
            return;
        }
        final TxAnswerEncoder out = encode(wire.txAnswerOut, key.coordinator());
        out.kind((short)kind).tx(key.seq()).cacheId(key.cacheId()).partition(key.partition()).requestId(requestId)
            .status((short)status).errorCode(status == STATUS_ERROR ? error.errorCode().code() : 0);
        final TxAnswerEncoder.ValuesEncoder group = out.valuesCount(values == null ? 0 : values.length);
        if (values != null)
        {
            for (final byte[] value : values)
            {
                group.next().hasValue(MemberMessages.has(value))
                    .putValue(MemberMessages.orEmpty(value), 0, MemberMessages.orEmpty(value).length);
            }
        }
        final byte[] message = MemberMessages.utf8(status == STATUS_ERROR ? error.detail() : null);
        out.putMessage(message, 0, message.length);
        send(out, key.coordinator());
    }

    /** Start a transaction message to {@code destination}: its header, then {@code encoder} for the caller to fill. */
    <E extends MessageEncoderFlyweight> E encode(final E encoder, final long destination)
    {
        return context.messages().encode(encoder, context.incarnation(), destination);
    }

    /** End the message {@code encoder} holds and send it ({@link TransactionContext#send}). */
    void send(final MessageEncoderFlyweight encoder, final long destination)
    {
        context.messages().finish(encoder);
        context.send(destination);
    }

    /** @return {@code decoder} on the message being handled, checked whole (see {@code MemberMessages#decode}). */
    <D extends MessageDecoderFlyweight> D decode(final D decoder)
    {
        return context.messages().decode(decoder);
    }


    void answerError(final TxPartKey key, final int kind, final long requestId, final GridException error)
    {
        answer(key, kind, requestId, STATUS_ERROR, error, null);
    }
}
