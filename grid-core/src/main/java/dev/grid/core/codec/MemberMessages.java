package dev.grid.core.codec;

import dev.grid.core.codec.messages.MessageHeaderDecoder;
import dev.grid.core.codec.messages.MessageHeaderEncoder;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.sbe.MessageDecoderFlyweight;
import org.agrona.sbe.MessageEncoderFlyweight;
import org.agrona.sbe.MessageFlyweight;

import java.nio.charset.StandardCharsets;

/**
 * The engine's side of the member message schema ({@code grid-core/src/main/sbe/member-messages.xml}): it writes the
 * header every message starts with, wraps a message's generated encoder after it, and on receipt checks the header,
 * bounds the message and hands out its decoder.
 *
 * <p>A received message is read through a view limited to its own bytes, and {@link #decode} walks all of it once
 * against its shape in the schema ({@link SchemaShapes}) before a handler sees it: a block or a group entry shorter
 * than the schema's, or a length or count that reaches past the view, and the message is refused as malformed. The
 * walk checks every bound itself (it does not rely on Agrona's bounds checks) and every entry it steps over consumes
 * bytes, so its work is linear in the message's length; no handler then reads a neighbour's bytes, and byte arrays
 * are allocated only for lengths checked to fit. Every member message is
 * described in the schema; so are the bodies (state structures such as a topology) that messages carry as data.
 *
 * <p>Versions: a message of any version of this schema from {@link #FIRST_VERSION} on is read; fields newer than the
 * sender's version read as their null values, fields the sender has and this member does not know are skipped (the
 * header's block length). A message of another schema is malformed.
 *
 * <p><b>Threading:</b> the engine's thread only. One message is open at a time: opening another (a parked message
 * replayed) replaces it, as the shared reader always did.
 */
public final class MemberMessages
{
    /** Bytes before every message's body: the SBE header with sender and destination. */
    public static final int HEADER_LENGTH = MessageHeaderEncoder.ENCODED_LENGTH;

    /**
     * The most entries of a group: {@code groupSizeEncoding} counts in an unsigned 16-bit field whose largest value,
     * 65,535, is SBE's null.
     */
    public static final int GROUP_MAX = 65_534;

    /** The first version of the member and WAL schemas: a message or record claiming an older one is malformed. */
    public static final int FIRST_VERSION = 1;

    private static final byte[] EMPTY = new byte[0];

    private final MessageWriter writer;
    private final MessageHeaderEncoder headerOut = new MessageHeaderEncoder();
    private final MessageHeaderDecoder headerIn = new MessageHeaderDecoder();
    private final UnsafeBuffer message = new UnsafeBuffer(0, 0);

    /**
     * @param writer the engine's writer, that every outgoing message is built in.
     */
    public MemberMessages(final MessageWriter writer)
    {
        this.writer = writer;
    }

    /**
     * Start a message described in the schema: the header, then {@code encoder} wrapped after it for the caller to
     * fill. {@link #finish} ends it.
     */
    public <E extends MessageEncoderFlyweight> E encode(final E encoder, final long sender, final long destination)
    {
        writer.reset();
        headerOut.wrap(writer.mutableBuffer(), 0).blockLength(encoder.sbeBlockLength())
            .templateId(encoder.sbeTemplateId()).schemaId(encoder.sbeSchemaId()).version(encoder.sbeSchemaVersion())
            .sender(sender).destination(destination);
        encoder.wrap(writer.mutableBuffer(), HEADER_LENGTH);
        return encoder;
    }

    /**
     * End a message started with {@link #encode}: the writer then holds it whole, from offset 0.
     */
    public MessageWriter finish(final MessageEncoderFlyweight encoder)
    {
        return writer.skip(HEADER_LENGTH + encoder.encodedLength());
    }

