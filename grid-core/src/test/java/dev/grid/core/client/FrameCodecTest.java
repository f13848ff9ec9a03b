package dev.grid.core.client;

import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The thin client's plain-Java codec ({@link FrameWriter}, {@link FrameReader}) and the member's Agrona codec
 * ({@link MessageWriter}, {@link MessageReader}) write the same bytes and read each other's.
 */
class FrameCodecTest
{
    private static final byte[] KEY = "k\u00e9y".getBytes(StandardCharsets.UTF_8);

    @Test
    void bothWritersWriteTheSameBytes()
    {
        final FrameWriter frame = new FrameWriter();
        final MessageWriter message = new MessageWriter();
        frame.writeByte(7).writeBoolean(true).writeUnsignedShort(65_535).writeInt(-2).writeLong(Long.MIN_VALUE + 3)
            .writeBytes(KEY).writeBytes(null).writeString("caf\u00e9").writeString(null);
        message.writeByte(7).writeBoolean(true).writeUnsignedShort(65_535).writeInt(-2).writeLong(Long.MIN_VALUE + 3)
            .writeBytes(KEY).writeBytes(null).writeString("caf\u00e9").writeString(null);
        final byte[] fromMessage = new byte[message.length()];
        message.buffer().getBytes(0, fromMessage);
        assertArrayEquals(fromMessage, frame.toBytes());

        final FrameReader reader = new FrameReader().wrap(fromMessage, 0, fromMessage.length);
        assertEquals(7, reader.readByte("b"));
        assertTrue(reader.readBoolean("flag"));
        assertEquals(65_535, reader.readUnsignedShort("u16"));
        assertEquals(-2, reader.readInt("i32"));
        assertEquals(Long.MIN_VALUE + 3, reader.readLong("i64"));
        assertArrayEquals(KEY, reader.readBytes("key"));
        assertNull(reader.readBytes("none"));
        assertEquals("caf\u00e9", reader.readString("text"));
        assertNull(reader.readString("no text"));
        assertEquals(0, reader.remaining());
    }

    @Test
    void theMembersReaderReadsTheClientsFrames()
    {
        final FrameWriter frame = new FrameWriter();
        for (int i = 0; i < 100; i++)
        {
            frame.writeInt(i).writeBytes(new byte[i]);
        }
        final MessageReader reader = new MessageReader().wrap(new UnsafeBuffer(frame.toBytes()), 0, frame.length());
        for (int i = 0; i < 100; i++)
        {
            assertEquals(i, reader.readInt("i"));
            assertEquals(i, reader.readBytes("bytes").length, "the writer grew past its first array");
        }
        assertEquals(0, reader.remaining());
    }

    @Test
    void aTruncatedOrLyingFrameIsMalformedAndNamesTheField()
    {
        final byte[] lying = new FrameWriter().writeInt(1_000).writeByte(1).toBytes();
        final MalformedMessageException tooLong = assertThrows(MalformedMessageException.class,
            () -> new FrameReader().wrap(lying, 0, lying.length).readBytes("value"));
        assertTrue(tooLong.getMessage().contains("'value'"), tooLong.getMessage());
        assertThrows(MalformedMessageException.class, () -> new FrameReader().wrap(new byte[3], 0, 3).readInt("n"));
        final byte[] notBoolean = {2};
        assertThrows(MalformedMessageException.class, () -> new FrameReader().wrap(notBoolean, 0, 1).readBoolean("f"));
        assertThrows(MalformedMessageException.class,
            () -> new FrameReader().wrap(new FrameWriter().writeInt(5).toBytes(), 0, 4).readInt("n", 0, 4));
        assertFalse(new FrameReader().wrap(new byte[] {0}, 0, 1).readBoolean("f"));
    }

    @Test
    void aTruncatedWriterForgetsWhatFollowedAndRefusesToGrow()
    {
        final FrameWriter frame = new FrameWriter().writeInt(7);
        frame.writeLong(99).writeRaw(new byte[] {1, 2, 3}, 0, 3);
        frame.truncate(4).writeByte(5);
        assertArrayEquals(new FrameWriter().writeInt(7).writeByte(5).toBytes(), frame.toBytes());
        assertThrows(IllegalArgumentException.class, () -> frame.truncate(6));
        assertThrows(IllegalArgumentException.class, () -> frame.truncate(-1));
    }

