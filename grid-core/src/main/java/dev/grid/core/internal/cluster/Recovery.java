package dev.grid.core.internal.cluster;

import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.KeptCopy;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.wal.WalBaselineDecoder;
import dev.grid.core.codec.wal.WalCacheDecoder;
import dev.grid.core.codec.wal.WalCacheDestroyedDecoder;
import dev.grid.core.codec.wal.WalCopyDroppedDecoder;
import dev.grid.core.codec.wal.WalDataDecoder;
import dev.grid.core.codec.wal.WalEpochDecoder;
import dev.grid.core.codec.wal.WalOwnershipDecoder;
import dev.grid.core.codec.wal.WalRebalanceDoneDecoder;
import dev.grid.core.codec.wal.WalRebalanceEntryDecoder;
import dev.grid.core.codec.wal.WalRebalanceMemoryDecoder;
import dev.grid.core.codec.wal.WalRollbackDecoder;
import dev.grid.core.codec.wal.WalTxEndDecoder;
import dev.grid.core.codec.wal.WalTxPrepareDecoder;
import dev.grid.core.codec.wal.WalTxVoidDecoder;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.Topology;
import dev.grid.core.engine.TxPartKey;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;
import dev.grid.core.internal.cluster.LocalPartition.Predecessors;
import dev.grid.core.internal.partition.CounterRange;
import dev.grid.core.internal.partition.PartitionUpdateCounter;
import dev.grid.core.spi.CheckpointStore;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;

/**
 * Recovery at start: loads the newest committed checkpoint, then replays the WAL after it record by record, so that
 * every copy's store and counter (gaps and closed holes too), the caches, the baseline, the ownership table, prepared
 * transactions and the outcomes clients may still resend are as they were when the member stopped. Afterwards it
 * judges recovered copies against the topology the member joins: copies of caches the cluster does not know are kept
 * aside (see {@link EngineListener#onCopyKept}) and dropped.
 * <p>
 * <b>Threading:</b> the engine's thread only, from its constructor and its topology adoption.
 */
final class Recovery
{
    private final WalReader walReader = new WalReader();
    private final WalDataDecoder dataIn = new WalDataDecoder();
    private final WalRollbackDecoder rollbackIn = new WalRollbackDecoder();
    private final WalCopyDroppedDecoder copyDroppedIn = new WalCopyDroppedDecoder();
    private final WalCacheDecoder cacheIn = new WalCacheDecoder();
    private final WalCacheDestroyedDecoder cacheDestroyedIn = new WalCacheDestroyedDecoder();
    private final WalEpochDecoder epochIn = new WalEpochDecoder();
    private final WalRebalanceEntryDecoder rebalanceEntryIn = new WalRebalanceEntryDecoder();
    private final WalRebalanceDoneDecoder rebalanceDoneIn = new WalRebalanceDoneDecoder();
    private final WalRebalanceMemoryDecoder rebalanceMemoryIn = new WalRebalanceMemoryDecoder();
    private final WalBaselineDecoder baselineIn = new WalBaselineDecoder();
    private final WalOwnershipDecoder ownershipIn = new WalOwnershipDecoder();
    private final WalTxPrepareDecoder txPrepareIn = new WalTxPrepareDecoder();
    private final WalTxEndDecoder txEndIn = new WalTxEndDecoder();
    private final WalTxVoidDecoder txVoidIn = new WalTxVoidDecoder();
    private final MemberContext context;

    /** Decodes checkpoint manifests and WAL records; never shared with the engine's message handling. */
    final MessageReader reader = new MessageReader();

    // Recovery: per copy (packed cache and partition), the WAL position its checkpoint image already reflects.
    private final Long2LongHashMap imageReplayFrom = new Long2LongHashMap(-1);

    // During recovery: copies a replayed full rebalance filled, with the counter their history starts after.
    private final Long2LongHashMap rebalancedHistoryFrom = new Long2LongHashMap(-1);

    private long replayPosition;
    private int recoveredImages;

    private final Long2ObjectHashMap<LocalPartition> imagedCopies = new Long2ObjectHashMap<>();
    private long previousReplayPosition;

    /** During recovery: per origin incarnation, the highest watermark the replayed WAL records carry. */
    private final Long2LongHashMap replayWatermarks = new Long2LongHashMap(Long.MIN_VALUE);

