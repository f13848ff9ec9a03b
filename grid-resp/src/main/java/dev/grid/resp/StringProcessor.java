package dev.grid.resp;

import dev.grid.core.EntryProcessor;
import dev.grid.core.MutableEntry;

import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The Redis string commands that read and write one key at once (SET with its options, INCRBY, INCRBYFLOAT, APPEND,
 * GETDEL, GETEX, EXPIRE and its family, PERSIST, TTL), as one entry processor every member registers: it runs on the
 * key's primary, so each command is atomic and its write replicated like any other, expiry time included (decided by
 * the primary's clock). Arguments and results are small binary forms built by {@link Op} and read by
 * {@link #decodeResult}. Stateless and thread-safe.
 */
final class StringProcessor implements EntryProcessor<byte[], byte[]>
{
    /** The name members register it under. */
    static final String NAME = "grid.resp.string";

    /** SET only if absent. */
    static final int NX = 1;
    /** SET only if present. */
    static final int XX = 2;
    /** SET answers the old value. */
    static final int GET = 4;
    /** SET keeps the expiry time. */
    static final int KEEPTTL = 8;
    /** EXPIRE only if the key has no expiry time. */
    static final int EXPIRE_NX = 16;
    /** EXPIRE only if it has one. */
    static final int EXPIRE_XX = 32;
    /** EXPIRE only to a later time. */
    static final int EXPIRE_GT = 64;
    /** EXPIRE only to an earlier time. */
    static final int EXPIRE_LT = 128;

    /** How an expiry argument is meant. */
    enum Expiry
    {
        /** No expiry time: the value never expires (SET without options clears one). */
        NONE,
        /** Milliseconds from the primary's now. */
        RELATIVE_MS,
        /** Epoch milliseconds. */
        ABSOLUTE_MS,
        /** Leave the expiry time as it is (GETEX without options). */
        KEEP
    }

    /** The operations, by their code in an argument's first byte. */
    enum Op
    {
        SET('S'), INCRBY('I'), INCRBYFLOAT('F'), APPEND('A'), GETDEL('D'), GETEX('X'), EXPIRE('E'), PERSIST('P'),
        TTL('T');

        final byte code;

        Op(final char code)
        {
            this.code = (byte)code;
        }

        /**
         * @param flags  of the operation.
         * @param expiry how {@code ms} is meant.
         * @param ms     the expiry argument, or a delta for INCRBY.
         * @param bytes  the value, operand or float delta; may be empty.
         * @return the argument to invoke the processor with.
         */
        byte[] argument(final int flags, final Expiry expiry, final long ms, final byte[] bytes)
        {
            return ByteBuffer.allocate(1 + 1 + 1 + Long.BYTES + bytes.length).put(code).put((byte)flags)
                .put((byte)expiry.ordinal()).putLong(ms).put(bytes).array();
        }
    }

    /** A result: nil, OK, an integer, a bulk string, or an error line. */
    record Result(char kind, long integer, byte[] bytes)
    {
        static final Result NIL = new Result('n', 0, null);
        static final Result OK = new Result('o', 0, null);
    }

    @Override
    public byte[] process(final MutableEntry<byte[], byte[]> entry, final byte[] argument)
    {
        final ByteBuffer in = ByteBuffer.wrap(argument);
        final byte code = in.get();
        final int flags = in.get() & 0xFF;
        final Expiry expiry = Expiry.values()[in.get()];
        final long ms = in.getLong();
        final byte[] bytes = Arrays.copyOfRange(argument, in.position(), argument.length);
        final byte[] current = entry.value();
        final Result result = switch (code)
        {
            case 'S' -> set(entry, current, flags, expiry, ms, bytes);
            case 'I' -> incrementBy(entry, current, ms);
            case 'F' -> incrementByFloat(entry, current, new String(bytes, StandardCharsets.US_ASCII));
            case 'A' -> append(entry, current, bytes);
            case 'D' -> current == null ? Result.NIL : removed(entry, current);
            case 'X' -> current == null ? Result.NIL : getAndExpire(entry, current, expiry, ms);
            case 'E' -> current == null ? integer(0) : expire(entry, flags, expiry, ms);
            case 'P' -> current == null || entry.expireAtMs() == 0 ? integer(0) : persist(entry);
            case 'T' -> current == null ? integer(-2) : integer(entry.expireAtMs() == 0 ? -1 :
                Math.max(0, entry.expireAtMs() - entry.nowMs()));
            default -> error("ERR unknown string operation " + code);
        };
        return encode(result);
    }

    private static Result set(final MutableEntry<byte[], byte[]> entry, final byte[] current, final int flags,
        final Expiry expiry, final long ms, final byte[] value)
    {
        final Result answer = (flags & GET) != 0 ? (current == null ? Result.NIL : bulk(current)) : Result.OK;
        if ((flags & NX) != 0 && current != null || (flags & XX) != 0 && current == null)
        {
            return (flags & GET) != 0 ? answer : Result.NIL;
        }
        final long keptExpireAtMs = entry.expireAtMs();
        if (expiry == Expiry.RELATIVE_MS && ms > Long.MAX_VALUE - entry.nowMs())
        {
            return error("ERR invalid expire time in 'set' command");
        }
        final long expireAtMs = switch (expiry)
        {
            case NONE -> 0;
            case KEEP -> keptExpireAtMs;
            case RELATIVE_MS -> entry.nowMs() + ms;
            case ABSOLUTE_MS -> ms;
        };
        if (expiry != Expiry.NONE && expiry != Expiry.KEEP && expireAtMs <= entry.nowMs())
        {
            entry.remove(); // an expiry time already past: the key is gone at once, as in Redis
            return answer;
        }
        entry.setValue(value);
        entry.setExpireAtMs(expireAtMs);
        return answer;
    }

    private static Result incrementBy(final MutableEntry<byte[], byte[]> entry, final byte[] current,
        final long delta)
    {
        final long value;
        try
        {
            value = current == null ? 0 : parseLong(current);
        }
        catch (final NumberFormatException ex)
        {
            return error("ERR value is not an integer or out of range");
        }
        final long sum = value + delta;
        if (((value ^ sum) & (delta ^ sum)) < 0)
        {
            return error("ERR increment or decrement would overflow");
        }
        keepExpiry(entry, Long.toString(sum).getBytes(StandardCharsets.US_ASCII));
        return integer(sum);
    }

    private static Result incrementByFloat(final MutableEntry<byte[], byte[]> entry, final byte[] current,
        final String delta)
    {
        final double sum;
        try
        {
            sum = (current == null ? 0 : parseDouble(new String(current, StandardCharsets.US_ASCII))) +
                parseDouble(delta);
        }
        catch (final NumberFormatException ex)
        {
            return error("ERR value is not a valid float");
        }
        if (Double.isNaN(sum) || Double.isInfinite(sum))
        {
            return error("ERR increment would produce NaN or Infinity");
        }
        final byte[] bytes = formatDouble(sum).getBytes(StandardCharsets.US_ASCII);
        keepExpiry(entry, bytes);
        return bulk(bytes);
    }

    /**
     * @param text a Redis float: what {@link Double#parseDouble} reads, finite, without spaces.
     * @return its value, computed in double precision as Redis's long double is, never with unbounded digits.
     * @throws NumberFormatException if it is not one.
     */
    static double parseDouble(final String text)
    {
        if (text.isEmpty() || text.length() > 5_120 || Character.isWhitespace(text.charAt(0)) ||
            Character.isWhitespace(text.charAt(text.length() - 1)))
        {
            throw new NumberFormatException(text);
        }
        final double value = Double.parseDouble(text);
        if (Double.isNaN(value) || Double.isInfinite(value))
        {
            throw new NumberFormatException(text);
        }
        return value;
    }

    /** @return a double as INCRBYFLOAT answers it: 17 significant digits at most, no trailing zeros, no exponent. */
    static String formatDouble(final double value)
    {
        return new BigDecimal(value).round(new MathContext(17)).stripTrailingZeros().toPlainString();
    }

    private static Result append(final MutableEntry<byte[], byte[]> entry, final byte[] current, final byte[] tail)
    {
        final byte[] joined = current == null ? tail : Arrays.copyOf(current, current.length + tail.length);
        if (current != null)
        {
            System.arraycopy(tail, 0, joined, current.length, tail.length);
        }
        keepExpiry(entry, joined);
        return integer(joined.length);
    }

    private static Result removed(final MutableEntry<byte[], byte[]> entry, final byte[] current)
    {
        entry.remove();
        return bulk(current);
    }

    private static Result getAndExpire(final MutableEntry<byte[], byte[]> entry, final byte[] current,
        final Expiry expiry, final long ms)
    {
        switch (expiry)
        {
        case KEEP -> { }
        case NONE ->
        {
            if (entry.expireAtMs() != 0)
            {
                entry.setExpireAtMs(0); // PERSIST writes only when there is an expiry time to clear
            }
        }
        case RELATIVE_MS, ABSOLUTE_MS ->
        {
            if (expiry == Expiry.RELATIVE_MS && ms > Long.MAX_VALUE - entry.nowMs())
            {
                return error("ERR invalid expire time in 'getex' command");
            }
            final long expireAtMs = expiry == Expiry.RELATIVE_MS ? entry.nowMs() + ms : ms;
            if (expireAtMs <= entry.nowMs())
            {
                entry.remove();
            }
            else
            {
                entry.setExpireAtMs(expireAtMs);
            }
        }
        default -> throw new IllegalStateException("unknown expiry " + expiry);
        }
        return bulk(current);
    }

    private static Result expire(final MutableEntry<byte[], byte[]> entry, final int flags, final Expiry expiry,
        final long ms)
    {
        final long currentMs = entry.expireAtMs();
        if (expiry == Expiry.RELATIVE_MS && ms > Long.MAX_VALUE - entry.nowMs())
        {
            return error("ERR invalid expire time in 'expire' command");
        }
        final long expireAtMs = expiry == Expiry.RELATIVE_MS ? entry.nowMs() + ms : ms;
        // No expiry time counts as an infinite one for GT and LT, as in Redis.
        if ((flags & EXPIRE_NX) != 0 && currentMs != 0 || (flags & EXPIRE_XX) != 0 && currentMs == 0 ||
            (flags & EXPIRE_GT) != 0 && (currentMs == 0 || expireAtMs <= currentMs) ||
            (flags & EXPIRE_LT) != 0 && currentMs != 0 && expireAtMs >= currentMs)
        {
            return integer(0);
        }
        if (expireAtMs <= entry.nowMs())
        {
            entry.remove();
        }
        else
        {
            entry.setExpireAtMs(expireAtMs);
        }
        return integer(1);
    }

    private static Result persist(final MutableEntry<byte[], byte[]> entry)
    {
        entry.setExpireAtMs(0);
        return integer(1);
    }

    /** Write a new value, keeping the key's expiry time (INCR, APPEND and their kind do not clear it). */
    private static void keepExpiry(final MutableEntry<byte[], byte[]> entry, final byte[] value)
    {
        final long expireAtMs = entry.expireAtMs();
        entry.setValue(value);
        entry.setExpireAtMs(expireAtMs);
    }

    /**
     * @param bytes a Redis integer string: optional '-', digits, no leading zeros or spaces, within a long.
     * @return its value.
     * @throws NumberFormatException if it is not one.
     */
    static long parseLong(final byte[] bytes)
    {
        final String text = new String(bytes, StandardCharsets.US_ASCII);
        if (text.isEmpty() || text.length() > 20 || (text.length() > 1 && (text.startsWith("0") ||
            text.startsWith("-0"))) || text.equals("-") || !text.matches("-?[0-9]+"))
        {
            throw new NumberFormatException(text);
        }
        return Long.parseLong(text);
    }

    private static Result integer(final long value)
    {
        return new Result('i', value, null);
    }

    private static Result bulk(final byte[] bytes)
    {
        return new Result('b', 0, bytes);
    }

    private static Result error(final String message)
    {
        return new Result('e', 0, message.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] encode(final Result result)
    {
        return switch (result.kind())
        {
            case 'n', 'o' -> new byte[] {(byte)result.kind()};
            case 'i' -> ByteBuffer.allocate(1 + Long.BYTES).put((byte)'i').putLong(result.integer()).array();
            default -> ByteBuffer.allocate(1 + result.bytes().length).put((byte)result.kind()).put(result.bytes())
                .array();
        };
    }

    /**
     * @param bytes a result the processor returned.
     * @return it decoded.
     */
    static Result decodeResult(final byte[] bytes)
    {
        return switch (bytes[0])
        {
            case 'n' -> Result.NIL;
            case 'o' -> Result.OK;
            case 'i' -> new Result('i', ByteBuffer.wrap(bytes, 1, Long.BYTES).getLong(), null);
            default -> new Result((char)bytes[0], 0, Arrays.copyOfRange(bytes, 1, bytes.length));
        };
    }
}
