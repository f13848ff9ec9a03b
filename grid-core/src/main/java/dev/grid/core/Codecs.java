package dev.grid.core;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The built-in codecs. Their encodings are part of the wire format (the thin client computes the same bytes and so
 * the same partition), so they never change:
 * <ul>
 *     <li>{@link #STRING}: UTF-8, no length prefix; malformed UTF-8 is rejected on decode.</li>
 *     <li>{@link #LONG}: 8 bytes, big-endian two's complement.</li>
 *     <li>{@link #INT}: 4 bytes, big-endian two's complement.</li>
 *     <li>{@link #BYTES}: the bytes themselves (copied in both directions).</li>
 * </ul>
 * All are stateless and thread-safe.
 */
public final class Codecs
{
    /** UTF-8 strings. */
    public static final Codec<String> STRING = new StringCodec();
    /** 64-bit integers, big-endian. */
    public static final Codec<Long> LONG = new LongCodec();
    /** 32-bit integers, big-endian. */
    public static final Codec<Integer> INT = new IntCodec();
    /** Raw bytes. */
    public static final Codec<byte[]> BYTES = new BytesCodec();

    private Codecs()
    {
    }

    /**
     * Find a built-in codec by its {@link Codec#name()}, as written in configuration files.
     *
     * @param name of the codec: string, long, int or bytes.
     * @return the codec.
     * @throws InvalidConfigurationException naming the unknown codec and the known ones.
     */
    public static Codec<?> byName(final String name)
    {
        switch (name)
        {
            case "string": return STRING;
            case "long": return LONG;
            case "int": return INT;
            case "bytes": return BYTES;
            default:
                throw new InvalidConfigurationException(
                    "unknown codec '" + name + "': expected one of string, long, int, bytes");
        }
    }

    static void checkRange(final String codec, final byte[] bytes, final int offset, final int length)
    {
        if (offset < 0 || length < 0 || offset > bytes.length - length)
        {
            throw new CodecException(codec + " codec: range offset=" + offset + " length=" + length +
                " is outside an array of " + bytes.length + " bytes");
        }
    }

    private static final class StringCodec implements Codec<String>
    {
        public byte[] encode(final String value)
        {
            return value.getBytes(StandardCharsets.UTF_8);
        }

        public String decode(final byte[] bytes, final int offset, final int length)
        {
            checkRange(name(), bytes, offset, length);
            try
            {
                return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, offset, length))
                    .toString();
            }
            catch (final CharacterCodingException ex)
            {
                throw new CodecException("string codec: " + length + " bytes are not valid UTF-8", ex);
            }
        }

        public String name()
        {
            return "string";
        }
    }

    private static final class LongCodec implements Codec<Long>
    {
        public byte[] encode(final Long value)
        {
            final long v = value;
            final byte[] bytes = new byte[Long.BYTES];
            for (int i = Long.BYTES - 1; i >= 0; i--)
            {
                bytes[i] = (byte)(v >>> ((Long.BYTES - 1 - i) * 8));
            }
            return bytes;
        }

        public Long decode(final byte[] bytes, final int offset, final int length)
        {
            checkRange(name(), bytes, offset, length);
            if (length != Long.BYTES)
            {
                throw new CodecException("long codec: expected 8 bytes, got " + length);
            }
            long v = 0;
            for (int i = 0; i < Long.BYTES; i++)
            {
                v = (v << 8) | (bytes[offset + i] & 0xFFL);
            }
            return v;
        }

        public String name()
        {
            return "long";
        }
    }

    private static final class IntCodec implements Codec<Integer>
    {
        public byte[] encode(final Integer value)
        {
            final int v = value;
            return new byte[]{ (byte)(v >>> 24), (byte)(v >>> 16), (byte)(v >>> 8), (byte)v };
        }

        public Integer decode(final byte[] bytes, final int offset, final int length)
        {
            checkRange(name(), bytes, offset, length);
            if (length != Integer.BYTES)
            {
                throw new CodecException("int codec: expected 4 bytes, got " + length);
            }
            return ((bytes[offset] & 0xFF) << 24) | ((bytes[offset + 1] & 0xFF) << 16) |
                ((bytes[offset + 2] & 0xFF) << 8) | (bytes[offset + 3] & 0xFF);
        }

        public String name()
        {
            return "int";
        }
    }

    private static final class BytesCodec implements Codec<byte[]>
    {
        public byte[] encode(final byte[] value)
        {
            return value.clone();
        }

        public byte[] decode(final byte[] bytes, final int offset, final int length)
        {
            checkRange(name(), bytes, offset, length);
            return Arrays.copyOfRange(bytes, offset, offset + length);
        }

        public String name()
        {
            return "bytes";
        }
    }
}
