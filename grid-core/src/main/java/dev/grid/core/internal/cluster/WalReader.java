package dev.grid.core.internal.cluster;

import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.wal.MessageHeaderDecoder;
import dev.grid.core.codec.wal.WalDataDecoder;
import dev.grid.core.codec.wal.WalRebalanceMemoryDecoder;
import dev.grid.core.codec.wal.WalRollbackDecoder;
import dev.grid.core.codec.wal.WalTxPrepareDecoder;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.TxPartKey;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;
import dev.grid.core.internal.cluster.LocalPartition.Predecessors;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.sbe.MessageDecoderFlyweight;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads the WAL records {@link WalRecords} writes ({@code grid-core/src/main/sbe/wal-records.xml}): {@link #open}
 * checks a record's header and bounds it, {@link #decode} walks it whole before its fields are read, so a record
 * that lies about a length is malformed instead of read past its end. The records with groups are read whole into
 * plain values here, once for recovery and history reads alike.
 *
 * <p><b>Threading:</b> one reader per user (recovery, each history scan): it holds the record being read.
 */
final class WalReader
{
    private static final int HEADER_LENGTH = MessageHeaderDecoder.ENCODED_LENGTH;

    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final UnsafeBuffer record = new UnsafeBuffer(0, 0);

    /** A data record: where it belongs, the origin's watermark then, and the update itself. */
    record Data(int cacheId, int partition, long watermark, HistoryRecord update)
    {
    }

    /** A transaction part's prepare as logged. */
    record Prepare(TxPartKey key, long priority, long[] participants, byte[][] keys, byte[][] values)
    {
    }

    /**
     * Open a record: check its header and bound it.
     *
     * @return its type (one of {@link WalRecords}' types).
     * @throws MalformedMessageException if it is shorter than a header or of another schema.
     */
    int open(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < HEADER_LENGTH)
        {
            throw new MalformedMessageException("WAL record of " + length + " bytes, shorter than its header");
        }
        record.wrap(buffer, offset, length);
        header.wrap(record, 0);
        if (header.schemaId() != MessageHeaderDecoder.SCHEMA_ID)
        {
            throw new MalformedMessageException("WAL record of schema " + header.schemaId() + ", expected " +
                MessageHeaderDecoder.SCHEMA_ID + " (written by another program, or by a Grid before its WAL schema)");
        }
        return header.templateId();
    }

    /** @return {@code decoder} on the open record, checked whole. */
    <D extends MessageDecoderFlyweight> D decode(final D decoder)
    {
        return MemberMessages.checkedWrap(record, HEADER_LENGTH, header.blockLength(), header.version(), decoder);
    }

    /** @return the rest of a data record whose fixed fields the caller read (it must not have read any data). */
    static Data data(final WalDataDecoder in)
    {
        final int cacheId = in.cacheId();
        final int partition = in.partition();
        final long counter = in.counter();
        final long transaction = in.transaction();
        final long origin = in.origin();
        final long sequence = in.sequence();
        final boolean flag = in.flag() != 0;
        final short hasValue = in.hasValue();
        final short hasOutcome = in.hasOutcome();
        final long watermark = in.watermark();
        final Predecessors predecessors = predecessors(in);
        // Read with the decoder's own getters, not MemberMessages.read's method references: every record of a replay
        // passes here, and each bound reference was an allocation.
        final byte[] key = MemberMessages.bytes(in, in.keyLength(), "key");
        in.getKey(key, 0, key.length);
        final byte[] value = MemberMessages.bytes(in, in.valueLength(), "value");
        in.getValue(value, 0, value.length);
        final byte[] outcome = MemberMessages.bytes(in, in.outcomeLength(), "outcome");
        in.getOutcome(outcome, 0, outcome.length);
        checkPartition(partition);
        return new Data(cacheId, partition, watermark, new HistoryRecord(counter, key,
            MemberMessages.ifHas(hasValue, value), transaction, origin, sequence, flag,
            MemberMessages.ifHas(hasOutcome, outcome), predecessors));
    }

    private static Predecessors predecessors(final WalDataDecoder in)
    {
        final WalDataDecoder.PredecessorsDecoder group = in.predecessors();
        if (group.count() == 0)
        {
            return Predecessors.NONE;
        }
        final OpKey[] keys = new OpKey[group.count()];
        final OpOutcome[] outcomes = new OpOutcome[group.count()];
        for (int i = 0; i < keys.length; i++)
        {
            group.next();
            keys[i] = new OpKey(group.origin(), group.sequence());
            final boolean previousFlag = group.flag() != 0;
            final short previousHasOutcome = group.hasOutcome();
            outcomes[i] = new OpOutcome(previousFlag, MemberMessages.ifHas(previousHasOutcome,
                MemberMessages.read(in, group.outcomeLength(), "predecessor.outcome", group::getOutcome)), 0);
        }
        return new Predecessors(keys, outcomes);
    }

    /** @return a rollback record's ranges, as (start, count) pairs. */
    static long[] ranges(final WalRollbackDecoder in)
    {
        final WalRollbackDecoder.RangesDecoder group = in.ranges();
        final long[] ranges = new long[2 * group.count()];
        for (int i = 0; i < ranges.length; i += 2)
        {
            group.next();
            ranges[i] = group.start();
            ranges[i + 1] = group.length();
        }
        return ranges;
    }

    /** @return a rebalance memory record's items. */
    static List<Rebalancer.MemoryItem> memory(final WalRebalanceMemoryDecoder in)
    {
        final List<Rebalancer.MemoryItem> items = new ArrayList<>();
        for (final WalRebalanceMemoryDecoder.ItemsDecoder item : in.items())
        {
            final boolean transaction = item.transaction() != 0;
            final long origin = item.origin();
            final long sequence = item.sequence();
            final boolean flag = item.flag() != 0;
            final short hasValue = item.hasValue();
            items.add(new Rebalancer.MemoryItem(transaction, origin, sequence, flag,
                MemberMessages.ifHas(hasValue, MemberMessages.read(in, item.valueLength(), "memory.value",
                    item::getValue))));
        }
        return items;
    }

    /** @return a prepare record, whole. */
    static Prepare prepare(final WalTxPrepareDecoder in)
    {
        final TxPartKey key = new TxPartKey(in.coordinator(), in.tx(), in.cacheId(), checkPartition(in.partition()));
        final long priority = in.priority();
        final WalTxPrepareDecoder.ParticipantsDecoder participantGroup = in.participants();
        final long[] participants = new long[participantGroup.count()];
        for (int i = 0; i < participants.length; i++)
        {
            participants[i] = participantGroup.next().participant();
        }
        final WalTxPrepareDecoder.WritesDecoder writes = in.writes();
        final byte[][] keys = new byte[writes.count()][];
        final byte[][] values = new byte[writes.count()][];
        for (int i = 0; i < keys.length; i++)
        {
            writes.next();
            final short hasValue = writes.hasValue();
            keys[i] = MemberMessages.read(in, writes.keyLength(), "key", writes::getKey);
            values[i] = MemberMessages.ifHas(hasValue, MemberMessages.read(in, writes.valueLength(), "value",
                writes::getValue));
        }
        return new Prepare(key, priority, participants, keys, values);
    }

    static int checkPartition(final int partition)
    {
        if (partition < 0 || partition > 65_535)
        {
            throw new MalformedMessageException("WAL record of partition " + partition);
        }
        return partition;
    }
}
