package dev.grid.tx;

import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.engine.TxPartKey;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a checkpoint's manifest records of {@link TxManager}'s durable memory, and how it is loaded back: the parts
 * prepared and not finished (whose WAL records the checkpoint may release) and the parts committed or committing.
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
            final TxPartKey key = new TxPartKey(reader.readLong("coordinator"), reader.readLong("tx"),
                reader.readInt("cacheId"), reader.readInt("partition", 0, 65_535));
            manager.finished.put(key, Boolean.TRUE);
            manager.checkpointCommitted.add(key);
        }
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
        writer.writeInt(committed.size());
        for (final TxPartKey key : committed)
        {
            writer.writeLong(key.coordinator()).writeLong(key.seq()).writeInt(key.cacheId()).writeInt(key.partition());
        }
    }
}
