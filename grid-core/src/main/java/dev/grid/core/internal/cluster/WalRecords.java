package dev.grid.core.internal.cluster;

import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.TxPartKey;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;
import dev.grid.core.internal.cluster.LocalPartition.Predecessors;
import dev.grid.core.spi.Wal;

import java.util.function.LongUnaryOperator;

/**
 * The member's WAL record format and its appends: every record type the engine logs, how each is encoded, and the
 * bookkeeping of appends (the history index of where each copy's counters lie, the counts checkpoints are paced by).
 * Recovery ({@link Recovery}) and history reads ({@link HistoryScan}) decode what this class encodes.
 * <p>
 * <b>Threading:</b> the engine's thread only. Appending is not durability: a caller that must not act before a
 * record is durable waits on the returned position (see {@link MemberEngine#awaitDurable}).
 */
final class WalRecords
{
    /*
     * WAL records: a type byte, then fields in the wire codec's encoding. Replayed in order at start, they rebuild
     * every copy's store and counter exactly (gaps and closed holes too) and the caches the member knew.
     */
    /**
     * An update: cacheId, partition, counter, transaction id ({@link #NO_TRANSACTION} outside transactions), origin
     * incarnation, sequence, key, value (null: a remove), outcome flag and value, then the count and (origin, sequence,
     * flag, value) of the predecessors it carries, then the origin's watermark as known here when it was logged (the
     * lowest sequence the origin may still resend; {@code Long.MIN_VALUE}: none known), so that recovery keeps the
     * outcomes an origin may still resend and no others.
     */
    static final int WAL_DATA = 1;

    /** The transaction id of an update made outside a transaction. */
    static final long NO_TRANSACTION = 0;

    /** Holes closed without data: cacheId, partition, count, then (start, count) per range. */
    static final int WAL_ROLLBACK = 2;

    /** This member no longer holds the copy: cacheId, partition. */
    static final int WAL_COPY_DROPPED = 3;

    /** A cache this member knows: its descriptor. */
    static final int WAL_CACHE = 4;

    /** A cache destroyed, with every copy of it here: cacheId. */
    static final int WAL_CACHE_DESTROYED = 5;

    /** Every copy dropped (the member rejoined under a new incarnation). */
    static final int WAL_ALL_DROPPED = 6;

    /**
     * A checkpoint committed: its id and the position after which its recovery replays. Informational: recovery takes
     * both from the checkpoint's manifest, which is the authority, and skips this record.
     */
    static final int WAL_CHECKPOINT = 7;

    /** The copy follows a new epoch of its partition's lineage: cacheId, partition, epoch id, floor. */
    static final int WAL_EPOCH = 8;

    /**
     * An entry a full rebalance streamed: cacheId, partition, counter, key, value. Installed if newer than what the
     * key holds; closes no counter (the entry's counter may since have been overwritten elsewhere).
     */
    static final int WAL_REBALANCE_ENTRY = 9;

    /**
     * A full rebalance streamed every entry: cacheId, partition, target counter. Every counter up to the target that
     * is still open closes without data, and the copy's history starts at the target.
     */
    static final int WAL_REBALANCE_DONE = 10;

    /**
     * A supplier's memory of a partition a rebalance brought: cacheId, partition, count, then per item a
     * {@link Rebalancer.MemoryItem} (an operation's outcome, or a finished transaction part).
     */
    static final int WAL_REBALANCE_MEMORY = 11;

    /** The cluster's baseline changed: the new one (a cluster restarting from its data directories keeps it). */
    static final int WAL_BASELINE = 12;

    /** The owners of every partition changed in an installed map: the whole {@link OwnershipTable}. */
    static final int WAL_OWNERSHIP = 13;

    /**
     * A transaction part prepared on this copy (primary or backup), logged before the prepare is acknowledged, so that
     * recovery after any crash, the whole cluster's included, finds it: coordinator, sequence, cacheId, partition,
     * priority, the participants, and the writes (count, then key and value each).
     */
    static final int WAL_TX_PREPARE = 14;

    /** A prepared transaction part finished: coordinator, sequence, cacheId, partition, committed. */
    static final int WAL_TX_END = 15;

    /**
     * A prepare this member recovered from its WAL is void, its outcome unknown here: coordinator, sequence, cacheId,
     * partition. Logged when a rebalance's supplier, an owner of the partition, holds no such prepare open.
     */
    static final int WAL_TX_VOID = 16;

    private final Wal wal;
    private final HistoryIndex historyIndex;

    private final LongUnaryOperator originWatermark;
    final MessageWriter walWriter = new MessageWriter();

    long appendsSinceCheckpoint;
    long totalAppends;

