package dev.grid.tx;

import dev.grid.core.ErrorCode;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;

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
