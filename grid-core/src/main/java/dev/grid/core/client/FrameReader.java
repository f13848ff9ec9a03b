package dev.grid.core.client;

import dev.grid.core.Codec;
import dev.grid.core.codec.MalformedMessageException;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Reads the fields {@link FrameWriter} (or the member's {@code MessageWriter}) wrote, checking every length against
 * what is left: a field that does not fit is a {@link MalformedMessageException} naming it, never a read past the
 * frame. Plain Java, like {@link FrameWriter}. Not thread-safe.
 */
public final class FrameReader
{
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class,
        ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private byte[] bytes;
    private int position;
    private int limit;

    /**
     * @param source the message's bytes.
     * @param offset where it starts.
     * @param length its length.
     * @return this, reading from {@code offset}.
     */
    public FrameReader wrap(final byte[] source, final int offset, final int length)
    {
        this.bytes = source;
        this.position = offset;
        this.limit = offset + length;
        return this;
    }

    /** @return the bytes not read yet. */
    public int remaining()
    {
        return limit - position;
    }

    private void need(final int count, final String field)
    {
        need(count, field, "");
    }

    /** As {@link #need(int, String)} for the part {@code suffix} of a field, named only if it is missing. */
    private void need(final int count, final String field, final String suffix)
    {
        if (count < 0 || limit - position < count)
        {
            throw new MalformedMessageException("message truncated: field '" + field + suffix + "' needs " + count +
                " bytes, " + (limit - position) + " left");
        }
    }

    /** @return the length before an array; its field name is built only for an error (this runs for every array). */
    private int readLength(final String field)
    {
        need(4, field, ".length");
        final int value = (int)INT.get(bytes, position);
        position += 4;
        return value;
    }

    /** @return the next byte. */
    public byte readByte(final String field)
    {
        need(1, field);
        return bytes[position++];
    }

    /** @return the next byte as a boolean; anything but 0 or 1 is malformed. */
    public boolean readBoolean(final String field)
    {
        final byte value = readByte(field);
        if (value != 0 && value != 1)
        {
            throw new MalformedMessageException("field '" + field + "' is not a boolean: " + value);
        }
        return value == 1;
    }

    /** @return the next unsigned 16-bit value. */
    public int readUnsignedShort(final String field)
    {
        need(2, field);
        final int value = (short)SHORT.get(bytes, position) & 0xFFFF;
        position += 2;
        return value;
    }

    /** @return the next i32. */
    public int readInt(final String field)
    {
        need(4, field);
        final int value = (int)INT.get(bytes, position);
        position += 4;
        return value;
    }

    /** @return the next i32, which must lie in [min, max]. */
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

    /** @return the next i64. */
    public long readLong(final String field)
    {
        need(8, field);
        final long value = (long)LONG.get(bytes, position);
        position += 8;
        return value;
    }

    /** @return the next byte array, or null. */
    public byte[] readBytes(final String field)
    {
        final int length = readLength(field);
        if (length == -1)
        {
            return null;
        }
        need(length, field);
        final byte[] value = new byte[length];
        System.arraycopy(bytes, position, value, 0, length);
        position += length;
        return value;
    }

    /**
     * Decode the next byte array straight from the frame: no copy of it before the codec's own.
     *
     * @param field name for the error message.
     * @param codec decodes it.
     * @param <T>   the decoded type.
     * @return the decoded value, or null for a null array.
     */
    public <T> T readDecoded(final String field, final Codec<T> codec)
    {
        final int length = readLength(field);
        if (length == -1)
        {
            return null;
        }
        need(length, field);
        final T value = codec.decode(bytes, position, length);
        position += length;
        return value;
    }

    /** @return the next string, or null. */
    public String readString(final String field)
    {
        final byte[] value = readBytes(field);
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }
}