    /**
     * @param wal             the member's WAL.
     * @param historyIndex    where each copy's recent counters lie in the WAL, noted at every data append.
     * @param originWatermark per origin incarnation, the lowest sequence it may still resend, as known here.
     */
    WalRecords(final Wal wal, final HistoryIndex historyIndex, final LongUnaryOperator originWatermark)
    {
        this.wal = wal;
        this.historyIndex = historyIndex;
        this.originWatermark = originWatermark;
    }

    /**
     * Log an update with what exactly-once retries need after a restart: the operation's identity and outcome, and the
     * identities and outcomes of earlier updates of the key whose effect this value carries (a backup may have missed
     * them).
     */
    long appendWal(final LocalPartition lp, final long counter, final OpKey opKey, final OpOutcome outcome,
        final byte[] key, final byte[] value, final Predecessors predecessors)
    {
        return appendWal(lp, counter, NO_TRANSACTION, opKey, outcome, key, value, predecessors);
    }

    long appendWal(final LocalPartition lp, final long counter, final long transaction, final OpKey opKey,
        final OpOutcome outcome, final byte[] key, final byte[] value, final Predecessors predecessors)
    {
        walWriter.reset().writeByte(WAL_DATA).writeInt(lp.cacheId).writeInt(lp.partition).writeLong(counter)
            .writeLong(transaction).writeLong(opKey.originIncarnation()).writeLong(opKey.sequence()).writeBytes(key)
            .writeBytes(value)
            .writeBoolean(outcome.flag()).writeBytes(outcome.value());
        predecessors.write(walWriter);
        walWriter.writeLong(originWatermark.applyAsLong(opKey.originIncarnation()));
        historyIndex.note(MemberEngine.packCopy(lp.cacheId, lp.partition), wal.appendedPosition(), counter);
        return appendRecord();
    }

    /**
     * Append the record in {@code walWriter} that describes state rather than an update: nobody waits for it, and
     * the next duty cycle's durability request covers it.
     */
    void appendMeta()
    {
        appendRecord();
    }

    /**
     * Append the record in {@code walWriter}.
     *
     * @return its position.
     */
    private long appendRecord()
    {
        final long position = wal.append(walWriter.buffer(), 0, walWriter.length());
        if (position < 0)
        {
            throw new IllegalStateException("WAL refused a record (back pressure is not handled yet)");
        }
        appendsSinceCheckpoint++;
        totalAppends++;
        return position;
    }

    /**
     * Log a transaction's write: its identity (coordinator incarnation and sequence, which is also the transaction
     * id) rides in the record, so replay remembers the transaction as committed on this copy.
     */
    long appendTxData(final LocalPartition lp, final long counter, final long coordinator, final long txSeq,
        final byte[] key, final byte[] value)
    {
        return appendWal(lp, counter, txSeq, new OpKey(coordinator, txSeq), OpOutcome.TRUE, key, value,
            Predecessors.NONE);
    }

    /**
     * Log a prepared transaction part ({@link #WAL_TX_PREPARE}).
     *
     * @return its position: the prepare may be acknowledged once the WAL holds it durably.
     */
    long appendTxPrepare(final TxPartKey key, final long priority, final long[] participants,
        final byte[][] keys, final byte[][] values)
    {
        walWriter.reset().writeByte(WAL_TX_PREPARE).writeLong(key.coordinator()).writeLong(key.seq())
            .writeInt(key.cacheId()).writeInt(key.partition()).writeLong(priority);
        final long[] list = participants == null ? new long[0] : participants;
        walWriter.writeInt(list.length);
        for (final long participant : list)
        {
            walWriter.writeLong(participant);
        }
        walWriter.writeInt(keys.length);
        for (int i = 0; i < keys.length; i++)
        {
            walWriter.writeBytes(keys[i]).writeBytes(values[i]);
        }
        return appendRecord();
    }

    /**
     * @return the WAL position of the last record appended.
     */
    long appendedPosition()
    {
        return wal.appendedPosition();
    }

    /**
     * Log that a prepare recovered from the WAL is void ({@link #WAL_TX_VOID}).
     *
     * @return its position.
     */
    long appendTxVoid(final TxPartKey key)
    {
        walWriter.reset().writeByte(WAL_TX_VOID).writeLong(key.coordinator()).writeLong(key.seq())
            .writeInt(key.cacheId()).writeInt(key.partition());
        appendMeta();
        return wal.appendedPosition();
    }

    /**
     * Log that a prepared transaction part finished ({@link #WAL_TX_END}).
     *
     * @return its position: whoever is told the part finished is told once the WAL holds it durably, or a crash
     *         before would bring the prepare back with nobody left to finish it.
     */
    long appendTxEnd(final TxPartKey key, final boolean committed)
    {
        walWriter.reset().writeByte(WAL_TX_END).writeLong(key.coordinator()).writeLong(key.seq())
            .writeInt(key.cacheId()).writeInt(key.partition()).writeBoolean(committed);
        appendMeta();
        return wal.appendedPosition();
    }
}
