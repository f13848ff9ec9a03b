package dev.grid.core.internal.cluster;

import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;
import dev.grid.core.internal.cluster.LocalPartition.PrimaryUpdate;
import dev.grid.core.spi.CheckpointStore;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checkpoints and the WAL history they bound. A checkpoint writes every copy's image (entries and counters) without
 * stopping writes, a few copies per duty cycle (see {@link CheckpointState}), then commits a manifest that names the
 * WAL position recovery replays from. The WAL before a committed checkpoint is released only beyond the history kept
 * for historical rebalance, and never while a history reader holds a pin. It also answers where each copy's complete
 * history starts and reads that history for rebalance suppliers.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class Checkpointer
{
    /** Copies imaged per duty cycle: each costs one pass over its entries, so writes keep flowing between them. */
    private static final int IMAGES_PER_CYCLE = 16;

    /**
     * The manifest's layout: a version byte, then its fields, the cluster's structures in it (caches, baseline,
     * ownership table) as bodies of the member schema, each with its own version.
     */
    static final int MANIFEST_VERSION = 6;

    /**
     * The oldest manifest this build reads: 6, the first whose structures are schema bodies (the WAL records of the
     * builds before were not in a schema either, so their data directories are not readable here).
     */
    static final int MANIFEST_VERSION_MIN = 6;

    private final MemberContext context;

    // Checkpoints (see CheckpointState).
    private final CheckpointStore checkpoints;

    private CheckpointState checkpointState = CheckpointState.IDLE;
    long checkpointId;

    long committedCheckpointId;
    long nextCheckpointNs;

    private final LongArrayList checkpointCursor = new LongArrayList();
    private int checkpointCursorIndex;

    /** {@code walRecords().totalAppends()} less the records appended since the last checkpoint began (or were news). */
    private long appendsBase;
    private long checkpointRequiredDurable;
    private long checkpointReplayFrom;

    private final MessageWriter manifestWriter = new MessageWriter();

    // WAL history (see HistoryBoundary): committed checkpoints not yet released, and per copy the counter after which
    // its history is complete in the retained WAL (absent: from its start).
    private final Long2LongHashMap checkpointHwms = new Long2LongHashMap(-1);

    private final ArrayDeque<HistoryBoundary> historyBoundaries = new ArrayDeque<>();
    private final Long2LongHashMap historyFrom = new Long2LongHashMap(-1);

    private long releasedPosition;
    private int historyPins;

    Checkpointer(final MemberContext context, final CheckpointStore checkpoints)
    {
        this.context = context;
        this.checkpoints = checkpoints;
    }

    /**
     * Finalization dropped the copy's reservations above {@code lwm} (a prepare whose transaction the map change
     * voided): no record exists above it, because the exchange drained every append first. History recorded as
     * starting above it (an image taken while the reservation stood) is therefore complete from {@code lwm}.
     */
    void clampHistory(final int cacheId, final int partition, final long lwm)
    {
        final long packed = PartitionCopy.pack(cacheId, partition);
        if (historyFrom.get(packed) > lwm)
        {
            historyFrom.put(packed, lwm);
        }
        if (checkpointHwms.get(packed) > lwm)
        {
            checkpointHwms.put(packed, lwm);
        }
        for (final HistoryBoundary boundary : historyBoundaries)
        {
            if (boundary.hwms().get(packed) > lwm)
            {
                boundary.hwms().put(packed, lwm);
            }
        }
    }

    void logCopyDropped(final int cacheId, final int partition)
    {
        // Whatever this copy had is gone: a later copy here is a new lineage, whose history starts at its creation.
        historyFrom.remove(PartitionCopy.pack(cacheId, partition));
        checkpointHwms.remove(PartitionCopy.pack(cacheId, partition));
        for (final HistoryBoundary boundary : historyBoundaries)
        {
            boundary.hwms().remove(PartitionCopy.pack(cacheId, partition));
        }
        context.tx().forgetCommitted(cacheId, partition);
        context.walRecords().appendCopyDropped(cacheId, partition);
    }

    /** @return the records appended since the last checkpoint began, less its own marker. */
    private long appendsSinceCheckpoint()
    {
        return context.walRecords().totalAppends() - appendsBase;
    }

    /** @return whether no checkpoint is under way. */
    boolean isIdle()
    {
        return checkpointState == CheckpointState.IDLE;
    }

    /**
     * Load the newest committed checkpoint for recovery, which continues its numbering.
     *
     * @return the checkpoint, or null if there is none (or no store).
     */
    CheckpointStore.Checkpoint loadLatest()
    {
        final CheckpointStore.Checkpoint checkpoint = checkpoints == null ? null : checkpoints.loadLatest();
        if (checkpoint != null)
        {
            committedCheckpointId = checkpoint.id();
            checkpointId = checkpoint.id();
        }
        return checkpoint;
    }

    /** @param position the WAL position recovery replays after: everything at or below it counts as released. */
    void recoveredFrom(final long position)
    {
        releasedPosition = position;
    }

    /**
     * @param packed a copy ({@link PartitionCopy#pack}) recovered from an image.
     * @param hwm    the image's HWM: the retained WAL holds the copy's history after it.
     */
    void imageRecovered(final long packed, final long hwm)
    {
        historyFrom.put(packed, hwm);
    }

    /** @param packed a copy ({@link PartitionCopy#pack}) that starts a new lineage: its history is its own. */
    void newLineage(final long packed)
    {
        historyFrom.remove(packed);
    }

    /**
     * @param packed a copy ({@link PartitionCopy#pack}).
     * @param to     the counter below which the retained WAL does not hold its history (a full rebalance's target).
     */
    void historyOnlyAfter(final long packed, final long to)
    {
        historyFrom.put(packed, Math.max(historyFrom.get(packed), to));
    }

    /**
     * A full rebalance filled a copy up to {@code to}: its history starts there, also for the checkpoint in progress
     * and every retained boundary, whose HWMs would otherwise say nothing of it (the image, if any, was of the copy
     * before the clear): nothing would mean "complete from the start".
     *
     * @param packed a copy ({@link PartitionCopy#pack}).
     * @param to     the rebalance's target counter.
     */
    void rebalancedTo(final long packed, final long to)
    {
        historyOnlyAfter(packed, to);
        checkpointHwms.put(packed, Math.max(checkpointHwms.get(packed), to));
        for (final HistoryBoundary boundary : historyBoundaries)
        {
            boundary.hwms().put(packed, Math.max(boundary.hwms().get(packed), to));
        }
    }

    /** The first checkpoint falls one interval from now. */
    void scheduleFirst()
    {
        nextCheckpointNs = context.nowNs() + context.config().checkpointIntervalNs();
    }

    int checkpointDuty()
    {
        if (checkpoints == null)
        {
            return 0;
        }
        if (checkpointState != CheckpointState.IDLE && checkpoints.failure() != null)
        {
            context.listener().onEvent("member " + context.config().memberId() + ": checkpoint " +
                checkpointId + " failed: " +
                checkpoints.failure() + "; the next one starts after the checkpoint interval");
            checkpointState = checkpointState.moveTo(CheckpointState.IDLE);
            nextCheckpointNs = context.nowNs() + context.config().checkpointIntervalNs();
            // What the failed checkpoint would have covered still needs one, even if nothing new arrives.
            if (appendsSinceCheckpoint() < 1)
            {
                appendsBase = context.walRecords().totalAppends() - 1;
            }
            return 1;
        }
        return switch (checkpointState)
        {
            case IDLE -> startIfDue();
            case SNAPSHOTTING -> imageCopies();
            case AWAITING_DURABILITY -> commitOnceDurable();
            case COMMITTING -> finishCommit();
        };
    }

    /** Start a checkpoint when the interval passed or enough records were appended. */
    private int startIfDue()
    {
        if (context.state() != MemberState.ACTIVE ||
            (context.nowNs() < nextCheckpointNs &&
            appendsSinceCheckpoint() < context.config().checkpointWalRecords()))
        {
            return 0;
        }
        if (appendsSinceCheckpoint() == 0)
        {
            nextCheckpointNs = context.nowNs() + context.config().checkpointIntervalNs();
            return 0;
        }
        beginCheckpoint();
        return 1;
    }

    /** Write the images of a few more copies. */
    private int imageCopies()
    {
        int imaged = 0;
        while (imaged < IMAGES_PER_CYCLE && checkpointCursorIndex < checkpointCursor.size())
        {
            final long packed = checkpointCursor.getLong(checkpointCursorIndex++);
            final LocalPartition lp = context.localCopy((int)(packed >>> 32), (int)packed);
            if (lp != null)
            {
                checkpoints.write(image(lp));
                imaged++;
            }
        }
        if (checkpointCursorIndex == checkpointCursor.size())
        {
            checkpointState = checkpointState.moveTo(CheckpointState.AWAITING_DURABILITY);
        }
        return Math.max(imaged, 1);
    }

    /** Commit the manifest once the WAL holds everything the images reflect. */
    private int commitOnceDurable()
    {
        if (context.wal().durablePosition() < checkpointRequiredDurable)
        {
            return 0;
        }
        checkpoints.commit(checkpointId, manifest());
        checkpointState = checkpointState.moveTo(CheckpointState.COMMITTING);
        return 1;
    }

    /** Once the manifest is committed: record the history boundary, mark the WAL, release history. */
    private int finishCommit()
    {
        if (checkpoints.committedId() < checkpointId)
        {
            return 0;
        }
        committedCheckpointId = checkpointId;
        checkpointState = checkpointState.moveTo(CheckpointState.IDLE);
        nextCheckpointNs = context.nowNs() + context.config().checkpointIntervalNs();
        final Long2LongHashMap hwms = new Long2LongHashMap(-1);
        hwms.putAll(checkpointHwms);
        historyBoundaries.addLast(new HistoryBoundary(checkpointReplayFrom, context.nowNs(),
            context.walRecords().totalAppends(), hwms));
        context.walRecords().appendCheckpoint(checkpointId, checkpointReplayFrom);
        // The marker is not news: an idle member must not checkpoint again because of it.
        appendsBase++;
        releaseHistory();
        context.listener().onEvent("member " + context.config().memberId() +
            " committed checkpoint " + checkpointId + " of " +
            checkpointCursor.size() + " copies; recovery replays the WAL after position " +
            checkpointReplayFrom);
        return 1;
    }

    private void beginCheckpoint()
    {
        checkpointId = Math.max(checkpointId, committedCheckpointId) + 1;
        checkpoints.begin(checkpointId);
        checkpointCursor.clear();
        for (final LocalPartition[] local : context.copies().values())
        {
            for (final LocalPartition lp : local)
            {
                if (lp != null)
                {
                    checkpointCursor.addLong(PartitionCopy.pack(lp.cacheId, lp.partition));
                }
            }
        }
        checkpointCursorIndex = 0;
        checkpointHwms.clear();
        checkpointRequiredDurable = context.wal().appendedPosition();
        // Records at or below this are reflected in every image (taken later) and in no copy created later.
        checkpointReplayFrom = context.durability().reflectedPosition();
        appendsBase = context.walRecords().totalAppends();
        checkpointState = checkpointState.moveTo(CheckpointState.SNAPSHOTTING);
    }

    /**
     * Image a copy as it is now: contents (applied, perhaps not yet durable), counter (durable only) and recent
     * outcomes. Replay of this copy resumes after the position whose records every counter reflects
     * ({@link Durability#reflectedPosition}); the commit waits until the WAL holds everything appended so far, which
     * covers every update in the contents.
     */
    private CheckpointStore.PartitionImage image(final LocalPartition lp)
    {
        final int entries = lp.store.entryCount();
        final byte[][] keys = new byte[entries][];
        final byte[][] values = new byte[entries][];
        final long[] counters = new long[entries];
        lp.store.snapshot(keys, values, counters);
        final byte[] counterState = new byte[lp.counter.encodedLength()];
        lp.counter.encode(new UnsafeBuffer(counterState), 0);
        // An update in flight on the primary has its outcome on the update, not yet in recent: its WAL record may
        // precede the image's replay position, so the image must carry it or a restart forgets the operation.
        final Map<OpKey, OpOutcome> inFlight = new HashMap<>();
        for (final PrimaryUpdate update : lp.inFlight.values())
        {
            inFlight.put(update.opKey, update.outcome);
        }
        int outcomes = 0;
        for (final Map.Entry<OpKey, OpOutcome> recent : lp.recent.entrySet())
        {
            outcomes += recent.getValue() != null || inFlight.containsKey(recent.getKey()) ? 1 : 0;
        }
        // References only: the store serializes on its own thread (outcomes are immutable).
        final long[] origins = new long[outcomes];
        final long[] sequences = new long[outcomes];
        final boolean[] flags = new boolean[outcomes];
        final byte[][] outcomeValues = new byte[outcomes][];
        int i = 0;
        for (final Map.Entry<OpKey, OpOutcome> recent : lp.recent.entrySet())
        {
            final OpOutcome outcome = recent.getValue() != null ? recent.getValue() : inFlight.get(recent.getKey());
            if (outcome != null)
            {
                origins[i] = recent.getKey().originIncarnation();
                sequences[i] = recent.getKey().sequence();
                flags[i] = outcome.flag();
                outcomeValues[i] = outcome.value();
                i++;
            }
        }
        checkpointRequiredDurable = Math.max(checkpointRequiredDurable, context.wal().appendedPosition());
        checkpointHwms.put(PartitionCopy.pack(lp.cacheId, lp.partition), lp.counter.hwm());
        return new CheckpointStore.PartitionImage(lp.cacheId, lp.partition, context.durability().reflectedPosition(),
            lp.counter.hwm(), counterState, keys, values, counters, origins, sequences, flags, outcomeValues);
    }

    private byte[] manifest()
    {
        manifestWriter.reset().writeByte(MANIFEST_VERSION).writeLong(checkpointReplayFrom)
            .writeInt(context.walCaches().size());
        for (final CacheDescriptor cache : context.walCaches().values())
        {
            manifestWriter.writeBytes(StateBodies.encode(cache));
        }
        // The lineage epochs of every copy (images do not carry them, and the WAL records may be released).
        int count = 0;
        final int countAt = manifestWriter.length();
        manifestWriter.writeInt(0);
        for (final LocalPartition[] local : context.copies().values())
        {
            for (final LocalPartition lp : local)
            {
                if (lp != null && !lp.epochs.isEmpty())
                {
                    manifestWriter.writeInt(lp.cacheId).writeInt(lp.partition).writeInt(lp.epochs.size());
                    for (final long[] epoch : lp.epochs)
                    {
                        manifestWriter.writeLong(epoch[0]).writeLong(epoch[1]);
                    }
                    count++;
                }
            }
        }
        manifestWriter.patchInt(countAt, count);
        manifestWriter.writeBytes(StateBodies.encode(context.walBaseline()));
        manifestWriter.writeBytes(context.ownership().encodeHeaderBody());
        final int[] cacheIds = context.ownership().cacheIds();
        manifestWriter.writeInt(cacheIds.length);
        for (final int cacheId : cacheIds)
        {
            manifestWriter.writeBytes(context.ownership().encodeCacheBody(cacheId));
        }
        // Transaction parts prepared here and not finished: their WAL records may be released.
        context.tx().encodePrepared(manifestWriter);
        context.tx().encodeCommitted(manifestWriter);
        return context.copyOut(manifestWriter);
    }

    /** The work of {@link dev.grid.core.engine.EngineHistory#checkpointNow}: the next duty cycle starts one if due. */
    void checkpointNow()
    {
        if (checkpoints != null && checkpointState == CheckpointState.IDLE)
        {
            nextCheckpointNs = context.nowNs();
        }
    }

    /** The work of {@link dev.grid.core.engine.EngineHistory#lastBegunCheckpointId}. */
    long lastBegunCheckpointId()
    {
        return Math.max(checkpointId, committedCheckpointId);
    }

    /** The work of {@link dev.grid.core.engine.EngineHistory#checkpointCurrent}. */
    boolean checkpointCurrent()
    {
        return checkpoints == null || checkpointState == CheckpointState.IDLE && appendsSinceCheckpoint() == 0;
    }

    /** The work of {@link dev.grid.core.engine.EngineHistory#committedCheckpointId}. */
    long committedCheckpointId()
    {
        return committedCheckpointId;
    }

    /**
     * Release WAL up to the newest committed checkpoint that is older than the history age and more than the history
     * size back, unless a reader pinned history.
     */
    private void releaseHistory()
    {
        if (historyPins > 0)
        {
            return;
        }
        HistoryBoundary target = null;
        for (final HistoryBoundary boundary : historyBoundaries)
        {
            final long appendsSince = context.walRecords().totalAppends() - boundary.appendsAtCommit();
            if (context.nowNs() - boundary.committedNs() >= context.config().walHistoryAgeNs() &&
                appendsSince >= context.config().walHistoryRecords())
            {
                target = boundary;
            }
        }
        if (target == null || target.position() <= releasedPosition)
        {
            return;
        }
        while (historyBoundaries.peekFirst() != target)
        {
            historyBoundaries.removeFirst();
        }
        releasedPosition = target.position();
        context.wal().release(releasedPosition);
        context.historyIndex().trim(releasedPosition);
        historyFrom.clear();
        historyFrom.putAll(target.hwms());
    }

    /** The work of {@link dev.grid.core.engine.EngineHistory#historyFrom}. */
    long historyFrom(final int cacheId, final int partition)
    {
        return context.localCopy(cacheId, partition) == null ? -1 : Math.max(0,
            historyFrom.get(PartitionCopy.pack(cacheId, partition)));
    }

    /** The work of {@link dev.grid.core.engine.EngineHistory#pinHistory}. */
    void pinHistory()
    {
        historyPins++;
    }

    /** The work of {@link dev.grid.core.engine.EngineHistory#unpinHistory}. */
    void unpinHistory()
    {
        if (historyPins == 0)
        {
            throw new IllegalStateException("history is not pinned");
        }
        historyPins--;
    }

    /** The work of {@link dev.grid.core.engine.EngineHistory#historyPins}. */
    int historyPins()
    {
        return historyPins;
    }

    /** The work of {@link dev.grid.core.engine.EngineHistory#historyCoverage} and rebalance suppliers. */
    HistoryRead readHistory(final int cacheId, final int partition, final long fromExclusive,
        final long toInclusive)
    {
        final long packed = PartitionCopy.pack(cacheId, partition);
        return readHistories(Map.of(packed, new long[] {fromExclusive, toInclusive})).get(packed);
    }

    /**
     * {@link #readHistory} for many copies in one scan of the retained WAL, all at once (tests and checks; a supplier
     * reads in bounded steps through {@link #startHistoryScan}).
     *
     * @param ranges per copy ({@code cacheId << 32 | partition}), {fromExclusive, toInclusive}.
     * @return per copy, its records and whether the range is complete.
     */
    Map<Long, HistoryRead> readHistories(final Map<Long, long[]> ranges)
    {
        final HistoryScan scan = startHistoryScan(ranges);
        while (!scan.isDone())
        {
            scan.step(Integer.MAX_VALUE);
        }
        return scan.result();
    }

    /**
     * Start reading copies' histories from the retained WAL; the caller steps the scan (history stays pinned until it
     * is done or closed). Ranges this member cannot serve (no copy here, or history released) are answered at once.
     *
     * @param ranges per copy ({@code cacheId << 32 | partition}), {fromExclusive, toInclusive}.
     * @return the scan.
     */
    HistoryScan startHistoryScan(final Map<Long, long[]> ranges)
    {
        final Map<Long, HistoryRead> refused = new HashMap<>();
        long scanFrom = Long.MAX_VALUE;
        for (final Map.Entry<Long, long[]> range : ranges.entrySet())
        {
            final int cacheId = (int)(range.getKey() >>> 32);
            final int partition = (int)(long)range.getKey();
            final long available = historyFrom(cacheId, partition);
            if (available < 0)
            {
                refused.put(range.getKey(), new HistoryRead(false, List.of(),
                    "this member holds no copy of cache " +
                    "id " + cacheId + " partition " + partition));
            }
            else if (range.getValue()[0] < available)
            {
                context.listener().onEvent("member " + context.config().memberId() +
                    " cannot serve history of cache id " + cacheId +
                    " partition " + partition + " from counter " + range.getValue()[0] + ": the WAL keeps it " +
                    "only after " + available);
                refused.put(range.getKey(), new HistoryRead(false, List.of(),
                    "the WAL keeps this copy's history " +
                    "only after counter " + available + " (released up to position " + releasedPosition + ")"));
            }
            else
            {
                scanFrom = Math.min(scanFrom, context.historyIndex().scanStart(range.getKey(), range.getValue()[0]));
            }
        }
        final long after = scanFrom == Long.MAX_VALUE ? 0 :
            Math.max(scanFrom, Math.max(releasedPosition, context.wal().firstRetainedPosition()));
        return new HistoryScan(context, context.wal(), ranges, after, refused);
    }

    /**
     * A committed checkpoint whose WAL position is a candidate for release, with each imaged copy's HWM at its image.
     * Once the WAL is released up to it, a copy's history is complete only above that HWM, not above its LWM: updates
     * above LWM applied out of order sit in the WAL before the image (Ignite's IGNITE-17793).
     */
    record HistoryBoundary(long position, long committedNs, long appendsAtCommit, Long2LongHashMap hwms)
    {
    }

    /** Abandon a checkpoint under way: the member dropped every copy to rejoin, so its images are worthless. */
    void abandon()
    {
        if (checkpointState != CheckpointState.IDLE)
        {
            checkpointState = checkpointState.moveTo(CheckpointState.IDLE);
        }
        historyBoundaries.clear();
        historyFrom.clear();
    }
}
