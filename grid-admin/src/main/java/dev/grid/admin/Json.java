package dev.grid.admin;

import java.util.Collection;
import java.util.Map;

/**
 * The admin tool's JSON output: maps, lists, strings, numbers, booleans and null, written compactly with keys in the
 * maps' order. Enough for scripts and the web console (grid-console); not a general JSON library.
 */
public final class Json
{
    private Json()
    {
    }

    /**
     * @param value a map, list, string, number, boolean or null, nested as deep as needed.
     * @return it as compact JSON.
     */
    public static String write(final Object value)
    {
        final StringBuilder out = new StringBuilder();
        write(out, value);
        return out.toString();
    }

    private static void write(final StringBuilder out, final Object value)
    {
        if (value == null)
        {
            out.append("null");
        }
        else if (value instanceof Map<?, ?> map)
        {
            out.append('{');
            boolean first = true;
            for (final Map.Entry<?, ?> e : map.entrySet())
            {
                out.append(first ? "" : ",");
                first = false;
                string(out, String.valueOf(e.getKey()));
                out.append(':');
                write(out, e.getValue());
            }
            out.append('}');
        }
        else if (value instanceof Collection<?> list)
        {
            out.append('[');
            boolean first = true;
            for (final Object item : list)
            {
                out.append(first ? "" : ",");
                first = false;
                write(out, item);
            }
            out.append(']');
        }
        else if (value instanceof Number || value instanceof Boolean)
        {
            out.append(value);
        }
        else
        {
            string(out, value.toString());
        }
    }

    private static void string(final StringBuilder out, final String text)
    {
        out.append('"');
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            switch (c)
            {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default ->
                {
                    if (c < 0x20)
                    {
                        out.append(String.format("\\u%04x", (int)c));
                    }
                    else
                    {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
