package dev.grid.core.codec;

import org.agrona.DirectBuffer;

import java.nio.charset.StandardCharsets;

/**
 * Reads the fields of one member-to-member message in order, checking every length against the message's bounds so
 * that a truncated or corrupt message fails with {@link MalformedMessageException} instead of reading past its end.
 * Multi-byte fields are in the platform's byte order (Agrona's default; little-endian on x86 and ARM, where Grid
 * runs, and what the thin client's {@code FrameReader} reads). Reusable: {@link #wrap} before each message. Not
 * thread-safe.
 */
public final class MessageReader
{
    private DirectBuffer buffer;
    private int position;
    private int limit;

    /**
     * @param buffer holding the message.
     * @param offset of the message.
     * @param length of the message.
     * @return this.
     */
    public MessageReader wrap(final DirectBuffer buffer, final int offset, final int length)
    {
        this.buffer = buffer;
        this.position = offset;
        this.limit = offset + length;
        return this;
    }

    /**
     * @return bytes left to read.
     */
    public int remaining()
    {
        return limit - position;
    }

    private void need(final int bytes, final String field)
    {
        need(bytes, field, "");
    }

    /** As {@link #need(int, String)} for the part {@code suffix} of a field, named only if it is missing. */
    private void need(final int bytes, final String field, final String suffix)
    {
        if (bytes < 0 || limit - position < bytes)
        {
            throw new MalformedMessageException("message truncated: field '" + field + suffix + "' needs " + bytes +
                " bytes, " + (limit - position) + " left");
        }
    }

    /**
     * @param field name for the error message.
     * @return the byte.
     */
    public byte readByte(final String field)
    {
        need(1, field);
        return buffer.getByte(position++);
    }

    /**
     * @param field name for the error message.
     * @return the boolean (one byte, 0 or 1).
     */
    public boolean readBoolean(final String field)
    {
        final byte value = readByte(field);
        if (value != 0 && value != 1)
        {
            throw new MalformedMessageException("field '" + field + "' is not a boolean: " + value);
        }
        return value == 1;
    }

    /**
     * @param field name for the error message.
     * @return the short as an unsigned value.
     */
    public int readUnsignedShort(final String field)
    {
        need(2, field);
        final int value = buffer.getShort(position) & 0xFFFF;
        position += 2;
        return value;
    }

    /**
     * @param field name for the error message.
     * @return the int.
     */
    public int readInt(final String field)
    {
        need(4, field);
        final int value = buffer.getInt(position);
        position += 4;
        return value;
    }

    /**
     * @param field name for the error message.
     * @param min   smallest valid value.
     * @param max   largest valid value.
     * @return the int, checked to lie in [min, max].
     */
    public int readInt(final String field, final int min, final int max)
    {
        final int value = readInt(field);
        if (value < min || value > max)
        {
            throw new MalformedMessageException("field '" + field + "' = " + value + " outside [" + min + ", " +
                max + "]");
        }
        return value;
    }

    /**
     * @param field name for the error message.
     * @return the long.
     */
    public long readLong(final String field)
    {
        need(8, field);
        final long value = buffer.getLong(position);
        position += 8;
        return value;
    }

    /**
     * @return every byte left, as they are (a trailing field another codec decodes).
     */
    public byte[] readRest()
    {
        final byte[] bytes = new byte[limit - position];
        buffer.getBytes(position, bytes);
        position = limit;
        return bytes;
    }

    /**
     * Read a byte array written by {@link MessageWriter#writeBytes}: a length (-1 for null) then the bytes.
     *
     * @param field name for the error message.
     * @return the bytes, or null.
     */
    public byte[] readBytes(final String field)
    {
        // The length's field name is built only for an error: this runs for every key and value read.
        need(4, field, ".length");
        final int length = buffer.getInt(position);
        position += 4;
        if (length == -1)
        {
            return null;
        }
        need(length, field);
        final byte[] bytes = new byte[length];
        buffer.getBytes(position, bytes);
        position += length;
        return bytes;
    }

    /**
     * As {@link #readBytes(String)}, but where the length is below {@code reusable.length} into the array kept there
     * for it ({@code reusable[length]}, made on first use), which the next such read of that length overwrites: for a
     * field only looked at until then (a key looked up, not kept), nothing is allocated.
     *
     * @param field    name for the error message.
     * @param reusable arrays by length, filled as needed; the caller's alone.
     * @return the bytes (maybe one of {@code reusable}), or null.
     */
    public byte[] readBytes(final String field, final byte[][] reusable)
    {
        need(4, field, ".length");
        final int length = buffer.getInt(position);
        if (length < 0 || length >= reusable.length)
        {
            return readBytes(field);
        }
        position += 4;
        need(length, field);
        byte[] bytes = reusable[length];
        if (bytes == null)
        {
            bytes = new byte[length];
            reusable[length] = bytes;
        }
        buffer.getBytes(position, bytes);
        position += length;
        return bytes;
    }

    /**
     * @param field name for the error message.
     * @return the UTF-8 string, or null.
     */
    public String readString(final String field)
    {
        final byte[] bytes = readBytes(field);
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * Read a string that is often the one read before (a connection names the same cache request after request):
     * if its bytes are {@code knownUtf8}, {@code known} itself is returned and nothing is allocated.
     *
     * @param field     name for the error message.
     * @param known     the string expected, or null.
     * @param knownUtf8 its UTF-8 bytes (ignored if {@code known} is null).
     * @return the UTF-8 string, or null.
     */
    public String readString(final String field, final String known, final byte[] knownUtf8)
    {
        if (known != null && limit - position >= 4 + knownUtf8.length &&
            buffer.getInt(position) == knownUtf8.length)
        {
            boolean same = true;
            for (int i = 0; i < knownUtf8.length && same; i++)
            {
                same = buffer.getByte(position + 4 + i) == knownUtf8[i];
            }
            if (same)
            {
                position += 4 + knownUtf8.length;
                return known;
            }
        }
        return readString(field);
    }
}
