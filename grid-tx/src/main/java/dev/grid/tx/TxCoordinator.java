package dev.grid.tx;

import dev.grid.core.codec.messages.TxAnswerDecoder;
import dev.grid.core.codec.messages.TxCommitEncoder;
import dev.grid.core.codec.messages.TxPrepareEncoder;
import dev.grid.core.codec.messages.TxLockEncoder;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.CacheDestroyedException;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.TransactionCommitStatusUnknownException;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.engine.MessageTypes;
import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.TransactionView;
import dev.grid.core.engine.TxCallback;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The coordinator side of transactions: the transactions this member's users began. It locks keys on their
 * partitions' primaries (pessimistic: as the user touches them; optimistic and predicate transactions: at commit),
 * prepares every written partition, decides, and finishes every part; a transaction that writes one partition
 * commits in one phase. Every request is resent until answered. See {@link TxManager} for the protocol.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every part of {@link TxManager}.
 */
final class TxCoordinator
{
    /** The most keys of one partition a lock request or a transaction's writes carry (a message group's bound). */
    static final int MAX_KEYS_PER_PARTITION = MemberMessages.GROUP_MAX;

    private final TxManager manager;
    private final TransactionContext context;

    // Coordinator side.
    final LinkedHashMap<Long, NearTx> nearTxs = new LinkedHashMap<>();

    private long nextRequestId = 1;
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

    TxCoordinator(final TxManager manager)
    {
        this.manager = manager;
        this.context = manager.context;
    }

