package dev.grid.resp;

import java.util.Arrays;

/**
 * A key's bytes as a map key (byte arrays compare by identity). Immutable: the bytes must not change.
 *
 * @param bytes the key.
 */
record RespKey(byte[] bytes)
{
    @Override
    public boolean equals(final Object other)
    {
        return other instanceof RespKey key && Arrays.equals(bytes, key.bytes);
    }

    @Override
    public int hashCode()
    {
        return Arrays.hashCode(bytes);
    }
}