    @Test
    void aPatchedCountIsReadBack()
    {
        final FrameWriter frame = new FrameWriter().writeInt(0).writeLong(9);
        frame.patchInt(0, 3);
        final FrameReader reader = new FrameReader().wrap(frame.array(), 0, frame.length());
        assertEquals(3, reader.readInt("count"));
        assertEquals(9, reader.readLong("value"));
    }

    @Test
    void aRepeatedStringIsReadAsTheKnownOneAndAnyOtherAsItself()
    {
        final String known = new String("caf\u00e9");
        final byte[] knownUtf8 = known.getBytes(StandardCharsets.UTF_8);
        final FrameWriter frame = new FrameWriter(8).writeString("caf\u00e9").writeString("cafe").writeString(null)
            .writeString("caf\u00e8").writeString("caf\u00e9x").writeInt(knownUtf8.length);
        final MessageReader reader = new MessageReader().wrap(new UnsafeBuffer(frame.toBytes()), 0, frame.length());
        assertSame(known, reader.readString("same", known, knownUtf8), "the same bytes: the known string itself");
        assertEquals("cafe", reader.readString("other", known, knownUtf8));
        assertNull(reader.readString("null", known, knownUtf8));
        // As long as the known one, one byte different: read as itself.
        final String sameLength = reader.readString("same length", known, knownUtf8);
        assertEquals("caf\u00e8", sameLength);
        assertEquals("caf\u00e9x", reader.readString("longer", known, knownUtf8));
        // A length that matches with too few bytes behind it is a truncated message, not the known string.
        assertThrows(MalformedMessageException.class, () -> reader.readString("truncated", known, knownUtf8));
        assertEquals("x", new MessageReader().wrap(new UnsafeBuffer(new FrameWriter().writeString("x").toBytes()), 0,
            5).readString("no known string", null, null));
    }

    @Test
    void aMissingOrShortArrayIsNamedInTheErrorByBothReaders()
    {
        // Two bytes where an array's length belongs: its length is named ('.length'), by both readers.
        final byte[] shortLength = {1, 0};
        assertEquals("message truncated: field 'key.length' needs 4 bytes, 2 left", assertThrows(
            MalformedMessageException.class, () -> new FrameReader().wrap(shortLength, 0, 2).readBytes("key"))
            .getMessage());
        assertEquals("message truncated: field 'key.length' needs 4 bytes, 2 left", assertThrows(
            MalformedMessageException.class, () -> new MessageReader().wrap(new UnsafeBuffer(shortLength), 0, 2)
                .readBytes("key")).getMessage());
        assertEquals("message truncated: field 'value.length' needs 4 bytes, 2 left", assertThrows(
            MalformedMessageException.class, () -> new FrameReader().wrap(shortLength, 0, 2)
                .readDecoded("value", dev.grid.core.Codecs.BYTES)).getMessage());
        // A length with fewer bytes behind it than it says: the array itself is named.
        final byte[] shortArray = new FrameWriter().writeInt(5).writeByte(1).toBytes();
        assertEquals("message truncated: field 'key' needs 5 bytes, 1 left", assertThrows(
            MalformedMessageException.class, () -> new FrameReader().wrap(shortArray, 0, shortArray.length)
                .readBytes("key")).getMessage());
        assertEquals("message truncated: field 'key' needs 5 bytes, 1 left", assertThrows(
            MalformedMessageException.class, () -> new MessageReader().wrap(new UnsafeBuffer(shortArray), 0,
                shortArray.length).readBytes("key")).getMessage());
    }

    @Test
    void aValueIsDecodedStraightFromTheFrame()
    {
        final FrameWriter frame = new FrameWriter().writeBytes(dev.grid.core.Codecs.STRING.encode("caf\u00e9"))
            .writeBytes(null).writeInt(9);
        final FrameReader reader = new FrameReader().wrap(frame.toBytes(), 0, frame.length());
        assertEquals("caf\u00e9", reader.readDecoded("value", dev.grid.core.Codecs.STRING));
        assertNull(reader.readDecoded("none", dev.grid.core.Codecs.STRING));
        // A length beyond the frame is refused before the codec sees anything.
        assertThrows(MalformedMessageException.class, () -> reader.readDecoded("cut", dev.grid.core.Codecs.STRING));
    }
}