    private long recoveredRecords;

    /** The incarnation that ran on this data directory before the present one: see {@link #previousIncarnation}. */
    private long previousIncarnation;

    Recovery(final MemberContext context)
    {
        this.context = context;
    }

    /**
     * Rebuild the copies and caches this member had from its WAL: every update is applied by counter (newest wins per
     * key; a counter already closed is a duplicate and skipped), holes closed by rollback records close again, and
     * dropped copies and destroyed caches stay dropped. The copies are then reported to the first exchange like any
     * other, where the coordinator decides whether they are kept.
     */
    void recover()
    {
        final long replayFrom = loadCheckpoint();
        replayPosition = replayFrom;
        final long replayed = context.wal().replay(replayFrom, (position, buffer, offset, length) ->
        {
            previousReplayPosition = replayPosition;
            replayPosition = position;
            replayRecord(walReader.open(buffer, offset, length));
        });
        imageReplayFrom.clear();
        // A copy dropped after its image (and perhaps created again) has a new lineage: its history is its own.
        for (final Long2ObjectHashMap<LocalPartition>.EntryIterator it = imagedCopies.entrySet().iterator();
            it.hasNext(); )
        {
            it.next();
            final long packed = it.getLongKey();
            if (context.localCopy((int)(packed >>> 32), (int)packed) != it.getValue())
            {
                context.checkpointer().newLineage(packed);
            }
        }
        imagedCopies.clear();
        // ...except that a copy a full rebalance filled has history only after the rebalance's target.
        for (final Long2LongHashMap.EntryIterator it = rebalancedHistoryFrom.entrySet().iterator(); it.hasNext(); )
        {
            it.next();
            context.checkpointer().historyOnlyAfter(it.getLongKey(), it.getLongValue());
        }
        rebalancedHistoryFrom.clear();
        recoveredRecords = replayed;
        long updates = 0;
        int partitions = 0;
        for (final LocalPartition[] local : context.copies().values())
        {
            for (final LocalPartition lp : local)
            {
                if (lp != null)
                {
                    lp.finishReplay(replayWatermarks);
                    // Nothing recovered was journaled: a journal of this copy starts above what it holds.
                    lp.unjournaled(lp.counter.hwm());
                    // A thin client's outcomes recovered here are kept as long as if it had just been heard of.
                    lp.recent.keySet().forEach(key -> context.origins().noteClientSeen(key.originIncarnation()));
                    partitions++;
                    updates += lp.counter.lwm();
                }
            }
        }
        // What origins promised before the crash still holds: a request below its origin's watermark is a late copy.
        for (final Long2LongHashMap.EntryIterator it = replayWatermarks.entrySet().iterator(); it.hasNext(); )
        {
            it.next();
            context.origins().noteWatermark(it.getLongKey(), it.getLongValue());
        }
        replayWatermarks.clear();
        if (replayed == 0 && recoveredImages == 0)
        {
            return;
        }
        context.listener().onEvent("member " + context.config().memberId() + " recovered checkpoint " +
            context.checkpointer().committedCheckpointId() + " (" +
            recoveredImages + " images) and " + replayed + " WAL records after position " + replayFrom + ": " +
            context.walCaches().size() + " cache(s), " + partitions + " partition copies, LWMs summing to " + updates);
    }

