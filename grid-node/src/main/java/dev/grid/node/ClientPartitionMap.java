package dev.grid.node;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.MemberRecord;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The answer to a thin client's PARTITION_MAP request (docs/protocol.md): each partition's primary in the member's
 * installed map, and where each member serves clients, so that a partition-aware client sends a key's request to its
 * primary.
 * <p>
 * <b>Threading:</b> {@link #query} reads the engine on the member's agent thread; {@link #write} runs wherever the
 * answer is encoded.
 *
 * @param topologyVersion the installed map's version.
 * @param members         the map's members, by index.
 * @param primaries       each partition's primary, an index into {@code members}, or -1 for none.
 */
record ClientPartitionMap(long topologyVersion, List<MemberRecord> members, int[] primaries)
{
    /**
     * @param member    whose installed map answers.
     * @param cacheName the cache asked about.
     * @return the map, or a failure with {@link ErrorCode#CACHE_NOT_FOUND} while the member has none for the cache.
     */
    static CompletableFuture<ClientPartitionMap> query(final GridMember member, final String cacheName)
    {
        final CompletableFuture<ClientPartitionMap> future = new CompletableFuture<>();
        member.execute(() ->
        {
            final int[] primaries = member.engine().status().primaries(cacheName);
            if (primaries == null)
            {
                future.completeExceptionally(new GridException(ErrorCode.CACHE_NOT_FOUND, "cache '" + cacheName +
                    "' has no partition map installed on member " + member.configuration().memberId() + " yet"));
                return;
            }
            future.complete(new ClientPartitionMap(member.engine().installedMap().version(),
                member.engine().installedMap().topology().members(), primaries));
        }, future);
        return future;
    }

    /**
     * Encode the answer: version, partition and member counts, each member's id and client address, then each
     * partition's primary (0xFFFF for none).
     */
    static void write(final MessageWriter w, final ClientPartitionMap map)
    {
        w.writeLong(map.topologyVersion()).writeInt(map.primaries().length).writeInt(map.members().size());
        for (final MemberRecord record : map.members())
        {
            w.writeString(record.memberId())
                .writeString(record.attributes().get(ClientService.CLIENT_ADDRESS_ATTRIBUTE));
        }
        for (final int primary : map.primaries())
        {
            w.writeUnsignedShort(primary < 0 ? 0xFFFF : primary);
        }
    }
}
