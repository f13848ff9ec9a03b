package dev.grid.tx;

import dev.grid.core.codec.messages.TxStatusAnswerDecoder;
import dev.grid.core.codec.messages.TxStatusDecoder;
import dev.grid.core.codec.messages.TxQueryAnswerDecoder;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.engine.MessageTypes;
import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.TxPartKey;
import org.agrona.collections.LongHashSet;

import java.util.ArrayList;

/**
 * Recovery of in-doubt transactions: a prepared part whose coordinator left asks the other participants
 * (status); any committed, or all prepared, commits, any that never prepared (which then refuses to, for good) rolls
 * back. A prepare recovered from the WAL with its coordinator alive asks the coordinator (query). Prepares whose
 * partition is lost here wait for its owners.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every part of {@link TxManager}.
 */
final class TxRecovery
{
    private static final int QUERY_ACTIVE = 0;
    private static final int QUERY_COMMITTED = 1;

    private static final int QUERY_ROLLED_BACK = 2;
    private static final int QUERY_UNKNOWN = 3;

    /** Retry intervals after which a backup asks about a prepare whose coordinator is alive. */
    private static final int STALE_PREPARE_INTERVALS = 8;

    private final TxManager manager;
    private final TransactionContext context;

    long nextOrphanCheckNs;

    TxRecovery(final TxManager manager)
    {
        this.manager = manager;
        this.context = manager.context;
    }

    void startRecovery(final TxPart part)
    {
        part.recovering = true;
        part.statusPending.clear();
        for (final long participant : part.participants == null ? new long[0] : part.participants)
        {
            if (participant != PartitionCopy.pack(part.key.cacheId(), part.key.partition()))
            {
                part.statusPending.add(participant);
            }
        }
        context.event("member " + context.memberId() + " recovers transaction " + part.key.seq() +
            " of departed coordinator " + Long.toHexString(part.key.coordinator()) + " on partition " +
            part.key.partition() + ": asking " + part.statusPending.size() + " participants");
        sendStatusQueries(part);
        decideRecovery(part);
    }