    /**
     * Load the newest committed checkpoint, if any: its caches, and a copy per image with contents, counter and
     * recent outcomes.
     *
     * @return the WAL position after which replay must start.
     */
    private long loadCheckpoint()
    {
        final CheckpointStore.Checkpoint checkpoint = context.checkpointer().loadLatest();
        if (checkpoint == null)
        {
            return 0;
        }
        reader.wrap(new UnsafeBuffer(checkpoint.manifest()), 0, checkpoint.manifest().length);
        final int version = reader.readByte("manifestVersion");
        if (version < Checkpointer.MANIFEST_VERSION_MIN || version > Checkpointer.MANIFEST_VERSION)
        {
            throw new MalformedMessageException("checkpoint " + checkpoint.id() + " has manifest version " + version +
                " (this build reads " + Checkpointer.MANIFEST_VERSION_MIN + " to " +
                Checkpointer.MANIFEST_VERSION + ")");
        }
        final long replayFrom = reader.readLong("replayFrom");
        context.checkpointer().recoveredFrom(replayFrom);
        final int caches = reader.readInt("caches", 0, 1 << 20);
        for (int i = 0; i < caches; i++)
        {
            final CacheDescriptor cache = StateBodies.decodeCache(manifestBody("cache"));
            context.walCaches().put(cache.cacheId(), cache);
        }
        final Long2ObjectHashMap<long[][]> epochs = readEpochs();
        context.walBaseline(StateBodies.decodeBaseline(manifestBody("baseline")));
        final byte[] ownershipHeader = manifestBody("ownership");
        final int ownershipCaches = reader.readInt("ownership.caches", 0, 1 << 20);
        final List<byte[]> sections = new ArrayList<>(ownershipCaches);
        for (int i = 0; i < ownershipCaches; i++)
        {
            sections.add(manifestBody("ownership.cache"));
        }
        context.ownership().replaceWith(ownershipHeader, sections);
        context.tx().decodePrepared(reader);
        for (final CheckpointStore.PartitionImage image : checkpoint.images())
        {
            loadImage(image, epochs);
        }
        return replayFrom;
    }

    /** The lineage epochs of every imaged copy, as the manifest lists them (by packed cache and partition). */
    private Long2ObjectHashMap<long[][]> readEpochs()
    {
        final Long2ObjectHashMap<long[][]> epochs = new Long2ObjectHashMap<>();
        final int epochCopies = reader.readInt("epochCopies", 0, 1 << 24);
        for (int i = 0; i < epochCopies; i++)
        {
            final long packed = PartitionCopy.pack(reader.readInt("cacheId"),
                reader.readInt("partition", 0, 65_535));
            final long[][] list = new long[reader.readInt("epochs", 0, LocalPartition.EPOCHS_KEPT)][];
            for (int e = 0; e < list.length; e++)
            {
                list[e] = new long[] {reader.readLong("epochId"), reader.readLong("epochFloor")};
            }
            epochs.put(packed, list);
        }
        return epochs;
    }

    /** Load one copy's checkpoint image: its entries, counters, retry memory and lineage. */
    private void loadImage(final CheckpointStore.PartitionImage image, final Long2ObjectHashMap<long[][]> epochs)
    {
        final CacheDescriptor cache = context.walCaches().get(image.cacheId());
        if (cache == null || image.partition() >= cache.partitions())
        {
            return;
        }
        final LocalPartition lp = new LocalPartition(image.cacheId(), image.partition(),
            PartitionUpdateCounter.decode(image.partition(), PartitionUpdateCounter.GAPS_MAX_DEFAULT,
                new UnsafeBuffer(image.counterState()), 0, image.counterState().length));
        for (int i = 0; i < image.keys().length; i++)
        {
            lp.store.apply(image.keys()[i], image.values()[i], image.counters()[i]);
        }
        lp.unjournaled(lp.counter.hwm());
        for (int i = 0; i < image.recentOrigins().length; i++)
        {
            lp.recent.put(new OpKey(image.recentOrigins()[i], image.recentSequences()[i]),
                new OpOutcome(image.recentFlags()[i], image.recentValues()[i], 0));
        }
        context.copies().computeIfAbsent(image.cacheId(),
            id -> new LocalPartition[cache.partitions()])[image.partition()] =
            lp;
        imageReplayFrom.put(PartitionCopy.pack(image.cacheId(), image.partition()), image.replayFromPosition());
        // The WAL before this checkpoint may be gone: history is complete only above the image's HWM.
        context.checkpointer().imageRecovered(PartitionCopy.pack(image.cacheId(), image.partition()), image.hwm());
        context.historyIndex().raiseHighest(PartitionCopy.pack(image.cacheId(), image.partition()), image.hwm());
        imagedCopies.put(PartitionCopy.pack(image.cacheId(), image.partition()), lp);
        final long[][] lineage = epochs.get(PartitionCopy.pack(image.cacheId(), image.partition()));
        for (int e = 0; lineage != null && e < lineage.length; e++)
        {
            lp.adoptEpoch(lineage[e][0], lineage[e][1]);
        }
        recoveredImages++;
    }

    /**
     * @return whether the checkpoint image of this copy already reflects the WAL record being replayed.
     */
    private boolean reflectedByImage(final int cacheId, final int partition)
    {
        return imageReplayFrom.get(PartitionCopy.pack(cacheId, partition)) >= replayPosition;
    }

