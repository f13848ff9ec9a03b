package dev.grid.node;

import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;

import java.nio.charset.StandardCharsets;

/**
 * The cache name a connection's previous request named: a connection usually names the same cache request after
 * request, and reading it as the same {@code String} allocates nothing and keeps its hash computed for the lookup
 * that follows.
 * <p>
 * <b>Threading:</b> the thread that reads the connection's frames.
 */
final class LastCacheName
{
    private String name;
    private byte[] utf8;

    /**
     * @return the cache name the request names next.
     * @throws MalformedMessageException if it is missing or null.
     */
    String read(final MessageReader reader)
    {
        final String read = reader.readString("cache", name, utf8);
        if (read == null)
        {
            throw new MalformedMessageException("field 'cache' must not be null");
        }
        if (read != name)
        {
            name = read;
            utf8 = read.getBytes(StandardCharsets.UTF_8);
        }
        return read;
    }
}
