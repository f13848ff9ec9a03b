package dev.grid.core.internal.cluster;

import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.codec.wal.MessageHeaderEncoder;
import dev.grid.core.codec.wal.WalAllDroppedEncoder;
import dev.grid.core.codec.wal.WalBaselineEncoder;
import dev.grid.core.codec.wal.WalCacheDestroyedEncoder;
import dev.grid.core.codec.wal.WalCacheEncoder;
import dev.grid.core.codec.wal.WalCheckpointEncoder;
import dev.grid.core.codec.wal.WalCopyDroppedEncoder;
import dev.grid.core.codec.wal.WalDataEncoder;
import dev.grid.core.codec.wal.WalEpochEncoder;
import dev.grid.core.codec.wal.WalOwnershipEncoder;
import dev.grid.core.codec.wal.WalRebalanceDoneEncoder;
import dev.grid.core.codec.wal.WalRebalanceEntryEncoder;
import dev.grid.core.codec.wal.WalRebalanceMemoryEncoder;
import dev.grid.core.codec.wal.WalRollbackEncoder;
import dev.grid.core.codec.wal.WalTxEndEncoder;
import dev.grid.core.codec.wal.WalTxPrepareEncoder;
import dev.grid.core.codec.wal.WalTxVoidEncoder;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.TxPartKey;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;
import dev.grid.core.internal.cluster.LocalPartition.Predecessors;
import dev.grid.core.internal.partition.CounterRange;
import dev.grid.core.spi.Wal;
import org.agrona.sbe.MessageEncoderFlyweight;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongUnaryOperator;

/**
 * The member's WAL record format and its appends: every record type the engine logs, how each is encoded, and the
 * bookkeeping of appends (the history index of where each copy's counters lie, the counts checkpoints are paced by).
 * Recovery ({@link Recovery}) and history reads ({@link HistoryScan}) decode what this class encodes.
 * <p>
 * <b>Threading:</b> the engine's thread only. Appending is not durability: a caller that must not act before a
 * record is durable waits on the returned position (see {@link Durability#awaitDurable}).
 */
final class WalRecords
{
    /*
     * WAL records, defined in grid-core/src/main/sbe/wal-records.xml (these types are their template ids): SBE's
     * header, then the record's fields. Replayed in order at start, they rebuild every copy's store and counter
     * exactly (gaps and closed holes too) and the caches the member knew.
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
     * A prepare this member held as a backup is void, its outcome unknown here: coordinator, sequence, cacheId,
     * partition. Logged when a rebalance's supplier, an owner of the partition, holds no such recovered prepare open,
     * or when the partition's primary commits another transaction over the prepare's keys.
     */
    static final int WAL_TX_VOID = 16;

    private final Wal wal;
    private final HistoryIndex historyIndex;

    private final LongUnaryOperator originWatermark;
    private final MessageWriter walWriter = new MessageWriter();
    private final MessageHeaderEncoder headerOut = new MessageHeaderEncoder();
    private final WalDataEncoder dataOut = new WalDataEncoder();
    private final WalRollbackEncoder rollbackOut = new WalRollbackEncoder();
    private final WalCopyDroppedEncoder copyDroppedOut = new WalCopyDroppedEncoder();
    private final WalCacheEncoder cacheOut = new WalCacheEncoder();
    private final WalCacheDestroyedEncoder cacheDestroyedOut = new WalCacheDestroyedEncoder();
    private final WalAllDroppedEncoder allDroppedOut = new WalAllDroppedEncoder();
    private final WalCheckpointEncoder checkpointOut = new WalCheckpointEncoder();
    private final WalEpochEncoder epochOut = new WalEpochEncoder();
    private final WalRebalanceEntryEncoder rebalanceEntryOut = new WalRebalanceEntryEncoder();
    private final WalRebalanceDoneEncoder rebalanceDoneOut = new WalRebalanceDoneEncoder();
    private final WalRebalanceMemoryEncoder rebalanceMemoryOut = new WalRebalanceMemoryEncoder();
    private final WalBaselineEncoder baselineOut = new WalBaselineEncoder();
    private final WalOwnershipEncoder ownershipOut = new WalOwnershipEncoder();
    private final WalTxPrepareEncoder txPrepareOut = new WalTxPrepareEncoder();
    private final WalTxEndEncoder txEndOut = new WalTxEndEncoder();
    private final WalTxVoidEncoder txVoidOut = new WalTxVoidEncoder();