    private byte[] manifestBody(final String field)
    {
        return nonNull(reader.readBytes(field), field);
    }

    private void replayRecord(final int type)
    {
        switch (type)
        {
            case WalRecords.WAL_DATA -> replayData(WalReader.data(walReader.decode(dataIn)));
            case WalRecords.WAL_ROLLBACK -> replayRollback();
            case WalRecords.WAL_COPY_DROPPED -> replayCopyDropped();
            case WalRecords.WAL_CACHE ->
            {
                final WalCacheDecoder in = walReader.decode(cacheIn);
                final CacheDescriptor cache = StateBodies.decodeCache(MemberMessages.read(in, in.descriptorLength(),
                    "descriptor", in::getDescriptor));
                context.walCaches().put(cache.cacheId(), cache);
            }
            case WalRecords.WAL_BASELINE ->
            {
                final WalBaselineDecoder in = walReader.decode(baselineIn);
                context.walBaseline(StateBodies.decodeBaseline(MemberMessages.read(in, in.baselineLength(), "baseline",
                    in::getBaseline)));
            }
            case WalRecords.WAL_OWNERSHIP -> replayOwnership();
            case WalRecords.WAL_TX_PREPARE -> replayPrepare(WalReader.prepare(walReader.decode(txPrepareIn)));
            case WalRecords.WAL_TX_END ->
            {
                final WalTxEndDecoder in = walReader.decode(txEndIn);
                context.tx().replayEnd(new TxPartKey(in.coordinator(), in.tx(), in.cacheId(),
                    WalReader.checkPartition(in.partition())), in.committed() != 0);
            }
            case WalRecords.WAL_TX_VOID ->
            {
                final WalTxVoidDecoder in = walReader.decode(txVoidIn);
                context.tx().replayVoid(new TxPartKey(in.coordinator(), in.tx(), in.cacheId(),
                    WalReader.checkPartition(in.partition())));
            }
            case WalRecords.WAL_CACHE_DESTROYED -> replayCacheDestroyed(walReader.decode(cacheDestroyedIn).cacheId());
            case WalRecords.WAL_ALL_DROPPED -> replayAllDropped();
            case WalRecords.WAL_CHECKPOINT ->
            {
                // Informational; the manifest is the authority.
            }
            case WalRecords.WAL_EPOCH -> replayEpoch();
            case WalRecords.WAL_REBALANCE_ENTRY -> replayRebalanceEntry();
            case WalRecords.WAL_REBALANCE_MEMORY -> replayRebalanceMemory();
            case WalRecords.WAL_REBALANCE_DONE -> replayRebalanceDone();
            default -> throw new MalformedMessageException("unknown WAL record type " + type);
        }
    }

    private void replayPrepare(final WalReader.Prepare prepare)
    {
        context.tx().replayPrepare(prepare.key(), prepare.priority(), prepare.participants(), prepare.keys(),
            prepare.values());
    }

    private void replayOwnership()
    {
        final WalOwnershipDecoder in = walReader.decode(ownershipIn);
        final List<byte[]> sections = new ArrayList<>();
        for (final WalOwnershipDecoder.CachesDecoder cache : in.caches())
        {
            sections.add(MemberMessages.read(in, cache.sectionLength(), "ownership.cache", cache::getSection));
        }
        context.ownership().replaceWith(MemberMessages.read(in, in.headerLength(), "ownership.header", in::getHeader),
            sections);
    }

