package dev.grid.node;

import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;
import dev.grid.net.ClientEndpoint;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static dev.grid.node.RequestFields.requireString;

/**
 * The operator's requests of the thin-client protocol added with issue 21, decoded and answered for
 * {@link ClientService}: snapshots ({@link ClientProtocol#SNAPSHOT_CREATE} to {@link ClientProtocol#SNAPSHOT_RESTORE},
 * by the member's {@link MemberSnapshots}) and the member's configuration ({@link ClientProtocol#CONFIG}). Stateless;
 * runs on the thread serving the client endpoint and answers when the work is done.
 */
final class OperatorRequests
{
    /** Partitions a create may name: every partition of 64 caches of the largest partition count. */
    private static final int MAX_NAMED_PARTITIONS = 64 * 65_536;

    /** How long a member may take to checkpoint when the cluster is deactivated. */
    private static final long CHECKPOINT_TIMEOUT_NS = java.util.concurrent.TimeUnit.SECONDS.toNanos(120);

    private OperatorRequests()
    {
    }

    static void dispatch(final ClientService service, final GridMember member,
        final ClientEndpoint.Connection connection, final ClientService.Session session, final int op,
        final long requestId, final MessageReader reader)
    {
        switch (op)
        {
            case ClientProtocol.SNAPSHOT_CREATE ->
            {
                final String name = requireString(reader, "name");
                final int count = reader.readInt("partitions", -1, MAX_NAMED_PARTITIONS);
                if ((long)count * 4 > reader.remaining())
                {
                    // Checked before sizing anything by it (as RequestFields.readCount does).
                    throw new MalformedMessageException("field 'partitions' says " + count + " items, but only " +
                        reader.remaining() + " bytes follow");
                }
                List<String> only = null;
                if (count >= 0)
                {
                    only = new ArrayList<>(count);
                    for (int i = 0; i < count; i++)
                    {
                        only.add(requireString(reader, "partition"));
                    }
                }
                service.complete(connection, session, requestId, member.snapshots().create(name, only), (w, created) ->
                {
                    w.writeString(created.memberId()).writeInt(created.partitions().size());
                    created.partitions().forEach(w::writeString);
                    w.writeLong(created.entries()).writeLong(created.bytes());
                });
            }
            case ClientProtocol.SNAPSHOT_LIST -> service.complete(connection, session, requestId,
                member.snapshots().list(), (w, listed) ->
            {
                w.writeInt(listed.size());
                for (final MemberSnapshots.Listed snapshot : listed)
                {
                    w.writeString(snapshot.name()).writeLong(snapshot.createdMs()).writeInt(snapshot.caches().size());
                    snapshot.caches().forEach((cache, partitions) -> w.writeString(cache).writeInt(partitions));
                    w.writeInt(snapshot.partitions().size());
                    snapshot.partitions().forEach(w::writeString);
                    w.writeLong(snapshot.entries());
                }
            });
            case ClientProtocol.SNAPSHOT_CHECK -> service.complete(connection, session, requestId,
                member.snapshots().check(requireString(reader, "name")), (w, checked) ->
            {
                w.writeInt(checked.files()).writeInt(checked.problems().size());
                checked.problems().forEach(w::writeString);
            });
            case ClientProtocol.SNAPSHOT_RESTORE ->
            {
                final String name = requireString(reader, "name");
                final boolean prepare = reader.readByte("prepare") != 0;
                service.complete(connection, session, requestId, member.snapshots().restore(name, prepare),
                    (w, loaded) -> w.writeLong(loaded));
            }
            case ClientProtocol.CONFIG -> service.complete(connection, session, requestId,
                CompletableFuture.completedFuture(MemberConfigurationFile.describe(member.configuration())),
                (w, keys) ->
            {
                w.writeInt(keys.size());
                keys.forEach((key, value) -> w.writeString(key).writeString(value));
            });
            case ClientProtocol.DEACTIVATE -> deactivate(service, member, connection, session, requestId,
                reader.readByte("step"));
            default -> throw new IllegalArgumentException("not an operator op: " + op);
        }
    }

    private static void deactivate(final ClientService service, final GridMember member,
        final ClientEndpoint.Connection connection, final ClientService.Session session, final long requestId,
        final int step)
    {
        switch (step)
        {
            case 0 ->
            {
                member.activation.activate();
                service.complete(connection, session, requestId, CompletableFuture.completedFuture(true),
                    (w, v) -> { });
            }
            case 1 ->
            {
                member.activation.deactivate();
                service.complete(connection, session, requestId, CompletableFuture.completedFuture(true),
                    (w, v) -> { });
            }
            case 2 -> service.complete(connection, session, requestId, member.activation.quiescent(),
                (w, quiescent) -> w.writeBoolean(quiescent && member.activation.isDeactivated()));
            case 3 -> service.complete(connection, session, requestId,
                member.activation.checkpoint(CHECKPOINT_TIMEOUT_NS), (w, id) -> w.writeLong(id));
            default -> throw new MalformedMessageException("deactivation step " + step + " is not 0, 1, 2 or 3");
        }
    }
}