    /** Records appended by this engine (replay appends none); checkpoints count theirs from it. */
    private long totalAppends;

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
        if (!wal.retainsRecords())
        {
            // Nothing reads the record back (no replay, no history): only its position, which durability waits on.
            return append(0);
        }
        final WalDataEncoder out = start(dataOut).cacheId(lp.cacheId).partition(lp.partition).counter(counter)
            .transaction(transaction).origin(opKey.originIncarnation()).sequence(opKey.sequence())
            .flag(MemberMessages.flag(outcome.flag())).hasValue(MemberMessages.has(value))
            .hasOutcome(MemberMessages.has(outcome.value()))
            .watermark(originWatermark.applyAsLong(opKey.originIncarnation()));
        final WalDataEncoder.PredecessorsEncoder group = out.predecessorsCount(predecessors.count());
        for (int i = 0; i < predecessors.count(); i++)
        {
            final byte[] previous = MemberMessages.orEmpty(predecessors.outcomes()[i].value());
            group.next().origin(predecessors.keys()[i].originIncarnation()).sequence(predecessors.keys()[i].sequence())
                .flag(MemberMessages.flag(predecessors.outcomes()[i].flag()))
                .hasOutcome(MemberMessages.has(predecessors.outcomes()[i].value()))
                .putOutcome(previous, 0, previous.length);
        }
        final byte[] stored = MemberMessages.orEmpty(value);
        final byte[] result = MemberMessages.orEmpty(outcome.value());
        finish(out.putKey(key, 0, key.length).putValue(stored, 0, stored.length).putOutcome(result, 0, result.length));
        historyIndex.note(PartitionCopy.pack(lp.cacheId, lp.partition), wal.appendedPosition(), counter);
        return appendRecord();
    }

    /**
     * Append the record just finished in {@code walWriter} that describes state rather than an update: nobody waits
     * for it, and the next duty cycle's durability request covers it.
     */
    private void appendMeta()
    {
        appendRecord();
    }

    /** Start a record: its header in {@code walWriter}, then {@code encoder} wrapped after it for the caller. */
    private <E extends MessageEncoderFlyweight> E start(final E encoder)
    {
        walWriter.reset();
        headerOut.wrap(walWriter.mutableBuffer(), 0).blockLength(encoder.sbeBlockLength())
            .templateId(encoder.sbeTemplateId()).schemaId(encoder.sbeSchemaId()).version(encoder.sbeSchemaVersion());
        encoder.wrap(walWriter.mutableBuffer(), MessageHeaderEncoder.ENCODED_LENGTH);
        return encoder;
    }

    /** End the record {@link #start} began: {@code walWriter} then holds it whole. */
    private void finish(final MessageEncoderFlyweight encoder)
    {
        walWriter.skip(MessageHeaderEncoder.ENCODED_LENGTH + encoder.encodedLength());
    }

    /**
     * Log holes closed without data ({@link #WAL_ROLLBACK}), in as many records as their count needs.
     *
     * @return the position of the last record.
     */
    long appendRollback(final int cacheId, final int partition, final List<CounterRange> ranges)
    {
        for (int from = 0; from < ranges.size(); from += MemberMessages.GROUP_MAX)
        {
            final int count = Math.min(MemberMessages.GROUP_MAX, ranges.size() - from);
            final WalRollbackEncoder out = start(rollbackOut).cacheId(cacheId).partition(partition);
            final WalRollbackEncoder.RangesEncoder group = out.rangesCount(count);
            for (int i = from; i < from + count; i++)
            {
                group.next().start(ranges.get(i).start()).length(ranges.get(i).count());
            }
            finish(out);
            appendMeta();
        }
        return wal.appendedPosition();
    }

    /** Log that this member no longer holds a copy ({@link #WAL_COPY_DROPPED}). */
    void appendCopyDropped(final int cacheId, final int partition)
    {
        finish(start(copyDroppedOut).cacheId(cacheId).partition(partition));
        appendMeta();
    }

    /** Log a cache this member knows ({@link #WAL_CACHE}). */
    void appendCache(final CacheDescriptor cache)
    {
        final byte[] body = StateBodies.encode(cache);
        finish(start(cacheOut).putDescriptor(body, 0, body.length));
        appendMeta();
    }

    /** Log a cache destroyed with every copy of it here ({@link #WAL_CACHE_DESTROYED}). */
    void appendCacheDestroyed(final int cacheId)
    {
        finish(start(cacheDestroyedOut).cacheId(cacheId));
        appendMeta();
    }

    /** Log that every copy was dropped ({@link #WAL_ALL_DROPPED}). */
    void appendAllDropped()
    {
        finish(start(allDroppedOut));
        appendMeta();
    }

    /** Log a committed checkpoint ({@link #WAL_CHECKPOINT}, informational). */
    void appendCheckpoint(final long checkpointId, final long replayFrom)
    {
        finish(start(checkpointOut).checkpointId(checkpointId).replayFrom(replayFrom));
        appendMeta();
    }

    /** Log a copy's new epoch ({@link #WAL_EPOCH}). */
    void appendEpoch(final int cacheId, final int partition, final long epochId, final long epochFloor)
    {
        finish(start(epochOut).cacheId(cacheId).partition(partition).epochId(epochId).epochFloor(epochFloor));
        appendMeta();
    }

    /** Log an entry a full rebalance streamed ({@link #WAL_REBALANCE_ENTRY}). */
    void appendRebalanceEntry(final int cacheId, final int partition, final long counter, final byte[] key,
        final byte[] value)
    {
        final byte[] stored = MemberMessages.orEmpty(value);
        finish(start(rebalanceEntryOut).cacheId(cacheId).partition(partition).counter(counter)
            .hasValue(MemberMessages.has(value)).putKey(key, 0, key.length).putValue(stored, 0, stored.length));
        appendMeta();
    }

    /**
     * Log that a full rebalance streamed every entry ({@link #WAL_REBALANCE_DONE}).
     *
     * @return its position.
     */
    long appendRebalanceDone(final int cacheId, final int partition, final long to)
    {
        finish(start(rebalanceDoneOut).cacheId(cacheId).partition(partition).to(to));
        return appendRecord();
    }

    /** Log a supplier's memory of a partition ({@link #WAL_REBALANCE_MEMORY}), in as many records as it needs. */
    void appendRebalanceMemory(final int cacheId, final int partition, final List<Rebalancer.MemoryItem> items)
    {
        for (int from = 0; from < items.size() || from == 0; from += MemberMessages.GROUP_MAX)
        {
            final int count = Math.min(MemberMessages.GROUP_MAX, items.size() - from);
            final WalRebalanceMemoryEncoder out = start(rebalanceMemoryOut).cacheId(cacheId).partition(partition);
            final WalRebalanceMemoryEncoder.ItemsEncoder group = out.itemsCount(count);
            for (int i = from; i < from + count; i++)
            {
                final Rebalancer.MemoryItem item = items.get(i);
                final byte[] value = MemberMessages.orEmpty(item.value());
                group.next().transaction(MemberMessages.flag(item.transaction())).origin(item.origin())
                    .sequence(item.sequence())
                    .flag(MemberMessages.flag(item.flag())).hasValue(MemberMessages.has(item.value()))
                    .putValue(value, 0, value.length);
            }
            finish(out);
            appendMeta();
        }
    }

    /** Log the cluster's baseline ({@link #WAL_BASELINE}). */
    void appendBaseline(final Baseline baseline)
    {
        final byte[] body = StateBodies.encode(baseline);
        finish(start(baselineOut).putBaseline(body, 0, body.length));
        appendMeta();
    }

    /** Log the whole ownership table ({@link #WAL_OWNERSHIP}), as {@code writer} (this member's incarnation). */
    void appendOwnership(final OwnershipTable table, final long writer)
    {
        table.writtenBy(writer);
        final int[] cacheIds = table.cacheIds();
        final List<byte[]> sections = new ArrayList<>(cacheIds.length);
        for (final int cacheId : cacheIds)
        {
            sections.add(table.encodeCacheBody(cacheId));
        }
        final byte[] header = table.encodeHeaderBody();
        final WalOwnershipEncoder out = start(ownershipOut);
        final WalOwnershipEncoder.CachesEncoder group = out.cachesCount(sections.size());
        sections.forEach(section -> group.next().putSection(section, 0, section.length));
        finish(out.putHeader(header, 0, header.length));
        appendMeta();
    }

    /**
     * Append the record in {@code walWriter}.
     *
     * @return its position.
     */
    private long appendRecord()
    {
        return append(walWriter.length());
    }

    /** Append the first {@code length} bytes of {@code walWriter} (0: an empty record, a position to wait on). */
    private long append(final int length)
    {
        final long position = wal.append(walWriter.buffer(), 0, length);
        if (position < 0)
        {
            throw new IllegalStateException("WAL refused a record (back pressure is not handled yet)");
        }
        totalAppends++;
        return position;
    }

    /** @return the records this engine appended. */
    long totalAppends()
    {
        return totalAppends;
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
        final WalTxPrepareEncoder out = start(txPrepareOut).coordinator(key.coordinator()).tx(key.seq())
            .cacheId(key.cacheId()).partition(key.partition()).priority(priority);
        final long[] list = participants == null ? new long[0] : participants;
        final WalTxPrepareEncoder.ParticipantsEncoder group = out.participantsCount(list.length);
        for (final long participant : list)
        {
            group.next().participant(participant);
        }
        final WalTxPrepareEncoder.WritesEncoder writes = out.writesCount(keys.length);
        for (int i = 0; i < keys.length; i++)
        {
            final byte[] value = MemberMessages.orEmpty(values[i]);
            writes.next().hasValue(MemberMessages.has(values[i])).putKey(keys[i], 0, keys[i].length)
                .putValue(value, 0, value.length);
        }
        finish(out);
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
     * Log that a prepare held as a backup is void ({@link #WAL_TX_VOID}): replay forgets it.
     *
     * @return its position.
     */
    long appendTxVoid(final TxPartKey key)
    {
        finish(start(txVoidOut).coordinator(key.coordinator()).tx(key.seq()).cacheId(key.cacheId())
            .partition(key.partition()));
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
        finish(start(txEndOut).coordinator(key.coordinator()).tx(key.seq()).cacheId(key.cacheId())
            .partition(key.partition()).committed(MemberMessages.flag(committed)));
        appendMeta();
        return wal.appendedPosition();
    }
}