    void sendStatusQueries(final TxPart part)
    {
        part.lastSentNs = context.nowNs();
        for (final LongHashSet.LongIterator it = part.statusPending.iterator(); it.hasNext(); )
        {
            final long participant = it.nextValue();
            final int cacheId = (int)(participant >>> 32);
            final int partition = (int)participant;
            final long primary = context.primaryOf(cacheId, partition);
            if (primary == TransactionContext.NO_MEMBER)
            {
                // Every copy is gone: it cannot have refused; count it as prepared (as a departed member is).
                it.remove();
                continue;
            }
            askStatus(primary, part.key.coordinator(), part.key.seq(), cacheId, partition);
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
        manager.send(manager.encode(manager.wire.txStatusOut, primary).coordinator(coordinator).tx(seq)
            .cacheId(cacheId).partition(partition).onlyIfFinished(MemberMessages.flag(onlyIfFinished)), primary);
    }

    /**
     * A prepare held as a backup whose coordinator left: the partition's primary decides it. If the primary holds it
     * too, its recovery runs; if not (it never got the prepare, so the transaction cannot have committed), asking
     * makes it roll back through its backups, this one included. Asked again until the prepare is gone.
     */
    int askAboutOrphanedPrepares()
    {
        int work = 0;
        if (!context.isMapActive())
        {
            return 0;
        }
        // A prepared part on its primary whose coordinator is alive but silent for long: recovered from the WAL (or
        // caught up) after its transaction finished elsewhere, so nothing will come to finish it. The other
        // participants' primaries are asked only whether they finished; the coordinator still decides otherwise.
        for (final TxPart part : new ArrayList<>(manager.parts.values()))
        {
            if (part.state == TxParticipantState.PREPARED && !part.recovering && part.participants != null &&
                context.isMember(part.key.coordinator()) &&
                context.nowNs() - part.preparedSinceNs >= STALE_PREPARE_INTERVALS * context.retryIntervalNs())
            {
                part.probing = true;
                queryCoordinator(part.key.coordinator(), part.key.seq());
                for (final long participant : part.participants)
                {
                    final long primary = context.primaryOf((int)(participant >>> 32), (int)participant);
                    if (participant != PartitionCopy.pack(part.key.cacheId(), part.key.partition()) &&
                        primary != TransactionContext.NO_MEMBER && primary != context.incarnation())
                    {
                        askStatus(primary, part.key.coordinator(), part.key.seq(),
                            (int)(participant >>> 32), (int)participant, true);
                        work++;
                    }
                }
            }
        }
        for (final TxPrepared p : new ArrayList<>(manager.prepared.values()))
        {
            final TxPartKey key = p.key();
            final boolean coordinatorAlive = context.isMember(key.coordinator());
            // With the coordinator alive, only a prepare held far longer than a commit takes is suspect: one that
            // arrived after its transaction finished on a primary that no longer waited for this member. One
            // recovered from this member's WAL is suspect at once: its transaction may have ended while the member
            // was away, and a copy that came back equal to the owners' is not rebuilt, so no catch-up voids it; kept,
            // it came back with a whole-cluster restart, and recovery committed a transaction rolled back meanwhile
            // (whole-cluster bank seed 0x16acc4e4).
            if (coordinatorAlive && !p.replayed() &&
                context.nowNs() - p.sinceNs() < STALE_PREPARE_INTERVALS * context.retryIntervalNs())
            {
                continue;
            }
            final long primary = context.primaryOf(key.cacheId(), key.partition());
            if (primary == TransactionContext.NO_MEMBER || primary == context.incarnation())
            {
                continue;
            }
            askStatus(primary, key.coordinator(), key.seq(), key.cacheId(),
                key.partition(), coordinatorAlive);
            if (coordinatorAlive)
            {
                queryCoordinator(key.coordinator(), key.seq());
            }
            work++;
        }
        return work;
    }

    private void queryCoordinator(final long coordinator, final long seq)
    {
        if (coordinator == context.incarnation())
        {
            onOutcome(coordinator, seq, outcomeOf(seq));
            return;
        }
        manager.send(manager.encode(manager.wire.txQueryOut, coordinator).tx(seq), coordinator);
    }

    /** {@link #QUERY_ACTIVE}, {@link #QUERY_COMMITTED}, {@link #QUERY_ROLLED_BACK} or {@link #QUERY_UNKNOWN}. */
    private int outcomeOf(final long seq)
    {
        final TxCoordinator.NearTx tx = manager.coordinator.nearTxs.get(seq);
        if (tx != null)
        {
            // A rollback, once decided, is final (its parts may still be on their way).
            return tx.state == TxState.ROLLING_BACK ? QUERY_ROLLED_BACK : QUERY_ACTIVE;
        }
        final Boolean committed = manager.outcomes.get(seq);
        return committed == null ? QUERY_UNKNOWN : committed ? QUERY_COMMITTED : QUERY_ROLLED_BACK;
    }

    /**
     * A participant holding a stale prepare asks how this coordinator's transaction ended.
     */
    void onQuery(final long sender)
    {
        final long seq = manager.decode(manager.wire.txQueryIn).tx();
        manager.send(manager.encode(manager.wire.txQueryAnswerOut, sender).tx(seq).outcome((short)outcomeOf(seq)),
            sender);
    }

    void onQueryAnswer(final long sender)
    {
        final TxQueryAnswerDecoder in = manager.decode(manager.wire.txQueryAnswerIn);
        onOutcome(sender, in.tx(), in.outcome());
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
        for (final TxPrepared p : new ArrayList<>(manager.prepared.values()))
        {
            if (p.key().coordinator() == coordinator && p.key().seq() == seq &&
                !isLostHere(p.key().cacheId(), p.key().partition()))
            {
                manager.prepared.remove(p.key());
                context.appendTxEnd(p.key(), committed);
                if (!committed)
                {
                    manager.finished.putIfAbsent(p.key(), Boolean.FALSE);
                }
            }
        }
        for (final TxPart part : new ArrayList<>(manager.parts.values()))
        {
            if (part.key.coordinator() == coordinator && part.key.seq() == seq && part.probing &&
                part.state == TxParticipantState.PREPARED && !part.recovering && !context.isExchanging() &&
                !isLostHere(part.key.cacheId(), part.key.partition()) && (!committed || part.owed == 0))
            {
                part.probing = false;
                context.event("member " + context.memberId() + " ends stale prepared transaction " +
                    seq + " on partition " + part.key.partition() + " as its coordinator did: " +
                    (committed ? "committed" : "rolled back"));
                if (committed)
                {
                    manager.participant.startCommit(part);
                }
                else
                {
                    manager.participant.startRollback(part);
                }
            }
        }
    }

    /**
     * @return whether the partition is LOST in the installed map: its copies here stand in for last owners that are
     *         away, so they are no record of its transactions.
     */
    boolean isLostHere(final int cacheId, final int partition)
    {
        return context.isLost(cacheId, partition);
    }

    void onStatus(final long sender)
    {
        final TxStatusDecoder in = manager.decode(manager.wire.txStatusIn);
        final TxPartKey key = new TxPartKey(in.coordinator(), in.tx(), in.cacheId(), TxCodec.partition(in.partition()));
        final boolean onlyIfFinished = in.onlyIfFinished() != 0;
        if (context.isExchanging() || !context.isMapActive() ||
            !manager.isPrimary(key.cacheId(), key.partition()) ||
            isLostHere(key.cacheId(), key.partition()))
        {
            // Not active, or lost: this copy may not be the one holding the transaction's state; asked again later.
            return;
        }
        final int status;
        final Boolean done = manager.finished.get(key);
        final TxPart part = manager.parts.get(key);
        if (done != null)
        {
            status = done ? TxManager.PART_COMMITTED : TxManager.PART_ROLLED_BACK;
        }
        else if (onlyIfFinished)
        {
            // The coordinator is alive and decides; nothing is known here to end the prepare.
            return;
        }
        else if (manager.participant.applying.containsKey(key))
        {
            // Its commit, shipped here by a former primary, is being applied (not durable yet): committed, but not
            // finished here. Taken for "never prepared", it was rolled back here and on the other partition while the
            // former primary's backups committed it (whole-cluster bank seed 0x16acca08). Asked again later.
            return;
        }
        else if (part == null)
        {
            // Never prepared here, and now it never will be: its coordinator is gone. A backup may still hold a
            // prepare from a primary that failed mid-prepare, so the rollback goes through the backups too.
            final TxPart rollback = new TxPart(key, 0, context.mapVersion());
            rollback.backupsMayHold = true;
            manager.parts.put(key, rollback);
            manager.participant.startRollback(rollback);
            status = TxManager.PART_ROLLED_BACK;
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
        else if (part.state == TxParticipantState.PREPARED && part.backupKind == TxManager.BACKUP_PREPARE &&
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
                case PREPARED -> status = TxManager.PART_PREPARED;
                case COMMITTING -> status = TxManager.PART_COMMITTED;
                case ROLLING_BACK -> status = TxManager.PART_ROLLED_BACK;
                default ->
                {
                    manager.participant.startRollback(part);
                    status = TxManager.PART_ROLLED_BACK;
                }
            }
        }
        manager.send(manager.encode(manager.wire.txStatusAnswerOut, sender).coordinator(key.coordinator())
            .tx(key.seq()).cacheId(key.cacheId()).partition(key.partition()).status((short)status), sender);
    }

    void onStatusAnswer(final long sender)
    {
        final TxStatusAnswerDecoder in = manager.decode(manager.wire.txStatusAnswerIn);
        final long coordinator = in.coordinator();
        final long seq = in.tx();
        final long asked = PartitionCopy.pack(in.cacheId(), TxCodec.partition(in.partition()));
        final int status = in.status();
        if (status < TxManager.PART_PREPARED || status > TxManager.PART_ROLLED_BACK)
        {
            throw new MalformedMessageException("unknown transaction status " + status);
        }
        final TxPartKey askedKey = new TxPartKey(coordinator, seq, (int)(asked >>> 32), (int)asked);
        if (status != TxManager.PART_PREPARED && manager.prepared.containsKey(askedKey))
        {
            // This member holds that partition's prepare as a backup, and its primary finished the transaction: so
            // is it here, durably, or a restart would bring the prepare back.
            manager.prepared.remove(askedKey);
            context.appendTxEnd(askedKey, status == TxManager.PART_COMMITTED);
            if (status == TxManager.PART_ROLLED_BACK)
            {
                // Never "committed" here: the commit's writes may still be on their way to this copy, and a part
                // remembered as committed takes them as applied already.
                manager.finished.putIfAbsent(askedKey, Boolean.FALSE);
            }
        }
        for (final TxPart part : new ArrayList<>(manager.parts.values()))
        {
            if (part.key.coordinator() == coordinator && part.key.seq() == seq && part.probing && !part.recovering &&
                part.state == TxParticipantState.PREPARED && status != TxManager.PART_PREPARED &&
                !context.isExchanging() && (status != TxManager.PART_COMMITTED || part.owed == 0))
            {
                // Another participant finished the transaction: this part ends the same way.
                part.probing = false;
                context.event("member " + context.memberId() + " ends stale prepared transaction " +
                    part.key.seq() + " on partition " + part.key.partition() + " as its participant did: " +
                    (status == TxManager.PART_COMMITTED ? "committed" : "rolled back"));
                if (status == TxManager.PART_COMMITTED)
                {
                    manager.participant.startCommit(part);
                }
                else
                {
                    manager.participant.startRollback(part);
                }
                continue;
            }
            if (part.key.coordinator() == coordinator && part.key.seq() == seq && part.recovering &&
                part.statusPending.remove(asked))
            {
                if (status == TxManager.PART_COMMITTED)
                {
                    part.recoveryCommitted = true;
                }
                else if (status == TxManager.PART_ROLLED_BACK)
                {
                    part.recoveryRolledBack = true;
                }
                decideRecovery(part);
            }
        }
    }

    void decideRecovery(final TxPart part)
    {
        if (!part.recovering || part.state != TxParticipantState.PREPARED || context.isExchanging() ||
            isLostHere(part.key.cacheId(), part.key.partition()))
        {
            // While exchanging, decided after the install (the duty asks again): a commit or rollback started now,
            // after this member's report, would wait across the install for backups of the old map, which may have
            // installed the new one and drop it (whole-cluster bank seed 0x16acca08).
            return;
        }
        // No commit is presumed before every copy of this partition holds the prepare (the prepare resent at install
        // reached the copies new since the map changed): this member failing after its commit, before they had it,
        // left a copy without the transaction taking over while another partition had committed it (whole-cluster
        // bank seed 0x16acbdf3). The other participants wait the same way (they answer a status query only then), so
        // no participant commits while another could still lose the transaction. A backup's answer may also say how
        // the transaction ended under the previous primary (recoveryRolledBack or recoveryCommitted).
        final boolean everyCopyHolds = part.backupKind != TxManager.BACKUP_PREPARE || part.pendingBackups.isEmpty();
        if (part.recoveryCommitted || (!part.recoveryRolledBack && part.statusPending.isEmpty() && everyCopyHolds))
        {
            if (part.owed > 0)
            {
                // Taken over while another part held some of its keys (see LockTable#owe): decided again later.
                return;
            }
            part.recovering = false;
            context.event("member " + context.memberId() + " commits recovered transaction " +
                part.key.seq() + " on partition " + part.key.partition());
            manager.participant.startCommit(part);
        }
        else if (part.recoveryRolledBack)
        {
            part.recovering = false;
            context.event("member " + context.memberId() + " rolls back recovered transaction " +
                part.key.seq() + " on partition " + part.key.partition());
            manager.participant.startRollback(part);
        }
    }
}
