package dev.grid.core.internal.cluster;

import dev.grid.core.CacheDestroyedException;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.GridException;
import dev.grid.core.engine.MessageTypes;
import dev.grid.core.internal.partition.CounterRange;
import org.agrona.collections.Long2ObjectHashMap;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The consistency check (Ignite's idle_verify, without the idle): compares every OWNING copy of each partition of a
 * cache at the same counter while the cluster keeps writing. Runs on the engine's thread.
 * <p>
 * <b>How copies are compared at the same counter.</b> The requesting member asks each partition's primary
 * ({@code VERIFY_REQUEST}). The primary holds the partition still: new single-key writes wait in the copy's
 * {@link LocalPartition#pausedOps}, transaction prepares, commits and rollbacks of the partition are left for their
 * coordinator's resend. Once its updates in flight are acknowledged by every backup (so every copy applied exactly the
 * same updates), it records its own state and asks every other OWNING copy for its state ({@code VERIFY_COPY}); with
 * every answer in, it lets the writes go and answers the requester ({@code VERIFY_ANSWER}). The partition is held for
 * about one round trip. A map change ends every hold (the requester asks the new primary), a primary already holding
 * the partition for another check answers "busy" (asked again), and at most {@link #PARTITIONS_AT_ONCE} partitions
 * of a check are held at once.
 * <p>
 * Copies conflict on <b>counters</b> if their LWM or the ranges closed above it differ, and on <b>data</b> if counters
 * agree but content hash or size do not (pitfall 10 of research/ignite-counters.md: equal counters can hide different
 * data). A partition is <b>lost</b> if none of its last owners (by the durable ownership record) is present, or the
 * cluster waits for its last members after a restart: its copies may lack acknowledged updates however equal they are.
 */
final class ConsistencyChecker
{
    static final int ANSWER_OK = 0;
    static final int ANSWER_RETRY = 1;

    /** Partitions of one check held still at once across the cluster. */
    static final int PARTITIONS_AT_ONCE = 8;

    /** A check this member requested. */
    private static final class Check
    {
        final long id;
        final CacheDescriptor cache;
        final BiConsumer<ConsistencyReport, GridException> callback;
        final long startNs;
        final boolean[] done;
        final long[] sentNs;
        final List<ConsistencyReport.PartitionConflict> conflicts = new ArrayList<>();
        int next;
        int outstanding;
        int checked;
        int moving;

        Check(final long id, final CacheDescriptor cache, final BiConsumer<ConsistencyReport, GridException> callback,
            final long startNs)
        {
            this.id = id;
            this.cache = cache;
            this.callback = callback;
            this.startNs = startNs;
            this.done = new boolean[cache.partitions()];
            this.sentNs = new long[cache.partitions()];
            java.util.Arrays.fill(sentNs, -1);
        }
    }

    /** A partition this member (its primary) holds still for a requester. */
    private static final class Hold
    {
        final long requester;
        final long checkId;
        final LocalPartition lp;
        final long version;
        final Map<Long, ConsistencyReport.CopyState> answers = new HashMap<>();
        final List<Long> copies = new ArrayList<>();
        int moving;
        boolean collecting;
        long sentNs;

        Hold(final long requester, final long checkId, final LocalPartition lp, final long version)
        {
            this.requester = requester;
            this.checkId = checkId;
            this.lp = lp;
            this.version = version;
        }
    }

    private final MemberEngine engine;
    private final Long2ObjectHashMap<Check> checks = new Long2ObjectHashMap<>();
    private final List<Hold> holds = new ArrayList<>();
    private long nextCheckId = 1;
    private long nextHoldId = 1;

    ConsistencyChecker(final MemberEngine engine)
    {
        this.engine = engine;
    }

    boolean isIdle()
    {
        return checks.isEmpty() && holds.isEmpty();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Requester.
    // ------------------------------------------------------------------------------------------------------------

    void start(final CacheDescriptor cache, final BiConsumer<ConsistencyReport, GridException> callback)
    {
        final Check check = new Check(nextCheckId++, cache, callback, engine.nowNs);
        checks.put(check.id, check);
        duty();
    }

    /**
     * Send the next requests of every check, and resend those unanswered for a retry interval.
     */
    int duty()
    {
        int work = 0;
        for (final Check check : new ArrayList<>(checks.values()))
        {
            if (engine.topology.cache(check.cache.cacheId()) == null)
            {
                checks.remove(check.id);
                check.callback.accept(null, new CacheDestroyedException("cache '" + check.cache.name() +
                    "' was destroyed during its consistency check"));
                continue;
            }
            if (engine.isExchanging())
            {
                continue;
            }
            for (int p = 0; p < check.done.length; p++)
            {
                if (!check.done[p] && check.sentNs[p] >= 0 && engine.nowNs - check.sentNs[p] >= engine.retryIntervalNs)
                {
                    send(check, p);
                    work++;
                }
            }
            while (check.outstanding < PARTITIONS_AT_ONCE && check.next < check.done.length)
            {
                check.outstanding++;
                send(check, check.next++);
                work++;
            }
        }
        holdDuty();
        return work;
    }

    private void send(final Check check, final int partition)
    {
        check.sentNs[partition] = engine.nowNs;
        final PartitionMap map = engine.installedMap;
        if (!map.isActive() || map.isLost(check.cache.cacheId(), partition))
        {
            // Its last owners are away: whatever the stand-in copies hold, acknowledged updates may be missing. (A
            // partition lost under policy IGNORE carries no flag: that policy chose to serve it anyway.)
            check.conflicts.add(new ConsistencyReport.PartitionConflict(partition,
                ConsistencyReport.ConflictKind.LOST, List.of()));
            finishPartition(check, partition);
            return;
        }
        final MemberRecord primary = map.primary(check.cache.cacheId(), partition);
        if (primary == null)
        {
            // No owner: nothing to compare.
            finishPartition(check, partition);
            return;
        }
        engine.header(MessageTypes.VERIFY_REQUEST, primary.incarnation());
        engine.writer.writeLong(check.id).writeInt(check.cache.cacheId()).writeInt(partition)
            .writeLong(engine.installedMap.version());
        engine.sendTx(primary.incarnation());
    }

    void onAnswer(final long sender)
    {
        final long checkId = engine.reader.readLong("checkId");
        final int partition = engine.reader.readInt("partition", 0, 65_535);
        final int status = engine.reader.readByte("status");
        final int moving = engine.reader.readInt("moving", 0, 255);
        final int count = engine.reader.readInt("copies", 0, 255);
        final List<ConsistencyReport.CopyState> copies = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            copies.add(new ConsistencyReport.CopyState(engine.reader.readString("memberId"),
                engine.reader.readBoolean("primary"), engine.reader.readLong("lwm"), engine.reader.readLong("hwm"),
                engine.reader.readString("gaps"), engine.reader.readLong("size"), engine.reader.readLong("hash")));
        }
        final Check check = checks.get(checkId);
        if (check == null || partition >= check.done.length || check.done[partition])
        {
            return;
        }
        if (status != ANSWER_OK)
        {
            // Not primary any more, or busy with another check: asked again after a retry interval.
            return;
        }
        check.checked++;
        check.moving += moving;
        final ConsistencyReport.CopyState first = copies.isEmpty() ? null : copies.get(0);
        ConsistencyReport.ConflictKind kind = null;
        for (final ConsistencyReport.CopyState copy : copies)
        {
            if (copy.lwm() != first.lwm() || !copy.gaps().equals(first.gaps()))
            {
                kind = ConsistencyReport.ConflictKind.COUNTERS;
                break;
            }
            if (copy.contentHash() != first.contentHash() || copy.size() != first.size())
            {
                kind = ConsistencyReport.ConflictKind.DATA;
            }
        }
        if (kind != null)
        {
            check.conflicts.add(new ConsistencyReport.PartitionConflict(partition, kind, List.copyOf(copies)));
            engine.listener.onEvent("consistency check of cache " + check.cache.name() + ": partition " + partition +
                " has a " + kind + " conflict: " + copies);
        }
        finishPartition(check, partition);
    }

    private void finishPartition(final Check check, final int partition)
    {
        check.done[partition] = true;
        check.outstanding--;
        if (check.next >= check.done.length && check.outstanding == 0)
        {
            checks.remove(check.id);
            check.callback.accept(new ConsistencyReport(check.cache.name(), check.checked, check.moving,
                List.copyOf(check.conflicts), engine.nowNs - check.startNs), null);
        }
        else
        {
            while (check.outstanding < PARTITIONS_AT_ONCE && check.next < check.done.length)
            {
                check.outstanding++;
                send(check, check.next++);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Primary: hold the partition still and collect every copy.
    // ------------------------------------------------------------------------------------------------------------

    void onRequest(final long sender)
    {
        final long checkId = engine.reader.readLong("checkId");
        final int cacheId = engine.reader.readInt("cacheId");
        final int partition = engine.reader.readInt("partition", 0, 65_535);
        final long version = engine.reader.readLong("version");
        final PartitionMap map = engine.installedMap;
        final LocalPartition lp = engine.localCopy(cacheId, partition);
        if (engine.isExchanging() || map == null || version != map.version() || lp == null ||
            map.rank(cacheId, partition, map.topology().indexOf(engine.incarnation)) != 0)
        {
            answer(sender, checkId, partition, ANSWER_RETRY, 0, List.of());
            return;
        }
        for (final Hold hold : holds)
        {
            if (hold.lp == lp)
            {
                if (hold.requester != sender || hold.checkId != checkId)
                {
                    answer(sender, checkId, partition, ANSWER_RETRY, 0, List.of());
                }
                return;
            }
        }
        final Hold hold = new Hold(sender, checkId, lp, map.version());
        lp.pausedBy = nextHoldId++;
        final int owning = map.owningCount(cacheId, partition);
        final int[] owners = map.owners(cacheId, partition);
        for (int i = 1; i < owners.length; i++)
        {
            if (i < owning)
            {
                hold.copies.add(map.topology().members().get(owners[i]).incarnation());
            }
            else
            {
                hold.moving++;
            }
        }
        holds.add(hold);
        holdDuty();
    }

    private void holdDuty()
    {
        for (final Hold hold : new ArrayList<>(holds))
        {
            final LocalPartition lp = hold.lp;
            if (!hold.collecting)
            {
                if (!lp.inFlight.isEmpty() || engine.tx.isApplyingOn(lp.cacheId, lp.partition))
                {
                    continue;
                }
                // Every update this primary began is applied and acknowledged by every copy, and none begins until
                // the hold ends: every copy stands at the same counter now.
                hold.collecting = true;
                hold.answers.put(engine.incarnation, state(engine.config.memberId(), true, lp));
                hold.sentNs = Long.MIN_VALUE / 2;
            }
            if (hold.answers.size() == hold.copies.size() + 1)
            {
                release(hold);
                final List<ConsistencyReport.CopyState> copies = new ArrayList<>();
                copies.add(hold.answers.get(engine.incarnation));
                for (final long copy : hold.copies)
                {
                    copies.add(hold.answers.get(copy));
                }
                answer(hold.requester, hold.checkId, lp.partition, ANSWER_OK, hold.moving, copies);
                continue;
            }
            if (engine.nowNs - hold.sentNs >= engine.retryIntervalNs)
            {
                hold.sentNs = engine.nowNs;
                for (final long copy : hold.copies)
                {
                    if (!hold.answers.containsKey(copy))
                    {
                        engine.header(MessageTypes.VERIFY_COPY, copy);
                        engine.writer.writeLong(hold.checkId).writeLong(hold.requester).writeInt(lp.cacheId)
                            .writeInt(lp.partition).writeLong(hold.version);
                        engine.sendTx(copy);
                    }
                }
            }
        }
    }

    private void release(final Hold hold)
    {
        holds.remove(hold);
        hold.lp.pausedBy = 0;
        final List<Runnable> waiting = new ArrayList<>(hold.lp.pausedOps);
        hold.lp.pausedOps.clear();
        waiting.forEach(Runnable::run);
    }

    /**
     * A map change: every hold ends (its writes go on, or park for the exchange); the requesters ask again.
     */
    void onTopologyChanged()
    {
        for (final Hold hold : new ArrayList<>(holds))
        {
            release(hold);
            answer(hold.requester, hold.checkId, hold.lp.partition, ANSWER_RETRY, 0, List.of());
        }
    }

    void onCopyRequest(final long sender)
    {
        final long checkId = engine.reader.readLong("checkId");
        final long requester = engine.reader.readLong("requester");
        final int cacheId = engine.reader.readInt("cacheId");
        final int partition = engine.reader.readInt("partition", 0, 65_535);
        final long version = engine.reader.readLong("version");
        final LocalPartition lp = engine.localCopy(cacheId, partition);
        if (lp == null || engine.installedMap == null || engine.installedMap.version() != version)
        {
            return;
        }
        final ConsistencyReport.CopyState state = state(engine.config.memberId(), false, lp);
        engine.header(MessageTypes.VERIFY_COPY_ANSWER, sender);
        engine.writer.writeLong(checkId).writeLong(requester).writeInt(cacheId).writeInt(partition);
        writeState(state);
        engine.sendTx(sender);
    }

    void onCopyAnswer(final long sender)
    {
        final long checkId = engine.reader.readLong("checkId");
        final long requester = engine.reader.readLong("requester");
        final int cacheId = engine.reader.readInt("cacheId");
        final int partition = engine.reader.readInt("partition", 0, 65_535);
        final ConsistencyReport.CopyState state = readState();
        for (final Hold hold : holds)
        {
            if (hold.checkId == checkId && hold.requester == requester && hold.lp.cacheId == cacheId &&
                hold.lp.partition == partition && hold.collecting && hold.copies.contains(sender))
            {
                hold.answers.put(sender, state);
                holdDuty();
                return;
            }
        }
    }

    private void answer(final long requester, final long checkId, final int partition, final int status,
        final int moving, final List<ConsistencyReport.CopyState> copies)
    {
        engine.header(MessageTypes.VERIFY_ANSWER, requester);
        engine.writer.writeLong(checkId).writeInt(partition).writeByte(status).writeInt(moving).writeInt(copies.size());
        for (final ConsistencyReport.CopyState copy : copies)
        {
            writeState(copy);
        }
        engine.sendTx(requester);
    }

    private void writeState(final ConsistencyReport.CopyState state)
    {
        engine.writer.writeString(state.memberId()).writeBoolean(state.primary()).writeLong(state.lwm())
            .writeLong(state.hwm()).writeString(state.gaps()).writeLong(state.size()).writeLong(state.contentHash());
    }

    private ConsistencyReport.CopyState readState()
    {
        return new ConsistencyReport.CopyState(engine.reader.readString("memberId"),
            engine.reader.readBoolean("primary"),
            engine.reader.readLong("lwm"), engine.reader.readLong("hwm"), engine.reader.readString("gaps"),
            engine.reader.readLong("size"), engine.reader.readLong("hash"));
    }

    private static ConsistencyReport.CopyState state(final String memberId, final boolean primary,
        final LocalPartition lp)
    {
        final StringBuilder gaps = new StringBuilder();
        for (final CounterRange gap : lp.counter.gaps())
        {
            gaps.append(gaps.length() == 0 ? "" : " ").append('(').append(gap.start()).append(", ")
                .append(gap.start() + gap.count()).append(']');
        }
        return new ConsistencyReport.CopyState(memberId, primary, lp.counter.lwm(), lp.counter.hwm(),
            gaps.toString(), lp.store.size(), lp.store.contentHash());
    }
}
