package dev.grid.tx;

import dev.grid.core.codec.messages.TxBackupAckDecoder;
import dev.grid.core.codec.messages.TxBackupDecoder;
import dev.grid.core.codec.messages.TxBackupEncoder;
import dev.grid.core.codec.messages.TxRollbackDecoder;
import dev.grid.core.codec.messages.TxCommitDecoder;
import dev.grid.core.codec.messages.TxPrepareDecoder;
import dev.grid.core.codec.messages.TxLockDecoder;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.CacheDestroyedException;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.PartitionLostException;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.engine.MessageTypes;
import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.TxPartKey;
import org.agrona.collections.LongHashSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;

/**
 * The participant side of transactions on this member: as a partition's primary it locks keys (through
 * {@link LockTable}), prepares (reserves counters, logs the prepare, ships it to the backups), commits or rolls back
 * once every backup did; as a backup it logs and applies what its primary ships, in the primary's counters. Parts
 * live in {@link TxManager#parts}, shared with recovery.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every part of {@link TxManager}.
 */
final class TxParticipant
{
    private final TxManager manager;
    private final TransactionContext context;

    final HashMap<TxPartKey, Boolean> applying = new HashMap<>();

    /**
     * Prepares a primary shipped to this backup that it did not hold, having applied the commit already (it answered
     * "committed"). That answer stands on the copy's data: if the copy is cleared for a full rebalance (a historical
     * catch-up falling back, or a full rebalance planned at an install) before the transaction ends, the prepare is
     * held again ({@link #onCopyCleared}). Dropped once the transaction's end reaches this member, and all at each map
     * install, after which the primaries send their open prepares again.
     */
    final HashMap<TxPartKey, TxPrepared> answeredCommitted = new HashMap<>();

    /**
     * Copies ({@link PartitionCopy#pack}) cleared for a full rebalance since the last map install: what their commits
     * were is forgotten, so a late repeat of one would look like a first application, and is no evidence against
     * the prepares held there ({@link #voidPreparesOverwritten}).
     */
    final LongHashSet clearedSinceInstall = new LongHashSet();

    TxParticipant(final TxManager manager)
    {
        this.manager = manager;
        this.context = manager.context;
    }

