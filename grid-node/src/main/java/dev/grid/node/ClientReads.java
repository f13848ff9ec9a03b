package dev.grid.node;

import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.net.ClientEndpoint;

import java.util.function.Consumer;

import static dev.grid.node.RequestFields.requireBytes;

/**
 * The thin client's reads of one key ({@link ClientProtocol#GET}, {@link ClientProtocol#READ},
 * {@link ClientProtocol#CONTAINS_KEY}): answered in the call that reads the request where this member is the key's
 * primary and nothing stands in the way ({@link MemberAgent#readNow}), with nothing allocated (the key read into an
 * array kept for its length, the answer written from the stored value); otherwise submitted as any single-key
 * operation ({@link ClientService#submit}).
 * <p>
 * <b>Threading:</b> called on the thread serving the client endpoint; only the member's agent thread answers at once
 * and uses the arrays kept here, any other (a TLS connection's reader) submits.
 */
final class ClientReads
{
    private static final ClientService.Answer<OpOutcome> GET_ANSWER = (w, o) ->
        write(w, ClientProtocol.GET, o.value(), o.flag(), o.withoutQuorum());
    private static final ClientService.Answer<OpOutcome> READ_ANSWER = (w, o) ->
        write(w, ClientProtocol.READ, o.value(), o.flag(), o.withoutQuorum());
    private static final ClientService.Answer<OpOutcome> CONTAINS_KEY_ANSWER = (w, o) ->
        write(w, ClientProtocol.CONTAINS_KEY, o.value(), o.flag(), o.withoutQuorum());

    /** The longest key read into a kept array, plus one. */
    private static final int KEPT_KEY_LENGTHS = 256;

    private final GridMember member;
    private final ClientService service;
    /** Arrays for the keys the agent thread looks up, by length. */
    private final byte[][] keyScratch = new byte[KEPT_KEY_LENGTHS][];
    /** The answer of a read answered at once: the agent thread's, its value set only while it is written. */
    private final ReadAnswer readAnswer = new ReadAnswer();

    ClientReads(final GridMember member, final ClientService service)
    {
        this.member = member;
        this.service = service;
    }

    void read(final ClientEndpoint.Connection connection, final ClientService.Session session, final long requestId,
        final MessageReader reader, final int op)
    {
        final OpType type = op == ClientProtocol.CONTAINS_KEY ? OpType.CONTAINS_KEY : OpType.GET;
        final ClientService.Answer<OpOutcome> answer = op == ClientProtocol.GET ? GET_ANSWER :
            op == ClientProtocol.READ ? READ_ANSWER : CONTAINS_KEY_ANSWER;
        final CacheDescriptor cache = member.descriptor(session.cacheName.read(reader));
        if (!MemberAgent.mayRunNow(member))
        {
            service.submit(connection, session, requestId, cache, type, 0, 0, 0, requireBytes(reader, "key"),
                null, null, answer);
            return;
        }
        // Looked up in this call and not kept, or copied before it is submitted.
        final byte[] key = requireBytes(reader, "key", keyScratch);
        final byte[] value = MemberAgent.readNow(member, cache.cacheId(), type, key);
        if (value == Engine.NOT_READ_NOW)
        {
            service.submit(connection, session, requestId, cache, type, 0, 0, 0, key.clone(), null, null, answer);
            return;
        }
        readAnswer.op = op;
        readAnswer.value = value;
        try
        {
            service.finishContained(connection, session, requestId, readAnswer, null);
        }
        finally
        {
            readAnswer.value = null;
        }
    }

    /**
     * A read's answer, the one format of each op: GET the value; READ the value and whether it was read without
     * quorum; CONTAINS_KEY whether the key is present.
     */
    private static void write(final MessageWriter writer, final int op, final byte[] value, final boolean present,
        final boolean withoutQuorum)
    {
        if (op == ClientProtocol.CONTAINS_KEY)
        {
            writer.writeBoolean(present);
        }
        else if (op == ClientProtocol.READ)
        {
            writer.writeBytes(value).writeBoolean(withoutQuorum);
        }
        else
        {
            writer.writeBytes(value);
        }
    }

    /** A read's answer from the stored value: answered at once only with quorum. */
    private static final class ReadAnswer implements Consumer<MessageWriter>
    {
        int op;
        byte[] value;

        public void accept(final MessageWriter writer)
        {
            write(writer, op, value, value != null, false);
        }
    }
}
