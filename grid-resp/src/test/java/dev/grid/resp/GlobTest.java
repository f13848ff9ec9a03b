package dev.grid.resp;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Redis's glob patterns, and that no pattern costs more than pattern length times key length. */
class GlobTest
{
    private static boolean matches(final String pattern, final String key)
    {
        return Glob.matches(pattern.getBytes(StandardCharsets.UTF_8), key.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void patternsMatchAsInRedis()
    {
        assertTrue(matches("user:*", "user:42"));
        assertFalse(matches("user:*", "users:42"));
        assertTrue(matches("h?llo", "hello"));
        assertTrue(matches("h[ae]llo", "hallo"));
        assertFalse(matches("h[^e]llo", "hello"));
        assertTrue(matches("h[a-b]llo", "hbllo"));
        assertTrue(matches("a\\*b", "a*b"));
        assertFalse(matches("a\\*b", "axb"));
        assertTrue(matches("*", ""));
        assertTrue(matches("a*b*c", "aXbYc"));
        assertFalse(matches("a*b*c", "aXbY"));
    }

    @Test
    void manyStarsDoNotBacktrackExponentially()
    {
        final String key = "a".repeat(5_000);
        assertTimeoutPreemptively(java.time.Duration.ofSeconds(5),
            () -> assertFalse(matches("*a*a*a*a*a*a*a*a*a*a*a*a*b", key)));
    }
}
