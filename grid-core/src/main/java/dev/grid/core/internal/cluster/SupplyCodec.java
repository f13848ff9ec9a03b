package dev.grid.core.internal.cluster;

import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.RebalanceSupplyDecoder;
import dev.grid.core.codec.messages.RebalanceSupplyEncoder;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.TxPartKey;
import dev.grid.core.internal.cluster.Rebalancer.MemoryItem;
import dev.grid.core.spi.Transport;

import java.util.ArrayList;
import java.util.List;

/**
 * The encoding of a rebalance supply batch ({@code RebalanceSupply} in the member schema) for the {@link Rebalancer}:
 * a supplier starts a batch, writes its items into the groups in schema order (entries, records, memory items) and
 * ends it with the open prepares, the cursor key and why; a demander reads a batch whole into a {@link Supply}.
 *
 * <p><b>Threading:</b> the engine's thread only, like the {@link Rebalancer}.
 */
final class SupplyCodec
{
    private final MemberContext context;
    private final RebalanceSupplyEncoder supplyOut = new RebalanceSupplyEncoder();
    private final RebalanceSupplyDecoder supplyIn = new RebalanceSupplyDecoder();

    SupplyCodec(final MemberContext context)
    {
        this.context = context;
    }

    static void writeRecord(final RebalanceSupplyEncoder.RecordsEncoder out, final HistoryRecord record)
    {
        out.counter(record.counter()).transaction(record.transaction()).origin(record.origin())
            .sequence(record.sequence()).flag(MemberMessages.flag(record.flag()))
            .hasKey(MemberMessages.has(record.key())).hasValue(MemberMessages.has(record.value()))
            .hasOutcome(MemberMessages.has(record.outcome()));
        final LocalPartition.Predecessors predecessors = record.predecessors();
        final RebalanceSupplyEncoder.RecordsEncoder.PredecessorsEncoder group =
            out.predecessorsCount(predecessors.count());
        for (int i = 0; i < predecessors.count(); i++)
        {
            final byte[] outcome = predecessors.outcomes()[i].value();
            group.next().origin(predecessors.keys()[i].originIncarnation()).sequence(predecessors.keys()[i].sequence())
                .flag(MemberMessages.flag(predecessors.outcomes()[i].flag())).hasOutcome(MemberMessages.has(outcome))
                .putOutcome(MemberMessages.orEmpty(outcome), 0, MemberMessages.orEmpty(outcome).length);
        }
        final byte[] key = MemberMessages.orEmpty(record.key());
        final byte[] value = MemberMessages.orEmpty(record.value());
        final byte[] outcome = MemberMessages.orEmpty(record.outcome());
        out.putKey(key, 0, key.length).putValue(value, 0, value.length).putOutcome(outcome, 0, outcome.length);
    }

    /** Start a supply batch: its fixed fields, status {@link #Rebalancer.SUPPLY_MORE} until the caller knows better. */
    RebalanceSupplyEncoder startSupply(final long sender, final long version, final int cacheId,
        final int partition, final boolean full, final long cursor, final byte[] cursorKey, final boolean memory,
        final int memoryCursor)
    {
        supplyCursorKey = cursorKey;
        return context.messages().encode(supplyOut, context.incarnation(), sender).version(version).cacheId(cacheId)
            .partition(partition).full(MemberMessages.flag(full)).cursor(cursor)
            .memory(MemberMessages.flag(memory)).memoryCursor(memoryCursor)
            .status((short)Rebalancer.SUPPLY_MORE).hasCursorKey(MemberMessages.has(cursorKey)).openListed((short)0);
    }

    /** The cursor key of the batch being written, until {@link #endSupply} writes it after the groups. */
    private byte[] supplyCursorKey;

    /**
     * End a supply batch after its items: the open prepares (the last batch only), the cursor key, why; send.
     *
     * @return false if the transport refused it for back pressure (nothing was sent: serve the demand again later).
     */
    boolean endSupply(final RebalanceSupplyEncoder out, final List<TxPartKey> open, final long sender)
    {
        return endSupply(out, open, sender, "");
    }

    /** As {@link #endSupply(RebalanceSupplyEncoder, List, long)}, with the reason of a refusal. */
    boolean endSupply(final RebalanceSupplyEncoder out, final List<TxPartKey> open, final long sender,
        final String why)
    {
        final boolean listed = OpenPrepares.listed(open);
        out.openListed(MemberMessages.flag(listed));
        final RebalanceSupplyEncoder.OpenPreparesEncoder group = out.openPreparesCount(listed ? open.size() : 0);
        if (listed)
        {
            for (final TxPartKey part : open)
            {
                group.next().coordinator(part.coordinator()).tx(part.seq());
            }
        }
        final byte[] cursorKey = MemberMessages.orEmpty(supplyCursorKey);
        final byte[] reason = MemberMessages.utf8(why);
        out.putCursorKey(cursorKey, 0, cursorKey.length).putWhy(reason, 0, reason.length);
        context.messages().finish(out);
        return context.sendTo(sender) != Transport.BACK_PRESSURED;
    }

    /** A supply batch as its message carries it: entries as records with only counter, key and value. */
    record Supply(long version, int cacheId, int partition, boolean full, long cursor, boolean memory,
        int memoryCursor, int status, List<HistoryRecord> entries, List<HistoryRecord> records,
        List<MemoryItem> memoryItems, List<long[]> open, byte[] cursorKey, String why)
    {
    }