    void onLock(final long sender)
    {
        final TxLockDecoder in = manager.decode(manager.wire.txLockIn);
        final long seq = in.tx();
        final long priority = in.priority();
        final long version = in.version();
        final int cacheId = in.cacheId();
        final int partition = TxCodec.partition(in.partition());
        final long requestId = in.requestId();
        final boolean lock = in.locks() != 0;
        final long timeoutNs = in.timeoutNs();
        final TxLockDecoder.KeysDecoder group = in.keys();
        if (group.count() == 0)
        {
            throw new MalformedMessageException("transaction lock without a key");
        }
        final byte[][] keys = new byte[group.count()][];
        for (int i = 0; i < keys.length; i++)
        {
            group.next();
            keys[i] = MemberMessages.bytes(in, group.keyLength(), "key");
            group.getKey(keys[i], 0, keys[i].length);
        }
        final TxPartKey key = new TxPartKey(sender, seq, cacheId, partition);
        final int partitions = context.partitionsOf(cacheId);
        if (partitions == 0 || partition >= partitions)
        {
            manager.answerError(key, TxManager.ANSWER_LOCKED, requestId, partitions == 0 ?
                new CacheDestroyedException("cache id " + cacheId + " was destroyed") :
                new GridException(ErrorCode.CONFIGURATION_INVALID, "partition " + partition + " out of range"));
            return;
        }
        if (context.isExchanging() || version > context.mapVersion())
        {
            return;
        }
        final PartitionCopy lp = context.copy(cacheId, partition);
        if (!manager.isPrimary(cacheId, partition) || lp == null || (lock && version < context.mapVersion()))
        {
            manager.answer(key, TxManager.ANSWER_LOCKED, requestId, TxManager.STATUS_REMAP, null, null);
            return;
        }
        final String lossRefusal = context.lossRefusal(cacheId, partition, lock);
        if (lossRefusal != null)
        {
            manager.answerError(key, TxManager.ANSWER_LOCKED, requestId, new PartitionLostException(lossRefusal));
            return;
        }
        if (!lock)
        {
            manager.lockTable.answerRead(key, requestId, keys, false);
            return;
        }
        if (manager.finished.containsKey(key))
        {
            manager.answerError(key, TxManager.ANSWER_LOCKED, requestId,
                new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
                "the transaction already finished on partition " + partition));
            return;
        }
        TxPart part = manager.parts.get(key);
        if (part == null)
        {
            part = new TxPart(key, priority, version);
            manager.parts.put(key, part);
        }
        if (part.state != TxParticipantState.LOCKING || (part.wait != null && part.wait.requestId == requestId))
        {
            return;
        }
        manager.lockTable.acquire(part, cacheId, keys, requestId,
            TransactionContext.deadlineNs(context.nowNs(), timeoutNs));
    }

    void onPrepare(final long sender)
    {
        final TxPrepareDecoder in = manager.decode(manager.wire.txPrepareIn);
        final long seq = in.tx();
        final long version = in.version();
        final int cacheId = in.cacheId();
        final int partition = TxCodec.partition(in.partition());
        final boolean onePhase = in.onePhase() != 0;
        final TxPrepareDecoder.ParticipantsDecoder group = in.participants();
        final long[] participants = new long[group.count()];
        for (int i = 0; i < participants.length; i++)
        {
            participants[i] = group.next().participant();
        }
        final byte[][][] writes = TxCodec.writes(in, in.writes());
        final TxPartKey key = new TxPartKey(sender, seq, cacheId, partition);
        final int answerKind = onePhase ? TxManager.ANSWER_COMMITTED : TxManager.ANSWER_PREPARED;
        if (answeredAsFinished(key, answerKind, partition) || applying.containsKey(key))
        {
            // Being applied here, from a former primary's commit: answered as finished once it is, when asked again.
            return;
        }
        if (context.partitionsOf(cacheId) == 0)
        {
            manager.answerError(key, answerKind, 0, new CacheDestroyedException("cache id " +
                cacheId + " was destroyed"));
            return;
        }
        if (context.isExchanging() || version > context.mapVersion() || context.isPaused(cacheId, partition))
        {
            // A consistency check holds the partition still for a moment: the coordinator sends this again.
            return;
        }
        final TxPart part = manager.parts.get(key);
        if (!manager.isPrimary(cacheId, partition) || (version < context.mapVersion() &&
            (part == null || part.state != TxParticipantState.PREPARED)))
        {
            manager.answer(key, answerKind, 0, TxManager.STATUS_REMAP, null, null);
            return;
        }
        if (part == null)
        {
            manager.answerError(key, answerKind, 0, new TransactionAbortedException(ErrorCode.TX_TOPOLOGY_CHANGED,
                "the transaction's locks on partition " + partition + " are gone (map change or deadlock " +
                "prevention); nothing was applied"));
            return;
        }
        switch (part.state)
        {
            case PREPARED ->
            {
                manager.answer(key, answerKind, 0, TxManager.STATUS_OK, null, null);
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
        if (!context.hasQuorum())
        {
            // A primary that may be on the minority side reserves no counters and prepares nothing.
            manager.answerError(key, answerKind, 0, new TransactionAbortedException(ErrorCode.NO_QUORUM,
                context.noQuorum("the prepare of a transaction on partition " + partition).detail()));
            return;
        }
        final GridException refused = prepareRefusal(part, key, writes);
        if (refused != null)
        {
            manager.answerError(key, answerKind, 0, refused);
            return;
        }
        reserveAndPrepare(part, key, writes, participants, onePhase);
    }

    /**
     * @return why a prepare's writes cannot be prepared here (a key the transaction did not lock; a value the
     *         member's memory bound refuses, as for a single write), or null if they can.
     */
    private GridException prepareRefusal(final TxPart part, final TxPartKey key, final byte[][][] writes)
    {
        for (int i = 0; i < writes[0].length; i++)
        {
            if (!part.held.contains(new CacheKey(key.cacheId(), writes[0][i])))
            {
                return new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
                    "prepare of a key the transaction did not lock on partition " + key.partition());
            }
            final GridException refused = writes[1][i] == null ? null :
                context.memoryRefusal(key.cacheId(), key.partition(), writes[0][i]);
            if (refused != null)
            {
                return refused;
            }
        }
        return null;
    }

    /**
     * A prepare of a part this member already finished is answered with how it ended, except a one-phase commit's
     * "committed" where this member is not the partition's primary in its map, or the partition is lost here (asked
     * again later).
     *
     * @return whether the part was finished (and the prepare answered or left for the coordinator to send again).
     */
    private boolean answeredAsFinished(final TxPartKey key, final int answerKind, final int partition)
    {
        final Boolean done = manager.finished.get(key);
        if (done == null)
        {
            return false;
        }
        if (done && answerKind == TxManager.ANSWER_COMMITTED && (!manager.isPrimary(key.cacheId(), partition) ||
            manager.recovery.isLostHere(key.cacheId(), partition)))
        {
            // This copy may have got the commit only as a backup, and a one-phase commit leaves no prepare behind:
            // the primary may have failed before its own copy held it. Not yet primary here, or a stand-in for lost
            // owners, this copy may still be replaced by an owner's that lacks it; "committed" now would be undone
            // then (whole-cluster bank seed 0x16acc8fe: a backup answered before it installed the map in which the
            // partition was lost, and the failed primary's copy came back without the commit).
            return true;
        }
        if (done)
        {
            manager.answer(key, answerKind, 0, TxManager.STATUS_OK, null, null);
        }
        else
        {
            manager.answerError(key, answerKind, 0, new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
                "the transaction was already rolled back on partition " + partition));
        }
        return true;
    }

    /**
     * Reserve the part's counters and prepare it: a one-phase commit commits at once; otherwise the prepare is logged
     * and shipped to the backups, and answered once it is durable here and on every backup.
     */
    private void reserveAndPrepare(final TxPart part, final TxPartKey key, final byte[][][] writes,
        final long[] participants, final boolean onePhase)
    {
        final int cacheId = key.cacheId();
        final int partition = key.partition();
        part.writeKeys = writes[0];
        part.writeValues = writes[1];
        part.participants = participants;
        part.onePhase = onePhase;
        final PartitionCopy lp = context.copy(cacheId, partition);
        part.count = part.writeKeys.length;
        if (part.count > 0)
        {
            part.start = lp.reserve(part.count);
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
        final long position = context.appendTxPrepare(key, part.priority, participants, part.writeKeys,
            part.writeValues);
        context.awaitDurable(position, lp, 0, () ->
        {
            part.prepareDurable = true;
            if (part.state == TxParticipantState.PREPARING && part.backupKind == TxManager.BACKUP_PREPARE &&
                part.pendingBackups.isEmpty())
            {
                preparedHere(part);
            }
        });
        sendBackups(part, TxManager.BACKUP_PREPARE, true);
        if (part.pendingBackups.isEmpty() && part.prepareDurable)
        {
            preparedHere(part);
        }
    }

    private void preparedHere(final TxPart part)
    {
        part.state = part.state.moveTo(TxParticipantState.PREPARED);
        part.preparedSinceNs = context.nowNs();
        manager.answer(part.key, TxManager.ANSWER_PREPARED, 0, TxManager.STATUS_OK, null, null);
    }

    void onCommit(final long sender)
    {
        final TxCommitDecoder in = manager.decode(manager.wire.txCommitIn);
        final long seq = in.tx();
        final int cacheId = in.cacheId();
        final int partition = TxCodec.partition(in.partition());
        final byte[][][] writes = TxCodec.writes(in, in.writes());
        final TxPartKey key = new TxPartKey(sender, seq, cacheId, partition);
        final Boolean done = manager.finished.get(key);
        if (done != null)
        {
            final TxPart stale = manager.parts.get(key);
            if (stale != null && stale.state == TxParticipantState.PREPARED)
            {
                // Finished here before this copy took the prepare over (a rebalance brought the outcome).
                manager.lockTable.drop(stale);
            }
            if (done)
            {
                manager.answer(key, TxManager.ANSWER_COMMITTED, 0, TxManager.STATUS_OK, null, null);
            }
            else
            {
                context.event("member " + context.memberId() + ": commit of transaction " + seq +
                    " reached partition " + partition + " where it was rolled back");
                manager.answerError(key, TxManager.ANSWER_COMMITTED, 0,
                    new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
                    "the transaction was rolled back on partition " + partition));
            }
            return;
        }
        if (context.partitionsOf(cacheId) == 0)
        {
            manager.answerError(key, TxManager.ANSWER_COMMITTED, 0, new CacheDestroyedException("cache id " + cacheId +
                " was destroyed"));
            return;
        }
        if (context.isExchanging() || context.isPaused(cacheId, partition) ||
            manager.recovery.isLostHere(cacheId, partition))
        {
            // A lost partition's copies stand in for owners that are away and hold the prepare: a commit applied to
            // them would be lost when an owner returns, while the other partitions keep theirs. Asked again.
            return;
        }
        if (!manager.isPrimary(cacheId, partition))
        {
            manager.answer(key, TxManager.ANSWER_COMMITTED, 0, TxManager.STATUS_REMAP, null, null);
            return;
        }
        if (applying.containsKey(key))
        {
            // A former primary's commit of this part is being applied here (this member was its backup): once that
            // is done, the coordinator's next send finds it finished. Applied again now, the writes would take new
            // counters, with no lock held, over whatever a later transaction wrote to those keys meanwhile.
            return;
        }
        TxPart part = manager.parts.get(key);
        if (part == null)
        {
            // Decided to commit, but no prepare survived here (every copy that held it is gone): apply what the
            // coordinator sends, as the only record of the decision, holding its keys' locks first (owed those
            // another part holds): applied without them, a transfer that locked a key meanwhile read it without
            // these writes and wrote over them (whole-cluster bank seed 0x16acc054).
            part = new TxPart(key, 0, context.mapVersion());
            manager.parts.put(key, part);
            part.state = part.state.moveTo(TxParticipantState.PREPARED);
            manager.lockTable.holdOrOwe(part, writes[0]);
        }
        if (part.state == TxParticipantState.COMMITTING)
        {
            return;
        }
        if (part.state == TxParticipantState.ROLLING_BACK)
        {
            context.event("member " + context.memberId() + ": commit of transaction " + seq +
                " reached partition " + partition + " while it rolls back");
            return;
        }
        if (part.writeKeys == null)
        {
            part.writeKeys = writes[0];
            part.writeValues = writes[1];
            part.count = part.writeKeys.length;
        }
        if (part.owed == 0)
        {
            // Otherwise taken over while another part held some of its keys: the coordinator's next send finds
            // whether it holds them by then.
            startCommit(part);
        }
    }

    void startCommit(final TxPart part)
    {
        final PartitionCopy lp = context.copy(part.key.cacheId(), part.key.partition());
        if (lp == null)
        {
            // The copy went with a map change (its parts are moved or dropped at install); nothing to apply here.
            manager.lockTable.drop(part);
            return;
        }
        if (part.count > 0 && part.start < 0)
        {
            part.start = lp.reserve(part.count);
        }
        part.state = part.state.moveTo(TxParticipantState.COMMITTING);
        part.durable = part.count == 0;
        context.updateStarted();
        for (int i = 0; i < part.count; i++)
        {
            final long counter = part.start + 1 + i;
            final long position = context.appendTxData(lp, counter, part.key.coordinator(), part.key.seq(),
                part.writeKeys[i], part.writeValues[i]);
            lp.apply(part.writeKeys[i], part.writeValues[i], counter);
            context.awaitDurable(position, lp, counter, i < part.count - 1 ? null : () ->
            {
                part.durable = true;
                tryFinishCommit(part);
            });
        }
        sendBackups(part, TxManager.BACKUP_COMMIT, true);
        tryFinishCommit(part);
    }

    private void tryFinishCommit(final TxPart part)
    {
        if (part.state != TxParticipantState.COMMITTING || !part.durable || !part.pendingBackups.isEmpty() ||
            manager.parts.get(part.key) != part)
        {
            return;
        }
        context.updateFinished();
        manager.finished.put(part.key, Boolean.TRUE);
        manager.lockTable.drop(part);
        if (part.prepareLogged && part.count == 0)
        {
            // No write logged the commit here: the end record must be durable before the coordinator hears it.
            final long position = context.appendTxEnd(part.key, true);
            final PartitionCopy lp = context.copy(part.key.cacheId(), part.key.partition());
            context.awaitDurable(position, lp, 0, () -> manager.answer(part.key,
                TxManager.ANSWER_COMMITTED, 0,
                TxManager.STATUS_OK, null, null));
            return;
        }
        if (part.prepareLogged)
        {
            // Its writes (durable already) record the commit; the end record only spares replay the prepare.
            context.appendTxEnd(part.key, true);
        }
        manager.answer(part.key, TxManager.ANSWER_COMMITTED, 0, TxManager.STATUS_OK, null, null);
    }

    void onRollback(final long sender)
    {
        final TxRollbackDecoder in = manager.decode(manager.wire.txRollbackIn);
        final long seq = in.tx();
        final int cacheId = in.cacheId();
        final int partition = TxCodec.partition(in.partition());
        final TxPartKey key = new TxPartKey(sender, seq, cacheId, partition);
        final Boolean done = manager.finished.get(key);
        if (done != null)
        {
            manager.answer(key, TxManager.ANSWER_ROLLED_BACK, 0, TxManager.STATUS_OK, null, null);
            return;
        }
        if (context.isExchanging())
        {
            return;
        }
        if (context.isPaused(cacheId, partition))
        {
            return;
        }
        TxPart part = manager.parts.get(key);
        if (part == null)
        {
            if (context.partitionsOf(cacheId) == 0)
            {
                manager.finished.put(key, Boolean.FALSE);
                manager.answer(key, TxManager.ANSWER_ROLLED_BACK, 0, TxManager.STATUS_OK, null, null);
                return;
            }
            if (!manager.isPrimary(cacheId, partition))
            {
                manager.answer(key, TxManager.ANSWER_ROLLED_BACK, 0, TxManager.STATUS_REMAP, null, null);
                return;
            }
            // Nothing here, but a backup may hold a prepare from a primary that failed: it must drop it too.
            part = new TxPart(key, 0, context.mapVersion());
            part.backupsMayHold = true;
            manager.parts.put(key, part);
        }
        if (part.state == TxParticipantState.COMMITTING || part.state == TxParticipantState.ROLLING_BACK)
        {
            return;
        }
        startRollback(part);
    }

    void startRollback(final TxPart part)
    {
        part.state = part.state.moveTo(TxParticipantState.ROLLING_BACK);
        // Nothing of it was applied, but its keys stay locked until every backup dropped the prepare
        // (tryFinishRollback): a backup that kept it (the rollback lost with this primary) would otherwise hold a
        // prepare over keys that later transactions wrote, and a recovery committing it would put their old values
        // back.
        context.updateStarted();
        // Backups first: if this copy closed its range before them, a recovery could still commit on a backup what
        // this primary's WAL says was rolled back.
        if (part.backupsMayHold || part.start >= 0)
        {
            sendBackups(part, TxManager.BACKUP_ROLLBACK, true);
        }
        tryFinishRollback(part);
    }

    private void tryFinishRollback(final TxPart part)
    {
        if (part.state != TxParticipantState.ROLLING_BACK || !part.pendingBackups.isEmpty() ||
            manager.parts.get(part.key) != part)
        {
            return;
        }
        context.updateFinished();
        final PartitionCopy lp = context.copy(part.key.cacheId(), part.key.partition());
        if (lp != null && part.start >= 0 && part.count > 0)
        {
            context.closeRange(lp, part.start, part.count);
        }
        manager.finished.put(part.key, Boolean.FALSE);
        manager.lockTable.drop(part);
        // This member may also hold the prepare as a backup of an earlier primary (the partition was lost, so it never
        // took it over): logged, it would come back with a restart, and recovery, finding it prepared everywhere,
        // would commit a transaction whose user heard "aborted" (whole-cluster bank seed 0x16acbe1a).
        final boolean heldAsBackup = manager.prepared.remove(part.key) != null;
        if (part.prepareLogged || heldAsBackup)
        {
            final long position = context.appendTxEnd(part.key, false);
            context.awaitDurable(position, lp, 0, () -> manager.answer(part.key,
                TxManager.ANSWER_ROLLED_BACK, 0, TxManager.STATUS_OK, null,
                null));
            return;
        }
        manager.answer(part.key, TxManager.ANSWER_ROLLED_BACK, 0, TxManager.STATUS_OK, null, null);
    }

    /**
     * A copy of this partition is cleared for a full rebalance: the data that let this member answer "committed" to
     * prepares is gone, so it holds them again, as possibly stale ones (the rebalance voids those its supplier no
     * longer holds open). The owners hold them while their transactions are open: without them, this copy, made
     * primary before the commit reached it, let a later transfer lock and read an account without the pending one's
     * write, and the late commit, finding no prepare, applied over the later transfer (persistent bank seed
     * 0x168e3f7e).
     */
    void onCopyCleared(final int cacheId, final int partition)
    {
        clearedSinceInstall.add(PartitionCopy.pack(cacheId, partition));
        for (final TxPrepared p : new ArrayList<>(answeredCommitted.values()))
        {
            if (p.key().cacheId() == cacheId && p.key().partition() == partition)
            {
                answeredCommitted.remove(p.key());
                if (!manager.finished.containsKey(p.key()))
                {
                    manager.prepared.putIfAbsent(p.key(), p);
                }
            }
        }
    }

    void sendBackups(final TxPart part, final int kind, final boolean fresh)
    {
        if (kind == TxManager.BACKUP_PREPARE)
        {
            part.backupsMayHold = true;
        }
        if (fresh)
        {
            part.backupKind = kind;
            part.pendingBackups.clear();
            final long[] owners = context.ownersOf(part.key.cacheId(), part.key.partition());
            for (int i = 1; i < owners.length; i++)
            {
                final long backup = owners[i];
                // A backup that already left the current topology would never answer (it was forgotten then).
                if (context.isMember(backup))
                {
                    part.pendingBackups.add(backup);
                }
            }
        }
        part.lastSentNs = context.nowNs();
        for (int b = 0; b < part.pendingBackups.size(); b++)
        {
            final long backup = part.pendingBackups.get(b);
            final TxBackupEncoder out = manager.encode(manager.wire.txBackupOut, backup);
            out.kind((short)kind).coordinator(part.key.coordinator()).tx(part.key.seq()).version(context.mapVersion())
                .cacheId(part.key.cacheId()).partition(part.key.partition()).priority(part.priority)
                .start(kind == TxManager.BACKUP_PREPARE ? -1 : part.start).count(part.start < 0 ? 0 : part.count);
            final long[] participants = part.participants == null ? new long[0] : part.participants;
            final TxBackupEncoder.ParticipantsEncoder group = out.participantsCount(participants.length);
            for (final long participant : participants)
            {
                group.next().participant(participant);
            }
            final int count = kind == TxManager.BACKUP_ROLLBACK || part.writeKeys == null ? 0 : part.writeKeys.length;
            final TxBackupEncoder.WritesEncoder writes = out.writesCount(count);
            for (int i = 0; i < count; i++)
            {
                final byte[] key = part.writeKeys[i];
                final byte[] value = MemberMessages.orEmpty(part.writeValues[i]);
                writes.next().hasValue(MemberMessages.has(part.writeValues[i])).putKey(key, 0, key.length)
                    .putValue(value, 0, value.length);
            }
            manager.send(out, backup);
        }
    }

    void onBackupAck(final long sender)
    {
        final TxBackupAckDecoder in = manager.decode(manager.wire.txBackupAckIn);
        final int kind = in.kind();
        final TxPartKey key = new TxPartKey(in.coordinator(), in.tx(), in.cacheId(), TxCodec.partition(in.partition()));
        final boolean applied = in.applied() != 0;
        final int outcome = in.outcome();
        if (outcome < TxManager.OUTCOME_NONE || outcome > TxManager.OUTCOME_ROLLED_BACK)
        {
            throw new MalformedMessageException("unknown transaction outcome " + outcome);
        }
        final TxPart part = manager.parts.get(key);
        if (part != null && outcome != TxManager.OUTCOME_NONE && part.state == TxParticipantState.PREPARED)
        {
            // A backup saw the transaction end under an earlier primary: that is how it ended.
            part.recoveryCommitted |= outcome == TxManager.OUTCOME_COMMITTED;
            part.recoveryRolledBack |= outcome == TxManager.OUTCOME_ROLLED_BACK;
        }
        if (part == null || part.backupKind != kind || !part.pendingBackups.remove(sender))
        {
            return;
        }
        if (!applied)
        {
            final PartitionCopy lp = context.copy(key.cacheId(), key.partition());
            if (lp != null)
            {
                lp.refuseBackup(sender);
            }
        }
        backupDone(part);
    }

    private void backupDone(final TxPart part)
    {
        if (!part.pendingBackups.isEmpty())
        {
            return;
        }
        switch (part.backupKind)
        {
            case TxManager.BACKUP_PREPARE ->
            {
                if (part.state == TxParticipantState.PREPARING && part.prepareDurable)
                {
                    preparedHere(part);
                }
                else if (part.recovering)
                {
                    manager.recovery.decideRecovery(part);
                }
            }
            case TxManager.BACKUP_COMMIT -> tryFinishCommit(part);
            case TxManager.BACKUP_ROLLBACK -> tryFinishRollback(part);
            default ->
            {
            }
        }
    }

    /**
     * At a map install, for a commit or rollback under way here: members that own no copy of the partition in the new
     * map are no longer awaited (their copies are dropped). One that got the message only after it installed that map
     * never answers it, and the part would hold its keys' locks for good (whole-cluster bank seed 0x16acca08).
     */
    void forgetFormerOwners(final TxPart part)
    {
        final long[] owners = context.ownersOf(part.key.cacheId(), part.key.partition());
        // Only at an install, and only for the parts still committing or rolling back then.
        if (part.pendingBackups.removeIf(backup -> Arrays.stream(owners).noneMatch(owner -> owner == backup)))
        {
            backupDone(part);
        }
    }

    /** A member left: its acknowledgements are no longer awaited. */
    void forgetMember(final long departed)
    {
        for (final TxPart part : new ArrayList<>(manager.parts.values()))
        {
            if (part.pendingBackups.remove(departed))
            {
                backupDone(part);
            }
        }
    }

    void onBackup(final long sender)
    {
        final TxBackupDecoder in = manager.decode(manager.wire.txBackupIn);
        final int kind = in.kind();
        final long coordinator = in.coordinator();
        final long seq = in.tx();
        final long version = in.version();
        final int cacheId = in.cacheId();
        final int partition = TxCodec.partition(in.partition());
        final long priority = in.priority();
        final long start = in.start();
        final int count = in.count();
        if (count < 0 || count > 1 << 20)
        {
            throw new MalformedMessageException("transaction backup with " + count + " counters");
        }
        final TxBackupDecoder.ParticipantsDecoder group = in.participants();
        final long[] participants = new long[group.count()];
        for (int i = 0; i < participants.length; i++)
        {
            participants[i] = group.next().participant();
        }
        final byte[][][] writes = TxCodec.writes(in, in.writes());
        if (kind < TxManager.BACKUP_PREPARE || kind > TxManager.BACKUP_ROLLBACK)
        {
            throw new MalformedMessageException("unknown transaction backup kind " + kind);
        }
        if (kind == TxManager.BACKUP_COMMIT && writes[0].length != count)
        {
            throw new MalformedMessageException("transaction commit with " + writes[0].length + " writes for " +
                count + " counters");
        }
        if ((!context.hasMap() || version > context.mapVersion()) && version < context.topologyVersion())
        {
            // This member skipped the map the primary works in (the topology moved on before it was installed
            // here): it cannot apply this, and the primary's report for the next exchange waits for the answer.
            // Its copy lags from now on; the next exchange finds it different and rebalances it.
            ackBackup(sender, kind, new TxPartKey(coordinator, seq, cacheId, partition), false);
            return;
        }
        if (!context.hasMap() || version > context.mapVersion())
        {
            // Sent in a map this member has not installed (its primary installed it first, and sends its held
            // prepares to every copy at install): handled again after this member's next install. Dropped, a
            // prepare could be missing from a copy that later becomes primary alone, if the primary stops before it
            // sends it again (whole-cluster bank seed 0x16acc94e).
            context.parkUntilInstalled();
            return;
        }
        // Served during an exchange too: the primary's report waits for these updates to finish.
        if (version != context.mapVersion() || context.rankOf(cacheId, partition, sender) != 0)
        {
            return;
        }
        final PartitionCopy lp = context.copy(cacheId, partition);
        if (lp == null)
        {
            return;
        }
        final TxPartKey key = new TxPartKey(coordinator, seq, cacheId, partition);
        switch (kind)
        {
            case TxManager.BACKUP_PREPARE -> backupPrepare(sender, key, lp, priority, writes, participants);
            case TxManager.BACKUP_COMMIT -> backupCommit(sender, key, lp, start, count, writes);
            default -> backupRollback(sender, key, lp, start, count);
        }
    }

    /** A backup logs a prepare its primary shipped, and acknowledges it once durable. */
    private void backupPrepare(final long sender, final TxPartKey key, final PartitionCopy lp,
        final long priority, final byte[][][] writes, final long[] participants)
    {
        // A prepare that arrives after the commit or rollback (reordered) must not outlive it.
        if (!manager.finished.containsKey(key) && !applying.containsKey(key))
        {
            final boolean known = manager.prepared.containsKey(key);
            manager.prepared.put(key, new TxPrepared(key, priority, writes[0], writes[1], participants,
                context.nowNs(), false));
            // Acknowledged once durable: the primary answers "prepared" only when every copy has it (a
            // resend waits for the record the first one appended, which is at or below the last position).
            final long position = known ? context.appendedPosition() :
                context.appendTxPrepare(key, priority, participants, writes[0], writes[1]);
            context.awaitDurable(position, lp, 0, () -> ackBackup(sender, TxManager.BACKUP_PREPARE, key));
            return;
        }
        // Already ended here: a primary that held the prepare when its predecessor failed (its own end
        // message was lost) must end it the same way, not presume a commit.
        final Boolean ended = manager.finished.get(key);
        if (Boolean.TRUE.equals(ended))
        {
            // Kept aside: the answer below holds only while this copy keeps the commit's writes.
            answeredCommitted.put(key, new TxPrepared(key, priority, writes[0], writes[1], participants,
                context.nowNs(), true));
        }
        ackBackup(sender, TxManager.BACKUP_PREPARE, key, true, ended == null ? TxManager.OUTCOME_NONE :
            ended ? TxManager.OUTCOME_COMMITTED : TxManager.OUTCOME_ROLLED_BACK);
    }

    /**
     * A backup applies a commit in its primary's counters, and acknowledges it once every write is durable (a repeat
     * of a commit already applied is acknowledged at once).
     */
    private void backupCommit(final long sender, final TxPartKey key, final PartitionCopy lp,
        final long start, final int count, final byte[][][] writes)
    {
        answeredCommitted.remove(key);
        if (manager.prepared.remove(key) != null)
        {
            // With writes, they record the commit (durable before the acknowledgement); without, the
            // acknowledgement below waits for every record appended so far, this one included.
            context.appendTxEnd(key, true);
        }
        if (Boolean.TRUE.equals(manager.finished.get(key)) || (count > 0 && lp.isClosed(start + 1)))
        {
            manager.finished.put(key, Boolean.TRUE);
            ackBackup(sender, TxManager.BACKUP_COMMIT, key);
            return;
        }
        if (applying.containsKey(key))
        {
            return;
        }
        if (count == 0)
        {
            manager.finished.put(key, Boolean.TRUE);
            context.awaitDurable(context.appendedPosition(), lp, 0,
                () -> ackBackup(sender, TxManager.BACKUP_COMMIT, key));
            return;
        }
        // Applied here for the first time (a repeat, delivered again or late, is answered above and voids nothing).
        voidPreparesOverwritten(key, writes[0]);
        applying.put(key, Boolean.TRUE);
        for (int i = 0; i < count; i++)
        {
            final long counter = start + 1 + i;
            final long position = context.appendTxData(lp, counter, key.coordinator(),
                key.seq(), writes[0][i],
                writes[1][i]);
            lp.apply(writes[0][i], writes[1][i], counter);
            context.awaitDurable(position, lp, counter, i < count - 1 ? null : () ->
            {
                applying.remove(key);
                // Not if the copy was dropped or cleared meanwhile: the commit's writes went with it.
                if (context.copy(key.cacheId(), key.partition()) == lp)
                {
                    manager.finished.put(key, Boolean.TRUE);
                }
                ackBackup(sender, TxManager.BACKUP_COMMIT, key);
            });
        }
    }

    /**
     * The primary commits another transaction's writes to keys of a prepare this backup holds: the primary holds no
     * lock for that prepare. A primary keeps a prepared part's keys locked until every backup acknowledged its end,
     * and this backup has not seen that end, so the primary never held the part (its predecessor failed mid-prepare,
     * or this prepare came back from this member's WAL). The primary's data is the reference from here on: this
     * prepare must never be committed over it. Kept, it came back with a whole-cluster restart, was taken over by
     * this member, counted as prepared, and recovery committed it over the later writes (whole-cluster bank seed
     * 0x16acc367). Voided durably instead, before this commit's writes. Only on the commit's first application
     * here: a repeat of an earlier commit (resent, or delivered twice) may arrive after a prepare that followed the
     * first; and not on a copy cleared for a full rebalance since the last install, which no longer knows its
     * commits, so that a repeat would look like a first application. A plain update is no such evidence either: it
     * does not wait for the backups before the key can be locked, so it may arrive after a prepare that followed it.
     */
    private void voidPreparesOverwritten(final TxPartKey writer, final byte[][] keys)
    {
        if (manager.prepared.isEmpty() || keys.length == 0 ||
            clearedSinceInstall.contains(PartitionCopy.pack(writer.cacheId(), writer.partition())))
        {
            return;
        }
        // Every first commit on a backup passes here while prepares are held: the held ones are scanned in place,
        // and only those overwritten (usually none) are collected.
        List<TxPrepared> overwritten = null;
        for (final TxPrepared p : manager.prepared.values())
        {
            if (p.key().cacheId() == writer.cacheId() && p.key().partition() == writer.partition() &&
                !p.key().equals(writer) && overlaps(p.keys(), keys))
            {
                overwritten = overwritten == null ? new ArrayList<>(1) : overwritten;
                overwritten.add(p);
            }
        }
        if (overwritten == null)
        {
            return;
        }
        for (final TxPrepared p : overwritten)
        {
            manager.prepared.remove(p.key());
            context.appendTxVoid(p.key());
            context.event("member " + context.memberId() + " voids the prepare of transaction " + p.key().seq() +
                " of " + Long.toHexString(p.key().coordinator()) + " on partition " + p.key().partition() +
                ": its primary commits transaction " + writer.seq() + " of " + Long.toHexString(writer.coordinator()) +
                " over its keys");
        }
    }

    private static boolean overlaps(final byte[][] held, final byte[][] written)
    {
        for (final byte[] h : held)
        {
            for (final byte[] w : written)
            {
                if (Arrays.equals(h, w))
                {
                    return true;
                }
            }
        }
        return false;
    }

    /** A backup drops a prepare and closes its reserved range, and acknowledges once both are durable. */
    private void backupRollback(final long sender, final TxPartKey key, final PartitionCopy lp,
        final long start, final int count)
    {
        answeredCommitted.remove(key);
        if (manager.prepared.remove(key) != null)
        {
            context.appendTxEnd(key, false);
        }
        if (count > 0 && start >= 0)
        {
            context.closeRange(lp, start, count);
        }
        manager.finished.put(key, Boolean.FALSE);
        // Once the end (and the closed range) are durable: a crash before would bring the prepare back.
        context.awaitDurable(context.appendedPosition(), lp, 0,
            () -> ackBackup(sender, TxManager.BACKUP_ROLLBACK, key));    }

    private void ackBackup(final long primary, final int kind, final TxPartKey key)
    {
        ackBackup(primary, kind, key, true);
    }

    private void ackBackup(final long primary, final int kind, final TxPartKey key, final boolean applied)
    {
        ackBackup(primary, kind, key, applied, TxManager.OUTCOME_NONE);
    }

    /**
     * @param applied false if this member skipped the map the primary works in and could not apply it: the
     *                primary's next report must not vouch for this copy.
     * @param outcome for a prepare of a transaction this copy already saw end: how it ended here
     *                ({@link #OUTCOME_COMMITTED} or {@link #OUTCOME_ROLLED_BACK}), which a primary recovering the
     *                transaction follows; {@link #OUTCOME_NONE} otherwise.
     */
    private void ackBackup(final long primary, final int kind, final TxPartKey key, final boolean applied,
        final int outcome)
    {
        if (!context.isMember(primary))
        {
            return;
        }
        manager.send(manager.encode(manager.wire.txBackupAckOut, primary).kind((short)kind)
            .coordinator(key.coordinator()).tx(key.seq()).cacheId(key.cacheId()).partition(key.partition())
            .applied(MemberMessages.flag(applied)).outcome((short)outcome), primary);
    }
}
