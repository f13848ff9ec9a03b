package dev.grid.resp;

/**
 * A command's error in Redis's own form: the message is the whole error line, starting with its code
 * ({@code ERR}, {@code WRONGTYPE}, {@code NOAUTH}, {@code WRONGPASS}, {@code EXECABORT}, {@code NOPROTO}).
 */
final class RespException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param line the error line, e.g. {@code "ERR syntax error"}.
     */
    RespException(final String line)
    {
        super(line, null, false, false);
    }
}
