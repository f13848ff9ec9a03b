package dev.grid.core.internal.cluster;

import dev.grid.core.ErrorCode;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.GridException;
import dev.grid.core.client.FrameReader;
import dev.grid.core.client.ScanPages;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.engine.BytesEntryProcessor;
import dev.grid.core.engine.BytesMergeOperator;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;

import org.agrona.collections.Long2ObjectHashMap;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * What a primary does with a single-key operation once {@link Replication} admitted it (routed here, not a retry it
 * answers from memory, quorum held, the key not locked): reads are answered at once, an update that changes nothing
 * is answered from the current value, any other update is started through {@link Replication#startUpdate} with the
 * new value it computed. Conditional writes, get-and-write, merge operators and entry processors are decided here, so
 * that backups, the WAL and historical rebalance only ever see a resulting value with its counter. Scans read a page
 * of the primary's copy here too.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class KeyOperations
{
    private final MemberContext context;
    private final ScanPages.PageWriter pageWriter = new ScanPages.PageWriter();

    KeyOperations(final MemberContext context)
    {
        this.context = context;
    }

    /**
     * Execute a single-key operation on the primary's copy.
     *
     * @param deadlineNs after which the update is not waited for any more.
     */
    void execute(final LocalPartition lp, final CacheDescriptor cache, final OpKey opKey, final long origin,
        final long sequence, final OpType type, final byte[] key, final byte[] value, final byte[] expected,
        final long deadlineNs)
    {
        final Replication replication = context.replication();
        final boolean expiring = StoredValues.expiring(cache);
        final long nowMs = expiring ? context.epochMs() : 0;
        // The stored value unless it expired (an expired entry is absent to every operation until its removal), and
        // the value as the caller knows it (without the expiry time a cache with a policy stores in front of it).
        final byte[] stored = lp.store.get(key);
        final byte[] live = stored != null && expiring && StoredValues.expired(stored, nowMs) ? null : stored;
        final byte[] current = live == null || !expiring ? live : StoredValues.unwrap(live);
        final OpOutcome outcome;
        final byte[] newValue;
        long expireAtMs = BytesEntryProcessor.Processed.BY_POLICY;
        switch (type)
        {
            case GET, CONTAINS_KEY ->
            {
                get(lp, cache, origin, sequence, type, key, current, live, nowMs);
                return;
            }
            case SCAN_PAGE, JOURNAL_READ ->
            {
                partitionRead(lp, cache, origin, sequence, type, key, value, nowMs, deadlineNs);
                return;
            }
            case PUT_WITH_TTL ->
            {
                putWithTtl(lp, cache, opKey, origin, sequence, key, value, nowMs, deadlineNs);
                return;
            }
            case PUT, GET_AND_PUT ->
            {
                outcome = type == OpType.PUT ? OpOutcome.TRUE : OpOutcome.value(current);
                newValue = requireValue(value, type);
            }
            case PUT_IF_ABSENT, REPLACE, REMOVE_IF_EQUALS, REMOVE, REPLACE_PRESENT, GET_AND_REMOVE, GET_AND_REPLACE ->
            {
                if (!conditionHolds(type, current, expected))
                {
                    replication.answerNoOp(lp, opKey, origin, sequence, type == OpType.GET_AND_REMOVE ||
                        type == OpType.GET_AND_REPLACE ? OpOutcome.value(null) : OpOutcome.FALSE);
                    return;
                }
                outcome = type == OpType.GET_AND_REMOVE || type == OpType.GET_AND_REPLACE ? OpOutcome.value(current) :
                    OpOutcome.TRUE;
                newValue = type == OpType.REMOVE || type == OpType.REMOVE_IF_EQUALS || type == OpType.GET_AND_REMOVE ?
                    null : requireValue(value, type);
            }
            case MERGE ->
            {
                final byte[][] merged = merge(lp, cache, opKey, origin, sequence, key, current, value);
                if (merged == null)
                {
                    return;
                }
                outcome = OpOutcome.value(merged[0]);
                newValue = merged[0];
            }
            case INVOKE ->
            {
                final BytesEntryProcessor.Processed processed = invoke(lp, cache, opKey, origin, sequence, key,
                    current, value, expected, live == null || !expiring ? 0 : StoredValues.expireAt(live),
                    expiring ? nowMs : context.epochMs());
                if (processed == null)
                {
                    return;
                }
                outcome = new OpOutcome(true, processed.result(), 0);
                newValue = processed.value();
                expireAtMs = processed.expireAtMs();
            }
            default ->
            {
                replication.answerError(origin, sequence, ErrorCode.CONFIGURATION_INVALID, "operation " + type +
                    " is not a single-key operation");
                return;
            }
        }
        // The primary decides the expiry time, from its clock; every copy stores it with the value.
        start(lp, cache, opKey, origin, sequence, outcome, key, stored, newValue == null || !expiring ? newValue :
            StoredValues.wrap(newValue, expireAtMs != BytesEntryProcessor.Processed.BY_POLICY ? expireAtMs :
            cache.expiry().expireAtOnWrite(live == null, live == null ? 0 : StoredValues.expireAt(live), nowMs)),
            deadlineNs);
    }

    /**
     * Start an update on the primary unless the member's memory bound refuses it (a value to store, the bound reached
     * and nothing to evict for the cache); then count its bytes and evict what it takes over the cache's bound.
     */
    private void start(final LocalPartition lp, final CacheDescriptor cache, final OpKey opKey, final long origin,
        final long sequence, final OpOutcome outcome, final byte[] key, final byte[] previous, final byte[] stored,
        final long deadlineNs)
    {
        if (stored != null)
        {
            final GridException refused = context.evictions().refusal(lp, cache, key);
            if (refused != null)
            {
                context.replication().answerError(origin, sequence, refused.errorCode(), refused.detail());
                return;
            }
        }
        context.replication().startUpdate(lp, cache, opKey, origin, sequence, outcome, key, stored, deadlineNs);
        if (stored != null && StoredValues.expiring(cache))
        {
            Expirations.stored(lp, StoredValues.expireAt(stored));
        }
        context.evictions().written(lp, cache, key, previous, stored);
    }

    /** A read of the partition rather than a key: a scan's page, or the event journal. */
    private void partitionRead(final LocalPartition lp, final CacheDescriptor cache, final long origin,
        final long sequence, final OpType type, final byte[] key, final byte[] value, final long nowMs,
        final long deadlineNs)
    {
        if (type == OpType.SCAN_PAGE)
        {
            context.replication().answerOk(origin, sequence, scanPage(lp, cache, key, value, nowMs), 0);
        }
        else
        {
            journalRead(lp, cache, origin, sequence, value, deadlineNs);
        }
    }

    /**
     * Answer a read, and note the use of a live entry (eviction's picks, an expiry that reads extend); whether a key is
     * present ({@link OpType#CONTAINS_KEY}) is not a use.
     */
    private void get(final LocalPartition lp, final CacheDescriptor cache, final long origin, final long sequence,
        final OpType type, final byte[] key, final byte[] current, final byte[] live, final long nowMs)
    {
        if (type == OpType.CONTAINS_KEY)
        {
            context.replication().answerOk(origin, sequence, current != null ? OpOutcome.TRUE : OpOutcome.FALSE, 0);
            return;
        }
        context.replication().answerOk(origin, sequence, OpOutcome.value(current), 0);
        touched(lp, cache, key, live);
        if (live != null && StoredValues.expiring(cache))
        {
            context.expirations().touched(lp, cache, key, current, live, nowMs);
        }
    }

    /**
     * A read of a cache without an expiry policy on its primary ({@link NearOps#readNow}): the stored value, a GET's
     * use recorded as {@link #execute}'s records it (a CONTAINS_KEY is not a use).
     */
    byte[] read(final LocalPartition lp, final CacheDescriptor cache, final OpType type, final byte[] key)
    {
        final byte[] value = lp.store.get(key);
        if (type == OpType.GET)
        {
            touched(lp, cache, key, value);
        }
        return value;
    }

    /** Record a read of a live entry on the primary, for the least recently and least often used picks. */
    private static void touched(final LocalPartition lp, final CacheDescriptor cache, final byte[] key,
        final byte[] live)
    {
        if (live != null && cache.eviction() != null)
        {
            lp.store.touch(key);
        }
    }

    /**
     * Read a partition's event journal on its primary, up to the horizon every copy holds: the LWM (applied here and
     * durable) and below the lowest update still waiting for a backup (one this primary could still lose with it). A
     * read that asks to wait and finds nothing new is held ({@link HeldJournalReads}) until there is, or its wait
     * ends (at most half the time the operation has left).
     */
    private void journalRead(final LocalPartition lp, final CacheDescriptor cache, final long origin,
        final long sequence, final byte[] request, final long deadlineNs)
    {
        if (cache.journalCapacity() > 0 && request != null)
        {
            final FrameReader reader = new FrameReader().wrap(request, 0, request.length);
            final long after = reader.readLong("after");
            ScanPages.Spec.read(reader);
            final long waitMs = reader.remaining() >= Long.BYTES ? reader.readLong("waitMs") : 0;
            // At most half the time the operation has left, so that the answer reaches its origin in time.
            final long untilNs = Math.min(context.nowNs() + TimeUnit.MILLISECONDS.toNanos(Math.max(0, waitMs)),
                context.nowNs() + (deadlineNs - context.nowNs()) / 2);
            if (untilNs > context.nowNs() && after >= 0 && after <= lp.counter.hwm() && horizon(lp) <= after)
            {
                context.heldReads().hold(lp, origin, sequence, after, request, untilNs);
                return;
            }
        }
        answerJournalRead(lp, cache, origin, sequence, request);
    }

    /** Answer a journal read now, with what the journal holds up to the horizon (maybe nothing). */
    void answerJournalRead(final LocalPartition lp, final CacheDescriptor cache, final long origin,
        final long sequence, final byte[] request)
    {
        if (cache.journalCapacity() == 0)
        {
            context.replication().answerError(origin, sequence, ErrorCode.CONFIGURATION_INVALID, "cache '" +
                cache.name() + "' keeps no event journal: create it with CacheConfiguration.eventJournal(capacity) " +
                "to listen to it");
            return;
        }
        if (request == null)
        {
            throw new MalformedMessageException("JOURNAL_READ request without its position");
        }
        final FrameReader reader = new FrameReader().wrap(request, 0, request.length);
        final long after = reader.readLong("after");
        final ScanPages.Spec spec = ScanPages.Spec.read(reader);
        final EventJournal journal = EventJournal.journalOf(lp, cache);
        final long horizon = horizon(lp);
        // A position beyond every counter of this copy: the partition's counters started again (every copy was lost
        // and it was created anew); the reader is told, and goes on from this copy's start.
        final long readFrom = after > lp.counter.hwm() ? -2 : after;
        context.replication().answerOk(origin, sequence, new OpOutcome(false,
            journal.read(cache, readFrom, horizon, spec.maxEntries(), spec), horizon), 0);
    }

    /**
     * @return the highest counter up to which every update of the primary's copy is applied and held by every copy:
     *         the LWM, and below the lowest update still waiting for a backup (one this primary could still lose).
     */
    static long horizon(final LocalPartition lp)
    {
        long horizon = lp.counter.lwm();
        for (final Long2ObjectHashMap<LocalPartition.PrimaryUpdate>.KeyIterator it = lp.inFlight.keySet().iterator();
            it.hasNext(); )
        {
            horizon = Math.min(horizon, it.nextLong() - 1);
        }
        return horizon;
    }

    /** A write with a time-to-live of its own (0: never expires), into a cache with an expiry policy. */
    private void putWithTtl(final LocalPartition lp, final CacheDescriptor cache, final OpKey opKey,
        final long origin, final long sequence, final byte[] key, final byte[] value, final long nowMs,
        final long deadlineNs)
    {
        if (!StoredValues.expiring(cache))
        {
            context.replication().answerError(origin, sequence, ErrorCode.CONFIGURATION_INVALID, "cache '" +
                cache.name() + "' has no expiry policy: create it with one to write entries with a time-to-live");
            return;
        }
        final byte[] withTtl = requireValue(value, OpType.PUT_WITH_TTL);
        final long ttlMs = withTtl.length < StoredValues.HEADER ? -1 : StoredValues.expireAt(withTtl);
        if (ttlMs < 0)
        {
            throw new MalformedMessageException("PUT_WITH_TTL request without a time-to-live of 0 or more");
        }
        start(lp, cache, opKey, origin, sequence, OpOutcome.TRUE, key, lp.store.get(key),
            StoredValues.wrap(StoredValues.unwrap(withTtl), ttlMs == 0 ? 0 : ExpiryPolicy.after(nowMs, ttlMs)),
            deadlineNs);
    }

    /**
     * Refuse a request whose fields its operation cannot run with, as it arrives: a request that waits (for a lock, a
     * consistency check) runs later outside the message's handling, where a malformed one would stop the member.
     *
     * @throws MalformedMessageException naming what is missing or wrong.
     */
    static void validate(final OpType type, final byte[] value, final byte[] expected)
    {
        switch (type)
        {
            case PUT, PUT_IF_ABSENT, GET_AND_PUT, GET_AND_REPLACE, REPLACE_PRESENT, MERGE -> requireValue(value, type);
            case REPLACE ->
            {
                requireValue(value, type);
                requireValue(expected, type);
            }
            case REMOVE_IF_EQUALS -> requireValue(expected, type);
            case INVOKE ->
            {
                if (expected == null)
                {
                    throw new MalformedMessageException("INVOKE request without the processor's name");
                }
            }
            case PUT_WITH_TTL ->
            {
                if (value == null || value.length < StoredValues.HEADER || StoredValues.expireAt(value) < 0)
                {
                    throw new MalformedMessageException("PUT_WITH_TTL request without a time-to-live of 0 or more");
                }
            }
            case SCAN_PAGE -> ScanPages.Spec.decode(value);
            case JOURNAL_READ ->
            {
                if (value == null)
                {
                    throw new MalformedMessageException("JOURNAL_READ request without its position");
                }
                final FrameReader reader = new FrameReader().wrap(value, 0, value.length);
                reader.readLong("after");
                ScanPages.Spec.read(reader);
            }
            default ->
            {
            }
        }
    }

    /** Whether a conditional update applies to the key's current value. */
    private static boolean conditionHolds(final OpType type, final byte[] current, final byte[] expected)
    {
        return switch (type)
        {
            case PUT_IF_ABSENT -> current == null;
            case REPLACE, REMOVE_IF_EQUALS -> current != null && Arrays.equals(current, requireValue(expected, type));
            case REMOVE, REPLACE_PRESENT, GET_AND_REMOVE, GET_AND_REPLACE -> current != null;
            default -> true;
        };
    }

    /**
     * Merge the operand into the current value with the cache's merge operator.
     *
     * @return the merged value (null: remove) in a one-element array, or null if the request was answered here (the
     *         operator is missing or threw, the merge changes nothing, or the result is too large).
     */
    private byte[][] merge(final LocalPartition lp, final CacheDescriptor cache, final OpKey opKey, final long origin,
        final long sequence, final byte[] key, final byte[] current, final byte[] value)
    {
        final Replication replication = context.replication();
        final BytesMergeOperator operator = cache.mergeOperator() == null ? null : context.mergeOperator(cache);
        if (operator == null)
        {
            replication.answerError(origin, sequence, ErrorCode.MERGE_FAILED, cache.mergeOperator() == null ?
                "cache '" + cache.name() + "' has no merge operator" :
                "merge operator '" + cache.mergeOperator() + "' of cache '" + cache.name() +
                "' is not registered on member " + context.config().memberId());
            return null;
        }
        final byte[] merged;
        try
        {
            merged = operator.merge(key, current, requireValue(value, OpType.MERGE));
        }
        catch (final RuntimeException ex)
        {
            replication.answerError(origin, sequence, ErrorCode.MERGE_FAILED, "merge operator '" +
                cache.mergeOperator() + "' of cache '" + cache.name() + "' threw " + ex);
            return null;
        }
        if (merged == null && current == null)
        {
            replication.answerNoOp(lp, opKey, origin, sequence, OpOutcome.value(null));
            return null;
        }
        if (merged != null && (long)key.length + merged.length > context.config().maxEntryBytes())
        {
            replication.answerError(origin, sequence, ErrorCode.VALUE_TOO_LARGE, context.tooLarge(
                "the merged value of " + merged.length + " bytes and its key").detail());
            return null;
        }
        return new byte[][] {merged};
    }

    /**
     * Run the entry processor the request names on the key's current value.
     *
     * @return what it decided, or null if the request was answered here (the processor is unknown here or threw, it
     *         changed nothing, or its value is too large).
     */
    private BytesEntryProcessor.Processed invoke(final LocalPartition lp, final CacheDescriptor cache,
        final OpKey opKey, final long origin, final long sequence, final byte[] key, final byte[] current,
        final byte[] argument, final byte[] processorName, final long currentExpireAtMs, final long nowMs)
    {
        final Replication replication = context.replication();
        if (processorName == null)
        {
            throw new MalformedMessageException("INVOKE request without the processor's name");
        }
        final String name = new String(processorName, StandardCharsets.UTF_8);
        final BytesEntryProcessor processor = context.entryProcessor(cache, name);
        if (processor == null)
        {
            replication.answerError(origin, sequence, ErrorCode.ENTRY_PROCESSOR_FAILED, "entry processor '" + name +
                "' is not registered on member " + context.config().memberId());
            return null;
        }
        final BytesEntryProcessor.Processed processed;
        try
        {
            processed = processor.process(key, current, argument, currentExpireAtMs, nowMs);
        }
        catch (final RuntimeException ex)
        {
            replication.answerError(origin, sequence, ErrorCode.ENTRY_PROCESSOR_FAILED, "entry processor '" + name +
                "' on cache '" + cache.name() + "' threw " + ex + "; the entry is unchanged");
            return null;
        }
        if (processed != null && processed.write() && processed.value() != null &&
            processed.expireAtMs() != BytesEntryProcessor.Processed.BY_POLICY && !StoredValues.expiring(cache))
        {
            replication.answerError(origin, sequence, ErrorCode.CONFIGURATION_INVALID, "entry processor '" + name +
                "' set an expiry time, but cache '" + cache.name() + "' has no expiry policy: create it with one " +
                "(an eternal policy will do) to store expiry times");
            return null;
        }
        if (processed == null || !processed.write() || processed.value() == null && current == null)
        {
            replication.answerNoOp(lp, opKey, origin, sequence, new OpOutcome(false,
                processed == null ? null : processed.result(), 0));
            return null;
        }
        final long length = (long)key.length + (processed.value() == null ? 0 : processed.value().length) +
            (processed.result() == null ? 0 : processed.result().length);
        if (length > context.config().maxEntryBytes())
        {
            replication.answerError(origin, sequence, ErrorCode.VALUE_TOO_LARGE, context.tooLarge(
                "the processed value and result of " + length + " bytes with the key").detail());
            return null;
        }
        return processed;
    }

    /**
     * Read a page of the primary's copy: the entries after {@code afterKey} in key order that pass the spec's filter,
     * at the copy's current counter (the engine's thread changes nothing while it reads).
     *
     * @param afterKey where the previous page ended (ignored for the first page).
     * @param specBytes the page's {@link ScanPages.Spec}, encoded.
     * @param nowMs    the primary's wall clock: expired entries are skipped.
     * @return the outcome: value the page, count the counter it was read at (its {@link #horizon}: every update up to
     *         it is in the page), flag whether the partition ended.
     */
    private OpOutcome scanPage(final LocalPartition lp, final CacheDescriptor cache, final byte[] afterKey,
        final byte[] specBytes, final long nowMs)
    {
        final boolean expiring = StoredValues.expiring(cache);
        final ScanPages.Spec spec = ScanPages.Spec.decode(specBytes);
        pageWriter.reset();
        final byte[][] last = new byte[1][];
        final int[] examined = new int[1];
        final boolean done = lp.store.scan(spec.fromStart() ? null : afterKey, (key, value, counter) ->
        {
            if (pageWriter.full(spec.maxEntries()) || examined[0] >= ScanPages.EXAMINED_MAX)
            {
                return false;
            }
            examined[0]++;
            last[0] = key;
            if (expiring && StoredValues.expired(value, nowMs))
            {
                return true;
            }
            final byte[] visible = expiring ? StoredValues.unwrap(value) : value;
            if (spec.accepts(key, visible))
            {
                pageWriter.add(key, visible);
            }
            return true;
        });
        final byte[] endKey = last[0] != null ? last[0] : spec.fromStart() ? null : afterKey;
        return new OpOutcome(done, pageWriter.finish(done, endKey), horizon(lp));
    }

    private static byte[] requireValue(final byte[] value, final OpType type)
    {
        if (value == null)
        {
            throw new MalformedMessageException(type + " request without its value");
        }
        return value;
    }
}
