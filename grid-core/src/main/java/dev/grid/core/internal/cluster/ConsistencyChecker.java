package dev.grid.core.internal.cluster;

import dev.grid.core.CacheDestroyedException;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.GridException;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.VerifyAnswerDecoder;
import dev.grid.core.codec.messages.VerifyAnswerEncoder;
import dev.grid.core.codec.messages.VerifyCopyAnswerDecoder;
import dev.grid.core.codec.messages.VerifyCopyAnswerEncoder;
import dev.grid.core.codec.messages.VerifyCopyDecoder;
import dev.grid.core.codec.messages.VerifyCopyEncoder;
import dev.grid.core.codec.messages.VerifyRequestDecoder;
import dev.grid.core.codec.messages.VerifyRequestEncoder;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
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

    private final MemberContext context;
    private final VerifyRequestEncoder verifyRequestOut = new VerifyRequestEncoder();
    private final VerifyRequestDecoder verifyRequestIn = new VerifyRequestDecoder();
    private final VerifyCopyEncoder verifyCopyOut = new VerifyCopyEncoder();
    private final VerifyCopyDecoder verifyCopyIn = new VerifyCopyDecoder();
    private final VerifyCopyAnswerEncoder verifyCopyAnswerOut = new VerifyCopyAnswerEncoder();
    private final VerifyCopyAnswerDecoder verifyCopyAnswerIn = new VerifyCopyAnswerDecoder();
    private final VerifyAnswerEncoder verifyAnswerOut = new VerifyAnswerEncoder();
    private final VerifyAnswerDecoder verifyAnswerIn = new VerifyAnswerDecoder();
    private final Long2ObjectHashMap<Check> checks = new Long2ObjectHashMap<>();
    private final List<Hold> holds = new ArrayList<>();
    private long nextCheckId = 1;
    private long nextHoldId = 1;

    ConsistencyChecker(final MemberContext context)
    {
        this.context = context;
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
        final Check check = new Check(nextCheckId++, cache, callback, context.nowNs());
        checks.put(check.id, check);
        duty();
    }

    /**
     * This member stops, or was removed from its cluster and joins again: every check it requested fails with the
     * error. (Before, an expelled member's checks were dropped unanswered: the caller waited for ever. Found by
     * baseline seed 0x176628e1e, whose final check began just before the member that ran it was removed.)
     *
     * @param error what each check's caller gets.
     */
    void failAll(final GridException error)
    {
        final List<Check> failed = new ArrayList<>(checks.values());
        checks.clear();
        for (final Check check : failed)
        {
            check.callback.accept(null, error);
        }
    }

    /**
     * Send the next requests of every check, and resend those unanswered for a retry interval.
     */
    int duty()
    {
        int work = 0;
        for (final Check check : new ArrayList<>(checks.values()))
        {
            if (context.topology().cache(check.cache.cacheId()) == null)
            {
                checks.remove(check.id);
                check.callback.accept(null, new CacheDestroyedException("cache '" + check.cache.name() +
                    "' was destroyed during its consistency check"));
                continue;
            }
            if (context.isExchanging())
            {
                continue;
            }
            for (int p = 0; p < check.done.length; p++)
            {
                if (!check.done[p] && check.sentNs[p] >= 0 &&
                    context.nowNs() - check.sentNs[p] >= context.retryIntervalNs())
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
        check.sentNs[partition] = context.nowNs();
        final PartitionTable map = context.installedMap();
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
        context.messages().finish(context.messages().encode(verifyRequestOut, context.incarnation(),
            primary.incarnation())
            .checkId(check.id).cacheId(check.cache.cacheId()).partition(partition)
            .version(context.installedMap().version()));
        context.sendTo(primary.incarnation());
    }

    void onAnswer(final long sender)
    {
        final VerifyAnswerDecoder in = context.messages().decode(verifyAnswerIn);
        final long checkId = in.checkId();
        final int partition = in.partition();
        final int status = in.status();
        final int moving = in.moving();
        if (partition < 0 || moving < 0 || moving > 255)
        {
            throw new MalformedMessageException("verify answer for partition " + partition + " with " + moving +
                " moving copies");
        }
        final VerifyAnswerDecoder.CopiesDecoder group = in.copies();
        final List<ConsistencyReport.CopyState> copies = new ArrayList<>(group.count());
        while (group.hasNext())
        {
            group.next();
            final boolean primary = group.primary() != 0;
            final long lwm = group.lwm();
            final long hwm = group.hwm();
            final long size = group.size();
            final long hash = group.hash();
            final byte[] memberId = MemberMessages.bytes(in, group.memberIdLength(), "memberId");
            group.getMemberId(memberId, 0, memberId.length);
            final byte[] gaps = MemberMessages.bytes(in, group.gapsLength(), "gaps");
            group.getGaps(gaps, 0, gaps.length);
            copies.add(new ConsistencyReport.CopyState(MemberMessages.text(memberId), primary, lwm, hwm,
                MemberMessages.text(gaps), size, hash));
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
            context.listener().onEvent("consistency check of cache " + check.cache.name() + ": partition " + partition +
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
                List.copyOf(check.conflicts), context.nowNs() - check.startNs), null);
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
        final VerifyRequestDecoder in = context.messages().decode(verifyRequestIn);
        final long checkId = in.checkId();
        final int cacheId = in.cacheId();
        final int partition = in.partition();
        final long version = in.version();
        final PartitionTable map = context.installedMap();
        final LocalPartition lp = context.localCopy(cacheId, partition);
        if (context.isExchanging() || map == null || version != map.version() || lp == null ||
            map.rank(cacheId, partition, map.topology().indexOf(context.incarnation())) != 0)
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
                if (!lp.inFlight.isEmpty() || context.tx().isApplyingOn(lp.cacheId, lp.partition))
                {
                    continue;
                }
                // Every update this primary began is applied and acknowledged by every copy, and none begins until
                // the hold ends: every copy stands at the same counter now.
                hold.collecting = true;
                hold.answers.put(context.incarnation(), state(context.config().memberId(), true, lp));
                hold.sentNs = Long.MIN_VALUE / 2;
            }
            if (hold.answers.size() == hold.copies.size() + 1)
            {
                release(hold);
                final List<ConsistencyReport.CopyState> copies = new ArrayList<>();
                copies.add(hold.answers.get(context.incarnation()));
                for (final long copy : hold.copies)
                {
                    copies.add(hold.answers.get(copy));
                }
                answer(hold.requester, hold.checkId, lp.partition, ANSWER_OK, hold.moving, copies);
                continue;
            }
            if (context.nowNs() - hold.sentNs >= context.retryIntervalNs())
            {
                hold.sentNs = context.nowNs();
                for (final long copy : hold.copies)
                {
                    if (!hold.answers.containsKey(copy))
                    {
                        context.messages().finish(context.messages().encode(verifyCopyOut, context.incarnation(), copy)
                            .checkId(hold.checkId).requester(hold.requester).cacheId(lp.cacheId)
                            .partition(lp.partition).version(hold.version));
                        context.sendTo(copy);
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
        final VerifyCopyDecoder in = context.messages().decode(verifyCopyIn);
        final long checkId = in.checkId();
        final long requester = in.requester();
        final int cacheId = in.cacheId();
        final int partition = in.partition();
        final long version = in.version();
        final LocalPartition lp = context.localCopy(cacheId, partition);
        if (lp == null || context.installedMap() == null || context.installedMap().version() != version)
        {
            return;
        }
        final ConsistencyReport.CopyState state = state(context.config().memberId(), false, lp);
        final byte[] memberId = MemberMessages.utf8(state.memberId());
        final byte[] gaps = MemberMessages.utf8(state.gaps());
        context.messages().finish(context.messages().encode(verifyCopyAnswerOut, context.incarnation(), sender)
            .checkId(checkId).requester(requester).cacheId(cacheId).partition(partition)
            .primary((short)(state.primary() ? 1 : 0)).lwm(state.lwm()).hwm(state.hwm()).size(state.size())
            .hash(state.contentHash()).putMemberId(memberId, 0, memberId.length).putGaps(gaps, 0, gaps.length));
        context.sendTo(sender);
    }

    void onCopyAnswer(final long sender)
    {
        final VerifyCopyAnswerDecoder in = context.messages().decode(verifyCopyAnswerIn);
        final long checkId = in.checkId();
        final long requester = in.requester();
        final int cacheId = in.cacheId();
        final int partition = in.partition();
        final boolean primary = in.primary() != 0;
        final long lwm = in.lwm();
        final long hwm = in.hwm();
        final long size = in.size();
        final long hash = in.hash();
        final byte[] memberId = MemberMessages.bytes(in, in.memberIdLength(), "memberId");
        in.getMemberId(memberId, 0, memberId.length);
        final byte[] gaps = MemberMessages.bytes(in, in.gapsLength(), "gaps");
        in.getGaps(gaps, 0, gaps.length);
        final ConsistencyReport.CopyState state = new ConsistencyReport.CopyState(MemberMessages.text(memberId),
            primary, lwm, hwm, MemberMessages.text(gaps), size, hash);
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
        final VerifyAnswerEncoder out = context.messages().encode(verifyAnswerOut, context.incarnation(), requester)
            .checkId(checkId).partition(partition).status((short)status).moving(moving);
        final VerifyAnswerEncoder.CopiesEncoder group = out.copiesCount(copies.size());
        for (final ConsistencyReport.CopyState copy : copies)
        {
            final byte[] memberId = MemberMessages.utf8(copy.memberId());
            final byte[] gaps = MemberMessages.utf8(copy.gaps());
            group.next().primary((short)(copy.primary() ? 1 : 0)).lwm(copy.lwm()).hwm(copy.hwm()).size(copy.size())
                .hash(copy.contentHash()).putMemberId(memberId, 0, memberId.length).putGaps(gaps, 0, gaps.length);
        }
        context.messages().finish(out);
        context.sendTo(requester);
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