    long begin(final long timeoutNs, final long priority)
    {
        final long seq = context.newSequence();
        if (priority == 0)
        {
            // The wall clock (ns), which members share, not the monotonic one, whose origin is each process's own
            // (design-notes). Strictly increasing per member; equal ages mean a retry and its predecessor.
            lastPriority = Math.max(context.epochMs() * 1_000_000L, lastPriority + 1);
        }
        final NearTx tx = new NearTx(seq, priority == 0 ? lastPriority : priority, context.nowNs(),
            TransactionContext.deadlineNs(context.nowNs(), timeoutNs));
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
        final int partitions = context.partitionsOf(cacheId);
        if (partitions == 0)
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
            byPartition.computeIfAbsent(KeyPartitioner.partition(keys[i], partitions),
                p -> new ArrayList<>()).add(i);
        }
        enlist.remaining = byPartition.size();
        if (keys.length == 0)
        {
            callback.onSuccess(TxManager.NO_VALUES);
            return;
        }
        for (final Map.Entry<Integer, List<Integer>> entry : byPartition.entrySet())
        {
            if (entry.getValue().size() > MAX_KEYS_PER_PARTITION)
            {
                final GridException error = tooManyKeys("lock or read at once", cacheId, entry.getKey());
                abort(tx, error);
                callback.onFailure(error);
                return;
            }
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

    private GridException tooManyKeys(final String what, final int cacheId, final int partition)
    {
        return new GridException(ErrorCode.CONFIGURATION_INVALID, "a transaction may " + what + " at most " +
            MAX_KEYS_PER_PARTITION + " keys of one partition (partition " + partition + " of cache '" +
            context.cacheName(cacheId) + "'); the transaction is rolled back");
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
        final GridException refused = refuseCommit(tx, cacheIds, keys, values);
        if (refused != null)
        {
            abort(tx, refused);
            callback.onFailure(refused);
            return;
        }
        tx.commitCallback = callback;
        tx.prepareStartNs = context.nowNs();
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
            tx.commitStartNs = context.nowNs();
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
            tx.participants[i] = PartitionCopy.pack(written.get(i).cacheId, written.get(i).partition);
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
     * Why a commit is refused (the transaction is then rolled back): a read or lock still in flight, no quorum, a
     * destroyed cache, a key written without its lock. Otherwise the writes are assigned to their parts.
     *
     * @return the refusal, or null if the commit goes ahead.
     */
    private GridException refuseCommit(final NearTx tx, final int[] cacheIds, final byte[][] keys,
        final byte[][] values)
    {
        if (tx.hasPendingLocks())
        {
            // Refused, and rolled back: the caller takes a refused commit for the end of the transaction (a thin
            // client's connection forgets it), so one left ACTIVE would hold its locks for its whole timeout.
            final GridException error = new GridException(ErrorCode.CONFIGURATION_INVALID,
                "commit while a read or lock of the transaction is still in flight; the transaction is rolled back");
            return error;
        }
        if (context.refusesForQuorum())
        {
            final GridException error = context.noQuorum("the commit of a transaction; it is rolled back");
            final TransactionAbortedException aborted = new TransactionAbortedException(ErrorCode.NO_QUORUM,
                error.detail());
            return aborted;
        }
        for (int i = 0; i < keys.length; i++)
        {
            final int partitions = context.partitionsOf(cacheIds[i]);
            if (partitions == 0)
            {
                final GridException error = new CacheDestroyedException("cache id " + cacheIds[i] +
                    " was destroyed; the transaction is rolled back");
                return error;
            }
            final NearPart part = tx.parts.get(PartitionCopy.pack(cacheIds[i], KeyPartitioner.partition(keys[i],
                partitions)));
            if (part == null || !part.lockedKeys.contains(new CacheKey(cacheIds[i], keys[i])))
            {
                final GridException error = new GridException(ErrorCode.CONFIGURATION_INVALID,
                    "a transaction may only write keys it locked first (cache '" +
                    context.cacheName(cacheIds[i]) + "'); the " +
                    "transaction is rolled back");
                return error;
            }
            part.writeKeys.add(keys[i]);
            part.writeValues.add(values[i]);
            if (part.writeKeys.size() > MAX_KEYS_PER_PARTITION)
            {
                return tooManyKeys("write", cacheIds[i], part.partition);
            }
        }
        return null;
    }

    /**
     * @return the transactions this member coordinates now, oldest first.
     */
    List<TransactionView> views()
    {
        final List<TransactionView> views = new ArrayList<>(nearTxs.size());
        for (final NearTx tx : nearTxs.values())
        {
            int locked = 0;
            for (final NearPart part : tx.parts.values())
            {
                locked += part.lockedKeys.size();
            }
            views.add(new TransactionView(tx.seq, tx.state.name(), context.nowNs() - tx.startedNs,
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
            callback.onSuccess(TxManager.NO_VALUES);
            return;
        }
        if (tx.state == TxState.COMMITTING)
        {
            callback.onFailure(new GridException(ErrorCode.CONFIGURATION_INVALID,
                "the transaction is already committing"));
            return;
        }
        abort(tx, new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK, "the transaction was rolled back"));
        callback.onSuccess(TxManager.NO_VALUES);
    }

    void sendLock(final NearTx tx, final NearPart part)
    {
        final LockRequest request = part.lockQueue.peek();
        if (request == null || context.isExchanging())
        {
            return;
        }
        final long mapVersion = context.mapVersion();
        if (request.lock)
        {
            if (tx.version < 0 || !tx.lockedAny)
            {
                tx.version = mapVersion;
            }
            else if (tx.version != mapVersion)
            {
                abort(tx, topologyChanged(tx));
                return;
            }
        }
        final long primary = addressPrimary(part);
        if (primary == 0)
        {
            return;
        }
        if (request.lock)
        {
            part.touched = true;
        }
        final long version = request.lock ? tx.version : mapVersion;
        if (request.sentVersion >= 0 && request.sentVersion != version)
        {
            // The primary dropped what it granted under the old map when it installed the new one: an answer to the
            // old send still on its way must not count as this one's (its values may be older than the lock's).
            request.requestId = nextRequestId++;
        }
        request.sentVersion = version;
        final TxLockEncoder out = manager.encode(manager.wire.txLockOut, primary);
        out.tx(tx.seq).priority(tx.priority).version(version).cacheId(part.cacheId).partition(part.partition)
            .requestId(request.requestId).locks(MemberMessages.flag(request.lock))
            .timeoutNs(Math.max(0, tx.deadlineNs - context.nowNs()));
        final TxLockEncoder.KeysEncoder keys = out.keysCount(request.keys.length);
        for (final byte[] key : request.keys)
        {
            keys.next().putKey(key, 0, key.length);
        }
        manager.send(out, primary);
    }

    /**
     * Note the send time and find the partition's primary in the installed map.
     *
     * @return the primary's incarnation, or 0 if the partition has none.
     */
    private long addressPrimary(final NearPart part)
    {
        final long primary = context.primaryOf(part.cacheId, part.partition);
        part.lastSentNs = context.nowNs();
        if (primary == TransactionContext.NO_MEMBER)
        {
            return 0;
        }
        part.primary = primary;
        return part.primary;
    }

    void sendPrepare(final NearTx tx, final NearPart part)
    {
        if (context.isExchanging())
        {
            return;
        }
        final long mapVersion = context.mapVersion();
        if (mapVersion != tx.version && !tx.onePhase)
        {
            abort(tx, topologyChanged(tx));
            return;
        }
        final long primary = addressPrimary(part);
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
        final TxPrepareEncoder out = manager.encode(manager.wire.txPrepareOut, primary);
        out.tx(tx.seq).version(tx.version).cacheId(part.cacheId).partition(part.partition)
            .onePhase(MemberMessages.flag(tx.onePhase));
        final long[] participants = tx.participants == null ? new long[0] : tx.participants;
        final TxPrepareEncoder.ParticipantsEncoder group = out.participantsCount(participants.length);
        for (final long participant : participants)
        {
            group.next().participant(participant);
        }
        final TxPrepareEncoder.WritesEncoder writes = out.writesCount(part.writeKeys.size());
        for (int i = 0; i < part.writeKeys.size(); i++)
        {
            final byte[] key = part.writeKeys.get(i);
            final byte[] value = part.writeValues.get(i);
            writes.next().hasValue(MemberMessages.has(value)).putKey(key, 0, key.length)
                .putValue(MemberMessages.orEmpty(value), 0, MemberMessages.orEmpty(value).length);
        }
        manager.send(out, primary);
    }

    void sendFinish(final NearTx tx, final NearPart part)
    {
        if (context.isExchanging())
        {
            return;
        }
        if (part.request == MessageTypes.TX_ROLLBACK && tx.answerAfterRollback &&
            context.partitionsOf(part.cacheId) != 0 &&
            !canRecordRollback(part))
        {
            // The partition is lost: its last owners are away, may hold the prepare durably and come back with it,
            // and a copy standing in for them records nothing their recovery consults. So the rollback waits (sent
            // again every retry interval) until the partition is back or reset.
            part.lastSentNs = context.nowNs();
            unreachableRollback(tx);
            return;
        }
        final long primary = addressPrimary(part);
        if (primary == 0)
        {
            // Every copy of the partition is gone: nothing is left there to commit or release.
            part.answered = true;
            maybeDone(tx);
            return;
        }
        if (part.request != MessageTypes.TX_COMMIT)
        {
            manager.send(manager.encode(manager.wire.txRollbackOut, primary).tx(tx.seq).cacheId(part.cacheId)
                .partition(part.partition), primary);
            return;
        }
        final TxCommitEncoder out = manager.encode(manager.wire.txCommitOut, primary);
        out.tx(tx.seq).cacheId(part.cacheId).partition(part.partition);
        final TxCommitEncoder.WritesEncoder writes = out.writesCount(part.writeKeys.size());
        for (int i = 0; i < part.writeKeys.size(); i++)
        {
            final byte[] key = part.writeKeys.get(i);
            final byte[] value = part.writeValues.get(i);
            writes.next().hasValue(MemberMessages.has(value)).putKey(key, 0, key.length)
                .putValue(MemberMessages.orEmpty(value), 0, MemberMessages.orEmpty(value).length);
        }
        manager.send(out, primary);
    }

    void onAnswer(final long sender)
    {
        final TxAnswerDecoder in = manager.decode(manager.wire.txAnswerIn);
        final int kind = in.kind();
        final long seq = in.tx();
        final int cacheId = in.cacheId();
        final int partition = TxCodec.partition(in.partition());
        final long requestId = in.requestId();
        final int status = in.status();
        final int errorCode = in.errorCode();
        final TxAnswerDecoder.ValuesDecoder group = in.values();
        final byte[][] values = new byte[group.count()][];
        for (int i = 0; i < values.length; i++)
        {
            group.next();
            final short hasValue = group.hasValue();
            final byte[] value = MemberMessages.bytes(in, group.valueLength(), "value");
            group.getValue(value, 0, value.length);
            values[i] = MemberMessages.ifHas(hasValue, value);
        }
        final byte[] message = MemberMessages.bytes(in, in.messageLength(), "message");
        in.getMessage(message, 0, message.length);
        GridException error = null;
        if (status == TxManager.STATUS_ERROR)
        {
            error = GridException.of(TxCodec.errorCode(errorCode), MemberMessages.text(message));
        }
        else if (status != TxManager.STATUS_OK && status != TxManager.STATUS_REMAP)
        {
            throw new MalformedMessageException("unknown transaction answer status " + status);
        }
        final NearTx tx = nearTxs.get(seq);
        if (tx == null)
        {
            return;
        }
        final NearPart part = tx.parts.get(PartitionCopy.pack(cacheId, partition));
        if (part == null || part.primary != sender)
        {
            return;
        }
        switch (kind)
        {
            case TxManager.ANSWER_LOCKED -> onLocked(tx, part, requestId, status, error, values);
            case TxManager.ANSWER_PREPARED -> onPrepared(tx, part, status, error);
            case TxManager.ANSWER_COMMITTED -> onCommitted(tx, part, status, error);
            case TxManager.ANSWER_ROLLED_BACK -> onRolledBack(tx, part);
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
        if (status == TxManager.STATUS_REMAP)
        {
            if (request.lock && tx.lockedAny)
            {
                abort(tx, topologyChanged(tx));
            }
            else
            {
                // Not bound to a map yet: ask again once this member has the primary's map.
                part.lastSentNs = context.nowNs() - retrySoonNs();
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
        if (status != TxManager.STATUS_OK)
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
        tx.commitStartNs = context.nowNs();
        context.transactionPrepared(context.nowNs() - tx.prepareStartNs);
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
        if (status == TxManager.STATUS_REMAP)
        {
            if (tx.onePhase)
            {
                // The primary that answers has not applied it and will not; a former one it went to may have.
                endOnePhaseNotAppliedHere(tx, part, topologyChanged(tx));
            }
            else
            {
                part.lastSentNs = context.nowNs() - retrySoonNs();
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
            context.event("transaction " + tx.seq + " partition " + part.partition + " refused commit: " +
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
        return context.primaryOf(part.cacheId, part.partition) != TransactionContext.NO_MEMBER &&
            !context.isLost(part.cacheId, part.partition);
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
        manager.outcomes.put(tx.seq, was == TxState.COMMITTING);
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

    void completeUser(final NearTx tx, final GridException error)
    {
        if (tx.userAnswered || tx.commitCallback == null)
        {
            return;
        }
        tx.userAnswered = true;
        final long totalNs = context.nowNs() - tx.startedNs;
        context.transactionFinished(error == null ? 0 : error.errorCode().code(),
            tx.commitStartNs == 0 || error != null ? -1 : context.nowNs() - tx.commitStartNs, totalNs);
        if (error == null)
        {
            tx.commitCallback.onSuccess(TxManager.NO_VALUES);
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
    void abort(final NearTx tx, final GridException error)
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
            context.transactionFinished(error.errorCode().code(), -1, context.nowNs() - tx.startedNs);
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

    GridException topologyChanged(final NearTx tx)
    {
        return new TransactionAbortedException(ErrorCode.TX_TOPOLOGY_CHANGED, "the partition map changed from " +
            "version " + tx.version + " before the transaction was prepared; nothing was applied");
    }

    static final class NearTx
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
            return parts.computeIfAbsent(PartitionCopy.pack(cacheId, partition),
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

    static final class NearPart
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

    /** @return how far back to date a send so that its resend comes an eighth of the retry interval later. */
    private long retrySoonNs()
    {
        return context.retryIntervalNs() - Math.max(1, context.retryIntervalNs() / 8);
    }
}
