package dev.grid.client.archfixture;

import dev.grid.core.codec.MessageWriter;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A planted violation for {@code ArchitectureTest}: a thin-client class that wraps a frame in Agrona's buffer and
 * encodes with the members' codec, as the client did before it had its own.
 */
public final class UsesAgrona
{
    private UsesAgrona()
    {
    }

    /** @return a frame built with member code. */
    public static UnsafeBuffer frame()
    {
        final MessageWriter writer = new MessageWriter().writeInt(1);
        return new UnsafeBuffer(writer.buffer(), 0, writer.length());
    }
}
