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
     * @return whether the whole key matches.
     */
    static boolean matches(final byte[] pattern, final byte[] text)
    {
        return matches(pattern, 0, text, 0);
    }

    private static boolean matches(final byte[] pattern, final int patternStart, final byte[] text,
        final int textStart)
    {
        int p = patternStart;
        int t = textStart;
        while (p < pattern.length)
        {
            final byte c = pattern[p];
            if (c == '*')
            {
                while (p + 1 < pattern.length && pattern[p + 1] == '*')
                {
                    p++;
                }
                if (p + 1 == pattern.length)
                {
                    return true;
                }
                for (int from = t; from <= text.length; from++)
                {
                    if (matches(pattern, p + 1, text, from))
                    {
                        return true;
                    }
                }
                return false;
            }
            if (t >= text.length)
            {
                return false;
            }
            if (c == '?')
            {
                p++;
                t++;
            }
            else if (c == '[')
            {
                final int end = classEnd(pattern, p);
                if (!inClass(pattern, p + 1, end, text[t]))
                {
                    return false;
                }
                p = end + 1;
                t++;
            }
            else
            {
                final byte literal = c == '\\' && p + 1 < pattern.length ? pattern[++p] : c;
                if (literal != text[t])
                {
                    return false;
                }
                p++;
                t++;
            }
        }
        return t == text.length;
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
