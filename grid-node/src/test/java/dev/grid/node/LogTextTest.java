package dev.grid.node;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LogTextTest
{
    @Test
    void untrustedTextCannotForgeALineOrFloodOne()
    {
        assertEquals("'alice'", LogText.quote("alice"));
        assertEquals("null", LogText.quote(null));
        assertEquals("'x\\u000a2026-12-04 INFO forged'", LogText.quote("x\n2026-12-04 INFO forged"));
        assertEquals("'a\\u0027b\\u005c'", LogText.quote("a'b\\"));
        final String long1 = "n".repeat(1 << 20);
        assertEquals("'" + "n".repeat(LogText.MAX_CHARS) + "'...(1048576 chars)", LogText.quote(long1));
    }

    @Test
    void eventsStayOnOneLine()
    {
        assertEquals("baseline set to [m1\\u000d\\u000aforged]", LogText.oneLine("baseline set to [m1\r\nforged]"));
        final String plain = "member m1 installed topology 3";
        assertEquals(plain, LogText.oneLine(plain));
    }
}