    Supply readSupply()
    {
        final RebalanceSupplyDecoder in = context.messages().decode(supplyIn);
        final long version = in.version();
        final int cacheId = in.cacheId();
        final int partition = in.partition();
        final boolean full = in.full() != 0;
        final long cursor = in.cursor();
        final boolean memory = in.memory() != 0;
        final int memoryCursor = in.memoryCursor();
        final int status = in.status();
        final short hasCursorKey = in.hasCursorKey();
        final boolean openListed = in.openListed() != 0;
        if (partition < 0 || partition > 65_535 || memoryCursor < 0 || status > Rebalancer.SUPPLY_REFUSED)
        {
            throw new MalformedMessageException("rebalance supply for partition " + partition + ", memory item " +
                memoryCursor + ", status " + status);
        }
        final List<HistoryRecord> entries = new ArrayList<>();
        for (final RebalanceSupplyDecoder.EntriesDecoder entry : in.entries())
        {
            final long counter = entry.counter();
            final byte[] key = MemberMessages.bytes(in, entry.keyLength(), "key");
            entry.getKey(key, 0, key.length);
            final byte[] value = MemberMessages.bytes(in, entry.valueLength(), "value");
            entry.getValue(value, 0, value.length);
            entries.add(new HistoryRecord(counter, key, value, 0, 0, 0, false, null,
                LocalPartition.Predecessors.NONE));
        }
        final List<HistoryRecord> records = new ArrayList<>();
        for (final RebalanceSupplyDecoder.RecordsDecoder record : in.records())
        {
            records.add(readRecord(in, record));
        }
        final List<MemoryItem> items = new ArrayList<>();
        for (final RebalanceSupplyDecoder.MemoryItemsDecoder item : in.memoryItems())
        {
            final boolean transaction = item.transaction() != 0;
            final long origin = item.origin();
            final long sequence = item.sequence();
            final boolean flag = item.flag() != 0;
            final short hasValue = item.hasValue();
            final byte[] value = MemberMessages.bytes(in, item.valueLength(), "memory.value");
            item.getValue(value, 0, value.length);
            items.add(new MemoryItem(transaction, origin, sequence, flag, MemberMessages.ifHas(hasValue, value)));
        }
        final List<long[]> open = openListed ? new ArrayList<>() : null;
        for (final RebalanceSupplyDecoder.OpenPreparesDecoder part : in.openPrepares())
        {
            if (open != null)
            {
                open.add(new long[] {part.coordinator(), part.tx()});
            }
        }
        final byte[] cursorKey = MemberMessages.bytes(in, in.cursorKeyLength(), "cursorKey");
        in.getCursorKey(cursorKey, 0, cursorKey.length);
        final byte[] why = MemberMessages.bytes(in, in.whyLength(), "why");
        in.getWhy(why, 0, why.length);
        return new Supply(version, cacheId, partition, full, cursor, memory, memoryCursor, status, entries, records,
            items, open, MemberMessages.ifHas(hasCursorKey, cursorKey), MemberMessages.text(why));
    }

    private static HistoryRecord readRecord(final RebalanceSupplyDecoder in,
        final RebalanceSupplyDecoder.RecordsDecoder record)
    {
        final long counter = record.counter();
        final long transaction = record.transaction();
        final long origin = record.origin();
        final long sequence = record.sequence();
        final boolean flag = record.flag() != 0;
        final short hasKey = record.hasKey();
        final short hasValue = record.hasValue();
        final short hasOutcome = record.hasOutcome();
        final RebalanceSupplyDecoder.RecordsDecoder.PredecessorsDecoder group = record.predecessors();
        final LocalPartition.OpKey[] keys = new LocalPartition.OpKey[group.count()];
        final OpOutcome[] outcomes = new OpOutcome[group.count()];
        for (int i = 0; i < keys.length; i++)
        {
            group.next();
            keys[i] = new LocalPartition.OpKey(group.origin(), group.sequence());
            final boolean predecessorFlag = group.flag() != 0;
            final short predecessorHasOutcome = group.hasOutcome();
            final byte[] outcome = MemberMessages.bytes(in, group.outcomeLength(), "predecessor.outcome");
            group.getOutcome(outcome, 0, outcome.length);
            outcomes[i] = new OpOutcome(predecessorFlag, MemberMessages.ifHas(predecessorHasOutcome, outcome), 0);
        }
        final byte[] key = MemberMessages.bytes(in, record.keyLength(), "key");
        record.getKey(key, 0, key.length);
        final byte[] value = MemberMessages.bytes(in, record.valueLength(), "value");
        record.getValue(value, 0, value.length);
        final byte[] outcome = MemberMessages.bytes(in, record.outcomeLength(), "outcome");
        record.getOutcome(outcome, 0, outcome.length);
        return new HistoryRecord(counter, MemberMessages.ifHas(hasKey, key), MemberMessages.ifHas(hasValue, value),
            transaction, origin, sequence, flag, MemberMessages.ifHas(hasOutcome, outcome),
            keys.length == 0 ? LocalPartition.Predecessors.NONE : new LocalPartition.Predecessors(keys, outcomes));
    }

}
