package dev.grid.tx;

import dev.grid.core.ErrorCode;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.messages.TxBackupDecoder;
import dev.grid.core.codec.messages.TxCommitDecoder;
import dev.grid.core.codec.messages.TxPrepareDecoder;
import org.agrona.sbe.MessageFlyweight;

/**
 * Decoding of the fields transaction messages and WAL records share: a prepare's participants and writes, and an
 * answer's error code. Each refuses what it cannot trust with {@link MalformedMessageException}.
 */
final class TxCodec
{
    private TxCodec()
    {
    }

    static long[] readParticipants(final MessageReader reader)
    {
        final int count = reader.readInt("participants", 0, 1 << 16);
        final long[] participants = new long[count];
        for (int i = 0; i < count; i++)
        {
            participants[i] = reader.readLong("participant");
        }
        return participants;
    }

    static byte[][][] readWrites(final MessageReader reader)
    {
        final int count = reader.readInt("writes", 0, 1 << 20);
        final byte[][] keys = new byte[count][];
        final byte[][] values = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            keys[i] = reader.readBytes("key");
            values[i] = reader.readBytes("value");
            if (keys[i] == null)
            {
                throw new MalformedMessageException("transaction write without a key");
            }
        }
        return new byte[][][] {keys, values};
    }

    /** @return a {@code TxPrepare}'s writes: keys, then values (null: the write removes the key). */
    static byte[][][] writes(final MessageFlyweight message, final TxPrepareDecoder.WritesDecoder group)
    {
        final byte[][][] writes = new byte[2][group.count()][];
        for (int i = 0; i < writes[0].length; i++)
        {
            group.next();
            final short hasValue = group.hasValue();
            writes[0][i] = MemberMessages.bytes(message, group.keyLength(), "key");
            group.getKey(writes[0][i], 0, writes[0][i].length);
            final byte[] value = MemberMessages.bytes(message, group.valueLength(), "value");
            group.getValue(value, 0, value.length);
            writes[1][i] = MemberMessages.ifHas(hasValue, value);
        }
        return writes;
    }

    /** @return a {@code TxCommit}'s writes: keys, then values (null: the write removes the key). */
    static byte[][][] writes(final MessageFlyweight message, final TxCommitDecoder.WritesDecoder group)
    {
        final byte[][][] writes = new byte[2][group.count()][];
        for (int i = 0; i < writes[0].length; i++)
        {
            group.next();
            final short hasValue = group.hasValue();
            writes[0][i] = MemberMessages.bytes(message, group.keyLength(), "key");
            group.getKey(writes[0][i], 0, writes[0][i].length);
            final byte[] value = MemberMessages.bytes(message, group.valueLength(), "value");
            group.getValue(value, 0, value.length);
            writes[1][i] = MemberMessages.ifHas(hasValue, value);
        }
        return writes;
    }

    /** @return a {@code TxBackup}'s writes: keys, then values (null: the write removes the key). */
    static byte[][][] writes(final MessageFlyweight message, final TxBackupDecoder.WritesDecoder group)
    {
        final byte[][][] writes = new byte[2][group.count()][];
        for (int i = 0; i < writes[0].length; i++)
        {
            group.next();
            final short hasValue = group.hasValue();
            writes[0][i] = MemberMessages.bytes(message, group.keyLength(), "key");
            group.getKey(writes[0][i], 0, writes[0][i].length);
            final byte[] value = MemberMessages.bytes(message, group.valueLength(), "value");
            group.getValue(value, 0, value.length);
            writes[1][i] = MemberMessages.ifHas(hasValue, value);
        }
        return writes;
    }

    /** @return {@code partition}, checked to be a partition number. */
    static int partition(final int partition)
    {
        if (partition < 0 || partition > 65_535)
        {
            throw new MalformedMessageException("partition " + partition + " outside [0, 65535]");
        }
        return partition;
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
}