    /** Replay a {@link WalRecords#WAL_DATA} record. */
    private void replayData(final WalReader.Data data)
    {
        final int cacheId = data.cacheId();
        final int partition = data.partition();
        final HistoryRecord update = data.update();
        final long counter = update.counter();
        context.historyIndex().note(PartitionCopy.pack(cacheId, partition), previousReplayPosition, counter);
        final long origin = update.origin();
        if (update.transaction() != WalRecords.NO_TRANSACTION)
        {
            context.tx().replayCommitted(origin, update.transaction(), cacheId, partition);
        }
        final LocalPartition lp = reflectedByImage(cacheId, partition) ? null :
            recoveredCopy(cacheId, partition);
        final Predecessors predecessors = update.predecessors();
        final long watermark = data.watermark();
        if (watermark > replayWatermarks.get(origin))
        {
            replayWatermarks.put(origin, watermark);
        }
        for (int i = 0; i < predecessors.count() && lp != null; i++)
        {
            final OpKey key = predecessors.keys()[i];
            final OpOutcome outcome = predecessors.outcomes()[i];
            lp.replayRecent(key.originIncarnation(), key.sequence(), outcome.flag(), outcome.value(), true,
                replayWatermarks);
        }
        if (lp != null && !lp.counter.isClosed(counter))
        {
            // Into the store's hash index only: its key-ordered tree is built when first needed, not here.
            lp.store.apply(update.key(), update.value(), counter);
            lp.unjournaled(counter);
            lp.counter.apply(counter - 1, 1);
            // A retry of this operation after the restart is answered from here, never applied again.
            lp.replayRecent(origin, update.sequence(), update.flag(), update.outcome(), false, replayWatermarks);
        }
    }

    /** Replay a {@link WalRecords#WAL_ROLLBACK} record. */
    private void replayRollback()
    {
        final WalRollbackDecoder in = walReader.decode(rollbackIn);
        final int cacheId = in.cacheId();
        final int partition = WalReader.checkPartition(in.partition());
        final LocalPartition lp = reflectedByImage(cacheId, partition) ? null :
            recoveredCopy(cacheId, partition);
        final long[] ranges = WalReader.ranges(in);
        long highest = 0;
        for (int i = 0; i < ranges.length; i += 2)
        {
            final long start = ranges[i];
            final long count = ranges[i + 1];
            highest = Math.max(highest, start + count);
            if (lp != null && count > 0 && !lp.counter.isClosed(start + 1))
            {
                lp.counter.rollback(start, count);
            }
        }
        context.historyIndex().note(PartitionCopy.pack(cacheId, partition), previousReplayPosition, highest);
    }

    /** Replay a {@link WalRecords#WAL_COPY_DROPPED} record. */
    private void replayCopyDropped()
    {
        final WalCopyDroppedDecoder in = walReader.decode(copyDroppedIn);
        final int cacheId = in.cacheId();
        final int partition = WalReader.checkPartition(in.partition());
        final LocalPartition[] local = context.copies().get(cacheId);
        if (reflectedByImage(cacheId, partition))
        {
            // The image is of a later copy: the commits replayed so far were the dropped copy's.
            context.tx().forgetCommittedBeforeImage(cacheId, partition);
        }
        else
        {
            context.tx().forgetCommitted(cacheId, partition);
            if (local != null && partition < local.length)
            {
                local[partition] = null;
                forgetLineage(PartitionCopy.pack(cacheId, partition));
                context.tx().forgetPrepared(cacheId, partition);
            }
        }
    }

    /**
     * A dropped copy's history floor goes with it: a full rebalance replayed before the drop raised it in the
     * checkpointer too ({@link #replayRebalanceDone}), and a later lineage's lower floor could not bring it down
     * (floors only rise), so the copy claimed history only above its own LWM (soak seed 0x181ce2af1: from 13 with LWM
     * 8). It refused history it held, and demanders were rebuilt in full for nothing.
     */
    private void forgetLineage(final long packed)
    {
        rebalancedHistoryFrom.remove(packed);
        context.checkpointer().newLineage(packed);
    }

    /** Replay a {@link WalRecords#WAL_CACHE_DESTROYED} record. */
    private void replayCacheDestroyed(final int cacheId)
    {
        context.walCaches().remove(cacheId);
        context.copies().remove(cacheId);
        context.ownership().remove(cacheId);
        context.tx().forgetPrepared(cacheId, -1);
    }

    /** Replay a {@link WalRecords#WAL_ALL_DROPPED} record. */
    private void replayAllDropped()
    {
        // Copies imaged after the drop belong to the member's next life and stay; caches left without any
        // copy are forgotten, as they were when the member dropped its state.
        for (final Integer cacheId : new ArrayList<>(context.walCaches().keySet()))
        {
            final LocalPartition[] local = context.copies().get(cacheId);
            boolean any = false;
            for (int p = 0; local != null && p < local.length; p++)
            {
                if (local[p] != null && !reflectedByImage(cacheId, p))
                {
                    local[p] = null;
                    forgetLineage(PartitionCopy.pack(cacheId, p));
                    context.tx().forgetPrepared(cacheId, p);
                }
                any |= local[p] != null;
            }
            if (!any)
            {
                context.copies().remove(cacheId);
                context.walCaches().remove(cacheId);
            }
        }
    }

