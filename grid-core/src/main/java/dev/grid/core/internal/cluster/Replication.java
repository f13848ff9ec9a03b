package dev.grid.core.internal.cluster;

import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.ErrorCode;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.ReplicateAckDecoder;
import dev.grid.core.codec.messages.ReplicateAckEncoder;
import dev.grid.core.codec.messages.ReplicateDecoder;
import dev.grid.core.codec.messages.ReplicateEncoder;
import dev.grid.core.codec.messages.RequestDecoder;
import dev.grid.core.codec.messages.ResponseEncoder;
import dev.grid.core.codec.messages.ResponseStatus;
import dev.grid.core.codec.messages.SizeRequestDecoder;
import dev.grid.core.engine.BytesMergeOperator;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.MessageTypes;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;
import dev.grid.core.internal.cluster.LocalPartition.Predecessors;
import dev.grid.core.internal.cluster.LocalPartition.PrimaryUpdate;
import dev.grid.core.internal.partition.CounterRange;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Single-key updates on the primary and backup sides. The primary checks the request against its installed map
 * (remap, park, quorum, partition loss), answers retries from its outcome memory, assigns the next counter, logs and
 * applies the update, ships it to every backup and acknowledges once the record is durable here and every backup
 * acknowledged; updates whose topology's map is not installed yet are answered after it is. A backup applies the
 * primary's counters as shipped, possibly out of order, and acknowledges once its record is durable.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class Replication
{
    private final MemberContext context;

    /** Updates complete but not answered until their topology's map settled (see tryComplete()). */
    private final List<DeferredAnswer> deferredAnswers = new ArrayList<>();

    /** The operations of deferredAnswers: a retry of one is not answered from the memory before them. */
    private final Set<OpKey> deferredOps = new HashSet<>();
    /**
     * Operations whose answer may show the store without a write of their own, answered at once if their condition
     * fails: a conditional write, a merge or an entry processor that finds nothing to change. Like reads, they wait for
     * the installed map to settle ({@link #holdUntilSettled}).
     */
    private static final Set<OpType> MAY_ANSWER_WITHOUT_WRITING = EnumSet.of(OpType.PUT_IF_ABSENT, OpType.REPLACE,
        OpType.REMOVE, OpType.REMOVE_IF_EQUALS, OpType.REPLACE_PRESENT, OpType.GET_AND_REMOVE, OpType.GET_AND_REPLACE,
        OpType.MERGE, OpType.INVOKE);

    /**
     * Reads and operations that may answer without writing, waiting for the installed map to settle
     * ({@link #holdUntilSettled}), by request, in arrival order.
     */
    private Map<OpKey, Runnable> awaitingSettle = new LinkedHashMap<>();
    /** The largest buffer {@link #selfAnswer} keeps between answers. */
    static final int SELF_ANSWER_KEPT_BYTES = 64 * 1024;
    /** This member's answer to its own request, decoded from here (see answer()); not kept beyond 64 KiB. */
    private ExpandableArrayBuffer selfAnswer = new ExpandableArrayBuffer(256);

    /** Whether an update waits, complete but unacknowledged, for quorum (see tryComplete()). */
    private boolean updatesHeldForQuorum;

    Replication(final MemberContext context)
    {
        this.context = context;
    }

    void onRequest(final long sender, final int source, final DirectBuffer buffer, final int offset,
        final int length)
    {
        final RequestDecoder in = context.messages().decode(context.wire().requestIn);
        final long sequence = in.sequence();
        context.origins().noteWatermark(sender, in.watermark());
        final int cacheId = in.cacheId();
        final int partition = checkedPartition(in.partition());
        final long version = in.version();
        final OpType type = OpType.ofCode(in.opType());
        final long timeoutNs = in.timeoutNs();
        final long clientId = in.clientId();
        final long clientSequence = in.clientSequence();
        final long clientWatermark = in.clientWatermark();
        final short hasValue = in.hasValue();
        final short hasExpected = in.hasExpected();
        final byte[] key = MemberMessages.bytes(in, in.keyLength(), "key");
        in.getKey(key, 0, key.length);
        final byte[] value = MemberMessages.bytes(in, in.valueLength(), "value");
        in.getValue(value, 0, value.length);
        final byte[] expected = MemberMessages.bytes(in, in.expectedLength(), "expected");
        in.getExpected(expected, 0, expected.length);
        KeyOperations.validate(type, MemberMessages.ifHas(hasValue, value), MemberMessages.ifHas(hasExpected,
            expected));
        request(sender, source, buffer, offset, length, new RequestFields(sequence, cacheId, partition, version, type,
            timeoutNs, key, MemberMessages.ifHas(hasValue, value), MemberMessages.ifHas(hasExpected, expected),
            clientId, clientSequence, clientWatermark));
    }

    /** A request's fields, as its message carries them. */
    private record RequestFields(long sequence, int cacheId, int partition, long version, OpType type, long timeoutNs,
        byte[] key, byte[] value, byte[] expected, long clientId, long clientSequence, long clientWatermark)
    {
    }

    private void request(final long sender, final int source, final DirectBuffer buffer, final int offset,
        final int length, final RequestFields request)
    {
        final long sequence = request.sequence();
        final int cacheId = request.cacheId();
        final int partition = request.partition();
        final long version = request.version();
        final OpType type = request.type();
        final long timeoutNs = request.timeoutNs();
        final byte[] key = request.key();
        final byte[] value = request.value();
        final byte[] expected = request.expected();
        final long clientId = request.clientId();
        final long clientSequence = request.clientSequence();
        final long clientWatermark = request.clientWatermark();
        if (clientId != 0 && (!ClientProtocol.isClientId(clientId) || clientSequence < 0 || !type.mayWrite()))
        {
            throw new MalformedMessageException("request with a client identity " + Long.toHexString(clientId) + "/" +
                clientSequence + " that is not a thin client's write");
        }
        final OpKey identity = clientId == 0 ? null : new OpKey(clientId, clientSequence);
        if (identity != null)
        {
            context.origins().noteWatermark(clientId, clientWatermark);
        }
        final Runnable park = () -> park(MessageTypes.REQUEST, sender, source, buffer, offset, length, timeoutNs);
        handleRequest(sender, sequence, cacheId, partition, version, type, timeoutNs, key, value, expected, identity,
            park);
    }

    private void park(final int type, final long sender, final int source, final DirectBuffer buffer,
        final int offset, final int length, final long timeoutNs)
    {
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset, bytes);
        context.parkedMessages().add(new MemberContext.ParkedMessage(type, sender, source, bytes,
            TransactionContext.deadlineNs(context.nowNs(), timeoutNs)));
    }

    void handleRequest(
        final long origin,
        final long sequence,
        final int cacheId,
        final int partition,
        final long version,
        final OpType type,
        final long timeoutNs,
        final byte[] key,
        final byte[] value,
        final byte[] expected,
        final OpKey identity,
        final Runnable park)
    {
        final CacheDescriptor cache = context.topology().cache(cacheId);
        if (!servedHere(origin, sequence, cache, cacheId, partition, version, park))
        {
            return;
        }
        final LocalPartition lp = context.localCopy(cacheId, partition);
        // Its identity across resends: a thin client's own, or the submitting member's. Answers go to the member that
        // sent this request (origin, sequence), which a client's resend through another member changes. A read has
        // none: nothing remembers its outcome.
        final OpKey opKey = identity != null ? identity : type.mayWrite() ? new OpKey(origin, sequence) : null;
        if (type.mayWrite() && opKey.sequence() < context.origins().originWatermarks().get(opKey.originIncarnation()))
        {
            // A late copy of a request its origin no longer waits for (it was answered or given up, and its outcome
            // may be retired here): applying it now would apply it twice, or after its caller was told it failed.
            return;
        }
        // Refused before the retry memory is asked: a lost partition's copy may be one that was never an owner (a
        // MOVING copy that got the update, unacknowledged, before every owner went), and answering a retry from its
        // memory would acknowledge an update the returning owners do not hold (the simulator found a merge lost so).
        final String lossRefusal = lossRefusal(cache, partition, type.mayWrite());
        if (lossRefusal != null)
        {
            answerError(origin, sequence, ErrorCode.PARTITION_LOST, lossRefusal);
            return;
        }
        if (type.mayWrite() && lp.recent.containsKey(opKey))
        {
            // Answered from the memory only as the update's own answer would be (tryComplete): with quorum, and under
            // a settled map. A backup that has the outcome by replication under a map only the members a cut
            // isolated installed would otherwise acknowledge what the majority's next map may never know; unanswered,
            // the origin asks again.
            final OpOutcome known = lp.recent.get(opKey);
            if (known != null && !deferredOps.contains(opKey) && context.membership().hasQuorum() &&
                context.exchange().installedMapSettled())
            {
                answerOk(origin, sequence, known, 0);
            }
            return;
        }
        if (!context.membership().hasQuorum())
        {
            // Reads too: a primary without quorum may be one the majority replaced, and its value stale.
            answerError(origin, sequence, ErrorCode.NO_QUORUM, context.membership().noQuorum(type.name().toLowerCase() +
                " on cache '" + cache.name() + "' (partition " + partition + ")").detail());
            return;
        }
        if ((!type.mayWrite() || MAY_ANSWER_WITHOUT_WRITING.contains(type)) &&
            !context.exchange().installedMapSettled())
        {
            holdUntilSettled(origin, sequence, cacheId, partition, version, type,
                TransactionContext.deadlineNs(context.nowNs(), timeoutNs), key, value, expected, identity);
            return;
        }
        if (type.mayWrite() && (lp.pausedBy != 0 || context.tx().isLocked(cacheId, key)))
        {
            // Run again with the time it has left, as a held read is: with its whole timeout again, a write could
            // still apply long after its origin gave up on it.
            final long deadlineNs = TransactionContext.deadlineNs(context.nowNs(), timeoutNs);
            final Runnable retry = () ->
            {
                final long leftNs = deadlineNs - context.nowNs();
                if (leftNs > 0 && isAwaited(origin, sequence))
                {
                    handleRequest(origin, sequence, cacheId, partition, version, type, leftNs, key, value,
                        expected, identity, null);
                }
            };
            if (lp.pausedBy != 0)
            {
                // A consistency check holds the partition still until every copy reported: the write waits.
                lp.pausedOps.add(retry);
            }
            else
            {
                // A transaction holds the key: this write waits for it, as an implicit transaction would.
                context.tx().block(cacheId, key, retry);
            }
            return;
        }
        context.keyOperations().execute(lp, cache, opKey, origin, sequence, type, key, value, expected,
            TransactionContext.deadlineNs(context.nowNs(), timeoutNs));
    }

    /**
     * Hold a read, or an operation that may answer without writing, while the installed map is not settled: under such
     * a map updates are done but their answers held ({@link #tryComplete}), and the next exchange may still rebuild
     * them away if the members that installed the map were cut off as they did, so a read (or a putIfAbsent answered
     * false) would show a value no write was acknowledged with, then lose it. It runs again, with the time it has
     * left, when the map settles or the next one is installed (then it is remapped). One per request: a resend replaces
     * the one it resends; one whose origin gave up is dropped. A write that does write is not held: its answer waits
     * for the map to settle instead ({@link #tryComplete}).
     */
    private void holdUntilSettled(final long origin, final long sequence, final int cacheId, final int partition,
        final long version, final OpType type, final long deadlineNs, final byte[] key, final byte[] value,
        final byte[] expected, final OpKey identity)
    {
        awaitingSettle.put(new OpKey(origin, sequence), () ->
        {
            final long leftNs = deadlineNs - context.nowNs();
            if (leftNs > 0 && isAwaited(origin, sequence))
            {
                handleRequest(origin, sequence, cacheId, partition, version, type, leftNs, key, value, expected,
                    identity, null);
            }
        });
    }

    /** @return whether the request's origin may still wait for its answer (this member's own op, or a member's). */
    private boolean isAwaited(final long origin, final long sequence)
    {
        return context.state() == MemberState.ACTIVE && (origin == context.incarnation() ?
            context.near().isPending(sequence) : context.topology().indexOf(origin) >= 0);
    }

    /**
     * Whether this member serves a request as the partition's primary for the map it names; if not, the request is
     * answered (an error, a remap) or parked here.
     */
    private boolean servedHere(final long origin, final long sequence, final CacheDescriptor cache, final int cacheId,
        final int partition, final long version, final Runnable park)
    {
        if (cache == null)
        {
            answerError(origin, sequence, ErrorCode.CACHE_DESTROYED, "cache id " + cacheId + " was destroyed");
            return false;
        }
        if (partition >= cache.partitions())
        {
            answerError(origin, sequence, ErrorCode.CONFIGURATION_INVALID, "partition " + partition +
                " out of range for cache '" + cache.name() + "'");
            return false;
        }
        if (context.isExchanging() || version > context.installedMap().version())
        {
            if (park != null)
            {
                park.run();
            }
            else
            {
                answerRemap(origin, sequence);
            }
            return false;
        }
        final int myIndex = context.installedMap().topology().indexOf(context.incarnation());
        if (version < context.installedMap().version() || context.installedMap().rank(cacheId, partition, myIndex) != 0)
        {
            answerRemap(origin, sequence);
            return false;
        }
        return true;
    }

    /** Forget deferred answers: the member leaves its topology to join again. */
    void reset()
    {
        deferredAnswers.clear();
        deferredOps.clear();
        awaitingSettle.clear();
    }

    /**
     * What the cache's {@link PartitionLossPolicy} says of an operation on a partition, by the installed map.
     *
     * @param cache     the partition's cache.
     * @param partition the key's partition.
     * @param write     whether the operation may write (a transaction's lock counts as a write).
     * @return why the operation is refused, or null if it may run.
     */
    String lossRefusal(final CacheDescriptor cache, final int partition, final boolean write)
    {
        if (context.installedMap() != null && !context.installedMap().isActive())
        {
            // Whatever the policy: a copy here may lack acknowledged updates a member still away holds.
            return "partition " + partition + " of cache '" + cache.name() + "' is not served yet: the cluster " +
                "waits for the members of its newest ownership table (it restarted from its data directories, or " +
                "took in a member whose cluster dissolved), who may hold acknowledged updates the members here lack";
        }
        if (context.installedMap() == null || cache.lossPolicy() == PartitionLossPolicy.IGNORE)
        {
            return null;
        }
        if (context.installedMap().isLost(cache.cacheId(), partition))
        {
            return "partition " + partition + " of cache '" + cache.name() + "' is lost (every member that owned " +
                "it last is away): " + (write ? "writes" : "reads") + " fail under policy " + cache.lossPolicy() +
                " until one of them returns or an operator resets it";
        }
        if (write && cache.lossPolicy() == PartitionLossPolicy.READ_ONLY_SAFE &&
            context.installedMap().lostCount(cache.cacheId()) > 0)
        {
            return "cache '" + cache.name() + "' is read-only under policy READ_ONLY_SAFE while " +
                context.installedMap().lostCount(cache.cacheId()) + " of its partitions are lost " +
                context.installedMap().lostPartitions(cache.cacheId());
        }
        return null;
    }

    /**
     * Remember an outcome (null: in flight) for retries, and retire those no origin can resend any more.
     */
    private void remember(final LocalPartition lp, final OpKey opKey, final OpOutcome outcome)
    {
        lp.recent.put(opKey, outcome);
        lp.retireOutcomes(context.origins().originWatermarks(), context.origins().originMayResend());
    }

    /** Answer an update that changes nothing, remembering its outcome for retries. */
    void answerNoOp(final LocalPartition lp, final OpKey opKey, final long replyTo, final long replySequence,
        final OpOutcome outcome)
    {
        remember(lp, opKey, outcome);
        answerOk(replyTo, replySequence, outcome, 0);
    }

    /**
     * Start an update on the primary's copy: the next counter, the WAL record, the store, and the backups.
     *
     * @param outcome  what the caller is answered once every backup acknowledged.
     * @param newValue the key's new value, or null to remove it.
     */
    void startUpdate(
        final LocalPartition lp,
        final CacheDescriptor cache,
        final OpKey opKey,
        final long replyTo,
        final long replySequence,
        final OpOutcome outcome,
        final byte[] key,
        final byte[] newValue,
        final long deadlineNs)
    {
        startUpdate(lp, cache, opKey, replyTo, replySequence, outcome, key, newValue, deadlineNs,
            EventJournal.BY_VALUE);
    }

    /**
     * {@link #startUpdate(LocalPartition, CacheDescriptor, OpKey, long, long, OpOutcome, byte[], byte[], long)} with
     * the event it journals on every copy of a cache with a journal: {@link EventJournal#BY_VALUE} (created, updated
     * or removed, by the key's value before and after), {@link EventJournal#NONE}, or a kind's ordinal.
     */
    void startUpdate(
        final LocalPartition lp,
        final CacheDescriptor cache,
        final OpKey opKey,
        final long replyTo,
        final long replySequence,
        final OpOutcome outcome,
        final byte[] key,
        final byte[] newValue,
        final long deadlineNs,
        final byte eventKind)
    {
        final long counter = lp.counter.reserve(1) + 1;
        final byte kind = EventJournal.kindOf(context, lp, cache, key, newValue, eventKind);
        final int[] owners = context.installedMap().owners(cache.cacheId(), lp.partition);
        final PrimaryUpdate update = new PrimaryUpdate(counter, opKey, replyTo, replySequence, outcome, key, newValue,
            context.installedMap().version(), deadlineNs, owners.length - 1);
        update.eventKind = kind;
        final long position = context.walRecords().appendWal(lp, counter, opKey, outcome, key,
            newValue, Predecessors.NONE);
        lp.store.apply(key, newValue, counter);
        EventJournal.record(lp, cache, counter, kind, key, newValue);
        remember(lp, opKey, null);
        lp.inFlight.put(counter, update);
        context.updateStarted();
        for (int i = 1; i < owners.length; i++)
        {
            update.pendingBackups.add(context.installedMap().topology().members().get(owners[i]).incarnation());
        }
        sendReplicates(lp, update);
        context.durability().awaitUpdate(position, lp, counter, update);
        context.durability().processDurability();
    }

    private void sendReplicates(final LocalPartition lp, final PrimaryUpdate update)
    {
        update.lastSentNs = context.nowNs();
        // A backup that misses an earlier update of this key still receives its effect inside this update's value,
        // so it must also learn that update's identity, or a retry of it after failover would apply it twice.
        // Made only when there are some: most updates have none.
        List<PrimaryUpdate> earlier = null;
        for (final PrimaryUpdate other : lp.inFlight.values())
        {
            if (other.counter < update.counter && Arrays.equals(other.key, update.key))
            {
                if (earlier == null)
                {
                    earlier = new ArrayList<>(2);
                }
                earlier.add(other);
            }
        }
        Predecessors predecessors = Predecessors.NONE;
        if (earlier != null)
        {
            // A message's group holds at most GROUP_MAX: beyond that many updates of one key in flight at once (a
            // backup stalled under a hot key), the newest are carried and the oldest identities are not.
            final int skip = Math.max(0, earlier.size() - MemberMessages.GROUP_MAX);
            final OpKey[] keys = new OpKey[earlier.size() - skip];
            final OpOutcome[] outcomes = new OpOutcome[earlier.size() - skip];
            for (int i = 0; i < keys.length; i++)
            {
                keys[i] = earlier.get(skip + i).opKey;
                outcomes[i] = earlier.get(skip + i).outcome;
            }
            predecessors = new Predecessors(keys, outcomes);
        }
        for (int b = 0; b < update.pendingBackups.size(); b++)
        {
            final long backup = update.pendingBackups.get(b);
            final MemberRecord member = context.topology().member(backup);
            if (member == null)
            {
                continue;
            }
            final ReplicateEncoder out = context.messages().encode(context.wire().replicateOut, context.incarnation(),
                backup);
            final byte[] outcomeValue = update.outcome.value();
            out.cacheId(lp.cacheId).partition(lp.partition).version(update.topologyVersion).counter(update.counter)
                .origin(update.opKey.originIncarnation()).sequence(update.opKey.sequence())
                .watermark(context.origins().originWatermarks().get(update.opKey.originIncarnation()))
                .flag(MemberMessages.flag(update.outcome.flag())).hasOutcomeValue(MemberMessages.has(outcomeValue))
                .hasValue(MemberMessages.has(update.value)).eventKind(update.eventKind);
            final ReplicateEncoder.PredecessorsEncoder group = out.predecessorsCount(predecessors.count());
            for (int i = 0; i < predecessors.count(); i++)
            {
                final byte[] outcome = predecessors.outcomes()[i].value();
                group.next().origin(predecessors.keys()[i].originIncarnation())
                    .sequence(predecessors.keys()[i].sequence()).flag(MemberMessages.flag(predecessors
                        .outcomes()[i].flag()))
                    .hasOutcome(MemberMessages.has(outcome)).putOutcome(MemberMessages.orEmpty(outcome), 0,
                    MemberMessages.orEmpty(outcome).length);
            }
            out.putOutcomeValue(MemberMessages.orEmpty(outcomeValue), 0, MemberMessages.orEmpty(outcomeValue).length)
                .putKey(update.key, 0, update.key.length)
                .putValue(MemberMessages.orEmpty(update.value), 0, MemberMessages.orEmpty(update.value).length);
            context.send(member, context.messages().finish(out));
        }
    }

    void tryComplete(final LocalPartition lp, final PrimaryUpdate update)
    {
        if (!update.durable || !update.pendingBackups.isEmpty() || !lp.inFlight.containsKey(update.counter))
        {
            return;
        }
        if (!context.membership().hasQuorum())
        {
            // Held until quorum returns (then noteQuorum completes it) or the member is expelled (its origin retries
            // through the majority, whose copies know the update if it got that far): a member that may be on the
            // minority side, or paused while the majority moved on, acknowledges nothing.
            updatesHeldForQuorum = true;
            return;
        }
        lp.inFlight.remove(update.counter);
        context.updateFinished();
        // A backup left before acknowledging: the update is on fewer copies than its map said, and the topology
        // without that backup may exist only here (a member about to be cut off removes a silent backup, then
        // acknowledges alone and is removed itself: seed 0xa9391db lost an acknowledged merge so).
        final long settleVersion = update.backupForgotten ?
            Math.max(update.topologyVersion, context.topology().version()) : update.topologyVersion;
        if (settleVersion > context.exchange().settledVersion())
        {
            // Done for the drain, but answered only once every member of that topology installed its map (see
            // Exchange's settled maps): then the next exchange knows this copy, even if the members that made the map
            // are cut off the moment they installed it (seed 0x181c50033). The outcome is remembered now (a full
            // rebalance from this copy carries it, so a retry through the copy it builds is not applied twice), but a
            // retry that reaches this member waits for the answer too.
            lp.recent.remove(update.opKey);
            remember(lp, update.opKey, update.outcome);
            deferredOps.add(update.opKey);
            deferredAnswers.add(new DeferredAnswer(lp, update, settleVersion));
            return;
        }
        acknowledge(lp, update);
    }

    private void acknowledge(final LocalPartition lp, final PrimaryUpdate update)
    {
        // Reported under the map the update was applied in: an answer deferred past a newer map still belongs to it.
        context.listener().onWriteAcknowledged(lp.cacheId, lp.partition,
            context.installedMap().lifeId(), update.topologyVersion,
            context.incarnation());
        // Re-inserted, so that the memory stays ordered by completion.
        lp.recent.remove(update.opKey);
        remember(lp, update.opKey, update.outcome);
        answerOk(update.replyTo, update.replySequence, update.outcome, 0);
    }

    /**
     * Answer the updates deferred by tryComplete() whose topology's map settled, while this member holds quorum and
     * still owns the copy as it was (a copy dropped or rebuilt since may have lost the update: its origin retries);
     * and run again the operations that waited for the map to settle (called at least when it settles, when a map is
     * installed and when quorum returns).
     */
    void answerDeferredUpdates()
    {
        if (!awaitingSettle.isEmpty())
        {
            // Each runs again as it was received: answered if the map settled, held again if not, remapped or
            // refused if the member moved on. Swapped first, as one held again joins the new map.
            final Map<OpKey, Runnable> held = awaitingSettle;
            awaitingSettle = new LinkedHashMap<>();
            held.values().forEach(Runnable::run);
        }
        if (deferredAnswers.isEmpty() || context.installedMap() == null || !context.membership().hasQuorum())
        {
            return;
        }
        for (final java.util.Iterator<DeferredAnswer> it = deferredAnswers.iterator(); it.hasNext(); )
        {
            final DeferredAnswer deferred = it.next();
            if (deferred.topologyVersion > context.exchange().settledVersion())
            {
                continue;
            }
            it.remove();
            deferredOps.remove(deferred.update.opKey);
            if (context.localCopy(deferred.lp.cacheId, deferred.lp.partition) == deferred.lp &&
                deferred.lp.counter.isClosed(deferred.update.counter))
            {
                acknowledge(deferred.lp, deferred.update);
            }
        }
    }

    /** Quorum is back: complete the updates this primary held for it, if it held any since the last time. */
    void completeUpdatesHeldForQuorum()
    {
        if (!updatesHeldForQuorum)
        {
            return;
        }
        updatesHeldForQuorum = false;
        if (context.inFlightUpdates() == 0)
        {
            return;
        }
        for (final LocalPartition[] local : context.allCopies())
        {
            for (final LocalPartition lp : local)
            {
                if (lp != null && !lp.inFlight.isEmpty())
                {
                    for (final PrimaryUpdate update : new ArrayList<>(lp.inFlight.values()))
                    {
                        tryComplete(lp, update);
                    }
                }
            }
        }
    }

    void forgetBackup(final long departed)
    {
        for (final LocalPartition[] local : context.allCopies())
        {
            for (final LocalPartition lp : local)
            {
                if (lp == null || lp.inFlight.isEmpty())
                {
                    continue;
                }
                for (final PrimaryUpdate update : new ArrayList<>(lp.inFlight.values()))
                {
                    if (update.pendingBackups.remove(departed))
                    {
                        update.backupForgotten = true;
                        tryComplete(lp, update);
                    }
                }
            }
        }
    }

    int retransmitUpdates()
    {
        if (context.inFlightUpdates() == 0)
        {
            return 0;
        }
        int work = 0;
        for (final LocalPartition[] local : context.allCopies())
        {
            for (final LocalPartition lp : local)
            {
                if (lp == null || lp.inFlight.isEmpty())
                {
                    continue;
                }
                for (final PrimaryUpdate update : new ArrayList<>(lp.inFlight.values()))
                {
                    if (context.nowNs() - update.lastSentNs >= context.retryIntervalNs() &&
                        !update.pendingBackups.isEmpty())
                    {
                        sendReplicates(lp, update);
                        work++;
                    }
                }
            }
        }
        return work;
    }

    void onReplicate(final long sender, final int source, final DirectBuffer buffer, final int offset,
        final int length)
    {
        final ReplicateDecoder in = context.messages().decode(context.wire().replicateIn);
        final int cacheId = in.cacheId();
        final int partition = checkedPartition(in.partition());
        final long version = in.version();
        final long counter = in.counter();
        final long origin = in.origin();
        final long sequence = in.sequence();
        context.origins().noteWatermark(origin, in.watermark());
        final boolean flag = in.flag() != 0;
        final short hasOutcomeValue = in.hasOutcomeValue();
        final short hasValue = in.hasValue();
        final byte eventKind = in.eventKind();
        final Predecessors predecessors = readPredecessors(in);
        final byte[] outcomeValue = MemberMessages.bytes(in, in.outcomeValueLength(), "outcomeValue");
        in.getOutcomeValue(outcomeValue, 0, outcomeValue.length);
        final byte[] key = MemberMessages.bytes(in, in.keyLength(), "key");
        in.getKey(key, 0, key.length);
        final byte[] value = MemberMessages.bytes(in, in.valueLength(), "value");
        in.getValue(value, 0, value.length);
        if (counter <= 0)
        {
            throw new MalformedMessageException("replicate with counter " + counter);
        }
        // An outcome without a value (a put's, a remove's) is one of two shared ones: the retry memory holds one per
        // remembered operation, on every backup.
        final byte[] answered = MemberMessages.ifHas(hasOutcomeValue, outcomeValue);
        replicate(sender, source, buffer, offset, length, new ReplicateFields(cacheId, partition, version, counter,
            new OpKey(origin, sequence), answered == null ? OpOutcome.of(flag) : new OpOutcome(flag, answered, 0),
            key, MemberMessages.ifHas(hasValue, value), predecessors, EventJournal.checkedKind(eventKind)));
    }

    /** A replicated update's fields, as its message carries them. */
    private record ReplicateFields(int cacheId, int partition, long version, long counter, OpKey opKey,
        OpOutcome outcome, byte[] key, byte[] value, Predecessors predecessors, byte eventKind)
    {
    }

    private static Predecessors readPredecessors(final ReplicateDecoder in)
    {
        final ReplicateDecoder.PredecessorsDecoder group = in.predecessors();
        final int count = group.count();
        if (count == 0)
        {
            return Predecessors.NONE;
        }
        final OpKey[] keys = new OpKey[count];
        final OpOutcome[] outcomes = new OpOutcome[count];
        for (int i = 0; i < count; i++)
        {
            group.next();
            keys[i] = new OpKey(group.origin(), group.sequence());
            final boolean flag = group.flag() != 0;
            final short hasOutcome = group.hasOutcome();
            final byte[] outcome = MemberMessages.bytes(in, group.outcomeLength(), "predecessor.outcome");
            group.getOutcome(outcome, 0, outcome.length);
            outcomes[i] = new OpOutcome(flag, MemberMessages.ifHas(hasOutcome, outcome), 0);
        }
        return new Predecessors(keys, outcomes);
    }

    private static int checkedPartition(final int partition)
    {
        if (partition < 0 || partition > 65_535)
        {
            throw new MalformedMessageException("partition " + partition + " outside [0, 65535]");
        }
        return partition;
    }

    private void replicate(final long sender, final int source, final DirectBuffer buffer, final int offset,
        final int length, final ReplicateFields update)
    {
        final int cacheId = update.cacheId();
        final int partition = update.partition();
        final long version = update.version();
        final long counter = update.counter();
        final byte[] key = update.key();
        final byte[] value = update.value();
        final Predecessors predecessors = update.predecessors();
        if ((context.installedMap() == null || version > context.installedMap().version()) &&
            version < context.topology().version())
        {
            // A map this member skipped: only the current topology's map is ever installed, so this update can never
            // be applied here. Say so, or the primary would wait for this backup through every exchange to come (a
            // joiner that had installed no map yet parked it for good, and the primary's drain held the next
            // exchange forever: persistent seed 0x17662ab06); the exchange then finds this copy behind and drops it.
            acknowledgeReplicate(sender, cacheId, partition, counter, version, false);
            return;
        }
        if (context.installedMap() == null || version > context.installedMap().version())
        {
            park(MessageTypes.REPLICATE, sender, source, buffer, offset, length, context.retryIntervalNs() * 4);
            return;
        }
        if (version < context.installedMap().version())
        {
            return;
        }
        final int senderIndex = context.installedMap().topology().indexOf(sender);
        if (context.installedMap().rank(cacheId, partition, senderIndex) != 0)
        {
            return;
        }
        final LocalPartition lp = context.localCopy(cacheId, partition);
        if (lp == null)
        {
            return;
        }
        if (lp.counter.isClosed(counter))
        {
            acknowledgeReplicate(sender, cacheId, partition, counter, version, true);
            return;
        }
        final OpKey opKey = update.opKey();
        final long position = context.walRecords().appendWal(lp, counter, opKey, update.outcome(), key, value,
            predecessors);
        final long bytesBefore = lp.store.accountedBytes();
        lp.store.apply(key, value, counter);
        context.evictions().applied(lp.store.accountedBytes() - bytesBefore);
        EventJournal.record(lp, context.topology().cache(cacheId), counter, update.eventKind(), key, value);
        context.origins().rememberPredecessors(lp, predecessors);
        remember(lp, opKey, update.outcome());
        context.durability().awaitAcknowledged(position, lp, counter, sender, version);
        context.durability().processDurability();
    }

    void onReplicateAck(final long sender)
    {
        final ReplicateAckDecoder in = context.messages().decode(context.wire().replicateAckIn);
        final int cacheId = in.cacheId();
        final int partition = checkedPartition(in.partition());
        final long counter = in.counter();
        final long version = in.version();
        final boolean applied = in.applied() != 0;
        final LocalPartition lp = context.localCopy(cacheId, partition);
        if (lp == null)
        {
            return;
        }
        final PrimaryUpdate update = lp.inFlight.get(counter);
        if (update != null && update.pendingBackups.remove(sender))
        {
            if (!applied)
            {
                lp.refusedBackups.add(sender);
                context.listener().onEvent("member " + context.config().memberId() + ": backup " +
                    Long.toHexString(sender) +
                    " skipped topology " + version + " and cannot apply update " + counter + " of cache id " +
                    cacheId + " partition " + partition + "; its copy will be dropped at the next exchange");
            }
            tryComplete(lp, update);
        }
    }

    void onSizeRequest(final long sender)
    {
        final SizeRequestDecoder in = context.messages().decode(context.wire().sizeRequestIn);
        final long sequence = in.sequence();
        final int cacheId = in.cacheId();
        final long version = in.version();
        answerSize(sender, sequence, cacheId, version);
    }

    void answerSize(final long origin, final long sequence, final int cacheId, final long version)
    {
        if (context.topology().cache(cacheId) == null)
        {
            answerError(origin, sequence, ErrorCode.CACHE_DESTROYED, "cache id " + cacheId + " was destroyed");
            return;
        }
        if (context.isExchanging() || version != context.installedMap().version())
        {
            answerRemap(origin, sequence);
            return;
        }
        long count = 0;
        final LocalPartition[] local = context.copies().get(cacheId);
        final int myIndex = context.installedMap().topology().indexOf(context.incarnation());
        if (local != null)
        {
            for (final LocalPartition lp : local)
            {
                if (lp != null && context.installedMap().rank(cacheId, lp.partition, myIndex) == 0)
                {
                    count += lp.store.size();
                }
            }
        }
        answerOk(origin, sequence, new OpOutcome(true, null, count), version);
    }

    void answerOk(final long origin, final long sequence, final OpOutcome outcome, final long version)
    {
        if (origin == context.incarnation())
        {
            context.near().onLocalOk(sequence, outcome, version);
            return;
        }
        final byte[] value = MemberMessages.orEmpty(outcome.value());
        answer(origin, response(origin, sequence, ResponseStatus.OK).flag(MemberMessages.flag(outcome.flag()))
            .count(outcome.count()).version(version).hasValue(MemberMessages.has(outcome.value()))
            .putValue(value, 0, value.length).message(""));
    }

    void answerRemap(final long origin, final long sequence)
    {
        answer(origin, response(origin, sequence, ResponseStatus.REMAP)
            .version(context.installedMap() == null ? 0 : Math.max(context.installedMap().version(),
            context.topology().version())).putValue(MemberMessages.orEmpty(null), 0, 0).message(""));
    }

    void answerError(final long origin, final long sequence, final ErrorCode code, final String message)
    {
        answer(origin, response(origin, sequence, ResponseStatus.ERROR).errorCode(code.code())
            .putValue(MemberMessages.orEmpty(null), 0, 0).message(message == null ? "" : message));
    }

    /** A response to {@code origin} with its fixed fields zeroed: the caller sets those its status needs. */
    private ResponseEncoder response(final long origin, final long sequence, final ResponseStatus status)
    {
        return context.messages().encode(context.wire().responseOut, context.incarnation(), origin).sequence(sequence)
            .status(status).flag((short)0).count(0).version(0).errorCode(0).hasValue((short)0);
    }

    private void answer(final long origin, final ResponseEncoder response)
    {
        context.messages().finish(response);
        if (origin == context.incarnation())
        {
            // Decoded from a buffer kept for it, not a new copy per answer (the writer is free for the next message).
            final int length = context.writer().length();
            selfAnswer.putBytes(0, context.writer().buffer(), 0, length);
            context.messages().open(selfAnswer, 0, length);
            context.near().onResponse(context.incarnation());
            if (selfAnswer.capacity() > SELF_ANSWER_KEPT_BYTES)
            {
                // One large value answered: its buffer is not held for the member's life.
                selfAnswer = new ExpandableArrayBuffer(256);
            }
            return;
        }
        final MemberRecord member = context.topology().member(origin);
        if (member != null)
        {
            context.send(member, context.writer());
        }
    }

    /**
     * Answer a primary's replicate ({@link MessageTypes#REPLICATE_ACK}): the one place its encoding lives. Nothing
     * is sent to a primary that left the topology.
     *
     * @param primary the primary's incarnation.
     * @param applied whether the update is applied and durable here (false: the copy refuses it).
     */
    void acknowledgeReplicate(final long primary, final int cacheId, final int partition, final long counter,
        final long version, final boolean applied)
    {
        final MemberRecord member = context.topology().member(primary);
        if (member != null)
        {
            final ReplicateAckEncoder out = context.messages().encode(context.wire().replicateAckOut,
                context.incarnation(), primary);
            out.cacheId(cacheId).partition(partition).counter(counter).version(version).applied(MemberMessages
                .flag(applied));
            context.send(member, context.messages().finish(out));
        }
    }

    /** An update complete but not answered yet (see tryComplete()). */
    private record DeferredAnswer(LocalPartition lp, PrimaryUpdate update, long topologyVersion)
    {
    }

    /**
     * Close the counters of {@code (start, start + count]} that are still open, without data (a rolled back
     * reservation), and log it so replay closes them too.
     */
    void closeRange(final LocalPartition lp, final long start, final long count)
    {
        final List<CounterRange> closed = new ArrayList<>();
        long runStart = -1;
        for (long c = start + 1; c <= start + count + 1; c++)
        {
            final boolean open = c <= start + count && !lp.counter.isClosed(c);
            if (open && runStart < 0)
            {
                runStart = c - 1;
            }
            else if (!open && runStart >= 0)
            {
                closed.add(new CounterRange(runStart, c - 1 - runStart));
                runStart = -1;
            }
        }
        if (closed.isEmpty())
        {
            return;
        }
        long highest = 0;
        for (final CounterRange range : closed)
        {
            lp.counter.rollback(range.start(), range.count());
            highest = Math.max(highest, range.start() + range.count());
        }
        context.historyIndex().note(PartitionCopy.pack(lp.cacheId, lp.partition),
            context.wal().appendedPosition(), highest);
        context.walRecords().appendRollback(lp.cacheId, lp.partition, closed);
    }
}
