package dev.grid.core.client;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Appends the fields of one client protocol message to a growable byte array, in the order {@link FrameReader} reads
 * them and with the member's codec's encoding ({@code dev.grid.core.codec.MessageWriter}): integers little-endian,
 * byte arrays and strings (UTF-8) as an i32 length, -1 for null, then the bytes. Plain Java, so the thin client needs
 * neither Agrona nor JVM flags. Reusable: {@link #reset} before each message. Not thread-safe.
 */
public final class FrameWriter
{
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class,
        ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private byte[] bytes;
    private int position;

    /** A writer of 256 bytes at first, growing as needed. */
    public FrameWriter()
    {
        this(256);
    }

    /**
     * @param capacity the bytes it holds before it grows: the frame's length where it is known, so that nothing is
     *                 copied into a larger array.
     */
    public FrameWriter(final int capacity)
    {
        this.bytes = new byte[Math.max(16, capacity)];
    }

    /** @return this, emptied. */
    public FrameWriter reset()
    {
        position = 0;
        return this;
    }

    /**
     * Forget what was written after the first {@code length} bytes.
     *
     * @param length a length this writer had before: not more than {@link #length}.
     * @return this.
     */
    public FrameWriter truncate(final int length)
    {
        if (length < 0 || length > position)
        {
            throw new IllegalArgumentException("cannot truncate " + position + " bytes to " + length);
        }
        position = length;
        return this;
    }

    /** @return the array holding the message from offset 0 (valid up to {@link #length}). */
    public byte[] array()
    {
        return bytes;
    }

    /** @return a copy of the message. */
    public byte[] toBytes()
    {
        return Arrays.copyOf(bytes, position);
    }

    /** @return the message's length so far. */
    public int length()
    {
        return position;
    }

    private void ensure(final int more)
    {
        if (position + more > bytes.length)
        {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, position + more));
        }
    }

    /** @return this, with one byte written. */
    public FrameWriter writeByte(final int value)
    {
        ensure(1);
        bytes[position++] = (byte)value;
        return this;
    }

    /** @return this, with 1 (true) or 0 written. */
    public FrameWriter writeBoolean(final boolean value)
    {
        return writeByte(value ? 1 : 0);
    }

    /** @return this, with an unsigned 16-bit value written. */
    public FrameWriter writeUnsignedShort(final int value)
    {
        ensure(2);
        SHORT.set(bytes, position, (short)value);
        position += 2;
        return this;
    }

    /** @return this, with an i32 written. */
    public FrameWriter writeInt(final int value)
    {
        ensure(4);
        INT.set(bytes, position, value);
        position += 4;
        return this;
    }

    /**
     * Overwrite an i32 written before (a count known only once its items are written).
     *
     * @param at    its offset.
     * @param value the value.
     */
    public void patchInt(final int at, final int value)
    {
        INT.set(bytes, at, value);
    }

    /** @return this, with an i64 written. */
    public FrameWriter writeLong(final long value)
    {
        ensure(8);
        LONG.set(bytes, position, value);
        position += 8;
        return this;
    }

    /** @return this, with a byte array (or null) written. */
    public FrameWriter writeBytes(final byte[] value)
    {
        if (value == null)
        {
            return writeInt(-1);
        }
        writeInt(value.length);
        return writeRaw(value, 0, value.length);
    }

    /** @return this, with a string (or null) written as UTF-8. */
    public FrameWriter writeString(final String value)
    {
        return writeBytes(value == null ? null : value.getBytes(StandardCharsets.UTF_8));
    }

    /** @return this, with bytes appended as they are (no length). */
    public FrameWriter writeRaw(final byte[] source, final int offset, final int length)
    {
        ensure(length);
        System.arraycopy(source, offset, bytes, position, length);
        position += length;
        return this;
    }
}