    /**
     * Open a received (or kept) message: check its header and bound it.
     *
     * @throws MalformedMessageException if it is shorter than a header or of another schema.
     */
    public void open(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < HEADER_LENGTH)
        {
            throw new MalformedMessageException("message of " + length + " bytes, shorter than its header (" +
                HEADER_LENGTH + ")");
        }
        message.wrap(buffer, offset, length);
        headerIn.wrap(message, 0);
        if (headerIn.schemaId() != MessageHeaderDecoder.SCHEMA_ID)
        {
            throw new MalformedMessageException("schema id " + headerIn.schemaId() + ", expected " +
                MessageHeaderDecoder.SCHEMA_ID + " (not a Grid member message)");
        }
    }

    public int type()
    {
        return headerIn.templateId();
    }

    public long sender()
    {
        return headerIn.sender();
    }

    public long destination()
    {
        return headerIn.destination();
    }

    /**
     * Wrap {@code decoder} on the open message, after walking all of it: every count and length must stay inside
     * the message. A message at this schema's version or newer must carry at least this version's block.
     *
     * @throws MalformedMessageException if it does not.
     */
    public <D extends MessageDecoderFlyweight> D decode(final D decoder)
    {
        return checkedWrap(headerIn, message, decoder);
    }

    private static <D extends MessageDecoderFlyweight> D checkedWrap(final MessageHeaderDecoder header,
        final UnsafeBuffer message, final D decoder)
    {
        return checkedWrap(message, HEADER_LENGTH, header.blockLength(), header.version(), decoder);
    }

    /**
     * Wrap {@code decoder} on the body of a message or record held alone in {@code message} (a view bounded to it),
     * after walking all of it: every count and length must stay inside. One of schema version v must carry at least
     * v's block (this build's, without the fields added after v).
     *
     * @param bodyOffset  where the body starts, after its header.
     * @param blockLength the block length its header gives.
     * @param version     the schema version its header gives.
     * @throws MalformedMessageException if it does not hold together.
     */
    public static <D extends MessageDecoderFlyweight> D checkedWrap(final UnsafeBuffer message, final int bodyOffset,
        final int blockLength, final int version, final D decoder)
    {
        final SchemaShapes shapes = SchemaShapes.of(decoder.sbeSchemaId());
        final SchemaShapes.Shape shape = shapes == null ? null : shapes.message(decoder.sbeTemplateId());
        if (shape == null)
        {
            throw new IllegalStateException(name(decoder) + " is not in a schema this build knows");
        }
        // A sender of an older version carries the block of its version: without the fields added since
        // (sinceVersion), which read as their null values.
        if (version < FIRST_VERSION || blockLength < shape.blockLength(version))
        {
            throw new MalformedMessageException(name(decoder) + " of version " + version + " with a block of " +
                blockLength + " bytes, expected version " + FIRST_VERSION + " or later and at least " +
                (version < FIRST_VERSION ? shape.blockLength() : shape.blockLength(version)) + " bytes");
        }
        SchemaShapes.walk(message, bodyOffset, blockLength, version, shape, decoder);
        decoder.wrap(message, bodyOffset, blockLength, version);
        return decoder;
    }

    /** @return the message's name, for an error (not on the way of every message: it is not free). */
    private static String name(final MessageDecoderFlyweight decoder)
    {
        return decoder.getClass().getSimpleName();
    }

    /**
     * Start a body (a structure a message or a WAL record carries as data, with its own header and version) on a
     * buffer of its own: bodies are built before the message that carries them.
     *
     * @return {@code encoder}, wrapped after the body's header on a new buffer.
     */
    public static <E extends MessageEncoderFlyweight> E startBody(final E encoder)
    {
        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(128);
        new MessageHeaderEncoder().wrap(buffer, 0).blockLength(encoder.sbeBlockLength())
            .templateId(encoder.sbeTemplateId()).schemaId(encoder.sbeSchemaId()).version(encoder.sbeSchemaVersion())
            .sender(0).destination(0);
        encoder.wrap(buffer, HEADER_LENGTH);
        return encoder;
    }

    /**
     * @return the body {@code encoder} holds (started with {@link #startBody}), header included.
     */
    public static byte[] finishBody(final MessageEncoderFlyweight encoder)
    {
        final byte[] bytes = new byte[HEADER_LENGTH + encoder.encodedLength()];
        encoder.buffer().getBytes(0, bytes);
        return bytes;
    }

    /**
     * Wrap {@code decoder} on a body, checked as {@link #decode} checks a message; it must be of the decoder's type.
     *
     * @throws MalformedMessageException if it is not, or does not hold together.
     */
    public static <D extends MessageDecoderFlyweight> D decodeBody(final byte[] body, final D decoder)
    {
        if (body.length < HEADER_LENGTH)
        {
            throw new MalformedMessageException("body of " + body.length + " bytes, shorter than its header");
        }
        final UnsafeBuffer view = new UnsafeBuffer(body);
        final MessageHeaderDecoder header = new MessageHeaderDecoder().wrap(view, 0);
        if (header.schemaId() != decoder.sbeSchemaId() || header.templateId() != decoder.sbeTemplateId())
        {
            throw new MalformedMessageException("body of type " + header.templateId() + " (schema " +
                header.schemaId() + ") where " + decoder.getClass().getSimpleName() + " was expected");
        }
        return checkedWrap(header, view, decoder);
    }

    /**
     * @param message the message (or the message of the group) whose data comes next.
     * @param length  the data's length as the message claims it.
     * @param field   name for the error message.
     * @return an array to read the data into, checked to fit what is left of the message.
     * @throws MalformedMessageException if it would not.
     */
    public static byte[] bytes(final MessageFlyweight message, final int length, final String field)
    {
        if (length < 0 || (long)message.limit() + 4 + length > message.buffer().capacity())
        {
            throw new MalformedMessageException(field + " of " + (length & 0xFFFF_FFFFL) + " bytes reaches past " +
                "the message");
        }
        return length == 0 ? EMPTY : new byte[length];
    }

    /**
     * @return {@code bytes} (read as {@link #bytes} says) as UTF-8 text.
     */
    public static String text(final byte[] bytes)
    {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * @return {@code text} as UTF-8 bytes, or an empty array for null (sent with its has-flag clear).
     */
    public static byte[] utf8(final String text)
    {
        return text == null ? EMPTY : text.getBytes(StandardCharsets.UTF_8);
    }

    /** Reads data of a length already checked into an array (a generated decoder's {@code getX(byte[], int, int)}). */
    @FunctionalInterface
    public interface DataGetter
    {
        /** @return how many bytes were read. */
        int get(byte[] dst, int dstOffset, int length);
    }

    /**
     * @return the data of {@code length} bytes that comes next in {@code message}, read by {@code getter} into an
     *         array checked to fit ({@link #bytes}).
     */
    public static byte[] read(final MessageFlyweight message, final int length, final String field,
        final DataGetter getter)
    {
        final byte[] bytes = bytes(message, length, field);
        getter.get(bytes, 0, bytes.length);
        return bytes;
    }

    /** @return a flag field's value for {@code value}. */
    public static short flag(final boolean value)
    {
        return (short)(value ? 1 : 0);
    }

    /**
     * @return {@code bytes}, or an empty array for null (sent with its has-flag clear).
     */
    public static byte[] orEmpty(final byte[] bytes)
    {
        return bytes == null ? EMPTY : bytes;
    }

    /**
     * @return a has-flag's value for {@code bytes}.
     */
    public static short has(final byte[] bytes)
    {
        return (short)(bytes == null ? 0 : 1);
    }

    /**
     * @return {@code bytes} if its has-flag is set, else null.
     */
    public static byte[] ifHas(final short flag, final byte[] bytes)
    {
        return flag == 0 ? null : bytes;
    }
}
