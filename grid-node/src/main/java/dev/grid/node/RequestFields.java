package dev.grid.node;

import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The fields of thin-client requests that need more than a read: required strings and bytes, enums, counts checked
 * against the bytes that follow, key lists, write identities. Each refusal is a {@link MalformedMessageException}
 * naming the field. Stateless.
 */
final class RequestFields
{
    private RequestFields()
    {
    }

    /**
     * A write's identity ({@link ClientProtocol#PUT}): the client's id, the write's number and the client's watermark.
     */
    static ClientIdentity readIdentity(final MessageReader reader)
    {
        final long clientId = reader.readLong("clientId");
        final long sequence = reader.readLong("sequence");
        final long watermark = reader.readLong("watermark");
        checkIdentity(clientId, sequence, watermark);
        return new ClientIdentity(clientId, sequence, watermark);
    }

    /**
     * @throws MalformedMessageException unless the three fields of a write's identity, as read, make one.
     */
    static void checkIdentity(final long clientId, final long sequence, final long watermark)
    {
        if (!ClientProtocol.isClientId(clientId) || sequence < 0 || watermark < 0 || sequence > Long.MAX_VALUE / 2)
        {
            throw new MalformedMessageException("not a client identity: client " + Long.toHexString(clientId) +
                ", sequence " + sequence + ", watermark " + watermark);
        }
    }

    /**
     * Keys, each once (a request naming one key many times gets one answer for it, not many copies of its value).
     */
    static List<byte[]> readKeys(final MessageReader reader)
    {
        final int count = readCount(reader, "keys", 1 << 20, 4);
        final Set<ByteBuffer> seen = new HashSet<>();
        final List<byte[]> keys = new ArrayList<>(Math.min(count, 1024));
        for (int i = 0; i < count; i++)
        {
            final byte[] key = requireBytes(reader, "key");
            if (seen.add(ByteBuffer.wrap(key)))
            {
                keys.add(key);
            }
        }
        return keys;
    }

    /**
     * A count of items that follow, checked against the bytes that are there before anything is sized by it: a
     * 23-byte request announcing a million keys is refused at once, not after allocating for them.
     *
     * @param max          the most the field may say.
     * @param minItemBytes the fewest bytes one item takes on the wire.
     */
    static int readCount(final MessageReader reader, final String field, final int max,
        final int minItemBytes)
    {
        final int count = reader.readInt(field, 0, max);
        if ((long)count * minItemBytes > reader.remaining())
        {
            throw new MalformedMessageException("field '" + field + "' says " + count + " items of at least " +
                minItemBytes + " bytes, but only " + reader.remaining() + " bytes follow");
        }
        return count;
    }

    static String requireString(final MessageReader reader, final String field)
    {
        final String value = reader.readString(field);
        if (value == null)
        {
            throw new MalformedMessageException("field '" + field + "' must not be null");
        }
        return value;
    }

    static byte[] requireBytes(final MessageReader reader, final String field)
    {
        return required(reader.readBytes(field), field);
    }

    /** As {@link #requireBytes(MessageReader, String)}, into an array kept by length ({@link MessageReader}). */
    static byte[] requireBytes(final MessageReader reader, final String field, final byte[][] reusable)
    {
        return required(reader.readBytes(field, reusable), field);
    }

    private static byte[] required(final byte[] value, final String field)
    {
        if (value == null)
        {
            throw new MalformedMessageException("field '" + field + "' must not be null");
        }
        return value;
    }

    static <E> E enumOf(final E[] values, final int ordinal, final String field)
    {
        if (ordinal < 0 || ordinal >= values.length)
        {
            throw new MalformedMessageException("field '" + field + "' is " + ordinal + ", not in [0, " +
                (values.length - 1) + "]");
        }
        return values[ordinal];
    }
}