    /** Replay a {@link WalRecords#WAL_EPOCH} record. */
    private void replayEpoch()
    {
        final WalEpochDecoder in = walReader.decode(epochIn);
        final LocalPartition lp = recoveredCopy(in.cacheId(), WalReader.checkPartition(in.partition()));
        final long id = in.epochId();
        final long floor = in.epochFloor();
        if (lp != null)
        {
            lp.adoptEpoch(id, floor);
        }
    }

    /** Replay a {@link WalRecords#WAL_REBALANCE_ENTRY} record. */
    private void replayRebalanceEntry()
    {
        final WalRebalanceEntryDecoder in = walReader.decode(rebalanceEntryIn);
        final int cacheId = in.cacheId();
        final int partition = WalReader.checkPartition(in.partition());
        final long counter = in.counter();
        final short hasValue = in.hasValue();
        // The decoder's own getters, as WalReader.data reads: no bound method reference allocated per entry.
        final byte[] key = MemberMessages.bytes(in, in.keyLength(), "key");
        in.getKey(key, 0, key.length);
        final byte[] read = MemberMessages.bytes(in, in.valueLength(), "value");
        in.getValue(read, 0, read.length);
        final byte[] value = MemberMessages.ifHas(hasValue, read);
        final LocalPartition lp = reflectedByImage(cacheId, partition) ? null :
            recoveredCopy(cacheId, partition);
        if (lp != null && key != null && counter > 0)
        {
            lp.store.apply(key, value, counter);
            lp.unjournaled(counter);
        }
    }

    /** Replay a {@link WalRecords#WAL_REBALANCE_MEMORY} record. */
    private void replayRebalanceMemory()
    {
        final WalRebalanceMemoryDecoder in = walReader.decode(rebalanceMemoryIn);
        final int cacheId = in.cacheId();
        final int partition = WalReader.checkPartition(in.partition());
        final LocalPartition lp = reflectedByImage(cacheId, partition) ? null :
            recoveredCopy(cacheId, partition);
        for (final Rebalancer.MemoryItem item : WalReader.memory(in))
        {
            if (lp != null && item.transaction())
            {
                context.tx().rememberFinished(item.origin(), item.sequence(), cacheId, partition, item.flag());
            }
            else if (lp != null)
            {
                lp.replayOlder(new OpKey(item.origin(), item.sequence()),
                    new OpOutcome(item.flag(), item.value(), 0));
            }
        }
    }

    /** Replay a {@link WalRecords#WAL_REBALANCE_DONE} record. */
    private void replayRebalanceDone()
    {
        final WalRebalanceDoneDecoder in = walReader.decode(rebalanceDoneIn);
        final int cacheId = in.cacheId();
        final int partition = WalReader.checkPartition(in.partition());
        final long to = in.to();
        final LocalPartition lp = reflectedByImage(cacheId, partition) ? null :
            recoveredCopy(cacheId, partition);
        if (lp != null)
        {
            for (final CounterRange open : RebalancedCopies.openRanges(lp.counter, to))
            {
                lp.counter.rollback(open.start(), open.count());
            }
            final long packed = PartitionCopy.pack(cacheId, partition);
            context.checkpointer().historyOnlyAfter(packed, to);
            rebalancedHistoryFrom.put(packed, to);
        }
    }

    private LocalPartition recoveredCopy(final int cacheId, final int partition)
    {
        final CacheDescriptor cache = context.walCaches().get(cacheId);
        if (cache == null || partition >= cache.partitions())
        {
            return null;
        }
        final LocalPartition[] local = context.copies().computeIfAbsent(cacheId,
            id -> new LocalPartition[cache.partitions()]);
        if (local[partition] == null)
        {
            local[partition] = new LocalPartition(cacheId, partition);
        }
        return local[partition];
    }

