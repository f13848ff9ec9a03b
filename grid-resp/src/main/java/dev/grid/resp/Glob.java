package dev.grid.resp;

/**
 * Redis's glob patterns for SCAN MATCH: {@code *} any run of bytes, {@code ?} one byte, {@code [abc]}, {@code [^a]}
 * and {@code [a-z]} classes, {@code \x} the byte x itself. Matched on bytes, as Redis keys are binary. Stateless.
 */
final class Glob
{
    private Glob()
    {
    }

    /**
     * @param pattern the pattern.
     * @param text    the key.
     * @return whether the whole key matches; in time proportional to pattern length times key length (a failed match
     *     after a {@code *} resumes from that star only, never from earlier ones).
     */
    static boolean matches(final byte[] pattern, final byte[] text)
    {
        int p = 0;
        int t = 0;
        int starP = -1;
        int starT = 0;
        while (t < text.length)
        {
            if (p < pattern.length && pattern[p] == '*')
            {
                starP = p++;
                starT = t;
            }
            else if (p < pattern.length && matchesOne(pattern, p, text[t]))
            {
                p = next(pattern, p);
                t++;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                t = ++starT;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.length;
    }

    /** @return whether the pattern element at {@code p} (not a star) matches the byte. */
    private static boolean matchesOne(final byte[] pattern, final int p, final byte b)
    {
        final byte c = pattern[p];
        if (c == '?')
        {
            return true;
        }
        if (c == '[')
        {
            return inClass(pattern, p + 1, classEnd(pattern, p), b);
        }
        return (c == '\\' && p + 1 < pattern.length ? pattern[p + 1] : c) == b;
    }

    /** @return the index after the pattern element at {@code p}. */
    private static int next(final byte[] pattern, final int p)
    {
        final byte c = pattern[p];
        if (c == '[')
        {
            return classEnd(pattern, p) + 1;
        }
        return c == '\\' && p + 1 < pattern.length ? p + 2 : p + 1;
    }

    /** @return the index of the class's closing ']', or the pattern's last index if it has none. */
    private static int classEnd(final byte[] pattern, final int open)
    {
        int i = open + 1;
        while (i < pattern.length && pattern[i] != ']')
        {
            i += pattern[i] == '\\' ? 2 : 1;
        }
        return Math.min(i, pattern.length - 1);
    }

    private static boolean inClass(final byte[] pattern, final int from, final int end, final byte b)
    {
        int i = from;
        final boolean negated = i < end && pattern[i] == '^';
        if (negated)
        {
            i++;
        }
        boolean found = false;
        while (i < end)
        {
            if (pattern[i] == '\\' && i + 1 < end)
            {
                found |= pattern[i + 1] == b;
                i += 2;
            }
            else if (i + 2 < end && pattern[i + 1] == '-')
            {
                final int low = Math.min(pattern[i] & 0xFF, pattern[i + 2] & 0xFF);
                final int high = Math.max(pattern[i] & 0xFF, pattern[i + 2] & 0xFF);
                found |= (b & 0xFF) >= low && (b & 0xFF) <= high;
                i += 3;
            }
            else
            {
                found |= pattern[i] == b;
                i++;
            }
        }
        return negated != found;
    }
}
