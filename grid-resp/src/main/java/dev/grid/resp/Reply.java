package dev.grid.resp;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A reply to a Redis command, written in the protocol version its connection speaks: RESP2, or RESP3 after
 * {@code HELLO 3} (which adds nulls, maps and doubles; in RESP2 a null is a null bulk string or array, a map a flat
 * array of keys and values, a double a bulk string). Immutable.
 */
abstract class Reply
{
    private static final byte[] CRLF = {'\r', '\n'};

    /** +OK */
    static final Reply OK = simple("OK");
    /** A null bulk string ($-1 in RESP2). */
    static final Reply NIL = new Reply()
    {
        void write(final ByteBuf out, final int protocol)
        {
            out.writeBytes(protocol >= 3 ? "_\r\n".getBytes(StandardCharsets.US_ASCII) :
                "$-1\r\n".getBytes(StandardCharsets.US_ASCII));
        }
    };
    /** A null array (*-1 in RESP2): an aborted EXEC. */
    static final Reply NIL_ARRAY = new Reply()
    {
        void write(final ByteBuf out, final int protocol)
        {
            out.writeBytes(protocol >= 3 ? "_\r\n".getBytes(StandardCharsets.US_ASCII) :
                "*-1\r\n".getBytes(StandardCharsets.US_ASCII));
        }
    };

    /**
     * @param out      to write to.
     * @param protocol 2 or 3.
     */
    abstract void write(ByteBuf out, int protocol);

    /** @return whether this reply is an error (for EXEC's and the statistics' sake). */
    boolean isError()
    {
        return false;
    }

    static Reply simple(final String text)
    {
        final byte[] line = ("+" + text + "\r\n").getBytes(StandardCharsets.UTF_8);
        return new Reply()
        {
            void write(final ByteBuf out, final int protocol)
            {
                out.writeBytes(line);
            }
        };
    }

    /**
     * @param line the error line, starting with its code: {@code ERR ...}, {@code WRONGTYPE ...}, {@code NOAUTH ...}.
     * @return the error reply; newlines in the line become spaces, as the protocol requires.
     */
    static Reply error(final String line)
    {
        final byte[] bytes = ("-" + line.replace('\r', ' ').replace('\n', ' ') + "\r\n")
            .getBytes(StandardCharsets.UTF_8);
        return new Reply()
        {
            void write(final ByteBuf out, final int protocol)
            {
                out.writeBytes(bytes);
            }

            boolean isError()
            {
                return true;
            }

            public String toString()
            {
                return line;
            }
        };
    }

    static Reply integer(final long value)
    {
        return new Reply()
        {
            void write(final ByteBuf out, final int protocol)
            {
                out.writeByte(':');
                writeDecimal(out, value);
                out.writeBytes(CRLF);
            }
        };
    }

    static Reply bulk(final byte[] bytes)
    {
        if (bytes == null)
        {
            return NIL;
        }
        return new Reply()
        {
            void write(final ByteBuf out, final int protocol)
            {
                writeBulk(out, bytes);
            }
        };
    }

    static Reply bulk(final String text)
    {
        return bulk(text.getBytes(StandardCharsets.UTF_8));
    }

    /** A verbatim-free double: a bulk string in RESP2, {@code ,} in RESP3. */
    static Reply number(final String decimal)
    {
        final byte[] bytes = decimal.getBytes(StandardCharsets.US_ASCII);
        return new Reply()
        {
            void write(final ByteBuf out, final int protocol)
            {
                if (protocol >= 3)
                {
                    out.writeByte(',').writeBytes(bytes).writeBytes(CRLF);
                }
                else
                {
                    writeBulk(out, bytes);
                }
            }
        };
    }

    static Reply array(final List<Reply> items)
    {
        return new Reply()
        {
            void write(final ByteBuf out, final int protocol)
            {
                out.writeByte('*');
                writeDecimal(out, items.size());
                out.writeBytes(CRLF);
                for (final Reply item : items)
                {
                    item.write(out, protocol);
                }
            }
        };
    }

    /**
     * @param keysAndValues alternating keys and values.
     * @return a map in RESP3, a flat array in RESP2.
     */
    static Reply map(final List<Reply> keysAndValues)
    {
        return new Reply()
        {
            void write(final ByteBuf out, final int protocol)
            {
                out.writeByte(protocol >= 3 ? '%' : '*');
                writeDecimal(out, protocol >= 3 ? keysAndValues.size() / 2 : keysAndValues.size());
                out.writeBytes(CRLF);
                for (final Reply item : keysAndValues)
                {
                    item.write(out, protocol);
                }
            }
        };
    }

    private static void writeBulk(final ByteBuf out, final byte[] bytes)
    {
        out.writeByte('$');
        writeDecimal(out, bytes.length);
        out.writeBytes(CRLF);
        out.writeBytes(bytes);
        out.writeBytes(CRLF);
    }

    private static void writeDecimal(final ByteBuf out, final long value)
    {
        out.writeCharSequence(Long.toString(value), StandardCharsets.US_ASCII);
    }
}
