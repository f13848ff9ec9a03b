package dev.grid.core.internal.cluster;

import dev.grid.core.engine.CacheDescriptor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * How values of a cache with an expiry policy are stored: {@code [i64 expireAtMs, little-endian][the value]}, 0 for an
 * entry that never expires. The expiry time is part of the stored bytes, so replication, the WAL, checkpoints and
 * both kinds of rebalance carry it unchanged and copies stay equal; only where values are made (the primary, a
 * transaction's coordinator) and where they are read does anyone look inside. Values of a cache without a policy are
 * stored as they are. Stateless.
 */
final class StoredValues
{
    /** The bytes an expiry time takes in front of a value. */
    static final int HEADER = 8;

    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private StoredValues()
    {
    }

    /** @return whether the cache's stored values carry an expiry time. */
    static boolean expiring(final CacheDescriptor cache)
    {
        return cache.expiry() != null;
    }

    /** @return the value as stored, with its expiry time (0: never). */
    static byte[] wrap(final byte[] value, final long expireAtMs)
    {
        final byte[] stored = new byte[HEADER + value.length];
        LONG.set(stored, 0, expireAtMs);
        System.arraycopy(value, 0, stored, HEADER, value.length);
        return stored;
    }

    /** @return a stored value's expiry time (0: never). */
    static long expireAt(final byte[] stored)
    {
        return (long)LONG.get(stored, 0);
    }

    /** @return whether a stored value has expired at {@code nowMs}. */
    static boolean expired(final byte[] stored, final long nowMs)
    {
        final long expireAtMs = expireAt(stored);
        return expireAtMs != 0 && expireAtMs <= nowMs;
    }

    /** @return the value without its expiry time. */
    static byte[] unwrap(final byte[] stored)
    {
        return Arrays.copyOfRange(stored, HEADER, stored.length);
    }

    /**
     * What a reader sees of a stored value.
     *
     * @param cache  the value's cache.
     * @param stored the stored value, or null.
     * @param nowMs  the reader's wall clock.
     * @return the value (without expiry time), or null if absent or expired.
     */
    static byte[] visible(final CacheDescriptor cache, final byte[] stored, final long nowMs)
    {
        if (stored == null || !expiring(cache))
        {
            return stored;
        }
        return expired(stored, nowMs) ? null : unwrap(stored);
    }
}
