package dev.grid.tx;

import dev.grid.core.engine.MemberSet;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.TxPartKey;
import org.agrona.collections.LongHashSet;

import java.util.ArrayList;
import java.util.List;

/** A transaction's part on a partition this member is primary of, held by {@link TxManager}. */
final class TxPart
{
    final TxPartKey key;
    final long priority;
    long version;
    TxParticipantState state = TxParticipantState.LOCKING;
    final List<CacheKey> held = new ArrayList<>(2);
    LockTable.LockWait wait;
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
    /** Whether this part's prepare was logged here ({@link TransactionContext#appendTxPrepare}), so its end must be. */
    boolean prepareLogged;
    /** Whether that prepare record is durable (the coordinator hears "prepared" only then). */
    boolean prepareDurable;
    /** When this part became PREPARED here (a stale one is probed: {@code askAboutOrphanedPrepares}). */
    long preparedSinceNs;
    /** Whether other participants were asked if they finished this part's transaction. */
    boolean probing;
    int backupKind;
    /** The backups whose acknowledgement of {@link #backupKind} it waits for (usually one or two). */
    final MemberSet pendingBackups = new MemberSet(2);
    long lastSentNs;
    boolean recovering;
    /** Keys of a part taken over at an install that another part held then (see {@link LockTable#owe}). */
    int owed;
    boolean recoveryCommitted;
    boolean recoveryRolledBack;
    final LongHashSet statusPending = new LongHashSet();

    TxPart(final TxPartKey key, final long priority, final long version)
    {
        this.key = key;
        this.priority = priority;
        this.version = version;
    }
}
