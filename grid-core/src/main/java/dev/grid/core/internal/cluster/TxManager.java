package dev.grid.core.internal.cluster;

import dev.grid.core.CacheDestroyedException;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.PartitionLostException;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.TransactionCommitStatusUnknownException;
import org.agrona.collections.LongHashSet;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Transactions of one member, run on its engine's thread as part of {@link MemberEngine}: the coordinator side
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
 * <b>Threading:</b> the engine's thread only.
 */
final class TxManager
{
    private static final int QUERY_ACTIVE = 0;
    private static final int QUERY_COMMITTED = 1;
    private static final int QUERY_ROLLED_BACK = 2;
    private static final int QUERY_UNKNOWN = 3;

    private static final int ANSWER_LOCKED = 1;
    private static final int ANSWER_PREPARED = 2;
    private static final int ANSWER_COMMITTED = 3;
    private static final int ANSWER_ROLLED_BACK = 4;

    private static final int STATUS_OK = 0;
    private static final int STATUS_REMAP = 1;
    private static final int STATUS_ERROR = 2;

    private static final int BACKUP_PREPARE = 1;
    private static final int BACKUP_COMMIT = 2;
    private static final int BACKUP_ROLLBACK = 3;
    /** How a backup answering a prepare saw the transaction end (TX_BACKUP_ACK's outcome byte). */
    private static final int OUTCOME_NONE = 0;
    private static final int OUTCOME_COMMITTED = 1;
    private static final int OUTCOME_ROLLED_BACK = 2;

    private static final int PART_PREPARED = 1;
    private static final int PART_COMMITTED = 2;
    private static final int PART_ROLLED_BACK = 3;

    /** Retry intervals after which a backup asks about a prepare whose coordinator is alive. */
    private static final int STALE_PREPARE_INTERVALS = 8;
    /** How many finished transaction parts each member remembers, to answer late or repeated messages. */
    static final int FINISHED_REMEMBERED = 1 << 16;

    private static final byte[][] NO_VALUES = new byte[0][];

    private final MemberEngine engine;

    // Coordinator side.
    private final LinkedHashMap<Long, NearTx> nearTxs = new LinkedHashMap<>();
    private long nextRequestId = 1;
    private long nextOrphanCheckNs;
    private long lastPriority;
    /** Why recently finished transactions aborted, so a later step of one names the cause, not just "finished". */
    private final LinkedHashMap<Long, GridException> abortCauses = new LinkedHashMap<>(64, 0.75f, false)
    {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(final Map.Entry<Long, GridException> eldest)
        {
            return size() > 4096;
        }
    };

    // Participant side.
    private final HashMap<PartKey, Part> parts = new HashMap<>();
    private final HashMap<PartKey, Prepared> prepared = new HashMap<>();
    /**
     * As coordinator: the outcome of this member's recent transactions (seq: committed or rolled back), so that a
     * participant holding a stale prepare (it came back from its WAL after the end was sent) learns how it ended.
     */
    private final LinkedHashMap<Long, Boolean> outcomes = new LinkedHashMap<>(1024, 0.75f, false)
    {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(final Map.Entry<Long, Boolean> eldest)
        {
            return size() > FINISHED_REMEMBERED;
        }
    };
    private final HashMap<PartKey, Boolean> applying = new HashMap<>();
    private final HashMap<CacheKey, KeyLock> locks = new HashMap<>();
    /**
     * The parts the loaded checkpoint's manifest lists as committed (recovery only; see forgetCommittedBeforeImage).
     */
    private final List<PartKey> checkpointCommitted = new ArrayList<>();
    private final LinkedHashMap<PartKey, Boolean> finished = new LinkedHashMap<>(1024, 0.75f, false)
    {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(final Map.Entry<PartKey, Boolean> eldest)
        {
            return size() > FINISHED_REMEMBERED;
        }
    };

    TxManager(final MemberEngine engine)
    {
        this.engine = engine;
    }

