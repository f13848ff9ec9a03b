package dev.grid.core.internal.cluster;

import dev.grid.core.engine.TransactionContext;
import dev.grid.core.CacheDestroyedException;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.OperationTimeoutException;
import dev.grid.core.QuorumReadPolicy;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.RequestEncoder;
import dev.grid.core.codec.messages.ResponseDecoder;
import dev.grid.core.codec.messages.ResponseStatus;
import dev.grid.core.codec.messages.SizeRequestEncoder;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.OpCallback;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.core.engine.PartitionState;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongHashSet;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * This member's own single-key operations ("near" operations): each goes to its partition's primary for the
 * installed map (or is served locally when this member is primary and may read), is resent on silence or remap,
 * parked while no map routes it, and completed by the primary's response or a timeout, exactly once.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class NearOps
{
    private final MemberContext context;
    final Long2ObjectHashMap<NearOp> nearOps = new Long2ObjectHashMap<>();

    /** The lowest sequence of this member's own operations that may still be resent (see {@link #opWatermark()}). */
    private long opWatermark;

    NearOps(final MemberContext context)
    {
        this.context = context;
    }

    /** @return this member's operations not answered yet. */
    int pending()
    {
        return nearOps.size();
    }

    /**
     * @return the operations waiting for their answer, journal reads aside: a listener keeps one per partition in
     *         flight for as long as it listens (a primary holds each while nothing is new), so they say nothing about
     *         whether the member is busy.
     */
    int pendingBesidesJournalReads()
    {
        int count = 0;
        for (final NearOp op : nearOps.values())
        {
            count += op.type == OpType.JOURNAL_READ ? 0 : 1;
        }
        return count;
    }

    /** @return whether this member's operation of that sequence is still waiting for its answer. */
    boolean isPending(final long sequence)
    {
        return nearOps.containsKey(sequence);
    }

    /** The work of {@link Engine#submit}. */
    void submit(
        final int cacheId,
        final OpType type,
        final byte[] key,
        final byte[] value,
        final byte[] expected,
        final long timeoutNs,
        final long clientId,
        final long clientSequence,
        final long clientWatermark,
        final OpCallback callback)
    {
        if (clientId != 0 && (!ClientProtocol.isClientId(clientId) || clientSequence < 0))
        {
            throw new IllegalArgumentException("not a thin client's identity: " + Long.toHexString(clientId) + "/" +
                clientSequence);
        }
        if (context.state() != MemberState.ACTIVE)
        {
            final GridException error = context.notActive();
            context.listener().onOperationComplete(type, 0, error.errorCode().code());
            callback.onFailure(error);
            return;
        }
        final CacheDescriptor cache = context.topology().cache(cacheId);
        if (cache == null)
        {
            final GridException error = new CacheDestroyedException("cache id " + cacheId + " was destroyed");
            context.listener().onOperationComplete(type, 0, error.errorCode().code());
            callback.onFailure(error);
            return;
        }
        final GridException tooLarge = context.tooLarge(key, value, expected);
        if (tooLarge != null)
        {
            context.listener().onOperationComplete(type, 0, tooLarge.errorCode().code());
            callback.onFailure(tooLarge);
            return;
        }
        if (type == OpType.SCAN_PAGE || type == OpType.JOURNAL_READ)
        {
            throw new IllegalArgumentException("a " + type + " names its partition: use scanPage or journalRead");
        }
        start(cache, type, key, value, expected, type == OpType.SIZE ? -1 :
            KeyPartitioner.partition(key, cache.partitions()), timeoutNs, clientId, clientSequence, clientWatermark,
            callback);
    }

    /** The work of {@link Engine#scanPage}. */
    void scanPage(final int cacheId, final int partition, final byte[] afterKey, final byte[] spec,
        final long timeoutNs, final OpCallback callback)
    {
        partitionRead(cacheId, partition, OpType.SCAN_PAGE, afterKey == null ? new byte[0] : afterKey, spec,
            timeoutNs, callback);
    }

    /**
     * A read of one partition on its primary ({@link OpType#SCAN_PAGE}, {@link OpType#JOURNAL_READ}), routed and
     * remapped like any operation.
     */
    void partitionRead(final int cacheId, final int partition, final OpType type, final byte[] key,
        final byte[] value, final long timeoutNs, final OpCallback callback)
    {
        final CacheDescriptor cache = context.topology().cache(cacheId);
        final GridException refused = context.state() != MemberState.ACTIVE ? context.notActive() : cache == null ?
            new CacheDestroyedException("cache id " + cacheId + " was destroyed") : null;
        if (refused != null)
        {
            context.listener().onOperationComplete(type, 0, refused.errorCode().code());
            callback.onFailure(refused);
            return;
        }
        if (partition < 0 || partition >= cache.partitions())
        {
            throw new IllegalArgumentException("partition " + partition + " out of range for cache '" +
                cache.name() + "' of " + cache.partitions());
        }
        start(cache, type, key, value, null, partition, timeoutNs, 0, 0, 0, callback);
    }

    /**
     * The work of {@link Engine#readNow}: a read that {@link #submit} would route to this member as the key's primary
     * and {@link Replication#handleRequest} would answer from its own copy in the same call (the installed map
     * settled), the same conditions checked, answered without a {@link NearOp}. A cache with an expiry policy is left
     * to the submitted way, which may remove what expired.
     *
     * @return the value, null if absent, or {@link Engine#NOT_READ_NOW}.
     */
    byte[] readNow(final int cacheId, final OpType type, final byte[] key)
    {
        if (type != OpType.GET && type != OpType.CONTAINS_KEY)
        {
            throw new IllegalArgumentException("readNow answers a GET or CONTAINS_KEY, not a " + type);
        }
        if (context.state() != MemberState.ACTIVE || context.isExchanging() || !context.membership().hasQuorum())
        {
            return Engine.NOT_READ_NOW;
        }
        final CacheDescriptor cache = context.topology().cache(cacheId);
        if (cache == null || StoredValues.expiring(cache) || context.tooLarge(key, null, null) != null)
        {
            return Engine.NOT_READ_NOW;
        }
        final int partition = KeyPartitioner.partition(key, cache.partitions());
        final MemberRecord primary = context.installedMap().primary(cacheId, partition);
        final LocalPartition lp = primary == null || primary.incarnation() != context.incarnation() ? null :
            context.localCopy(cacheId, partition);
        if (lp == null || context.replication().lossRefusal(cache, partition, false) != null ||
            !context.exchange().installedMapSettled())
        {
            return Engine.NOT_READ_NOW;
        }
        context.listener().onRouted(true);
        final byte[] value = context.keyOperations().read(lp, cache, type, key);
        context.listener().onOperationComplete(type, 0, 0);
        return value;
    }

    private void start(final CacheDescriptor cache, final OpType type, final byte[] key, final byte[] value,
        final byte[] expected, final int partition, final long timeoutNs, final long clientId,
        final long clientSequence, final long clientWatermark, final OpCallback callback)
    {
        final NearOp op = new NearOp(context.newSequence(), cache, type, key, value, expected, partition,
            context.nowNs(), TransactionContext.deadlineNs(context.nowNs(), timeoutNs), callback);
        if (clientId != 0 && type.mayWrite())
        {
            op.identity = new OpKey(clientId, clientSequence);
            op.identityWatermark = clientWatermark;
        }
        nearOps.put(op.sequence, op);
        route(op);
    }

    void route(final NearOp op)
    {
        if (context.topology().cache(op.cache.cacheId()) == null)
        {
            completeNear(op, null, new CacheDestroyedException("cache '" + op.cache.name() + "' was destroyed"));
            return;
        }
        if (context.isExchanging() && !exchangingWithoutQuorum())
        {
            op.parked = true;
            return;
        }
        op.parked = false;
        if (!context.membership().hasQuorum())
        {
            routeWithoutQuorum(op);
            return;
        }
        op.sentVersion = context.installedMap().version();
        op.nextResendNs = context.nowNs() + context.retryIntervalNs();
        if (op.type == OpType.SIZE)
        {
            askSizes(op);
            return;
        }
        final MemberRecord primary = context.installedMap().primary(op.cache.cacheId(), op.partition);
        if (primary == null)
        {
            op.parked = true;
            return;
        }
        op.target = primary;
        op.sends++;
        context.listener().onRouted(primary.incarnation() == context.incarnation());
        sendRequest(op, primary);
    }

    /**
     * Whether this member is in an exchange it cannot finish: an active member with a map, between topologies, without
     * quorum (cut off, or its peers stopped, while a change of the cluster was under way). The map it waits for comes
     * only with quorum, so its operations are routed as any member's without quorum are, refused rather than held
     * until they time out; with quorum back, they wait for the exchange again.
     */
    private boolean exchangingWithoutQuorum()
    {
        return context.state() == MemberState.ACTIVE && context.installedMap() != null && context.isExchanging() &&
            !context.membership().hasQuorum();
    }

    /**
     * Route an operation while this member holds no quorum: a read may be served from this member's own copy (where
     * the cache allows it), an operation never sent is refused, one sent before waits for quorum or its timeout.
     */
    private void routeWithoutQuorum(final NearOp op)
    {
        if (context.membership().refusesForQuorum() && readLocally(op))
        {
            return;
        }
        if ((op.target == null || !op.type.mayWrite()) && context.membership().refusesForQuorum())
        {
            // Never sent (or a read, which changes nothing): nothing was applied, and the caller can go to a member
            // of the majority. Reads too: without quorum this member's map may name a primary the majority
            // replaced, and a member cut off would only time out.
            completeNear(op, null, context.membership().noQuorum(op.type.name().toLowerCase() + " on cache '" +
                op.cache.name() + "'"));
            return;
        }
        // Quorum may be back in a moment (a member just joined); one sent before keeps its fate open: it waits,
        // and ends in its answer or a timeout, never in a refusal that would say it was not applied.
        op.nextResendNs = context.nowNs() + Math.max(1, context.retryIntervalNs() / 4);
    }

    /** Ask every member for its primary copies' entry count of the cache (a size is their sum). */
    private void askSizes(final NearOp op)
    {
        if (op.sizeAwaiting == null)
        {
            op.sizeAwaiting = new LongHashSet();
        }
        op.sizeAwaiting.clear();
        op.sizeSum = 0;
        for (final MemberRecord member : context.topology().members())
        {
            op.sizeAwaiting.add(member.incarnation());
        }
        for (final MemberRecord member : context.topology().members())
        {
            if (member.incarnation() == context.incarnation())
            {
                context.replication().answerSize(context.incarnation(), op.sequence, op.cache.cacheId(),
                    op.sentVersion);
            }
            else
            {
                final SizeRequestEncoder out = context.messages().encode(context.wire().sizeRequestOut,
                    context.incarnation(), member.incarnation());
                out.sequence(op.sequence).cacheId(op.cache.cacheId()).version(op.sentVersion);
                context.send(member, context.messages().finish(out));
            }
            if (!nearOps.containsKey(op.sequence) || op.sentVersion != context.installedMap().version())
            {
                return;
            }
        }
    }

    /** Send an operation to its primary: handled here at once if this member is the primary. */
    private void sendRequest(final NearOp op, final MemberRecord primary)
    {
        if (primary.incarnation() == context.incarnation())
        {
            context.origins().noteWatermark(context.incarnation(), opWatermark());
            if (op.identity != null)
            {
                context.origins().noteWatermark(op.identity.originIncarnation(), op.identityWatermark);
            }
            context.replication().handleRequest(context.incarnation(), op.sequence, op.cache.cacheId(), op.partition,
                op.sentVersion, op.type,
                op.deadlineNs - context.nowNs(), op.key, op.value, op.expected, op.identity, null);
        }
        else
        {
            final RequestEncoder out = context.messages().encode(context.wire().requestOut, context.incarnation(),
                primary.incarnation());
            out.sequence(op.sequence).watermark(opWatermark()).cacheId(op.cache.cacheId()).partition(op.partition)
                .version(op.sentVersion).opType((byte)op.type.code())
                .timeoutNs(Math.max(0, op.deadlineNs - context.nowNs()))
                // A thin client's identity (0 if none), its number and its watermark.
                .clientId(op.identity == null ? 0 : op.identity.originIncarnation())
                .clientSequence(op.identity == null ? 0 : op.identity.sequence())
                .clientWatermark(op.identityWatermark)
                .hasValue(MemberMessages.has(op.value)).hasExpected(MemberMessages.has(op.expected))
                .putKey(op.key, 0, op.key.length)
                .putValue(MemberMessages.orEmpty(op.value), 0, MemberMessages.orEmpty(op.value).length)
                .putExpected(MemberMessages.orEmpty(op.expected), 0, MemberMessages.orEmpty(op.expected).length);
            context.send(primary, context.messages().finish(out));
        }
    }

    /**
     * Answer a read from this member's own copy while it holds no quorum, for a cache whose policy is
     * {@link QuorumReadPolicy#SERVE_LOCAL}: only an OWNING copy (a MOVING one may lack what its owners had) of a
     * partition the loss policy serves, flagged {@link OpOutcome#withoutQuorum()}.
     *
     * @return whether the read was answered (false: not a read of such a cache, or no such copy here).
     */
    private boolean readLocally(final NearOp op)
    {
        if (op.type != OpType.GET && op.type != OpType.CONTAINS_KEY ||
            op.cache.readsWithoutQuorum() != QuorumReadPolicy.SERVE_LOCAL ||
            context.membership().hasQuorum())
        {
            return false;
        }
        final LocalPartition lp = context.localCopy(op.cache.cacheId(), op.partition);
        if (lp == null || lp.state != PartitionState.OWNING || context.replication().lossRefusal(op.cache,
            op.partition, false) != null)
        {
            return false;
        }
        final byte[] value = StoredValues.visible(op.cache, lp.store.get(op.key), context.epochMs());
        context.membership().readWithoutQuorum();
        completeNear(op, new OpOutcome(value != null, op.type == OpType.GET ? value : null, 0, true), null);
        return true;
    }

    void onResponse(final long sender)
    {
        final ResponseDecoder in = context.messages().decode(context.wire().responseIn);
        final long sequence = in.sequence();
        final short rawStatus = in.statusRaw();
        if (rawStatus > ResponseStatus.ERROR.value())
        {
            throw new MalformedMessageException("unknown response status " + rawStatus);
        }
        final ResponseStatus status = ResponseStatus.get(rawStatus);
        final boolean flag = in.flag() != 0;
        final long count = in.count();
        final long version = in.version();
        final int code = in.errorCode();
        final short hasValue = in.hasValue();
        final byte[] bytes = MemberMessages.bytes(in, in.valueLength(), "value");
        in.getValue(bytes, 0, bytes.length);
        final byte[] text = MemberMessages.bytes(in, in.messageLength(), "message");
        in.getMessage(text, 0, text.length);
        final String message = text.length == 0 ? "" : new String(text, StandardCharsets.UTF_8);
        final NearOp op = nearOps.get(sequence);
        if (status == ResponseStatus.OK)
        {
            onOk(sender, op, version, new OpOutcome(flag, MemberMessages.ifHas(hasValue, bytes), count));
        }
        else if (status == ResponseStatus.REMAP)
        {
            if (op == null)
            {
                return;
            }
            context.listener().onRemap();
            if (version > context.installedMap().version() || context.isExchanging())
            {
                op.parked = true;
            }
            else
            {
                // The primary lags this member's map, or this member lags; try again shortly.
                op.nextResendNs = context.nowNs() + Math.max(1, context.retryIntervalNs() / 8);
            }
        }
        else if (status == ResponseStatus.ERROR)
        {
            if (op != null && code == ErrorCode.NO_QUORUM.code() &&
                (context.membership().hasQuorum() || (op.type.mayWrite() && op.sends > 1)))
            {
                // The primary lacks quorum while this member holds it: the majority is about to replace that primary
                // (or it is a moment behind); ask again shortly. A write sent more than once may have been applied
                // by an earlier attempt: it never ends in a refusal, only in its answer or a timeout.
                op.nextResendNs = context.nowNs() + Math.max(1, context.retryIntervalNs() / 4);
            }
            else if (op != null && !(code == ErrorCode.NO_QUORUM.code() && readLocally(op)))
            {
                completeNear(op, null, GridException.of(errorCode(code), message));
            }
        }
        else
        {
            throw new MalformedMessageException("unknown response status " + status);
        }
    }

    /**
     * This member's own primary answered one of its operations OK: taken without the response's encoding and decoding
     * (a copy of the value each way). The value may be the store's own array: a callback that only reads it
     * ({@link OpCallback#readsValueOnly}, a thin client's answer) gets it as it is, any other a copy of its own, so
     * that nothing outside the store (an application's codec that keeps what it decodes from) can alias stored data.
     *
     * @param outcome as the primary answered it; its {@code withoutQuorum} flag is dropped, as a response drops it.
     */
    void onLocalOk(final long sequence, final OpOutcome outcome, final long version)
    {
        final NearOp op = nearOps.get(sequence);
        final byte[] value = outcome.value();
        final boolean copy = value != null && op != null && !op.callback.readsValueOnly();
        onOk(context.incarnation(), op, version, copy || outcome.withoutQuorum() ?
            new OpOutcome(outcome.flag(), copy ? value.clone() : value, outcome.count()) : outcome);
    }

    private void onOk(final long sender, final NearOp op, final long version, final OpOutcome outcome)
    {
        if (op == null)
        {
            return;
        }
        if (op.type == OpType.SIZE)
        {
            if (version == op.sentVersion && op.sizeAwaiting != null && op.sizeAwaiting.remove(sender))
            {
                op.sizeSum += outcome.count();
                if (op.sizeAwaiting.isEmpty())
                {
                    completeNear(op, new OpOutcome(true, null, op.sizeSum), null);
                }
            }
            return;
        }
        completeNear(op, outcome, null);
    }

    static ErrorCode errorCode(final int code)
    {
        try
        {
            return ErrorCode.ofCode(code);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new MalformedMessageException("unknown error code " + code);
        }
    }

    void completeNear(final NearOp op, final OpOutcome outcome, final GridException error)
    {
        if (nearOps.remove(op.sequence) == null)
        {
            return;
        }
        context.listener().onOperationComplete(op.type, context.nowNs() - op.submittedNs, error == null ? 0
            : error.errorCode().code());
        if (error == null)
        {
            op.callback.onSuccess(outcome);
        }
        else
        {
            op.callback.onFailure(error);
        }
    }

    String describeWait(final NearOp op)
    {
        final String what = op.type.name().toLowerCase() + " on cache '" + op.cache.name() + "'" +
            (op.partition >= 0 ? " (partition " + op.partition + ")" : "") + " timed out after " +
            TimeUnit.NANOSECONDS.toMillis(op.deadlineNs - op.submittedNs) + " ms waiting for ";
        if (op.parked)
        {
            return what + "the partition map exchange of topology " + context.topology().version() + " to finish";
        }
        if (op.type == OpType.SIZE)
        {
            return what + "the counts of " + (op.sizeAwaiting == null ? context.topology().members().size() :
                op.sizeAwaiting.size()) + " member(s) (topology " + op.sentVersion + ")";
        }
        return what + "the answer of primary " + op.target + " (topology " + op.sentVersion + ")";
    }

    /**
     * Answer a write that changed nothing (a condition did not hold), and remember its outcome like any write's: if the
     * answer is slow and the origin asks again, the retry gets this answer instead of being evaluated anew, which
     * could apply it (a later write made the condition hold) while the first answer, arriving too, says it did not
     * (the simulator found a remove that removed a value its caller was told was absent).
     */
    /**
     * @return the lowest sequence of this member's single-key operations that may still be resent: every lower one
     *         was answered or given up. Sequences only grow, so this only grows (amortized constant time).
     */
    private long opWatermark()
    {
        // Only operations that may write hold it back: the watermark lets primaries forget the outcomes of this
        // member's writes, and a read (a listener's journal read a primary holds for seconds) has none to keep.
        NearOp op;
        while (opWatermark < context.nextSequence() &&
            ((op = nearOps.get(opWatermark)) == null || !op.type.mayWrite()))
        {
            opWatermark++;
        }
        return opWatermark;
    }

    /**
     * Route again the operations parked while this member had no map to route them by.
     */
    void routeParked()
    {
        final List<NearOp> ops = new ArrayList<>(nearOps.values());
        for (final NearOp op : ops)
        {
            if (op.parked)
            {
                route(op);
            }
        }
    }

    /**
     * Time out the operations past their deadline and resend those due a resend.
     *
     * @return the work done.
     */
    int sweep()
    {
        int work = 0;
        if (!nearOps.isEmpty())
        {
            final List<NearOp> ops = new ArrayList<>(nearOps.values());
            for (final NearOp op : ops)
            {
                if (context.nowNs() >= op.deadlineNs)
                {
                    completeNear(op, null, new OperationTimeoutException(describeWait(op)));
                    work++;
                }
                else if (!op.parked && context.nowNs() >= op.nextResendNs && nearOps.containsKey(op.sequence))
                {
                    route(op);
                    work++;
                }
                else if (op.parked && exchangingWithoutQuorum() && nearOps.containsKey(op.sequence))
                {
                    // Parked while quorum was held; the exchange it waits for stalled with quorum's loss.
                    route(op);
                    work++;
                }
            }
        }
        return work;
    }

    /**
     * Fail every operation in flight (the member stops, fails or rejoins).
     */
    void failAll(final GridException error)
    {
        final List<NearOp> ops = new ArrayList<>(nearOps.values());
        for (final NearOp op : ops)
        {
            completeNear(op, null, error);
        }
    }

    /**
     * Fail the operations in flight on a destroyed cache.
     */
    void failOperationsOnCache(final CacheDescriptor cache)
    {
        final List<NearOp> ops = new ArrayList<>(nearOps.values());
        for (final NearOp op : ops)
        {
            if (op.cache.cacheId() == cache.cacheId())
            {
                completeNear(op, null, new CacheDestroyedException("cache '" + cache.name() +
                    "' was destroyed while a " + op.type.name().toLowerCase() + " on it was in flight"));
            }
        }
    }

    static final class NearOp
    {
        final long sequence;
        final CacheDescriptor cache;
        final OpType type;
        final byte[] key;
        final byte[] value;
        final byte[] expected;
        final int partition;
        final long submittedNs;
        final long deadlineNs;
        final OpCallback callback;
        /** A SIZE only: the members whose count it awaits, made when it first asks (no set per other operation). */
        LongHashSet sizeAwaiting;
        long sizeSum;
        boolean parked;
        MemberRecord target;
        /** How often it was sent to a primary (or handled here as one). */
        int sends;
        long sentVersion;
        long nextResendNs;

        /** A thin client's identity for the operation (null: this member's own, by its sequence). */
        OpKey identity;
        long identityWatermark;

        NearOp(final long sequence, final CacheDescriptor cache, final OpType type, final byte[] key,
            final byte[] value, final byte[] expected, final int partition, final long submittedNs,
            final long deadlineNs, final OpCallback callback)
        {
            this.sequence = sequence;
            this.cache = cache;
            this.type = type;
            this.key = key;
            this.value = value;
            this.expected = expected;
            this.partition = partition;
            this.submittedNs = submittedNs;
            this.deadlineNs = deadlineNs;
            this.callback = callback;
        }
    }
}