    /**
     * On the first topology after start: recovered copies of caches the cluster does not have (destroyed while this
     * member was away, or another cache under the same id, as after two clusters that formed apart merged) are
     * dropped before they could be reported, each non-empty one kept for the operator first
     * ({@link EngineListener#onCopyKept}).
     */
    void dropRecoveredCopiesUnknownTo(final Topology joined)
    {
        for (final CacheDescriptor recovered : new ArrayList<>(context.walCaches().values()))
        {
            final CacheDescriptor current = joined.cache(recovered.cacheId());
            if (current == null || !current.sameSettings(recovered) ||
                current.creatorIncarnation() != recovered.creatorIncarnation() ||
                current.creatorSequence() != recovered.creatorSequence())
            {
                final CacheDescriptor sameName = joined.cache(recovered.name());
                final String reason = "the cluster " + (current == null ? "has no cache under its id " +
                    recovered.cacheId() : "has another cache under its id: '" + current.name() + "'") + ", and " +
                    (sameName == null ? "none named '" + recovered.name() + "' (destroyed while this member was " +
                    "away, or another cluster's cache)" : "its cache named '" + recovered.name() + "' is another " +
                    "cache (created by another cluster, or again after a destroy)");
                context.listener().onEvent("member " + context.config().memberId() +
                    " drops its recovered copies of cache " +
                    recovered.name() + " (id " + recovered.cacheId() + "): " + reason);
                keepCopiesOf(recovered, reason);
                context.walCaches().remove(recovered.cacheId());
                context.copies().remove(recovered.cacheId());
                context.walRecords().appendCacheDestroyed(recovered.cacheId());
            }
        }
    }

    /**
     * Hand every non-empty copy of a cache about to be dropped for want of a cache to take it in to
     * {@link EngineListener#onCopyKept}, and say so where an operator looks after a split (the quorum history of
     * {@code state}).
     */
    void keepCopiesOf(final CacheDescriptor recovered, final String reason)
    {
        final LocalPartition[] local = context.copies().get(recovered.cacheId());
        int keptCopies = 0;
        long keptEntries = 0;
        for (int p = 0; local != null && p < local.length; p++)
        {
            final LocalPartition lp = local[p];
            if (lp == null || lp.store.size() == 0)
            {
                continue;
            }
            final List<byte[]> keys = new ArrayList<>(lp.store.size());
            final List<byte[]> values = new ArrayList<>(lp.store.size());
            lp.store.forEach((key, value, counter) ->
            {
                if (value != null)
                {
                    keys.add(key);
                    values.add(value);
                }
            });
            context.listener().onCopyKept(new KeptCopy(recovered.name(), recovered.cacheId(), recovered.keyCodec(),
                recovered.valueCodec(), p, lp.counter.highestClosed(), reason, keys, values));
            keptCopies++;
            keptEntries += keys.size();
        }
        if (keptCopies > 0)
        {
            final String event = "kept " + keptEntries + " entries of " + keptCopies + " copies of cache '" +
                recovered.name() + "' for the operator (" + reason + ")";
            context.listener().onEvent("member " + context.config().memberId() + " " + event);
            context.membership().rememberQuorumEvent(event);
        }
    }

    /**
     * A new incarnation of this member starts (to join): it learns who ran on the data directory before it, as the
     * ownership table logged last there says, and logs the table as its own, so that the next one learns it in turn
     * (a first start too, which has nothing else to log; a rejoin in the same process too).
     */
    void incarnationStarts(final long incarnation)
    {
        if (context.wal().retainsRecords())
        {
            previousIncarnation = context.ownership().writer();
            context.walRecords().appendOwnership(context.ownership(), incarnation);
        }
    }

    /**
     * @return the incarnation that ran on this data directory before the present one, as the ownership table logged
     *         last there says ({@link #incarnationStarts}): 0 for a first start, a lost directory, a directory written
     *         before this was kept, and members without a retaining WAL. An owner of the installed map that restarted
     *         on the very directory that incarnation ran on, and recovered no copy of a partition its table does not
     *         name it an owner of, never durably held the partition ({@link LastOwners#restartedOwners}); one whose
     *         directory was lost and that restarted again since names the incarnation that found it empty.
     */
    long previousIncarnation()
    {
        return previousIncarnation;
    }

    /** The work of {@link dev.grid.core.engine.EngineHistory#recoveredRecords}. */
    long recoveredRecords()
    {
        return recoveredRecords;
    }

    private static <T> T nonNull(final T value, final String field)
    {
        if (value == null)
        {
            throw new MalformedMessageException("field '" + field + "' must not be null");
        }
        return value;
    }
}