    /**
     * @return true if a prepared part still waits for a backup to acknowledge its prepare (sent again at install, so
     *         that every copy that may become primary holds it): the exchange report waits for these.
     */
    boolean hasUnacknowledgedPrepares()
    {
        for (final Part part : parts.values())
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
    boolean isApplyingOn(final int cacheId, final int partition)
    {
        for (final Part part : parts.values())
        {
            if (part.key.cacheId == cacheId && part.key.partition == partition &&
                (part.state == TxParticipantState.COMMITTING || part.state == TxParticipantState.ROLLING_BACK))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * @return true if no transaction is in flight here, as coordinator or participant.
     */
    boolean isIdle()
    {
        return nearTxs.isEmpty() && parts.isEmpty() && prepared.isEmpty() && applying.isEmpty();
    }

    String describe()
    {
        int preparedParts = 0;
        for (final Part part : parts.values())
        {
            if (part.state == TxParticipantState.PREPARED)
            {
                preparedParts++;
            }
        }
        final StringBuilder stuck = new StringBuilder();
        for (final Part part : parts.values())
        {
            if (stuck.length() < 600)
            {
                stuck.append(" part ").append(Long.toHexString(part.key.coordinator)).append('/').append(part.key.seq)
                    .append(" p").append(part.key.partition).append(' ').append(part.state).append(" v")
                    .append(part.version).append(" recovering=").append(part.recovering).append(" durable=")
                    .append(part.durable).append(" pending=").append(part.pendingBackups);
            }
        }
        for (final PartKey key : prepared.keySet())
        {
            if (stuck.length() < 600)
            {
                stuck.append(" prepared ").append(Long.toHexString(key.coordinator)).append('/').append(key.seq)
                    .append(" p").append(key.partition);
            }
        }
        return "txs=" + nearTxs.size() + " txParts=" + parts.size() + " txPartsPrepared=" + preparedParts +
            " txPrepared=" + prepared.size() +
            " locks=" + locks.size() + (stuck.length() > 0 ? " [" + stuck.toString().trim() + "]" : "");
    }

    /**
     * Remember a transaction's write replayed from the WAL as committed, so a late commit or status question is
     * answered rather than applied again.
     */
    void replayCommitted(final long coordinator, final long seq, final int cacheId, final int partition)
    {
        final PartKey key = new PartKey(coordinator, seq, cacheId, partition);
        finished.put(key, Boolean.TRUE);
        prepared.remove(key);
    }

    /**
     * The prepared transactions this member holds, by copy ({@link MemberEngine#packCopy}): per copy, the
     * transactions' (coordinator, seq) pairs, sorted. They go into this member's exchange report, so that where the
     * durable table of last owners picks a partition's primary, it picks a copy holding every prepare another last
     * owner's copy holds ({@code MemberEngine.leadRank}).
     */
    Map<Long, long[]> preparesByCopy()
    {
        final HashMap<Long, List<PartKey>> keys = new HashMap<>();
        for (final PartKey key : prepared.keySet())
        {
            keys.computeIfAbsent(MemberEngine.packCopy(key.cacheId, key.partition), c -> new ArrayList<>()).add(key);
        }
        for (final Part part : parts.values())
        {
            if (part.state == TxParticipantState.PREPARED && !prepared.containsKey(part.key))
            {
                keys.computeIfAbsent(MemberEngine.packCopy(part.key.cacheId, part.key.partition),
                    c -> new ArrayList<>()).add(part.key);
            }
        }
        final HashMap<Long, long[]> byCopy = new HashMap<>();
        keys.forEach((copy, list) ->
        {
            list.sort((a, b) -> a.coordinator != b.coordinator ? Long.compare(a.coordinator, b.coordinator) :
                Long.compare(a.seq, b.seq));
            final long[] pairs = new long[list.size() * 2];
            for (int i = 0; i < list.size(); i++)
            {
                pairs[2 * i] = list.get(i).coordinator;
                pairs[2 * i + 1] = list.get(i).seq;
            }
            byCopy.put(copy, pairs);
        });
        return byCopy;
    }

    /**
     * Replay a prepare logged here ({@link MemberEngine#WAL_TX_PREPARE}): held like a backup's prepare, so that once
     * the cluster is active the partition's primary recovers it (its coordinator is gone after a restart).
     */
    void replayPrepare(final MessageReader reader)
    {
        final PartKey key = new PartKey(reader.readLong("coordinator"), reader.readLong("tx"),
            reader.readInt("cacheId"), reader.readInt("partition", 0, 65_535));
        final long priority = reader.readLong("priority");
        final long[] participants = readParticipants(reader);
        final byte[][][] writes = readWrites(reader);
        if (!finished.containsKey(key))
        {
            prepared.put(key, new Prepared(key, priority, writes[0], writes[1], participants, engine.nowNs, true));
        }
    }

    /**
     * Replay a copy dropped (or every copy, or a cache destroyed): prepares of its lineage are void.
     *
     * @param cacheId   the cache.
     * @param partition the partition, or -1 for every partition of the cache, or cacheId -1 for every copy.
     */
    void forgetPrepared(final int cacheId, final int partition)
    {
        prepared.keySet().removeIf(key -> cacheId < 0 || (key.cacheId == cacheId &&
            (partition < 0 || key.partition == partition)));
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
    void forgetCommitted(final int cacheId, final int partition)
    {
        if (!finished.isEmpty())
        {
            finished.entrySet().removeIf(e -> e.getValue() && e.getKey().cacheId == cacheId &&
                e.getKey().partition == partition);
        }
    }

    /**
     * Replay reached the drop of a copy older than the checkpoint's image of the partition: the commits replayed so
     * far belong to the dropped copy and are forgotten, those of the checkpoint's manifest (taken after the drop)
     * stay.
     */
    void forgetCommittedBeforeImage(final int cacheId, final int partition)
    {
        forgetCommitted(cacheId, partition);
        for (final PartKey key : checkpointCommitted)
        {
            if (key.cacheId == cacheId && key.partition == partition)
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
    void relogPrepared(final int cacheId, final int partition)
    {
        for (final Prepared p : prepared.values())
        {
            if (p.key.cacheId == cacheId && p.key.partition == partition)
            {
                engine.walRecords.appendTxPrepare(p.key, p.priority, p.participants, p.keys, p.values);
            }
        }
    }

    /**
     * @return the parts of a partition prepared here and still open: held as a backup's, or this member's as primary
     *         (preparing, prepared or committing).
     */
    List<PartKey> openOn(final int cacheId, final int partition)
    {
        final List<PartKey> result = new ArrayList<>();
        for (final PartKey key : prepared.keySet())
        {
            if (key.cacheId == cacheId && key.partition == partition)
            {
                result.add(key);
            }
        }
        for (final Part part : parts.values())
        {
            if (part.key.cacheId == cacheId && part.key.partition == partition && !prepared.containsKey(part.key) &&
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
     * that the supplier does not hold open ({@code supplierOpen}, its {@link #openOn}) are void, and logged so
     * ({@link MemberEngine#WAL_TX_VOID}). The supplier owns the partition, and an owner holds every prepare of it
     * still open (a primary answers "prepared" only once every copy of its map held the prepare, and a member reports
     * for the next exchange only once every copy acknowledged the prepares it sent). A recovered prepare the supplier
     * lacks was finished by the others while this member was away: kept, and re-logged with the rebuilt copy, it came
     * back as this member became the partition's primary, and recovery, finding it prepared here and on its other
     * partition (also this member's, also stale), committed a transfer whose coordinator had rolled it back, over
     * later transfers (whole-cluster bank seed 0x16acbe39). Prepares this member received in this life are kept: one
     * may still be on its way to the supplier.
     */
    void voidReplayedNotOpen(final int cacheId, final int partition, final Set<PartKey> supplierOpen)
    {
        for (final Prepared p : new ArrayList<>(prepared.values()))
        {
            if (p.replayed && p.key.cacheId == cacheId && p.key.partition == partition &&
                !supplierOpen.contains(p.key))
            {
                prepared.remove(p.key);
                engine.walRecords.appendTxVoid(p.key);
                engine.listener.onEvent("member " + engine.config.memberId() + " voids the prepare of transaction " +
                    p.key.seq + " of " + Long.toHexString(p.key.coordinator) + " on partition " + partition +
                    " it recovered: the rebalance's supplier holds it no longer");
            }
        }
    }

    /**
     * Replay a void recovered prepare ({@link MemberEngine#WAL_TX_VOID}): forgotten, its outcome unknown here.
     */
    void replayVoid(final PartKey key)
    {
        prepared.remove(key);
    }

    /**
     * Replay the end of a prepared part ({@link MemberEngine#WAL_TX_END}).
     */
    void replayEnd(final PartKey key, final boolean committed)
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
    void encodePrepared(final MessageWriter writer)
    {
        final List<Prepared> open = new ArrayList<>(prepared.values());
        for (final Part part : parts.values())
        {
            if (part.prepareLogged && (part.state == TxParticipantState.PREPARING ||
                part.state == TxParticipantState.PREPARED) && !prepared.containsKey(part.key))
            {
                open.add(new Prepared(part.key, part.priority, part.writeKeys, part.writeValues, part.participants,
                    engine.nowNs, false));
            }
        }
        writer.writeInt(open.size());
        for (final Prepared p : open)
        {
            writer.writeLong(p.key.coordinator).writeLong(p.key.seq).writeInt(p.key.cacheId)
                .writeInt(p.key.partition).writeLong(p.priority);
            final long[] participants = p.participants == null ? new long[0] : p.participants;
            writer.writeInt(participants.length);
            for (final long participant : participants)
            {
                writer.writeLong(participant);
            }
            writer.writeInt(p.keys.length);
            for (int i = 0; i < p.keys.length; i++)
            {
                writer.writeBytes(p.keys[i]).writeBytes(p.values[i]);
            }
        }
    }

    /**
     * Load the prepared parts of a checkpoint's manifest ({@link #encodePrepared}).
     */
    void decodePrepared(final MessageReader reader)
    {
        final int count = reader.readInt("prepared", 0, 1 << 24);
        for (int i = 0; i < count; i++)
        {
            replayPrepare(reader);
        }
        final int committed = reader.readInt("committed", 0, 1 << 24);
        checkpointCommitted.clear();
        for (int i = 0; i < committed; i++)
        {
            final PartKey key = new PartKey(reader.readLong("coordinator"), reader.readLong("tx"),
                reader.readInt("cacheId"), reader.readInt("partition", 0, 65_535));
            finished.put(key, Boolean.TRUE);
            checkpointCommitted.add(key);
        }
    }

    /**
     * For a checkpoint's manifest: the parts remembered as committed, and those committing here (their writes are
     * applied and logged, the backups' acknowledgements still awaited). Replay rebuilds them from the commits' WAL
     * records, which the checkpoint may release; without them a participant recovering after a whole-cluster restart
     * would take a part committed before the checkpoint for one never prepared, and roll its transaction back
     * elsewhere. A part still committing when the checkpoint was taken was in neither list, its writes' records
     * before the checkpoint's replay position: its member, back as the partition's primary, answered "never prepared"
     * and the other partition rolled back (whole-cluster bank seed 0x16acbe62).
     */
    void encodeCommitted(final MessageWriter writer)
    {
        final List<PartKey> committed = new ArrayList<>();
        for (final Map.Entry<PartKey, Boolean> entry : finished.entrySet())
        {
            if (entry.getValue())
            {
                committed.add(entry.getKey());
            }
        }
        for (final Part part : parts.values())
        {
            if (part.state == TxParticipantState.COMMITTING && !finished.containsKey(part.key))
            {
                committed.add(part.key);
            }
        }
        writer.writeInt(committed.size());
        for (final PartKey key : committed)
        {
            writer.writeLong(key.coordinator).writeLong(key.seq).writeInt(key.cacheId).writeInt(key.partition);
        }
    }

    /**
     * The transaction parts this member remembers as finished on one partition (a rebalance supplier ships them, so
     * that the caught-up copy, once primary, answers a late commit instead of applying it again).
     *
     * @return {coordinator, seq, committed ? 1 : 0} per part.
     */
    List<long[]> finishedOn(final int cacheId, final int partition)
    {
        final List<long[]> result = new ArrayList<>();
        for (final Map.Entry<PartKey, Boolean> entry : finished.entrySet())
        {
            final PartKey key = entry.getKey();
            if (key.cacheId == cacheId && key.partition == partition)
            {
                result.add(new long[] {key.coordinator, key.seq, entry.getValue() ? 1 : 0});
            }
        }
        return result;
    }

    /**
     * Remember a part finished elsewhere (rebalance, or its replay), unless this member knows it already.
     */
    void rememberFinished(final long coordinator, final long seq, final int cacheId, final int partition,
        final boolean committed)
    {
        final PartKey key = new PartKey(coordinator, seq, cacheId, partition);
        if (finished.putIfAbsent(key, committed) == null)
        {
            // A prepare held here for a transaction that finished elsewhere (its outcome is in the rebalanced data)
            // is void: nothing will come to finish it.
            prepared.remove(key);
            final Part part = parts.get(key);
            if (part != null && (part.state == TxParticipantState.PREPARED ||
                part.state == TxParticipantState.LOCKING))
            {
                parts.remove(key);
                releaseLocks(part);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Coordinator side: the user's API.
    // ------------------------------------------------------------------------------------------------------------

    long begin(final long timeoutNs, final long priority)
    {
        final long seq = engine.newSequence();
        if (priority == 0)
        {
            // Strictly increasing per member: two transactions begun in one duty cycle (one cached clock reading)
            // still have distinct ages, the later one younger. Equal ages mean a retry and its predecessor.
            lastPriority = Math.max(engine.nowNs, lastPriority + 1);
        }
        final NearTx tx = new NearTx(seq, priority == 0 ? lastPriority : priority, engine.nowNs,
            MemberEngine.deadlineNs(engine.nowNs, timeoutNs));
        nearTxs.put(seq, tx);
        return seq;
    }

    long priority(final long seq)
    {
        final NearTx tx = nearTxs.get(seq);
        return tx == null ? 0 : tx.priority;
    }

    void enlist(final long seq, final int cacheId, final byte[][] keys, final boolean lock, final TxCallback callback)
    {
        final NearTx tx = nearTxs.get(seq);
        if (tx == null || tx.state != TxState.ACTIVE)
        {
            callback.onFailure(notActive(seq, tx));
            return;
        }
        final CacheDescriptor cache = engine.topology.cache(cacheId);
        if (cache == null)
        {
            final GridException error = new CacheDestroyedException("cache id " + cacheId +
                " was destroyed; the transaction is rolled back");
            abort(tx, error);
            callback.onFailure(error);
            return;
        }
        final Enlist enlist = new Enlist(keys.length, callback);
        final LinkedHashMap<Integer, List<Integer>> byPartition = new LinkedHashMap<>();
        for (int i = 0; i < keys.length; i++)
        {
            byPartition.computeIfAbsent(KeyPartitioner.partition(keys[i], cache.partitions()),
                p -> new ArrayList<>()).add(i);
        }
        enlist.remaining = byPartition.size();
        if (keys.length == 0)
        {
            callback.onSuccess(NO_VALUES);
            return;
        }
        for (final Map.Entry<Integer, List<Integer>> entry : byPartition.entrySet())
        {
            final NearPart part = tx.part(cacheId, entry.getKey());
            final int[] index = entry.getValue().stream().mapToInt(Integer::intValue).toArray();
            final byte[][] partKeys = new byte[index.length][];
            for (int i = 0; i < index.length; i++)
            {
                partKeys[i] = keys[index[i]];
            }
            part.lockQueue.add(new LockRequest(nextRequestId++, partKeys, lock, enlist, index));
            if (part.lockQueue.size() == 1)
            {
                sendLock(tx, part);
            }
            if (tx.state != TxState.ACTIVE)
            {
                return;
            }
        }
    }

    void commit(final long seq, final int[] cacheIds, final byte[][] keys, final byte[][] values,
        final TxCallback callback)
    {
        final NearTx tx = nearTxs.get(seq);
        if (tx == null || tx.state != TxState.ACTIVE)
        {
            callback.onFailure(notActive(seq, tx));
            return;
        }
        if (tx.hasPendingLocks())
        {
            // Refused, and rolled back: the caller takes a refused commit for the end of the transaction (a thin
            // client's connection forgets it), so one left ACTIVE would hold its locks for its whole timeout.
            final GridException error = new GridException(ErrorCode.CONFIGURATION_INVALID,
                "commit while a read or lock of the transaction is still in flight; the transaction is rolled back");
            abort(tx, error);
            callback.onFailure(error);
            return;
        }
        if (engine.membership.refusesForQuorum())
        {
            final GridException error = engine.membership.noQuorum("the commit of a transaction; it is rolled back");
            final TransactionAbortedException aborted = new TransactionAbortedException(ErrorCode.NO_QUORUM,
                error.detail());
            abort(tx, aborted);
            callback.onFailure(aborted);
            return;
        }
        for (int i = 0; i < keys.length; i++)
        {
            final CacheDescriptor cache = engine.topology.cache(cacheIds[i]);
            if (cache == null)
            {
                final GridException error = new CacheDestroyedException("cache id " + cacheIds[i] +
                    " was destroyed; the transaction is rolled back");
                abort(tx, error);
                callback.onFailure(error);
                return;
            }
            final NearPart part = tx.parts.get(MemberEngine.packCopy(cacheIds[i], KeyPartitioner.partition(keys[i],
                cache.partitions())));
            if (part == null || !part.lockedKeys.contains(new CacheKey(cacheIds[i], keys[i])))
            {
                final GridException error = new GridException(ErrorCode.CONFIGURATION_INVALID,
                    "a transaction may only write keys it locked first (cache '" + cache.name() + "'); the " +
                    "transaction is rolled back");
                abort(tx, error);
                callback.onFailure(error);
                return;
            }
            part.writeKeys.add(keys[i]);
            part.writeValues.add(values[i]);
        }
        tx.commitCallback = callback;
        tx.prepareStartNs = engine.nowNs;
        final List<NearPart> written = new ArrayList<>();
        for (final NearPart part : tx.parts.values())
        {
            if (!part.writeKeys.isEmpty())
            {
                written.add(part);
            }
        }
        if (written.isEmpty())
        {
            // Read-only: nothing to commit; the locks are released in the background.
            tx.state = tx.state.moveTo(TxState.COMMITTING);
            releaseLockOnlyParts(tx);
            completeUser(tx, null);
            maybeDone(tx);
            return;
        }
        if (written.size() == 1)
        {
            tx.onePhase = true;
            tx.state = tx.state.moveTo(TxState.COMMITTING);
            tx.commitStartNs = engine.nowNs;
            releaseLockOnlyParts(tx);
            final NearPart part = written.get(0);
            part.request = MessageTypes.TX_PREPARE;
            part.answered = false;
            sendPrepare(tx, part);
            return;
        }
        tx.state = tx.state.moveTo(TxState.PREPARING);
        tx.participants = new long[written.size()];
        for (int i = 0; i < written.size(); i++)
        {
            tx.participants[i] = MemberEngine.packCopy(written.get(i).cacheId, written.get(i).partition);
        }
        for (final NearPart part : written)
        {
            part.request = MessageTypes.TX_PREPARE;
            part.answered = false;
        }
        for (final NearPart part : written)
        {
            sendPrepare(tx, part);
            if (tx.state != TxState.PREPARING)
            {
                return;
            }
        }
    }

    /**
     * @return the transactions this member coordinates now, oldest first.
     */
    List<MemberEngine.TransactionView> views()
    {
        final List<MemberEngine.TransactionView> views = new ArrayList<>(nearTxs.size());
        for (final NearTx tx : nearTxs.values())
        {
            int locked = 0;
            for (final NearPart part : tx.parts.values())
            {
                locked += part.lockedKeys.size();
            }
            views.add(new MemberEngine.TransactionView(tx.seq, tx.state.name(), engine.nowNs - tx.startedNs,
                tx.parts.size(), locked));
        }
        return views;
    }

    /**
     * @param seq a transaction's id.
     * @return whether this member coordinates it now.
     */
    boolean coordinates(final long seq)
    {
        return nearTxs.containsKey(seq);
    }

    void rollback(final long seq, final TxCallback callback)
    {
        final NearTx tx = nearTxs.get(seq);
        if (tx == null || tx.state == TxState.ROLLING_BACK || tx.state == TxState.DONE)
        {
            callback.onSuccess(NO_VALUES);
            return;
        }
        if (tx.state == TxState.COMMITTING)
        {
            callback.onFailure(new GridException(ErrorCode.CONFIGURATION_INVALID,
                "the transaction is already committing"));
            return;
        }
        abort(tx, new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK, "the transaction was rolled back"));
        callback.onSuccess(NO_VALUES);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Coordinator side: messages.
    // ------------------------------------------------------------------------------------------------------------

    private void sendLock(final NearTx tx, final NearPart part)
    {
        final LockRequest request = part.lockQueue.peek();
        if (request == null || engine.isExchanging())
        {
            return;
        }
        final PartitionMap map = engine.installedMap;
        if (request.lock)
        {
            if (tx.version < 0 || !tx.lockedAny)
            {
                tx.version = map.version();
            }
            else if (tx.version != map.version())
            {
                abort(tx, topologyChanged(tx));
                return;
            }
        }
        final long primary = addressPrimary(part, MessageTypes.TX_LOCK);
        if (primary == 0)
        {
            return;
        }
        if (request.lock)
        {
            part.touched = true;
        }
        final long version = request.lock ? tx.version : map.version();
        if (request.sentVersion >= 0 && request.sentVersion != version)
        {
            // The primary dropped what it granted under the old map when it installed the new one: an answer to the
            // old send still on its way must not count as this one's (its values may be older than the lock's).
            request.requestId = nextRequestId++;
        }
        request.sentVersion = version;
        engine.writer.writeLong(tx.seq).writeLong(tx.priority).writeLong(version)
            .writeInt(part.cacheId).writeInt(part.partition).writeLong(request.requestId).writeBoolean(request.lock)
            .writeLong(Math.max(0, tx.deadlineNs - engine.nowNs)).writeInt(request.keys.length);
        for (final byte[] key : request.keys)
        {
            engine.writer.writeBytes(key);
        }
        engine.sendTx(primary);
    }

    /**
     * Note the send time, find the partition's primary in the installed map and start a message of {@code type} to it.
     *
     * @return the primary's incarnation, or 0 if the partition has none (no message started).
     */
    private long addressPrimary(final NearPart part, final int type)
    {
        final MemberRecord primary = engine.installedMap.primary(part.cacheId, part.partition);
        part.lastSentNs = engine.nowNs;
        if (primary == null)
        {
            return 0;
        }
        part.primary = primary.incarnation();
        engine.header(type, part.primary);
        return part.primary;
    }

    private void sendPrepare(final NearTx tx, final NearPart part)
    {
        if (engine.isExchanging())
        {
            return;
        }
        final PartitionMap map = engine.installedMap;
        if (map.version() != tx.version && !tx.onePhase)
        {
            abort(tx, topologyChanged(tx));
            return;
        }
        final long primary = addressPrimary(part, MessageTypes.TX_PREPARE);
        if (primary == 0)
        {
            return;
        }
        part.touched = true;
        if (part.prepareSentTo != 0 && part.prepareSentTo != primary)
        {
            part.prepareSentToAnother = true;
        }
        part.prepareSentTo = primary;
        engine.writer.writeLong(tx.seq).writeLong(tx.version).writeInt(part.cacheId).writeInt(part.partition)
            .writeBoolean(tx.onePhase);
        final long[] participants = tx.participants == null ? new long[0] : tx.participants;
        engine.writer.writeInt(participants.length);
        for (final long participant : participants)
        {
            engine.writer.writeLong(participant);
        }
        writeWrites(part);
        engine.sendTx(primary);
    }

    private void sendFinish(final NearTx tx, final NearPart part)
    {
        if (engine.isExchanging())
        {
            return;
        }
        if (part.request == MessageTypes.TX_ROLLBACK && tx.answerAfterRollback &&
            engine.topology.cache(part.cacheId) != null &&
            !canRecordRollback(part))
        {
            // The partition is lost: its last owners are away, may hold the prepare durably and come back with it,
            // and a copy standing in for them records nothing their recovery consults. So the rollback waits (sent
            // again every retry interval) until the partition is back or reset.
            part.lastSentNs = engine.nowNs;
            unreachableRollback(tx);
            return;
        }
        final long primary = addressPrimary(part, part.request);
        if (primary == 0)
        {
            // Every copy of the partition is gone: nothing is left there to commit or release.
            part.answered = true;
            maybeDone(tx);
            return;
        }
        engine.writer.writeLong(tx.seq).writeInt(part.cacheId).writeInt(part.partition);
        if (part.request == MessageTypes.TX_COMMIT)
        {
            writeWrites(part);
        }
        engine.sendTx(primary);
    }

    private void writeWrites(final NearPart part)
    {
        engine.writer.writeInt(part.writeKeys.size());
        for (int i = 0; i < part.writeKeys.size(); i++)
        {
            engine.writer.writeBytes(part.writeKeys.get(i)).writeBytes(part.writeValues.get(i));
        }
    }

    void onAnswer(final long sender)
    {
        final MessageReader reader = engine.reader;
        final int kind = reader.readByte("kind");
        final long seq = reader.readLong("tx");
        final int cacheId = reader.readInt("cacheId");
        final int partition = reader.readInt("partition", 0, 65_535);
        final long requestId = reader.readLong("requestId");
        final int status = reader.readByte("status");
        GridException error = null;
        if (status == STATUS_ERROR)
        {
            error = GridException.of(errorCode(reader.readInt("errorCode")), reader.readString("message"));
        }
        else if (status != STATUS_OK && status != STATUS_REMAP)
        {
            throw new MalformedMessageException("unknown transaction answer status " + status);
        }
        final int count = reader.readInt("values", 0, 1 << 20);
        final byte[][] values = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            values[i] = reader.readBytes("value");
        }
        final NearTx tx = nearTxs.get(seq);
        if (tx == null)
        {
            return;
        }
        final NearPart part = tx.parts.get(MemberEngine.packCopy(cacheId, partition));
        if (part == null || part.primary != sender)
        {
            return;
        }
        switch (kind)
        {
            case ANSWER_LOCKED -> onLocked(tx, part, requestId, status, error, values);
            case ANSWER_PREPARED -> onPrepared(tx, part, status, error);
            case ANSWER_COMMITTED -> onCommitted(tx, part, status, error);
            case ANSWER_ROLLED_BACK -> onRolledBack(tx, part);
            default -> throw new MalformedMessageException("unknown transaction answer kind " + kind);
        }
    }

    private void onLocked(final NearTx tx, final NearPart part, final long requestId, final int status,
        final GridException error, final byte[][] values)
    {
        final LockRequest request = part.lockQueue.peek();
        if (tx.state != TxState.ACTIVE || request == null || request.requestId != requestId)
        {
            return;
        }
        if (status == STATUS_REMAP)
        {
            if (request.lock && tx.lockedAny)
            {
                abort(tx, topologyChanged(tx));
            }
            else
            {
                // Not bound to a map yet: ask again once this member has the primary's map.
                part.lastSentNs = engine.nowNs - engine.retryIntervalNs + Math.max(1, engine.retryIntervalNs / 8);
            }
            return;
        }
        if (error != null)
        {
            abort(tx, error);
            return;
        }
        if (values.length != request.keys.length)
        {
            throw new MalformedMessageException("lock answer with " + values.length + " values for " +
                request.keys.length + " keys");
        }
        part.lockQueue.poll();
        if (request.lock)
        {
            tx.lockedAny = true;
            for (final byte[] key : request.keys)
            {
                part.lockedKeys.add(new CacheKey(part.cacheId, key));
            }
        }
        final Enlist enlist = request.enlist;
        for (int i = 0; i < values.length; i++)
        {
            enlist.values[request.index[i]] = values[i];
        }
        if (--enlist.remaining == 0 && !enlist.done)
        {
            enlist.done = true;
            enlist.callback.onSuccess(enlist.values);
        }
        if (tx.state == TxState.ACTIVE && !part.lockQueue.isEmpty())
        {
            sendLock(tx, part);
        }
    }

    private void onPrepared(final NearTx tx, final NearPart part, final int status, final GridException error)
    {
        if (tx.state != TxState.PREPARING || part.request != MessageTypes.TX_PREPARE || part.answered)
        {
            return;
        }
        if (status != STATUS_OK)
        {
            abort(tx, error != null ? error : topologyChanged(tx));
            return;
        }
        part.answered = true;
        for (final NearPart other : tx.parts.values())
        {
            if (other.request == MessageTypes.TX_PREPARE && !other.answered)
            {
                return;
            }
        }
        // Every written partition prepared: the decision to commit, never revoked from here on.
        tx.state = tx.state.moveTo(TxState.COMMITTING);
        tx.commitStartNs = engine.nowNs;
        engine.listener.onTransactionPrepared(engine.nowNs - tx.prepareStartNs);
        for (final NearPart other : tx.parts.values())
        {
            if (other.request == MessageTypes.TX_PREPARE)
            {
                other.request = MessageTypes.TX_COMMIT;
                other.answered = false;
            }
        }
        releaseLockOnlyParts(tx);
        for (final NearPart other : new ArrayList<>(tx.parts.values()))
        {
            if (other.request == MessageTypes.TX_COMMIT)
            {
                sendFinish(tx, other);
            }
        }
    }

    private void onCommitted(final NearTx tx, final NearPart part, final int status, final GridException error)
    {
        if (tx.state != TxState.COMMITTING || part.answered ||
            (part.request != MessageTypes.TX_COMMIT && !(tx.onePhase && part.request == MessageTypes.TX_PREPARE)))
        {
            return;
        }
        if (status == STATUS_REMAP)
        {
            if (tx.onePhase)
            {
                // The primary that answers has not applied it and will not; a former one it went to may have.
                endOnePhaseNotAppliedHere(tx, part, topologyChanged(tx));
            }
            else
            {
                part.lastSentNs = engine.nowNs - engine.retryIntervalNs + Math.max(1, engine.retryIntervalNs / 8);
            }
            return;
        }
        if (error != null)
        {
            if (tx.onePhase)
            {
                endOnePhaseNotAppliedHere(tx, part, error);
                return;
            }
            // Decided to commit, but this partition says it rolled the transaction back: the outcome is not the
            // same everywhere, and the user must not be told it committed.
            engine.listener.onEvent("transaction " + tx.seq + " partition " + part.partition + " refused commit: " +
                error.getMessage());
            completeUser(tx, new TransactionCommitStatusUnknownException("transaction " + tx.seq + " was decided " +
                "to commit but partition " + part.partition + " of cache id " + part.cacheId + " refused: " +
                error.detail()));
        }
        part.answered = true;
        maybeDone(tx);
    }

    /**
     * A one-phase commit's primary answered that it did not apply it ({@code error}). If every send went to that
     * primary, nothing was applied, and the user hears {@code error}. If an earlier send went to another primary (the
     * map changed meanwhile), that one may have applied it before it failed or stopped being primary, and its copy may
     * come back with the write (a lost partition's last owner does): the user hears that the outcome is unknown
     * (whole-cluster bank seed 0x16acc563: a transfer told {@code TX_TOPOLOGY_CHANGED} was applied).
     */
    private void endOnePhaseNotAppliedHere(final NearTx tx, final NearPart part, final GridException error)
    {
        if (part.prepareSentToAnother)
        {
            completeUser(tx, new TransactionCommitStatusUnknownException("transaction " + tx.seq + " was sent to " +
                "commit in one phase to partition " + part.partition + " of cache id " + part.cacheId + ", whose " +
                "primary changed before it answered; the new primary did not apply it (" + error.errorCode() +
                "), the former one may have"));
        }
        rollBack(tx, error);
    }

    private void onRolledBack(final NearTx tx, final NearPart part)
    {
        if (part.request != MessageTypes.TX_ROLLBACK || part.answered)
        {
            return;
        }
        part.answered = true;
        if (tx.answerAfterRollback && !part.writeKeys.isEmpty())
        {
            // One participant recorded the rollback: recovery can no longer commit the transaction anywhere (a
            // rolled-back part makes every other roll back), so the user may hear "aborted" now. A part that only
            // locked is no participant: recovery never asks it.
            completeUser(tx, tx.abortCause);
        }
        maybeDone(tx);
    }

    /**
     * A rollback after a prepare went out found its partition lost (or without a primary). Once no written partition
     * still waiting for the rollback can record it, none will soon, and if the owners holding the prepare come back
     * after this member is gone, their recovery finds the transaction prepared everywhere and commits it: so the user
     * hears that the outcome is unknown, not "aborted" (whole-cluster bank seed 0x16acc46b: a transfer told aborted
     * after both its partitions were lost committed when the cluster restarted). The rollback goes on being resent.
     */
    private void unreachableRollback(final NearTx tx)
    {
        if (tx.userAnswered)
        {
            return;
        }
        for (final NearPart part : tx.parts.values())
        {
            if (part.request == MessageTypes.TX_ROLLBACK && !part.answered && !part.writeKeys.isEmpty() &&
                canRecordRollback(part))
            {
                return;
            }
        }
        completeUser(tx, new TransactionCommitStatusUnknownException("transaction " + tx.seq + " aborted (" +
            tx.abortCause.errorCode() + ") after its prepare went out, and no participant could record the " +
            "rollback: the partitions are lost; it commits if their owners return holding the prepare everywhere " +
            "and this member is gone by then"));
    }

    /**
     * @return whether the partition's primary in the installed map holds a copy whose record of a rollback the
     * recovery of a prepare would consult: one exists and the partition is not lost.
     */
    private boolean canRecordRollback(final NearPart part)
    {
        final PartitionMap map = engine.installedMap;
        return map.primary(part.cacheId, part.partition) != null && !map.isLost(part.cacheId, part.partition);
    }

    private void releaseLockOnlyParts(final NearTx tx)
    {
        for (final NearPart part : new ArrayList<>(tx.parts.values()))
        {
            if (part.writeKeys.isEmpty() && part.touched)
            {
                part.request = MessageTypes.TX_ROLLBACK;
                part.answered = false;
                sendFinish(tx, part);
            }
        }
    }

    private void maybeDone(final NearTx tx)
    {
        if (tx.state != TxState.COMMITTING && tx.state != TxState.ROLLING_BACK)
        {
            return;
        }
        for (final NearPart part : tx.parts.values())
        {
            if (part.request != 0 && !part.answered)
            {
                return;
            }
        }
        final TxState was = tx.state;
        tx.state = tx.state.moveTo(TxState.DONE);
        nearTxs.remove(tx.seq);
        outcomes.put(tx.seq, was == TxState.COMMITTING);
        if (tx.abortCause != null)
        {
            abortCauses.put(tx.seq, tx.abortCause);
        }
        if (was == TxState.COMMITTING)
        {
            completeUser(tx, null);
        }
        else if (tx.answerAfterRollback)
        {
            completeUser(tx, tx.abortCause);
        }
    }

    private void completeUser(final NearTx tx, final GridException error)
    {
        if (tx.userAnswered || tx.commitCallback == null)
        {
            return;
        }
        tx.userAnswered = true;
        final long totalNs = engine.nowNs - tx.startedNs;
        engine.listener.onTransactionFinished(error == null ? 0 : error.errorCode().code(),
            tx.commitStartNs == 0 || error != null ? -1 : engine.nowNs - tx.commitStartNs, totalNs);
        if (error == null)
        {
            tx.commitCallback.onSuccess(NO_VALUES);
        }
        else
        {
            tx.commitCallback.onFailure(error);
        }
    }

    /**
     * Roll back a transaction not yet decided: fail what its user waits for with {@code error} and release whatever
     * its participants hold.
     */
    private void abort(final NearTx tx, final GridException error)
    {
        if (tx.state != TxState.ACTIVE && tx.state != TxState.PREPARING)
        {
            return;
        }
        rollBack(tx, error);
    }

    /**
     * Roll a transaction back at every partition it touched: from ACTIVE or PREPARING (an abort), or from COMMITTING
     * when its one-phase commit's primary did not apply it.
     */
    private void rollBack(final NearTx tx, final GridException error)
    {
        // Once a prepare went out, every participant may hold it: if this member died before any rollback landed,
        // their recovery would commit. So the user hears "aborted" only once a participant recorded the rollback.
        final boolean prepareSent = tx.state == TxState.PREPARING;
        tx.state = tx.state.moveTo(TxState.ROLLING_BACK);
        tx.abortCause = error;
        for (final NearPart part : tx.parts.values())
        {
            for (final LockRequest request : part.lockQueue)
            {
                if (!request.enlist.done)
                {
                    request.enlist.done = true;
                    request.enlist.callback.onFailure(error);
                }
            }
            part.lockQueue.clear();
        }
        if (tx.commitCallback != null && !prepareSent)
        {
            completeUser(tx, error);
        }
        else if (tx.commitCallback == null)
        {
            engine.listener.onTransactionFinished(error.errorCode().code(), -1, engine.nowNs - tx.startedNs);
        }
        tx.answerAfterRollback = prepareSent;
        // Every part is marked before any is sent: a lost one judges, when sent, whether another can still record it.
        for (final NearPart part : tx.parts.values())
        {
            part.request = part.touched ? MessageTypes.TX_ROLLBACK : 0;
            part.answered = false;
        }
        for (final NearPart part : new ArrayList<>(tx.parts.values()))
        {
            if (part.request == MessageTypes.TX_ROLLBACK)
            {
                sendFinish(tx, part);
            }
        }
        maybeDone(tx);
    }

    private GridException notActive(final long seq, final NearTx tx)
    {
        if (tx != null && tx.abortCause != null)
        {
            return tx.abortCause;
        }
        // Unknown here: finished (an abort's cause is remembered for a while), or never begun.
        final GridException cause = tx == null ? abortCauses.get(seq) : null;
        if (cause != null)
        {
            return cause;
        }
        return new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
            "the transaction is no longer active (finished, rolled back or unknown)");
    }

    private GridException topologyChanged(final NearTx tx)
    {
        return new TransactionAbortedException(ErrorCode.TX_TOPOLOGY_CHANGED, "the partition map changed from " +
            "version " + tx.version + " before the transaction was prepared; nothing was applied");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Participant side: primary.
    // ------------------------------------------------------------------------------------------------------------

    void onLock(final long sender)
    {
        final MessageReader reader = engine.reader;
        final long seq = reader.readLong("tx");
        final long priority = reader.readLong("priority");
        final long version = reader.readLong("version");
        final int cacheId = reader.readInt("cacheId");
        final int partition = reader.readInt("partition", 0, 65_535);
        final long requestId = reader.readLong("requestId");
        final boolean lock = reader.readBoolean("lock");
        final long timeoutNs = reader.readLong("timeoutNs");
        final int count = reader.readInt("keys", 1, 1 << 20);
        final byte[][] keys = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            keys[i] = reader.readBytes("key");
            if (keys[i] == null)
            {
                throw new MalformedMessageException("transaction lock without a key");
            }
        }
        final PartKey key = new PartKey(sender, seq, cacheId, partition);
        final CacheDescriptor cache = engine.topology.cache(cacheId);
        if (cache == null || partition >= cache.partitions())
        {
            answerError(key, ANSWER_LOCKED, requestId, cache == null ? new CacheDestroyedException("cache id " +
                cacheId + " was destroyed") : new GridException(ErrorCode.CONFIGURATION_INVALID,
                "partition " + partition + " out of range"));
            return;
        }
        if (engine.isExchanging() || version > engine.installedMap.version())
        {
            return;
        }
        final LocalPartition lp = engine.localCopy(cacheId, partition);
        if (!isPrimary(cacheId, partition) || lp == null || (lock && version < engine.installedMap.version()))
        {
            answer(key, ANSWER_LOCKED, requestId, STATUS_REMAP, null, null);
            return;
        }
        final String lossRefusal = engine.replication.lossRefusal(cache, partition, lock);
        if (lossRefusal != null)
        {
            answerError(key, ANSWER_LOCKED, requestId, new PartitionLostException(lossRefusal));
            return;
        }
        if (!lock)
        {
            answer(key, ANSWER_LOCKED, requestId, STATUS_OK, null, read(lp, keys));
            return;
        }
        if (finished.containsKey(key))
        {
            answerError(key, ANSWER_LOCKED, requestId, new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
                "the transaction already finished on partition " + partition));
            return;
        }
        Part part = parts.get(key);
        if (part == null)
        {
            part = new Part(key, priority, version);
            parts.put(key, part);
        }
        if (part.state != TxParticipantState.LOCKING || (part.wait != null && part.wait.requestId == requestId))
        {
            return;
        }
        final LockWait wait = new LockWait(requestId, keys, MemberEngine.deadlineNs(engine.nowNs,
            timeoutNs), engine.nowNs);
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

    private static byte[][] read(final LocalPartition lp, final byte[][] keys)
    {
        final byte[][] values = new byte[keys.length][];
        for (int i = 0; i < keys.length; i++)
        {
            values[i] = lp.store.get(keys[i]);
        }
        return values;
    }

    private void lockGranted(final Part part)
    {
        final LockWait wait = part.wait;
        part.wait = null;
        if (wait.startedNs != engine.nowNs)
        {
            engine.listener.onLockWait(engine.nowNs - wait.startedNs);
        }
        final LocalPartition lp = engine.localCopy(part.key.cacheId, part.key.partition);
        answer(part.key, ANSWER_LOCKED, wait.requestId, STATUS_OK, null, lp == null ? new byte[wait.keys.length][] :
            read(lp, wait.keys));
    }

    /** Wait-die: a younger transaction asking for an older one's key is aborted, releasing what it holds. */
    private void die(final Part part, final Part holder)
    {
        final long requestId = part.wait == null ? 0 : part.wait.requestId;
        drop(part);
        answerError(part.key, ANSWER_LOCKED, requestId, new TransactionAbortedException(
            ErrorCode.TX_DEADLOCK_PREVENTION, "a key of cache id " + part.key.cacheId + " partition " +
            part.key.partition + " is held by an older transaction; wait-die aborts the younger"));
    }

    /** Forget a part that holds no reservation: release its locks and stop its waits. */
    private void drop(final Part part)
    {
        parts.remove(part.key);
        releaseLocks(part);
    }

    private void releaseLocks(final Part part)
    {
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
        keyLock.waiters.removeIf(waiter -> parts.get(waiter.key) != waiter);
        while (keyLock.holder == null && !keyLock.waiters.isEmpty())
        {
            Part oldest = keyLock.waiters.get(0);
            for (final Part waiter : keyLock.waiters)
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
            for (final Part waiter : new ArrayList<>(keyLock.waiters))
            {
                if (!older(waiter, oldest) && parts.get(waiter.key) == waiter)
                {
                    die(waiter, oldest);
                }
            }
            // Aborting those may have aborted the new holder too (through a key it waits for elsewhere).
            if (parts.get(oldest.key) == oldest && oldest.wait != null && --oldest.wait.waiting == 0)
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

    private static boolean older(final Part a, final Part b)
    {
        if (a.priority != b.priority)
        {
            return a.priority < b.priority;
        }
        if (a.key.coordinator != b.key.coordinator)
        {
            return a.key.coordinator < b.key.coordinator;
        }
        // Equal age on one coordinator: a retry and its aborted predecessor, still releasing. The retry counts as
        // older, so it waits for the release instead of dying against its own past.
        return a.key.seq > b.key.seq;
    }

    void onPrepare(final long sender)
    {
        final MessageReader reader = engine.reader;
        final long seq = reader.readLong("tx");
        final long version = reader.readLong("version");
        final int cacheId = reader.readInt("cacheId");
        final int partition = reader.readInt("partition", 0, 65_535);
        final boolean onePhase = reader.readBoolean("onePhase");
        final long[] participants = readParticipants(reader);
        final byte[][][] writes = readWrites(reader);
        final PartKey key = new PartKey(sender, seq, cacheId, partition);
        final int answerKind = onePhase ? ANSWER_COMMITTED : ANSWER_PREPARED;
        final Boolean done = finished.get(key);
        if (done != null)
        {
            if (done)
            {
                answer(key, answerKind, 0, STATUS_OK, null, null);
            }
            else
            {
                answerError(key, answerKind, 0, new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
                    "the transaction was already rolled back on partition " + partition));
            }
            return;
        }
        if (engine.topology.cache(cacheId) == null)
        {
            answerError(key, answerKind, 0, new CacheDestroyedException("cache id " + cacheId + " was destroyed"));
            return;
        }
        if (engine.isExchanging() || version > engine.installedMap.version() || engine.isPaused(cacheId, partition))
        {
            // A consistency check holds the partition still for a moment: the coordinator sends this again.
            return;
        }
        final Part part = parts.get(key);
        if (!isPrimary(cacheId, partition) || (version < engine.installedMap.version() &&
            (part == null || part.state != TxParticipantState.PREPARED)))
        {
            answer(key, answerKind, 0, STATUS_REMAP, null, null);
            return;
        }
        if (part == null)
        {
            answerError(key, answerKind, 0, new TransactionAbortedException(ErrorCode.TX_TOPOLOGY_CHANGED,
                "the transaction's locks on partition " + partition + " are gone (map change or deadlock " +
                "prevention); nothing was applied"));
            return;
        }
        switch (part.state)
        {
            case PREPARED ->
            {
                answer(key, answerKind, 0, STATUS_OK, null, null);
                return;
            }
            case PREPARING, COMMITTING, ROLLING_BACK ->
            {
                return;
            }
            default ->
            {
            }
        }
        if (!engine.membership.hasQuorum())
        {
            // A primary that may be on the minority side reserves no counters and prepares nothing.
            answerError(key, answerKind, 0, new TransactionAbortedException(ErrorCode.NO_QUORUM,
                engine.membership.noQuorum("the prepare of a transaction on partition " + partition).detail()));
            return;
        }
        for (final byte[] k : writes[0])
        {
            if (!part.held.contains(new CacheKey(cacheId, k)))
            {
                answerError(key, answerKind, 0, new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
                    "prepare of a key the transaction did not lock on partition " + partition));
                return;
            }
        }
        part.writeKeys = writes[0];
        part.writeValues = writes[1];
        part.participants = participants;
        part.onePhase = onePhase;
        final LocalPartition lp = engine.localCopy(cacheId, partition);
        part.count = part.writeKeys.length;
        if (part.count > 0)
        {
            part.start = lp.counter.reserve(part.count);
        }
        if (onePhase)
        {
            startCommit(part);
            return;
        }
        part.state = part.state.moveTo(TxParticipantState.PREPARING);
        // Durable here and on every backup before the coordinator hears "prepared": after a crash of every member,
        // a transaction the coordinator may have decided to commit is still prepared on every copy of the partition.
        part.prepareLogged = true;
        final long position = engine.walRecords.appendTxPrepare(key, part.priority, participants, part.writeKeys,
            part.writeValues);
        engine.durability.awaitDurable(position, lp, 0, () ->
        {
            part.prepareDurable = true;
            if (part.state == TxParticipantState.PREPARING && part.backupKind == BACKUP_PREPARE &&
                part.pendingBackups.isEmpty())
            {
                preparedHere(part);
            }
        });
        sendBackups(part, BACKUP_PREPARE, true);
        if (part.pendingBackups.isEmpty() && part.prepareDurable)
        {
            preparedHere(part);
        }
    }

    private void preparedHere(final Part part)
    {
        part.state = part.state.moveTo(TxParticipantState.PREPARED);
        part.preparedSinceNs = engine.nowNs;
        answer(part.key, ANSWER_PREPARED, 0, STATUS_OK, null, null);
    }

    void onCommit(final long sender)
    {
        final MessageReader reader = engine.reader;
        final long seq = reader.readLong("tx");
        final int cacheId = reader.readInt("cacheId");
        final int partition = reader.readInt("partition", 0, 65_535);
        final byte[][][] writes = readWrites(reader);
        final PartKey key = new PartKey(sender, seq, cacheId, partition);
        final Boolean done = finished.get(key);
        if (done != null)
        {
            final Part stale = parts.get(key);
            if (stale != null && stale.state == TxParticipantState.PREPARED)
            {
                // Finished here before this copy took the prepare over (a rebalance brought the outcome).
                drop(stale);
            }
            if (done)
            {
                answer(key, ANSWER_COMMITTED, 0, STATUS_OK, null, null);
            }
            else
            {
                engine.listener.onEvent("member " + engine.config.memberId() + ": commit of transaction " + seq +
                    " reached partition " + partition + " where it was rolled back");
                answerError(key, ANSWER_COMMITTED, 0, new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
                    "the transaction was rolled back on partition " + partition));
            }
            return;
        }
        if (engine.topology.cache(cacheId) == null)
        {
            answerError(key, ANSWER_COMMITTED, 0, new CacheDestroyedException("cache id " + cacheId +
                " was destroyed"));
            return;
        }
        if (engine.isExchanging() || engine.isPaused(cacheId, partition) || isLostHere(cacheId, partition))
        {
            // A lost partition's copies stand in for owners that are away and hold the prepare: a commit applied to
            // them would be lost when an owner returns, while the other partitions keep theirs. Asked again.
            return;
        }
        if (!isPrimary(cacheId, partition))
        {
            answer(key, ANSWER_COMMITTED, 0, STATUS_REMAP, null, null);
            return;
        }
        Part part = parts.get(key);
        if (part == null)
        {
            // Decided to commit, but no prepare survived here (every copy that held it is gone): apply what the
            // coordinator sends, as the only record of the decision.
            part = new Part(key, 0, engine.installedMap.version());
            parts.put(key, part);
            part.state = part.state.moveTo(TxParticipantState.PREPARED);
        }
        if (part.state == TxParticipantState.COMMITTING)
        {
            return;
        }
        if (part.state == TxParticipantState.ROLLING_BACK)
        {
            engine.listener.onEvent("member " + engine.config.memberId() + ": commit of transaction " + seq +
                " reached partition " + partition + " while it rolls back");
            return;
        }
        if (part.writeKeys == null)
        {
            part.writeKeys = writes[0];
            part.writeValues = writes[1];
            part.count = part.writeKeys.length;
        }
        startCommit(part);
    }

    private void startCommit(final Part part)
    {
        final LocalPartition lp = engine.localCopy(part.key.cacheId, part.key.partition);
        if (lp == null)
        {
            // The copy went with a map change (its parts are moved or dropped at install); nothing to apply here.
            drop(part);
            return;
        }
        if (part.count > 0 && part.start < 0)
        {
            part.start = lp.counter.reserve(part.count);
        }
        part.state = part.state.moveTo(TxParticipantState.COMMITTING);
        part.durable = part.count == 0;
        engine.inFlightUpdates++;
        for (int i = 0; i < part.count; i++)
        {
            final long counter = part.start + 1 + i;
            final long position = engine.walRecords.appendTxData(lp, counter, part.key.coordinator, part.key.seq,
                part.writeKeys[i], part.writeValues[i]);
            lp.store.apply(part.writeKeys[i], part.writeValues[i], counter);
            engine.durability.awaitDurable(position, lp, counter, i < part.count - 1 ? null : () ->
            {
                part.durable = true;
                tryFinishCommit(part);
            });
        }
        sendBackups(part, BACKUP_COMMIT, true);
        tryFinishCommit(part);
    }

    private void tryFinishCommit(final Part part)
    {
        if (part.state != TxParticipantState.COMMITTING || !part.durable || !part.pendingBackups.isEmpty() ||
            parts.get(part.key) != part)
        {
            return;
        }
        engine.inFlightUpdates--;
        finished.put(part.key, Boolean.TRUE);
        drop(part);
        if (part.prepareLogged && part.count == 0)
        {
            // No write logged the commit here: the end record must be durable before the coordinator hears it.
            final long position = engine.walRecords.appendTxEnd(part.key, true);
            final LocalPartition lp = engine.localCopy(part.key.cacheId, part.key.partition);
            engine.durability.awaitDurable(position, lp, 0, () -> answer(part.key, ANSWER_COMMITTED, 0,
                STATUS_OK, null, null));
            return;
        }
        if (part.prepareLogged)
        {
            // Its writes (durable already) record the commit; the end record only spares replay the prepare.
            engine.walRecords.appendTxEnd(part.key, true);
        }
        answer(part.key, ANSWER_COMMITTED, 0, STATUS_OK, null, null);
    }

    void onRollback(final long sender)
    {
        final MessageReader reader = engine.reader;
        final long seq = reader.readLong("tx");
        final int cacheId = reader.readInt("cacheId");
        final int partition = reader.readInt("partition", 0, 65_535);
        final PartKey key = new PartKey(sender, seq, cacheId, partition);
        final Boolean done = finished.get(key);
        if (done != null)
        {
            answer(key, ANSWER_ROLLED_BACK, 0, STATUS_OK, null, null);
            return;
        }
        if (engine.isExchanging())
        {
            return;
        }
        if (engine.isPaused(cacheId, partition))
        {
            return;
        }
        Part part = parts.get(key);
        if (part == null)
        {
            if (engine.topology.cache(cacheId) == null)
            {
                finished.put(key, Boolean.FALSE);
                answer(key, ANSWER_ROLLED_BACK, 0, STATUS_OK, null, null);
                return;
            }
            if (!isPrimary(cacheId, partition))
            {
                answer(key, ANSWER_ROLLED_BACK, 0, STATUS_REMAP, null, null);
                return;
            }
            // Nothing here, but a backup may hold a prepare from a primary that failed: it must drop it too.
            part = new Part(key, 0, engine.installedMap.version());
            part.backupsMayHold = true;
            parts.put(key, part);
        }
        if (part.state == TxParticipantState.COMMITTING || part.state == TxParticipantState.ROLLING_BACK)
        {
            return;
        }
        startRollback(part);
    }

    private void startRollback(final Part part)
    {
        part.state = part.state.moveTo(TxParticipantState.ROLLING_BACK);
        // Nothing of it was applied, but its keys stay locked until every backup dropped the prepare
        // (tryFinishRollback): a backup that kept it (the rollback lost with this primary) would otherwise hold a
        // prepare over keys that later transactions wrote, and a recovery committing it would put their old values
        // back.
        engine.inFlightUpdates++;
        // Backups first: if this copy closed its range before them, a recovery could still commit on a backup what
        // this primary's WAL says was rolled back.
        if (part.backupsMayHold || part.start >= 0)
        {
            sendBackups(part, BACKUP_ROLLBACK, true);
        }
        tryFinishRollback(part);
    }

    private void tryFinishRollback(final Part part)
    {
        if (part.state != TxParticipantState.ROLLING_BACK || !part.pendingBackups.isEmpty() ||
            parts.get(part.key) != part)
        {
            return;
        }
        engine.inFlightUpdates--;
        final LocalPartition lp = engine.localCopy(part.key.cacheId, part.key.partition);
        if (lp != null && part.start >= 0 && part.count > 0)
        {
            engine.closeRange(lp, part.start, part.count);
        }
        finished.put(part.key, Boolean.FALSE);
        drop(part);
        // This member may also hold the prepare as a backup of an earlier primary (the partition was lost, so it never
        // took it over): logged, it would come back with a restart, and recovery, finding it prepared everywhere,
        // would commit a transaction whose user heard "aborted" (whole-cluster bank seed 0x16acbe1a).
        final boolean heldAsBackup = prepared.remove(part.key) != null;
        if (part.prepareLogged || heldAsBackup)
        {
            final long position = engine.walRecords.appendTxEnd(part.key, false);
            engine.durability.awaitDurable(position, lp, 0, () -> answer(part.key,
                ANSWER_ROLLED_BACK, 0, STATUS_OK, null,
                null));
            return;
        }
        answer(part.key, ANSWER_ROLLED_BACK, 0, STATUS_OK, null, null);
    }

    private void sendBackups(final Part part, final int kind, final boolean fresh)
    {
        if (kind == BACKUP_PREPARE)
        {
            part.backupsMayHold = true;
        }
        if (fresh)
        {
            part.backupKind = kind;
            part.pendingBackups.clear();
            final int[] owners = engine.installedMap.owners(part.key.cacheId, part.key.partition);
            for (int i = 1; i < owners.length; i++)
            {
                final long backup = engine.installedMap.topology().members().get(owners[i]).incarnation();
                // A backup that already left the current topology would never answer (it was forgotten then).
                if (engine.topology.indexOf(backup) >= 0)
                {
                    part.pendingBackups.add(backup);
                }
            }
        }
        part.lastSentNs = engine.nowNs;
        for (final LongHashSet.LongIterator it = part.pendingBackups.iterator(); it.hasNext(); )
        {
            final long backup = it.nextValue();
            engine.header(MessageTypes.TX_BACKUP, backup);
            engine.writer.writeByte(kind).writeLong(part.key.coordinator).writeLong(part.key.seq)
                .writeLong(engine.installedMap.version()).writeInt(part.key.cacheId).writeInt(part.key.partition)
                .writeLong(part.priority).writeLong(kind == BACKUP_PREPARE ? -1 : part.start)
                .writeInt(part.start < 0 ? 0 : part.count);
            final long[] participants = part.participants == null ? new long[0] : part.participants;
            engine.writer.writeInt(participants.length);
            for (final long participant : participants)
            {
                engine.writer.writeLong(participant);
            }
            final int writes = kind == BACKUP_ROLLBACK || part.writeKeys == null ? 0 : part.writeKeys.length;
            engine.writer.writeInt(writes);
            for (int i = 0; i < writes; i++)
            {
                engine.writer.writeBytes(part.writeKeys[i]).writeBytes(part.writeValues[i]);
            }
            engine.sendTx(backup);
        }
    }

    void onBackupAck(final long sender)
    {
        final MessageReader reader = engine.reader;
        final int kind = reader.readByte("kind");
        final PartKey key = new PartKey(reader.readLong("coordinator"), reader.readLong("tx"),
            reader.readInt("cacheId"), reader.readInt("partition", 0, 65_535));
        final boolean applied = reader.readBoolean("applied");
        final int outcome = reader.readByte("outcome");
        if (outcome < OUTCOME_NONE || outcome > OUTCOME_ROLLED_BACK)
        {
            throw new MalformedMessageException("unknown transaction outcome " + outcome);
        }
        final Part part = parts.get(key);
        if (part != null && outcome != OUTCOME_NONE && part.state == TxParticipantState.PREPARED)
        {
            // A backup saw the transaction end under an earlier primary: that is how it ended.
            part.recoveryCommitted |= outcome == OUTCOME_COMMITTED;
            part.recoveryRolledBack |= outcome == OUTCOME_ROLLED_BACK;
        }
        if (part == null || part.backupKind != kind || !part.pendingBackups.remove(sender))
        {
            return;
        }
        if (!applied)
        {
            final LocalPartition lp = engine.localCopy(key.cacheId, key.partition);
            if (lp != null)
            {
                lp.refusedBackups.add(sender);
            }
        }
        backupDone(part);
    }

    private void backupDone(final Part part)
    {
        if (!part.pendingBackups.isEmpty())
        {
            return;
        }
        switch (part.backupKind)
        {
            case BACKUP_PREPARE ->
            {
                if (part.state == TxParticipantState.PREPARING && part.prepareDurable)
                {
                    preparedHere(part);
                }
                else if (part.recovering)
                {
                    decideRecovery(part);
                }
            }
            case BACKUP_COMMIT -> tryFinishCommit(part);
            case BACKUP_ROLLBACK -> tryFinishRollback(part);
            default ->
            {
            }
        }
    }

    /** A member left: its acknowledgements are no longer awaited. */
    void forgetMember(final long departed)
    {
        for (final Part part : new ArrayList<>(parts.values()))
        {
            if (part.pendingBackups.remove(departed))
            {
                backupDone(part);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Participant side: backup.
    // ------------------------------------------------------------------------------------------------------------

    void onBackup(final long sender)
    {
        final MessageReader reader = engine.reader;
        final int kind = reader.readByte("kind");
        final long coordinator = reader.readLong("coordinator");
        final long seq = reader.readLong("tx");
        final long version = reader.readLong("version");
        final int cacheId = reader.readInt("cacheId");
        final int partition = reader.readInt("partition", 0, 65_535);
        final long priority = reader.readLong("priority");
        final long start = reader.readLong("start");
        final int count = reader.readInt("count", 0, 1 << 20);
        final long[] participants = readParticipants(reader);
        final byte[][][] writes = readWrites(reader);
        if (kind < BACKUP_PREPARE || kind > BACKUP_ROLLBACK)
        {
            throw new MalformedMessageException("unknown transaction backup kind " + kind);
        }
        if (kind == BACKUP_COMMIT && writes[0].length != count)
        {
            throw new MalformedMessageException("transaction commit with " + writes[0].length + " writes for " +
                count + " counters");
        }
        final PartitionMap map = engine.installedMap;
        if ((map == null || version > map.version()) && version < engine.topology.version())
        {
            // This member skipped the map the primary works in (the topology moved on before it was installed
            // here): it cannot apply this, and the primary's report for the next exchange waits for the answer.
            // Its copy lags from now on; the next exchange finds it different and rebalances it.
            ackBackup(sender, kind, new PartKey(coordinator, seq, cacheId, partition), false);
            return;
        }
        // Served during an exchange too: the primary's report waits for these updates to finish.
        if (map == null || version != map.version() ||
            map.rank(cacheId, partition, map.topology().indexOf(sender)) != 0)
        {
            return;
        }
        final LocalPartition lp = engine.localCopy(cacheId, partition);
        if (lp == null)
        {
            return;
        }
        final PartKey key = new PartKey(coordinator, seq, cacheId, partition);
        switch (kind)
        {
            case BACKUP_PREPARE ->
            {
                // A prepare that arrives after the commit or rollback (reordered) must not outlive it.
                if (!finished.containsKey(key) && !applying.containsKey(key))
                {
                    final boolean known = prepared.containsKey(key);
                    prepared.put(key, new Prepared(key, priority, writes[0], writes[1], participants,
                        engine.nowNs, false));
                    // Acknowledged once durable: the primary answers "prepared" only when every copy has it (a
                    // resend waits for the record the first one appended, which is at or below the last position).
                    final long position = known ? engine.walRecords.appendedPosition() :
                        engine.walRecords.appendTxPrepare(key, priority, participants, writes[0], writes[1]);
                    engine.durability.awaitDurable(position, lp, 0, () -> ackBackup(sender, kind, key));
                    return;
                }
                // Already ended here: a primary that held the prepare when its predecessor failed (its own end
                // message was lost) must end it the same way, not presume a commit.
                final Boolean ended = finished.get(key);
                ackBackup(sender, kind, key, true, ended == null ? OUTCOME_NONE :
                    ended ? OUTCOME_COMMITTED : OUTCOME_ROLLED_BACK);
            }
            case BACKUP_COMMIT ->
            {
                if (prepared.remove(key) != null)
                {
                    // With writes, they record the commit (durable before the acknowledgement); without, the
                    // acknowledgement below waits for every record appended so far, this one included.
                    engine.walRecords.appendTxEnd(key, true);
                }
                if (Boolean.TRUE.equals(finished.get(key)) || (count > 0 && lp.counter.isClosed(start + 1)))
                {
                    finished.put(key, Boolean.TRUE);
                    ackBackup(sender, kind, key);
                    return;
                }
                if (applying.containsKey(key))
                {
                    return;
                }
                if (count == 0)
                {
                    finished.put(key, Boolean.TRUE);
                    engine.durability.awaitDurable(engine.walRecords.appendedPosition(), lp, 0,
                        () -> ackBackup(sender, kind, key));
                    return;
                }
                applying.put(key, Boolean.TRUE);
                for (int i = 0; i < count; i++)
                {
                    final long counter = start + 1 + i;
                    final long position = engine.walRecords.appendTxData(lp, counter, coordinator, seq, writes[0][i],
                        writes[1][i]);
                    lp.store.apply(writes[0][i], writes[1][i], counter);
                    engine.durability.awaitDurable(position, lp, counter, i < count - 1 ? null : () ->
                    {
                        applying.remove(key);
                        // Not if the copy was dropped or cleared meanwhile: the commit's writes went with it.
                        if (engine.localCopy(cacheId, partition) == lp)
                        {
                            finished.put(key, Boolean.TRUE);
                        }
                        ackBackup(sender, kind, key);
                    });
                }
            }
            default ->
            {
                if (prepared.remove(key) != null)
                {
                    engine.walRecords.appendTxEnd(key, false);
                }
                if (count > 0 && start >= 0)
                {
                    engine.closeRange(lp, start, count);
                }
                finished.put(key, Boolean.FALSE);
                // Once the end (and the closed range) are durable: a crash before would bring the prepare back.
                engine.durability.awaitDurable(engine.walRecords.appendedPosition(), lp, 0,
                    () -> ackBackup(sender, kind, key));
            }
        }
    }

    private void ackBackup(final long primary, final int kind, final PartKey key)
    {
        ackBackup(primary, kind, key, true);
    }

    private void ackBackup(final long primary, final int kind, final PartKey key, final boolean applied)
    {
        ackBackup(primary, kind, key, applied, OUTCOME_NONE);
    }

    /**
     * @param applied false if this member skipped the map the primary works in and could not apply it: the
     *                primary's next report must not vouch for this copy.
     * @param outcome for a prepare of a transaction this copy already saw end: how it ended here
     *                ({@link #OUTCOME_COMMITTED} or {@link #OUTCOME_ROLLED_BACK}), which a primary recovering the
     *                transaction follows; {@link #OUTCOME_NONE} otherwise.
     */
    private void ackBackup(final long primary, final int kind, final PartKey key, final boolean applied,
        final int outcome)
    {
        if (engine.topology.member(primary) == null)
        {
            return;
        }
        engine.header(MessageTypes.TX_BACKUP_ACK, primary);
        engine.writer.writeByte(kind).writeLong(key.coordinator).writeLong(key.seq).writeInt(key.cacheId)
            .writeInt(key.partition).writeBoolean(applied).writeByte(outcome);
        engine.sendTx(primary);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Map changes, recovery, stop.
    // ------------------------------------------------------------------------------------------------------------

    /**
     * A new topology was adopted (an exchange starts): transactions of this coordinator that are not yet decided lose
     * their locks, so they abort; those on a destroyed cache abort with that reason.
     */
    void onTopologyChanged(final Topology previous, final Topology next)
    {
        for (final NearTx tx : new ArrayList<>(nearTxs.values()))
        {
            CacheDescriptor destroyed = null;
            for (final NearPart part : tx.parts.values())
            {
                if (next.cache(part.cacheId) == null)
                {
                    destroyed = previous.cache(part.cacheId);
                }
            }
            if (destroyed != null)
            {
                final GridException error = new CacheDestroyedException("cache '" + destroyed.name() +
                    "' was destroyed while the transaction was in flight");
                if (tx.state == TxState.COMMITTING)
                {
                    completeUser(tx, error);
                    nearTxs.remove(tx.seq);
                }
                else
                {
                    abort(tx, error);
                }
            }
            else if (tx.state == TxState.PREPARING || (tx.state == TxState.ACTIVE && tx.lockedAny))
            {
                abort(tx, topologyChanged(tx));
            }
        }
    }

    /**
     * A new map is installed: parts not prepared are dropped (their coordinators abort them); prepared parts move to
     * the partition's new primary, with fresh counters to come; prepared parts whose coordinator left are recovered.
     */
    void onInstalled()
    {
        final PartitionMap map = engine.installedMap;
        if (!map.isActive())
        {
            // The cluster waits for its last members: a prepare's other participants may be among them, so nothing
            // is recovered (decided) yet; the prepares stay as recovered.
            return;
        }
        final int myIndex = map.topology().indexOf(engine.incarnation);
        final List<Part> dropped = new ArrayList<>();
        for (final Part part : new ArrayList<>(parts.values()))
        {
            if (part.state == TxParticipantState.COMMITTING || part.state == TxParticipantState.ROLLING_BACK)
            {
                continue;
            }
            final LocalPartition lp = engine.localCopy(part.key.cacheId, part.key.partition);
            final int rank = lp == null ? -1 : map.rank(part.key.cacheId, part.key.partition, myIndex);
            if (part.state == TxParticipantState.PREPARING)
            {
                // Some backups may hold its prepare: keep it like a prepared part, so the coming rollback (its
                // coordinator aborts it) reaches them, or recovery decides it if the coordinator is gone.
                part.state = part.state.moveTo(TxParticipantState.PREPARED);
                part.preparedSinceNs = engine.nowNs;
            }
            if (part.state == TxParticipantState.PREPARED && rank > 0)
            {
                prepared.put(part.key, new Prepared(part.key, part.priority, part.writeKeys, part.writeValues,
                    part.participants, engine.nowNs, false));
            }
            if (part.state == TxParticipantState.PREPARED && rank == 0)
            {
                // The exchange dropped the reservation on every copy (HWM back to LWM); a commit reserves afresh.
                part.start = -1;
                part.version = map.version();
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
        dropped.forEach(this::releaseLocks);
        for (final Prepared p : new ArrayList<>(prepared.values()))
        {
            final LocalPartition lp = engine.localCopy(p.key.cacheId, p.key.partition);
            final int rank = lp == null ? -1 : map.rank(p.key.cacheId, p.key.partition, myIndex);
            if (rank < 0)
            {
                prepared.remove(p.key);
            }
            else if (rank == 0 && !isLostHere(p.key.cacheId, p.key.partition))
            {
                prepared.remove(p.key);
                final Part part = new Part(p.key, p.priority, map.version());
                part.state = part.state.moveTo(TxParticipantState.PREPARED);
                part.backupsMayHold = true;
                part.writeKeys = p.keys;
                part.writeValues = p.values;
                part.count = p.keys.length;
                part.participants = p.participants;
                // Logged here as the backup's (or a recovered) prepare: its end is logged too.
                part.prepareLogged = true;
                part.prepareDurable = true;
                part.preparedSinceNs = engine.nowNs;
                parts.put(p.key, part);
                for (final byte[] k : p.keys)
                {
                    final CacheKey lockKey = new CacheKey(p.key.cacheId, k);
                    final KeyLock keyLock = locks.computeIfAbsent(lockKey, x -> new KeyLock());
                    if (keyLock.holder == null)
                    {
                        keyLock.holder = part;
                        part.held.add(lockKey);
                    }
                }
            }
        }
        for (final Part part : new ArrayList<>(parts.values()))
        {
            if (part.state != TxParticipantState.PREPARED)
            {
                continue;
            }
            // The new backups (MOVING copies too, which may become primary once caught up) hold the prepare as
            // well, so it survives this primary's failure or move; resent until each acknowledged it.
            sendBackups(part, BACKUP_PREPARE, true);
            if (engine.topology.indexOf(part.key.coordinator) < 0)
            {
                startRecovery(part);
            }
        }
        for (final NearTx tx : nearTxs.values())
        {
            for (final NearPart part : tx.parts.values())
            {
                part.lastSentNs = Long.MIN_VALUE / 2;
            }
        }
        duty();
    }

    private void startRecovery(final Part part)
    {
        part.recovering = true;
        part.statusPending.clear();
        for (final long participant : part.participants == null ? new long[0] : part.participants)
        {
            if (participant != MemberEngine.packCopy(part.key.cacheId, part.key.partition))
            {
                part.statusPending.add(participant);
            }
        }
        engine.listener.onEvent("member " + engine.config.memberId() + " recovers transaction " + part.key.seq +
            " of departed coordinator " + Long.toHexString(part.key.coordinator) + " on partition " +
            part.key.partition + ": asking " + part.statusPending.size() + " participants");
        sendStatusQueries(part);
        decideRecovery(part);
    }

    private void sendStatusQueries(final Part part)
    {
        part.lastSentNs = engine.nowNs;
        for (final LongHashSet.LongIterator it = part.statusPending.iterator(); it.hasNext(); )
        {
            final long participant = it.nextValue();
            final int cacheId = (int)(participant >>> 32);
            final int partition = (int)participant;
            final MemberRecord primary = engine.installedMap.primary(cacheId, partition);
            if (primary == null)
            {
                // Every copy is gone: it cannot have refused; count it as prepared (as a departed member is).
                it.remove();
                continue;
            }
            askStatus(primary.incarnation(), part.key.coordinator, part.key.seq, cacheId, partition);
        }
    }

    /** Ask a partition's primary what became of a transaction there ({@link #onStatus}). */
    private void askStatus(final long primary, final long coordinator, final long seq, final int cacheId,
        final int partition)
    {
        askStatus(primary, coordinator, seq, cacheId, partition, false);
    }

    /**
     * @param onlyIfFinished ask only whether the primary knows the part finished: with the coordinator alive, the
     *                       primary must not decide anything (the coordinator does).
     */
    private void askStatus(final long primary, final long coordinator, final long seq, final int cacheId,
        final int partition, final boolean onlyIfFinished)
    {
        engine.header(MessageTypes.TX_STATUS, primary);
        engine.writer.writeLong(coordinator).writeLong(seq).writeInt(cacheId).writeInt(partition)
            .writeBoolean(onlyIfFinished);
        engine.sendTx(primary);
    }

    /**
     * A prepare held as a backup whose coordinator left: the partition's primary decides it. If the primary holds it
     * too, its recovery runs; if not (it never got the prepare, so the transaction cannot have committed), asking
     * makes it roll back through its backups, this one included. Asked again until the prepare is gone.
     */
    private int askAboutOrphanedPrepares()
    {
        int work = 0;
        if (!engine.installedMap.isActive())
        {
            return 0;
        }
        // A prepared part on its primary whose coordinator is alive but silent for long: recovered from the WAL (or
        // caught up) after its transaction finished elsewhere, so nothing will come to finish it. The other
        // participants' primaries are asked only whether they finished; the coordinator still decides otherwise.
        for (final Part part : new ArrayList<>(parts.values()))
        {
            if (part.state == TxParticipantState.PREPARED && !part.recovering && part.participants != null &&
                engine.topology.indexOf(part.key.coordinator) >= 0 &&
                engine.nowNs - part.preparedSinceNs >= STALE_PREPARE_INTERVALS * engine.retryIntervalNs)
            {
                part.probing = true;
                queryCoordinator(part.key.coordinator, part.key.seq);
                for (final long participant : part.participants)
                {
                    final MemberRecord primary = engine.installedMap.primary((int)(participant >>> 32),
                        (int)participant);
                    if (participant != MemberEngine.packCopy(part.key.cacheId, part.key.partition) &&
                        primary != null && primary.incarnation() != engine.incarnation)
                    {
                        askStatus(primary.incarnation(), part.key.coordinator, part.key.seq,
                            (int)(participant >>> 32), (int)participant, true);
                        work++;
                    }
                }
            }
        }
        for (final Prepared p : new ArrayList<>(prepared.values()))
        {
            final PartKey key = p.key;
            final boolean coordinatorAlive = engine.topology.indexOf(key.coordinator) >= 0;
            // With the coordinator alive, only a prepare held far longer than a commit takes is suspect: one that
            // arrived after its transaction finished on a primary that no longer waited for this member. One
            // recovered from this member's WAL is suspect at once: its transaction may have ended while the member
            // was away, and a copy that came back equal to the owners' is not rebuilt, so no catch-up voids it; kept,
            // it came back with a whole-cluster restart, and recovery committed a transaction rolled back meanwhile
            // (whole-cluster bank seed 0x16acc4e4).
            if (coordinatorAlive && !p.replayed &&
                engine.nowNs - p.sinceNs < STALE_PREPARE_INTERVALS * engine.retryIntervalNs)
            {
                continue;
            }
            final MemberRecord primary = engine.installedMap.primary(key.cacheId, key.partition);
            if (primary == null || primary.incarnation() == engine.incarnation)
            {
                continue;
            }
            askStatus(primary.incarnation(), key.coordinator, key.seq, key.cacheId, key.partition, coordinatorAlive);
            if (coordinatorAlive)
            {
                queryCoordinator(key.coordinator, key.seq);
            }
            work++;
        }
        return work;
    }

    private void queryCoordinator(final long coordinator, final long seq)
    {
        if (coordinator == engine.incarnation)
        {
            onOutcome(coordinator, seq, outcomeOf(seq));
            return;
        }
        engine.header(MessageTypes.TX_QUERY, coordinator);
        engine.writer.writeLong(seq);
        engine.sendTx(coordinator);
    }

    /** {@link #QUERY_ACTIVE}, {@link #QUERY_COMMITTED}, {@link #QUERY_ROLLED_BACK} or {@link #QUERY_UNKNOWN}. */
    private int outcomeOf(final long seq)
    {
        final NearTx tx = nearTxs.get(seq);
        if (tx != null)
        {
            // A rollback, once decided, is final (its parts may still be on their way).
            return tx.state == TxState.ROLLING_BACK ? QUERY_ROLLED_BACK : QUERY_ACTIVE;
        }
        final Boolean committed = outcomes.get(seq);
        return committed == null ? QUERY_UNKNOWN : committed ? QUERY_COMMITTED : QUERY_ROLLED_BACK;
    }

    /**
     * A participant holding a stale prepare asks how this coordinator's transaction ended.
     */
    void onQuery(final long sender)
    {
        final long seq = engine.reader.readLong("tx");
        engine.header(MessageTypes.TX_QUERY_ANSWER, sender);
        engine.writer.writeLong(seq).writeByte(outcomeOf(seq));
        engine.sendTx(sender);
    }

    void onQueryAnswer(final long sender)
    {
        final long seq = engine.reader.readLong("tx");
        onOutcome(sender, seq, engine.reader.readByte("outcome"));
    }

    /**
     * How a transaction a stale prepare here belongs to ended, as its live coordinator remembers: the prepare ends the
     * same way. Held as backup, it simply goes (this copy's data comes from the copies that finished it); as primary,
     * the part commits or rolls back through its backups. Still active, or forgotten: nothing is decided here.
     */
    private void onOutcome(final long coordinator, final long seq, final int outcome)
    {
        if (outcome != QUERY_COMMITTED && outcome != QUERY_ROLLED_BACK)
        {
            return;
        }
        final boolean committed = outcome == QUERY_COMMITTED;
        for (final Prepared p : new ArrayList<>(prepared.values()))
        {
            if (p.key.coordinator == coordinator && p.key.seq == seq && !isLostHere(p.key.cacheId, p.key.partition))
            {
                prepared.remove(p.key);
                engine.walRecords.appendTxEnd(p.key, committed);
                if (!committed)
                {
                    finished.putIfAbsent(p.key, Boolean.FALSE);
                }
            }
        }
        for (final Part part : new ArrayList<>(parts.values()))
        {
            if (part.key.coordinator == coordinator && part.key.seq == seq && part.probing &&
                part.state == TxParticipantState.PREPARED && !part.recovering &&
                !isLostHere(part.key.cacheId, part.key.partition))
            {
                part.probing = false;
                engine.listener.onEvent("member " + engine.config.memberId() + " ends stale prepared transaction " +
                    seq + " on partition " + part.key.partition + " as its coordinator did: " +
                    (committed ? "committed" : "rolled back"));
                if (committed)
                {
                    startCommit(part);
                }
                else
                {
                    part.start = -1;
                    startRollback(part);
                }
            }
        }
    }

    /**
     * @return whether the partition is LOST in the installed map: its copies here stand in for last owners that are
     *         away, so they are no record of its transactions.
     */
    private boolean isLostHere(final int cacheId, final int partition)
    {
        return engine.installedMap != null && engine.installedMap.isLost(cacheId, partition);
    }

    void onStatus(final long sender)
    {
        final MessageReader reader = engine.reader;
        final PartKey key = new PartKey(reader.readLong("coordinator"), reader.readLong("tx"),
            reader.readInt("cacheId"), reader.readInt("partition", 0, 65_535));
        final boolean onlyIfFinished = reader.readBoolean("onlyIfFinished");
        if (engine.isExchanging() || !engine.installedMap.isActive() || !isPrimary(key.cacheId, key.partition) ||
            isLostHere(key.cacheId, key.partition))
        {
            // Not active, or lost: this copy may not be the one holding the transaction's state; asked again later.
            return;
        }
        final int status;
        final Boolean done = finished.get(key);
        final Part part = parts.get(key);
        if (done != null)
        {
            status = done ? PART_COMMITTED : PART_ROLLED_BACK;
        }
        else if (onlyIfFinished)
        {
            // The coordinator is alive and decides; nothing is known here to end the prepare.
            return;
        }
        else if (part == null)
        {
            // Never prepared here, and now it never will be: its coordinator is gone. A backup may still hold a
            // prepare from a primary that failed mid-prepare, so the rollback goes through the backups too.
            final Part rollback = new Part(key, 0, engine.installedMap.version());
            rollback.backupsMayHold = true;
            parts.put(key, rollback);
            startRollback(rollback);
            status = PART_ROLLED_BACK;
        }
        else if (part.state == TxParticipantState.COMMITTING && part.pendingBackups.contains(sender))
        {
            // The asker is a backup this commit still waits for: the writes are on their way there, resent until
            // acknowledged. Told "committed", it dropped its prepare, and when this member failed before the writes
            // arrived, the backup (then the partition's only copy) closed their counters as a hole while the other
            // partitions had committed (whole-cluster bank seed 0x16acbde3). Unanswered, it keeps the prepare, and
            // its recovery commits the transaction if this member fails first.
            return;
        }
        else if (part.state == TxParticipantState.PREPARED && part.backupKind == BACKUP_PREPARE &&
            !part.pendingBackups.isEmpty())
        {
            // Prepared here, but a copy of the partition (new since the map changed) does not hold the prepare yet:
            // if this member failed now, that copy could take over without it. Asked again later, once every copy
            // holds it, so that a commit is never decided while some copy could not finish it.
            return;
        }
        else
        {
            switch (part.state)
            {
                case PREPARED -> status = PART_PREPARED;
                case COMMITTING -> status = PART_COMMITTED;
                case ROLLING_BACK -> status = PART_ROLLED_BACK;
                default ->
                {
                    startRollback(part);
                    status = PART_ROLLED_BACK;
                }
            }
        }
        engine.header(MessageTypes.TX_STATUS_ANSWER, sender);
        engine.writer.writeLong(key.coordinator).writeLong(key.seq).writeInt(key.cacheId).writeInt(key.partition)
            .writeByte(status);
        engine.sendTx(sender);
    }

    void onStatusAnswer(final long sender)
    {
        final MessageReader reader = engine.reader;
        final long coordinator = reader.readLong("coordinator");
        final long seq = reader.readLong("tx");
        final long asked = MemberEngine.packCopy(reader.readInt("cacheId"), reader.readInt("partition", 0, 65_535));
        final int status = reader.readByte("status");
        if (status < PART_PREPARED || status > PART_ROLLED_BACK)
        {
            throw new MalformedMessageException("unknown transaction status " + status);
        }
        final PartKey askedKey = new PartKey(coordinator, seq, (int)(asked >>> 32), (int)asked);
        if (status != PART_PREPARED && prepared.containsKey(askedKey))
        {
            // This member holds that partition's prepare as a backup, and its primary finished the transaction: so
            // is it here, durably, or a restart would bring the prepare back.
            prepared.remove(askedKey);
            engine.walRecords.appendTxEnd(askedKey, status == PART_COMMITTED);
            if (status == PART_ROLLED_BACK)
            {
                // Never "committed" here: the commit's writes may still be on their way to this copy, and a part
                // remembered as committed takes them as applied already.
                finished.putIfAbsent(askedKey, Boolean.FALSE);
            }
        }
        for (final Part part : new ArrayList<>(parts.values()))
        {
            if (part.key.coordinator == coordinator && part.key.seq == seq && part.probing && !part.recovering &&
                part.state == TxParticipantState.PREPARED && status != PART_PREPARED)
            {
                // Another participant finished the transaction: this part ends the same way.
                part.probing = false;
                engine.listener.onEvent("member " + engine.config.memberId() + " ends stale prepared transaction " +
                    part.key.seq + " on partition " + part.key.partition + " as its participant did: " +
                    (status == PART_COMMITTED ? "committed" : "rolled back"));
                if (status == PART_COMMITTED)
                {
                    startCommit(part);
                }
                else
                {
                    startRollback(part);
                }
                continue;
            }
            if (part.key.coordinator == coordinator && part.key.seq == seq && part.recovering &&
                part.statusPending.remove(asked))
            {
                if (status == PART_COMMITTED)
                {
                    part.recoveryCommitted = true;
                }
                else if (status == PART_ROLLED_BACK)
                {
                    part.recoveryRolledBack = true;
                }
                decideRecovery(part);
            }
        }
    }

    private void decideRecovery(final Part part)
    {
        if (!part.recovering || part.state != TxParticipantState.PREPARED ||
            isLostHere(part.key.cacheId, part.key.partition))
        {
            return;
        }
        // No commit is presumed before every copy of this partition holds the prepare (the prepare resent at install
        // reached the copies new since the map changed): this member failing after its commit, before they had it,
        // left a copy without the transaction taking over while another partition had committed it (whole-cluster
        // bank seed 0x16acbdf3). The other participants wait the same way (they answer a status query only then), so
        // no participant commits while another could still lose the transaction. A backup's answer may also say how
        // the transaction ended under the previous primary (recoveryRolledBack or recoveryCommitted).
        final boolean everyCopyHolds = part.backupKind != BACKUP_PREPARE || part.pendingBackups.isEmpty();
        if (part.recoveryCommitted || (!part.recoveryRolledBack && part.statusPending.isEmpty() && everyCopyHolds))
        {
            part.recovering = false;
            engine.listener.onEvent("member " + engine.config.memberId() + " commits recovered transaction " +
                part.key.seq + " on partition " + part.key.partition);
            startCommit(part);
        }
        else if (part.recoveryRolledBack)
        {
            part.recovering = false;
            engine.listener.onEvent("member " + engine.config.memberId() + " rolls back recovered transaction " +
                part.key.seq + " on partition " + part.key.partition);
            startRollback(part);
        }
    }

    /**
     * This member stops or is removed: its own undecided transactions abort with {@code error} (their participants are
     * told when possible, and roll back anyway once this member is gone); decided ones end with commit status unknown.
     * Participant state is dropped with the copies.
     */
    void abandon(final GridException error, final boolean clearParticipants)
    {
        for (final NearTx tx : new ArrayList<>(nearTxs.values()))
        {
            if (tx.state == TxState.COMMITTING || tx.state == TxState.PREPARING ||
                (tx.state == TxState.ROLLING_BACK && tx.answerAfterRollback))
            {
                // Preparing: the rollback sent now may not arrive before this member is gone, and then the
                // participants' recovery commits if every one of them prepared. Only an active transaction (no
                // prepare sent) is surely rolled back.
                completeUser(tx, new TransactionCommitStatusUnknownException("member " + engine.config.memberId() +
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
                abort(tx, error);
            }
        }
        nearTxs.clear();
        if (clearParticipants)
        {
            parts.clear();
            prepared.clear();
            applying.clear();
            locks.clear();
        }
    }

    /**
     * Timers: transaction timeouts, lock-wait timeouts, resends of unanswered requests, recovery questions.
     */
    int duty()
    {
        int work = 0;
        final long nowNs = engine.nowNs;
        final long retryNs = engine.retryIntervalNs;
        for (final NearTx tx : new ArrayList<>(nearTxs.values()))
        {
            if (nowNs >= tx.deadlineNs)
            {
                if (tx.state == TxState.ACTIVE || tx.state == TxState.PREPARING)
                {
                    abort(tx, new TransactionAbortedException(ErrorCode.TX_TIMEOUT, "the transaction did not " +
                        (tx.state == TxState.ACTIVE ? "get its locks" : "prepare") + " within its timeout of " +
                        (tx.deadlineNs - tx.startedNs) / 1_000_000 + " ms"));
                    work++;
                    continue;
                }
                if (tx.state == TxState.COMMITTING && !tx.userAnswered && tx.commitCallback != null)
                {
                    completeUser(tx, new TransactionCommitStatusUnknownException("transaction " + tx.seq +
                        " was decided to commit but not every partition confirmed within the timeout; it goes on " +
                        "committing"));
                }
            }
            if (engine.isExchanging())
            {
                continue;
            }
            for (final NearPart part : new ArrayList<>(tx.parts.values()))
            {
                if (nowNs - part.lastSentNs < retryNs || !nearTxs.containsKey(tx.seq))
                {
                    continue;
                }
                if (tx.state == TxState.ACTIVE && !part.lockQueue.isEmpty())
                {
                    sendLock(tx, part);
                    work++;
                }
                else if (part.request == MessageTypes.TX_PREPARE && !part.answered &&
                    (tx.state == TxState.PREPARING || (tx.onePhase && tx.state == TxState.COMMITTING)))
                {
                    sendPrepare(tx, part);
                    work++;
                }
                else if ((part.request == MessageTypes.TX_COMMIT ||
                    part.request == MessageTypes.TX_ROLLBACK) && !part.answered)
                {
                    sendFinish(tx, part);
                    work++;
                }
            }
        }
        if ((!prepared.isEmpty() || !parts.isEmpty()) && nowNs >= nextOrphanCheckNs && !engine.isExchanging())
        {
            nextOrphanCheckNs = nowNs + retryNs;
            work += askAboutOrphanedPrepares();
        }
        if (parts.isEmpty())
        {
            return work;
        }
        for (final Part part : new ArrayList<>(parts.values()))
        {
            if (parts.get(part.key) != part)
            {
                continue;
            }
            if (part.state == TxParticipantState.LOCKING && part.wait != null && nowNs >= part.wait.deadlineNs)
            {
                final long requestId = part.wait.requestId;
                drop(part);
                answerError(part.key, ANSWER_LOCKED, requestId, new TransactionAbortedException(ErrorCode.TX_TIMEOUT,
                    "waited for a lock on partition " + part.key.partition + " past the transaction's timeout"));
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
                sendBackups(part, part.backupKind, false);
                work++;
            }
            if (part.recovering && !engine.isExchanging())
            {
                sendStatusQueries(part);
                decideRecovery(part);
                work++;
            }
        }
        return work;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Helpers.
    // ------------------------------------------------------------------------------------------------------------

    private boolean isPrimary(final int cacheId, final int partition)
    {
        final PartitionMap map = engine.installedMap;
        return map != null && map.hasCache(cacheId) &&
            map.rank(cacheId, partition, map.topology().indexOf(engine.incarnation)) == 0;
    }

    private void answer(final PartKey key, final int kind, final long requestId, final int status,
        final GridException error, final byte[][] values)
    {
        if (engine.topology.member(key.coordinator) == null)
        {
            return;
        }
        engine.header(MessageTypes.TX_ANSWER, key.coordinator);
        engine.writer.writeByte(kind).writeLong(key.seq).writeInt(key.cacheId).writeInt(key.partition)
            .writeLong(requestId).writeByte(status);
        if (status == STATUS_ERROR)
        {
            engine.writer.writeInt(error.errorCode().code()).writeString(error.detail());
        }
        engine.writer.writeInt(values == null ? 0 : values.length);
        if (values != null)
        {
            for (final byte[] value : values)
            {
                engine.writer.writeBytes(value);
            }
        }
        engine.sendTx(key.coordinator);
    }

    private void answerError(final PartKey key, final int kind, final long requestId, final GridException error)
    {
        answer(key, kind, requestId, STATUS_ERROR, error, null);
    }

    private static long[] readParticipants(final MessageReader reader)
    {
        final int count = reader.readInt("participants", 0, 1 << 16);
        final long[] participants = new long[count];
        for (int i = 0; i < count; i++)
        {
            participants[i] = reader.readLong("participant");
        }
        return participants;
    }

    private static byte[][][] readWrites(final MessageReader reader)
    {
        final int count = reader.readInt("writes", 0, 1 << 20);
        final byte[][] keys = new byte[count][];
        final byte[][] values = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            keys[i] = reader.readBytes("key");
            values[i] = reader.readBytes("value");
            if (keys[i] == null)
            {
                throw new MalformedMessageException("transaction write without a key");
            }
        }
        return new byte[][][] {keys, values};
    }

    private static ErrorCode errorCode(final int code)
    {
        try
        {
            return ErrorCode.ofCode(code);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new MalformedMessageException("unknown error code " + code);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // State records.
    // ------------------------------------------------------------------------------------------------------------

    /** One transaction's part on one partition, identified across members. */
    record PartKey(long coordinator, long seq, int cacheId, int partition)
    {
    }

    /** A key's lock on its primary: the holder, the transactions waiting (oldest served first), blocked writes. */
    private static final class KeyLock
    {
        Part holder;
        final List<Part> waiters = new ArrayList<>(2);
        final List<Runnable> blocked = new ArrayList<>(0);
    }

    private static final class LockWait
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

    /** A transaction's part on a partition this member is primary of. */
    private static final class Part
    {
        final PartKey key;
        final long priority;
        long version;
        TxParticipantState state = TxParticipantState.LOCKING;
        final List<CacheKey> held = new ArrayList<>(2);
        LockWait wait;
        byte[][] writeKeys;
        byte[][] writeValues;
        long[] participants;
        boolean onePhase;
        /** Whether a backup may hold a prepare of this part (so a rollback must reach the backups). */
        boolean backupsMayHold;
        /** Counters reserved: (start, start + count]; start -1 until reserved (or after a map change voided it). */
        long start = -1;
        int count;
        boolean durable;
        /** Whether this part's prepare was logged here ({@link MemberEngine#WAL_TX_PREPARE}), so its end must be. */
        boolean prepareLogged;
        /** Whether that prepare record is durable (the coordinator hears "prepared" only then). */
        boolean prepareDurable;
        /** When this part became PREPARED here (a stale one is probed: {@code askAboutOrphanedPrepares}). */
        long preparedSinceNs;
        /** Whether other participants were asked if they finished this part's transaction. */
        boolean probing;
        int backupKind;
        final LongHashSet pendingBackups = new LongHashSet();
        long lastSentNs;
        boolean recovering;
        boolean recoveryCommitted;
        boolean recoveryRolledBack;
        final LongHashSet statusPending = new LongHashSet();

        Part(final PartKey key, final long priority, final long version)
        {
            this.key = key;
            this.priority = priority;
            this.version = version;
        }
    }

    /**
     * A prepare this member holds for a partition it is not primary of (a backup's, or its own recovered).
     *
     * @param replayed whether it was recovered from the WAL (a previous life of this member): it may be stale, its
     *                 transaction finished by the others while this member was away.
     */
    private record Prepared(PartKey key, long priority, byte[][] keys, byte[][] values, long[] participants,
        long sinceNs, boolean replayed)
    {
    }

    private static final class NearTx
    {
        final long seq;
        final long priority;
        final long startedNs;
        final long deadlineNs;
        long version = -1;
        boolean lockedAny;
        boolean onePhase;
        TxState state = TxState.ACTIVE;
        final LinkedHashMap<Long, NearPart> parts = new LinkedHashMap<>();
        long[] participants;
        TxCallback commitCallback;
        boolean userAnswered;
        GridException abortCause;
        /** Aborted after a prepare went out: the user is answered once a participant acknowledged the rollback. */
        boolean answerAfterRollback;
        long prepareStartNs;
        long commitStartNs;

        NearTx(final long seq, final long priority, final long startedNs, final long deadlineNs)
        {
            this.seq = seq;
            this.priority = priority;
            this.startedNs = startedNs;
            this.deadlineNs = deadlineNs;
        }

        NearPart part(final int cacheId, final int partition)
        {
            return parts.computeIfAbsent(MemberEngine.packCopy(cacheId, partition),
                k -> new NearPart(cacheId, partition));
        }

        boolean hasPendingLocks()
        {
            for (final NearPart part : parts.values())
            {
                if (!part.lockQueue.isEmpty())
                {
                    return true;
                }
            }
            return false;
        }
    }

    private static final class NearPart
    {
        final int cacheId;
        final int partition;
        long primary;
        boolean touched;
        final java.util.HashSet<CacheKey> lockedKeys = new java.util.HashSet<>();
        final ArrayDeque<LockRequest> lockQueue = new ArrayDeque<>(2);
        final List<byte[]> writeKeys = new ArrayList<>(2);
        final List<byte[]> writeValues = new ArrayList<>(2);
        /** The finishing request outstanding: TX_PREPARE, TX_COMMIT or TX_ROLLBACK (0: none). */
        int request;
        boolean answered;
        long lastSentNs;
        /** The primary the last prepare went to (0: none yet). */
        long prepareSentTo;
        /** Whether prepares went to more than one primary (the map changed between sends). */
        boolean prepareSentToAnother;

        NearPart(final int cacheId, final int partition)
        {
            this.cacheId = cacheId;
            this.partition = partition;
        }
    }

    /**
     * One enlist's keys of one partition, asked of its primary. The request id names the map version it was last sent
     * under: sent again under another, it takes a new id, so that an answer granted under the old map (whose locks the
     * primary dropped when it installed the new one) is not taken for the new request's.
     */
    private static final class LockRequest
    {
        long requestId;
        /** The map version the request was last sent with, or -1 before it was sent. */
        long sentVersion = -1;
        final byte[][] keys;
        final boolean lock;
        final Enlist enlist;
        final int[] index;

        LockRequest(final long requestId, final byte[][] keys, final boolean lock, final Enlist enlist,
            final int[] index)
        {
            this.requestId = requestId;
            this.keys = keys;
            this.lock = lock;
            this.enlist = enlist;
            this.index = index;
        }
    }

    private static final class Enlist
    {
        final byte[][] values;
        final TxCallback callback;
        int remaining;
        boolean done;

        Enlist(final int size, final TxCallback callback)
        {
            this.values = new byte[size][];
            this.callback = callback;
        }
    }
}
