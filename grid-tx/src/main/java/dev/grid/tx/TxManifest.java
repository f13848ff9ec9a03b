package dev.grid.tx;

import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.TxPartKey;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a checkpoint's manifest records of {@link TxManager}'s durable memory, and how it is loaded back: the parts
 * prepared and not finished (whose WAL records the checkpoint may release), the parts committed or committing, and
 * the parts rolled back or rolling back (absent from manifests written before they were listed).
 * See the javadoc of {@link TxManager#encodePrepared} and {@link TxManager#encodeCommitted} for why each is kept.
 */
final class TxManifest
{
    private TxManifest()
    {
    }

    static void encodePrepared(final TxManager manager, final MessageWriter writer)
    {
        final List<TxPrepared> open = new ArrayList<>(manager.prepared.values());
        for (final TxPart part : manager.parts.values())
        {
            if (part.prepareLogged && (part.state == TxParticipantState.PREPARING ||
                part.state == TxParticipantState.PREPARED) && !manager.prepared.containsKey(part.key))
            {
                open.add(new TxPrepared(part.key, part.priority, part.writeKeys, part.writeValues, part.participants,
                    manager.context.nowNs(), false));
            }
        }
        writer.writeInt(open.size());
        for (final TxPrepared p : open)
        {
            writer.writeLong(p.key().coordinator()).writeLong(p.key().seq()).writeInt(p.key().cacheId())
                .writeInt(p.key().partition()).writeLong(p.priority());
            final long[] participants = p.participants() == null ? new long[0] : p.participants();
            writer.writeInt(participants.length);
            for (final long participant : participants)
            {
                writer.writeLong(participant);
            }
            writer.writeInt(p.keys().length);
            for (int i = 0; i < p.keys().length; i++)
            {
                writer.writeBytes(p.keys()[i]).writeBytes(p.values()[i]);
            }
        }
    }

    static void decodePrepared(final TxManager manager, final MessageReader reader)
    {
        final int count = reader.readInt("prepared", 0, 1 << 24);
        for (int i = 0; i < count; i++)
        {
            final TxPartKey key = new TxPartKey(reader.readLong("coordinator"), reader.readLong("tx"),
                reader.readInt("cacheId"), reader.readInt("partition", 0, 65_535));
            final long priority = reader.readLong("priority");
            final long[] participants = TxCodec.readParticipants(reader);
            final byte[][][] writes = TxCodec.readWrites(reader);
            manager.replayPrepare(key, priority, participants, writes[0], writes[1]);
        }
        final int committed = reader.readInt("committed", 0, 1 << 24);
        manager.checkpointCommitted.clear();
        for (int i = 0; i < committed; i++)
        {
            final TxPartKey key = readKey(reader);
            manager.finished.put(key, Boolean.TRUE);
            manager.checkpointCommitted.add(key);
        }
        if (reader.remaining() == 0)
        {
            // A manifest written before rollbacks were listed.
            return;
        }
        final int rolledBack = reader.readInt("rolledBack", 0, 1 << 24);
        for (int i = 0; i < rolledBack; i++)
        {
            // A prepare loaded above may be of a part that was rolling back: the rollback is what holds.
            final TxPartKey key = readKey(reader);
            manager.finished.put(key, Boolean.FALSE);
            manager.prepared.remove(key);
        }
    }

    private static TxPartKey readKey(final MessageReader reader)
    {
        return new TxPartKey(reader.readLong("coordinator"), reader.readLong("tx"), reader.readInt("cacheId"),
            reader.readInt("partition", 0, 65_535));
    }

    static void encodeCommitted(final TxManager manager, final MessageWriter writer)
    {
        final List<TxPartKey> committed = new ArrayList<>();
        for (final Map.Entry<TxPartKey, Boolean> entry : manager.finished.entrySet())
        {
            if (entry.getValue())
            {
                committed.add(entry.getKey());
            }
        }
        for (final TxPart part : manager.parts.values())
        {
            if (part.state == TxParticipantState.COMMITTING && !manager.finished.containsKey(part.key))
            {
                committed.add(part.key);
            }
        }
        writeKeys(writer, committed);
        // Rollbacks are decisions a stale prepare must not revive (a member that left before its rollback was
        // logged brings the prepare back from its WAL, and resends it at install): without them here, a restart from
        // this checkpoint forgot them, held that prepare as a fresh one, and recovery committed the transaction
        // (whole-cluster bank seed 0x16acc5f4).
        final List<TxPartKey> rolledBack = new ArrayList<>();
        for (final Map.Entry<TxPartKey, Boolean> entry : manager.finished.entrySet())
        {
            if (!entry.getValue())
            {
                rolledBack.add(entry.getKey());
            }
        }
        for (final TxPart part : manager.parts.values())
        {
            if (part.state == TxParticipantState.ROLLING_BACK && !manager.finished.containsKey(part.key))
            {
                rolledBack.add(part.key);
            }
        }
        writeKeys(writer, rolledBack);
    }

    private static void writeKeys(final MessageWriter writer, final List<TxPartKey> keys)
    {
        writer.writeInt(keys.size());
        for (final TxPartKey key : keys)
        {
            writer.writeLong(key.coordinator()).writeLong(key.seq()).writeInt(key.cacheId()).writeInt(key.partition());
        }
    }
}
