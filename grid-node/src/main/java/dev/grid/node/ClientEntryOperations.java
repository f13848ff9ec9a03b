package dev.grid.node;

import dev.grid.core.ErrorCode;
import dev.grid.core.EvictionPolicy;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.GridException;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.client.ScanPages;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.net.ClientEndpoint;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static dev.grid.node.RequestFields.readCount;
import static dev.grid.node.RequestFields.readIdentity;
import static dev.grid.node.RequestFields.requireBytes;
import static dev.grid.node.RequestFields.requireString;

/**
 * The thin client's entry operations beyond put and get ({@link ClientProtocol#GET_AND_PUT} to
 * {@link ClientProtocol#CLEAR}): get-and-write, replace if present, entry processors, scan pages, remove-all and
 * clear. Reads the request, submits it to the member and answers through {@link ClientService}.
 * <p>
 * <b>Threading:</b> called on the thread serving the client endpoint (the member thread, or a TLS connection's
 * reader); answers are written when the member's futures complete.
 */
final class ClientEntryOperations
{
    private final GridMember member;
    private final ClientService service;

    ClientEntryOperations(final GridMember member, final ClientService service)
    {
        this.member = member;
        this.service = service;
    }

    /** @return whether the op code is one of these operations. */
    static boolean handles(final int op)
    {
        return op >= ClientProtocol.GET_AND_PUT && op <= ClientProtocol.CLEAR || op == ClientProtocol.PUT_WITH_TTL ||
            op == ClientProtocol.CACHE_METRICS || op == ClientProtocol.JOURNAL_READ;
    }

    /**
     * A cache's eviction policy as {@link ClientProtocol#CACHE_CREATE} carries it: {@code [u8 kind + 1, 0: none]
     * [i64 maxEntries][i64 maxBytes]}.
     *
     * @return the policy, or null for none.
     */
    static EvictionPolicy readEviction(final MessageReader reader)
    {
        final int kind = reader.readByte("evictionKind");
        final long maxEntries = reader.readLong("evictionMaxEntries");
        final long maxBytes = reader.readLong("evictionMaxBytes");
        if (kind == 0)
        {
            return null;
        }
        if (kind < 0 || kind > EvictionPolicy.Kind.values().length)
        {
            throw new MalformedMessageException("unknown eviction kind " + kind);
        }
        return new EvictionPolicy(EvictionPolicy.Kind.values()[kind - 1], maxEntries, maxBytes);
    }

    /**
     * A cache's expiry policy as {@link ClientProtocol#CACHE_CREATE} carries it: {@code [u8 kind + 1, 0: none][i64
     * durationMs]}.
     *
     * @return the policy, or null for none.
     */
    static ExpiryPolicy readExpiry(final MessageReader reader)
    {
        final int kind = reader.readByte("expiryKind");
        final long durationMs = reader.readLong("expiryDurationMs");
        if (kind == 0)
        {
            return null;
        }
        if (kind < 0 || kind > ExpiryPolicy.Kind.values().length)
        {
            throw new MalformedMessageException("unknown expiry kind " + kind);
        }
        return new ExpiryPolicy(ExpiryPolicy.Kind.values()[kind - 1], durationMs);
    }

    void dispatch(final ClientEndpoint.Connection connection, final ClientService.Session session, final int op,
        final long requestId, final MessageReader reader)
    {
        switch (op)
        {
            case ClientProtocol.GET_AND_PUT -> keyed(connection, session, requestId, reader, OpType.GET_AND_PUT, true,
                (w, o) -> w.writeBytes(o.value()));
            case ClientProtocol.GET_AND_REMOVE -> keyed(connection, session, requestId, reader, OpType.GET_AND_REMOVE,
                false, (w, o) -> w.writeBytes(o.value()));
            case ClientProtocol.GET_AND_REPLACE -> keyed(connection, session, requestId, reader,
                OpType.GET_AND_REPLACE, true, (w, o) -> w.writeBytes(o.value()));
            case ClientProtocol.REPLACE_PRESENT -> keyed(connection, session, requestId, reader,
                OpType.REPLACE_PRESENT, true, (w, o) -> w.writeBoolean(o.flag()));
            case ClientProtocol.PUT_WITH_TTL -> putWithTtl(connection, session, requestId, reader);
            case ClientProtocol.JOURNAL_READ -> journalRead(connection, session, requestId, reader);
            case ClientProtocol.CACHE_METRICS ->
            {
                final CacheDescriptor cache = member.descriptor(requireString(reader, "cache"));
                service.complete(connection, session, requestId, member.query(() ->
                    member.engine().status().cacheMetrics(cache.cacheId())), (w, m) -> w.writeLong(m.entries())
                    .writeLong(m.primaryEntries()).writeLong(m.bytes()).writeLong(m.memberBytes())
                    .writeLong(m.memberBoundBytes()).writeLong(m.evictions()).writeLong(m.expirations()));
            }
            case ClientProtocol.INVOKE -> invoke(connection, session, requestId, reader);
            case ClientProtocol.SCAN_PAGE -> scanPage(connection, session, requestId, reader);
            case ClientProtocol.REMOVE_ALL -> removeAll(connection, session, requestId, reader);
            case ClientProtocol.CLEAR -> service.complete(connection, session, requestId,
                member.rawCache(requireString(reader, "cache")).clearAsync(), (w, removed) -> w.writeLong(removed));
            default -> throw new GridException(ErrorCode.UNKNOWN_OPERATION, "unknown op code " + op);
        }
    }

