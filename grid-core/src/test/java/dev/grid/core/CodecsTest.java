package dev.grid.core;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CodecsTest
{
    @Test
    void builtInsRoundTripAndHaveFixedEncodings()
    {
        assertEquals("grüße ✓", Codecs.STRING.decode(Codecs.STRING.encode("grüße ✓")));
        assertArrayEquals(new byte[]{ 0, 0, 0, 0, 0, 0, 1, 2 }, Codecs.LONG.encode(258L));
        assertEquals(Long.MIN_VALUE, Codecs.LONG.decode(Codecs.LONG.encode(Long.MIN_VALUE)));
        assertArrayEquals(new byte[]{ (byte)0xFF, (byte)0xFF, (byte)0xFF, (byte)0xFE }, Codecs.INT.encode(-2));
        assertEquals(-2, Codecs.INT.decode(Codecs.INT.encode(-2)));
        final byte[] raw = { 1, 2, 3 };
        final byte[] encoded = Codecs.BYTES.encode(raw);
        assertArrayEquals(raw, encoded);
        assertNotSame(raw, encoded);
        assertArrayEquals(new byte[]{ 2, 3 }, Codecs.BYTES.decode(raw, 1, 2));
        assertEquals(7L, Codecs.LONG.decode(new byte[]{ 9, 0, 0, 0, 0, 0, 0, 0, 7 }, 1, 8));
    }

    @Test
    void badBytesMeetAnErrorThatNamesTheProblem()
    {
        final CodecException wrongLength = assertThrows(CodecException.class, () -> Codecs.LONG.decode(new byte[3]));
        assertTrue(wrongLength.getMessage().contains("expected 8 bytes, got 3"));
        assertEquals(ErrorCode.CODEC_FAILED, wrongLength.errorCode());
        assertThrows(CodecException.class, () -> Codecs.INT.decode(new byte[5]));
        final CodecException badUtf8 = assertThrows(CodecException.class,
            () -> Codecs.STRING.decode(new byte[]{ (byte)0xC3, (byte)0x28 }));
        assertTrue(badUtf8.getMessage().contains("not valid UTF-8"));
        assertThrows(CodecException.class, () -> Codecs.BYTES.decode(new byte[2], 1, 5));
    }

    @Test
    void codecsAreFoundByName()
    {
        assertSame(Codecs.STRING, Codecs.byName("string"));
        assertSame(Codecs.LONG, Codecs.byName("long"));
        final InvalidConfigurationException ex =
            assertThrows(InvalidConfigurationException.class, () -> Codecs.byName("java-serialization"));
        assertTrue(ex.getMessage().contains("unknown codec 'java-serialization'"));
    }

    @Test
    void errorCodesAreStableAndUnique()
    {
        assertEquals(2002, ErrorCode.CACHE_DESTROYED.code());
        assertEquals(3001, ErrorCode.OPERATION_TIMEOUT.code());
        assertEquals(ErrorCode.NODE_STOPPING, ErrorCode.ofCode(3002));
        assertEquals(ErrorCode.values().length,
            java.util.Arrays.stream(ErrorCode.values()).mapToInt(ErrorCode::code).distinct().count());
        assertThrows(IllegalArgumentException.class, () -> ErrorCode.ofCode(999));
    }
}
