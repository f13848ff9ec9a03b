package dev.grid.core.codec;

import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.charset.StandardCharsets;

/**
 * Appends the fields of one member-to-member message to a growable buffer, in the order {@link MessageReader} reads
 * them. Reusable: {@link #reset} before each message. Not thread-safe.
 */
public final class MessageWriter
{
    private final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(256);
    private int position;

    /**
     * @return this, emptied.
     */
    public MessageWriter reset()
    {
        position = 0;
        return this;
    }

    /**
     * @return the buffer holding the message from offset 0.
     */
    public DirectBuffer buffer()
    {
        return buffer;
    }

    /**
     * @return the message's length so far.
     */
    public int length()
    {
        return position;
    }

    /**
     * @param value to write.
     * @return this.
     */
    public MessageWriter writeByte(final int value)
    {
        buffer.putByte(position, (byte)value);
        position += 1;
        return this;
    }

    /**
     * @param value to write.
     * @return this.
     */
    public MessageWriter writeBoolean(final boolean value)
    {
        return writeByte(value ? 1 : 0);
    }

    /**
     * Move past bytes put into {@link #mutableBuffer()} directly (a generated flyweight's encoding).
     *
     * @param length how many bytes were put from the current position on.
     * @return this.
     */
    public MessageWriter skip(final int length)
    {
        position += length;
        return this;
    }

    /**
     * @param value to write, in [0, 65535].
     * @return this.
     */
    public MessageWriter writeUnsignedShort(final int value)
    {
        buffer.putShort(position, (short)value);
        position += 2;
        return this;
    }

    /**
     * @param value to write.
     * @return this.
     */
    public MessageWriter writeInt(final int value)
    {
        buffer.putInt(position, value);
        position += 4;
        return this;
    }

    /**
     * Overwrite an int written earlier, for counts known only at the end.
     *
     * @param at    position of the int.
     * @param value to write.
     */
    public void patchInt(final int at, final int value)
    {
        buffer.putInt(at, value);
    }

    /**
     * @param value to write.
     * @return this.
     */
    public MessageWriter writeLong(final long value)
    {
        buffer.putLong(position, value);
        position += 8;
        return this;
    }

    /**
     * @param bytes to write, or null.
     * @return this.
     */
    public MessageWriter writeBytes(final byte[] bytes)
    {
        if (bytes == null)
        {
            return writeInt(-1);
        }
        writeInt(bytes.length);
        buffer.putBytes(position, bytes);
        position += bytes.length;
        return this;
    }

    /**
     * @param value to write as UTF-8, or null.
     * @return this.
     */
    public MessageWriter writeString(final String value)
    {
        return writeBytes(value == null ? null : value.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Copy bytes without a length prefix.
     *
     * @param source buffer.
     * @param offset in the source.
     * @param length in bytes.
     * @return this.
     */
    public MessageWriter writeRaw(final DirectBuffer source, final int offset, final int length)
    {
        buffer.putBytes(position, source, offset, length);
        position += length;
        return this;
    }

    /**
     * @return the buffer written to, for patching a field after the fact (a flag known only once the rest is
     *         written) or reading back what was written without a copy.
     */
    public MutableDirectBuffer mutableBuffer()
    {
        return buffer;
    }
}