    private void keyed(final ClientEndpoint.Connection connection, final ClientService.Session session,
        final long requestId, final MessageReader reader, final OpType type, final boolean value,
        final ClientService.Answer<OpOutcome> answer)
    {
        final CacheDescriptor cache = member.descriptor(requireString(reader, "cache"));
        final ClientIdentity identity = readIdentity(reader);
        final byte[] key = requireBytes(reader, "key");
        final byte[] valueBytes = value ? requireBytes(reader, "value") : null;
        service.complete(connection, session, requestId, member.submit(cache.cacheId(), type, key, valueBytes, null,
            cache.operationTimeoutNs(), identity), answer);
    }

    private void putWithTtl(final ClientEndpoint.Connection connection, final ClientService.Session session,
        final long requestId, final MessageReader reader)
    {
        final CacheDescriptor cache = member.descriptor(requireString(reader, "cache"));
        final ClientIdentity identity = readIdentity(reader);
        final byte[] key = requireBytes(reader, "key");
        final byte[] value = requireBytes(reader, "value");
        final long ttlMs = reader.readLong("ttlMs");
        if (ttlMs < 0)
        {
            throw new MalformedMessageException("ttlMs " + ttlMs + " must not be negative (0: never expires)");
        }
        service.complete(connection, session, requestId, member.submit(cache.cacheId(), OpType.PUT_WITH_TTL, key,
            OpType.valueWithTtl(ttlMs, value), null, cache.operationTimeoutNs(), identity), (w, o) -> { });
    }

    private void invoke(final ClientEndpoint.Connection connection, final ClientService.Session session,
        final long requestId, final MessageReader reader)
    {
        final CacheDescriptor cache = member.descriptor(requireString(reader, "cache"));
        final ClientIdentity identity = readIdentity(reader);
        final byte[] key = requireBytes(reader, "key");
        final byte[] processor = requireBytes(reader, "processor");
        final byte[] argument = reader.readBytes("argument");
        service.complete(connection, session, requestId, member.submit(cache.cacheId(), OpType.INVOKE, key, argument,
            processor, cache.operationTimeoutNs(), identity), (w, o) -> w.writeBoolean(o.flag())
            .writeBytes(o.value()));
    }

    /**
     * A listener's read of a partition's journal, which the primary may hold while nothing is new: counted among the
     * connection's journal reads ({@link ClientService.Session#pendingReads}) until it is answered.
     */
    private void journalRead(final ClientEndpoint.Connection connection, final ClientService.Session session,
        final long requestId, final MessageReader reader)
    {
        session.pendingReads.incrementAndGet();
        final CompletableFuture<OpOutcome> read;
        try
        {
            final CacheDescriptor cache = member.descriptor(requireString(reader, "cache"));
            final int partition = reader.readInt("partition", 0, cache.partitions() - 1);
            final long after = reader.readLong("after");
            // The spec, then how long the primary may hold the read (absent: not at all).
            final byte[] rest = reader.readRest();
            final dev.grid.core.client.FrameReader tail = new dev.grid.core.client.FrameReader()
                .wrap(rest, 0, rest.length);
            final ScanPages.Spec spec = ScanPages.Spec.read(tail);
            final long waitMs = tail.remaining() >= Long.BYTES ? tail.readLong("waitMs") : 0;
            read = member.journalRead(cache.cacheId(), partition, ScanPages.Events.request(after, spec, waitMs),
                cache.operationTimeoutNs());
        }
        catch (final RuntimeException ex)
        {
            session.pendingReads.decrementAndGet();
            throw ex;
        }
        read.whenComplete((o, e) -> session.pendingReads.decrementAndGet());
        // The primary's events pass through as it encoded them.
        service.complete(connection, session, requestId, read, (w, o) ->
            w.writeRaw(new UnsafeBuffer(o.value()), 0, o.value().length));
    }

    private void scanPage(final ClientEndpoint.Connection connection, final ClientService.Session session,
        final long requestId, final MessageReader reader)
    {
        final CacheDescriptor cache = member.descriptor(requireString(reader, "cache"));
        final int partition = reader.readInt("partition", 0, cache.partitions() - 1);
        final byte[] afterKey = reader.readBytes("afterKey");
        // The spec ends the request, in ScanPages' own encoding.
        final ScanPages.Spec spec = ScanPages.Spec.decode(reader.readRest());
        if (spec.fromStart() != (afterKey == null))
        {
            throw new MalformedMessageException("a scan page starts at the partition's first key exactly when it " +
                "names no key to start after");
        }
        service.complete(connection, session, requestId, member.scanPage(cache.cacheId(), partition, afterKey,
            spec.encode(), cache.operationTimeoutNs()), (w, o) ->
        {
            // The primary's page passes through as it encoded it: the client reads the same encoding.
            w.writeLong(o.count()).writeRaw(new UnsafeBuffer(o.value()), 0, o.value().length);
        });
    }

    private void removeAll(final ClientEndpoint.Connection connection, final ClientService.Session session,
        final long requestId, final MessageReader reader)
    {
        final CacheDescriptor cache = member.descriptor(requireString(reader, "cache"));
        final ClientIdentity identity = readIdentity(reader);
        final int count = readCount(reader, "keys", 1 << 20, 4);
        final byte[][] keys = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            keys[i] = requireBytes(reader, "key");
        }
        // Each key is a remove of its own, numbered from the request's identity in the request's order (the same in
        // every resend), so each applies once.
        final List<CompletableFuture<OpOutcome>> removes = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            removes.add(member.submit(cache.cacheId(), OpType.REMOVE, keys[i], null, null,
                cache.operationTimeoutNs(), identity.plus(i)));
        }
        service.complete(connection, session, requestId,
            CompletableFuture.allOf(removes.toArray(new CompletableFuture[0])), (w, v) ->
        {
            int removed = 0;
            for (final CompletableFuture<OpOutcome> remove : removes)
            {
                removed += remove.join().flag() ? 1 : 0;
            }
            w.writeInt(removed);
        });
    }
}
