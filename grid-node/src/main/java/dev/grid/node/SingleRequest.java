package dev.grid.node;

import dev.grid.core.GridException;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.OpCallback;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.net.ClientEndpoint;

import java.util.function.Consumer;

/**
 * A thin client's single-key request the member thread runs at once ({@link MemberAgent#runNow}): the engine's
 * operation, its callback, and the answer written when it completes. One object per request, where the queued way
 * makes a future, a command and half a dozen callbacks.
 * <p>
 * <b>Threading:</b> the member's agent thread only (the engine completes it there).
 */
final class SingleRequest implements Runnable, OpCallback, Consumer<MessageWriter>
{
    private final ClientService service;
    private final ClientEndpoint.Connection connection;
    private final ClientService.Session session;
    private final long requestId;
    private final CacheDescriptor cache;
    private final OpType type;
    private final byte[] key;
    private final byte[] value;
    private final byte[] expected;
    /** The write's identity ({@link ClientIdentity}'s fields, 0 for a read): three numbers, not an object. */
    private final long clientId;
    private final long sequence;
    private final long watermark;
    private final ClientService.Answer<OpOutcome> answer;
    private OpOutcome outcome;
    /** Whether it was answered: a fault thrown after the engine completed it does not answer it again. */
    private boolean answered;

    SingleRequest(final ClientService service, final ClientEndpoint.Connection connection,
        final ClientService.Session session, final long requestId, final CacheDescriptor cache, final OpType type,
        final byte[] key, final byte[] value, final byte[] expected, final long clientId, final long sequence,
        final long watermark, final ClientService.Answer<OpOutcome> answer)
    {
        this.service = service;
        this.connection = connection;
        this.session = session;
        this.requestId = requestId;
        this.cache = cache;
        this.type = type;
        this.key = key;
        this.value = value;
        this.expected = expected;
        this.clientId = clientId;
        this.sequence = sequence;
        this.watermark = watermark;
        this.answer = answer;
    }

    /** The operation, submitted to the engine. */
    public void run()
    {
        service.member.engine().submit(cache.cacheId(), type, key, value, expected, cache.operationTimeoutNs(),
            clientId, sequence, watermark, this);
    }

    public void onSuccess(final OpOutcome result)
    {
        if (!answered)
        {
            answered = true;
            outcome = result;
            service.finishContained(connection, session, requestId, this, null);
        }
    }

    public void onFailure(final GridException error)
    {
        if (!answered)
        {
            answered = true;
            service.finishContained(connection, session, requestId, null, error);
        }
    }

    /** Its answer is written into the connection's bytes at once and the value not kept. */
    public boolean readsValueOnly()
    {
        return true;
    }

    /** The answer's payload, once the outcome is known. */
    public void accept(final MessageWriter writer)
    {
        answer.write(writer, outcome);
    }
}
