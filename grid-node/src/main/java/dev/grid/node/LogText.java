package dev.grid.node;

/**
 * Untrusted text (a client's user or connection name, anything a peer sent) made safe for a log line: control
 * characters (a newline would forge a log line of its own) written as a Unicode escape (backslash, u, four hex digits),
 * and at most {@link #MAX_CHARS} characters kept, the rest counted. Stateless.
 */
final class LogText
{
    /** The most characters of one untrusted string a log line carries. */
    static final int MAX_CHARS = 64;

    private LogText()
    {
    }

    /**
     * @param text a message that may carry untrusted parts, or null.
     * @return it on one line: line breaks and other control characters written as Unicode escapes, nothing cut.
     */
    static String oneLine(final String text)
    {
        if (text == null)
        {
            return "null";
        }
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029')
            {
                if (out == null)
                {
                    out = new StringBuilder(text.length() + 16).append(text, 0, i);
                }
                out.append(String.format("\\u%04x", (int)c));
            }
            else if (out != null)
            {
                out.append(c);
            }
        }
        return out == null ? text : out.toString();
    }

    /**
     * @param untrusted any text, or null.
     * @return it quoted, escaped and truncated ({@code "null"} without quotes for null).
     */
    static String quote(final String untrusted)
    {
        if (untrusted == null)
        {
            return "null";
        }
        final StringBuilder out = new StringBuilder(Math.min(untrusted.length(), MAX_CHARS) + 16).append('\'');
        final int shown = Math.min(untrusted.length(), MAX_CHARS);
        for (int i = 0; i < shown; i++)
        {
            final char c = untrusted.charAt(i);
            if (Character.isISOControl(c) || c == '\'' || c == '\\' || Character.getType(c) == Character.FORMAT ||
                Character.isSurrogate(c) || c == '\u2028' || c == '\u2029')
            {
                out.append(String.format("\\u%04x", (int)c));
            }
            else
            {
                out.append(c);
            }
        }
        out.append('\'');
        if (untrusted.length() > shown)
        {
            out.append("...(").append(untrusted.length()).append(" chars)");
        }
        return out.toString();
    }
}
