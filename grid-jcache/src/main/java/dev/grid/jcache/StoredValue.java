package dev.grid.jcache;

import javax.cache.CacheException;
import java.nio.ByteBuffer;

/**
 * What a JCache entry stores in its Grid cache: a format byte, the time the entry expires at (epoch milliseconds,
 * {@link #ETERNAL} for never) and the serialized value; or, in a store-by-reference cache, the expiry and the value
 * object itself ({@link #reference}), never serialized. Keeping the expiry beside the value lets every JCache
 * {@code ExpiryPolicy} be applied exactly (a duration per creation, access and update, zero meaning "expired now"),
 * and a compare-and-set on the whole stored form makes each JCache operation atomic on the key's primary.
 * Immutable; {@link #bytes()} must not be modified.
 */
final class StoredValue
{
    /** Expires at: never. */
    static final long ETERNAL = Long.MAX_VALUE;

    private static final byte FORMAT = 1;
    private static final int HEADER_BYTES = 1 + Long.BYTES;

    private final byte[] bytes;
    private final long expireAtMs;
    private Object value;

    private StoredValue(final byte[] bytes, final long expireAtMs, final Object value)
    {
        this.bytes = bytes;
        this.expireAtMs = expireAtMs;
        this.value = value;
    }

    /**
     * @param serializedValue the value's serialized bytes.
     * @param value           the value itself, kept so it need not be decoded again.
     * @param expireAtMs      epoch milliseconds or {@link #ETERNAL}.
     * @return the stored form.
     */
    static StoredValue of(final byte[] serializedValue, final Object value, final long expireAtMs)
    {
        final byte[] bytes = new byte[HEADER_BYTES + serializedValue.length];
        bytes[0] = FORMAT;
        ByteBuffer.wrap(bytes).putLong(1, expireAtMs);
        System.arraycopy(serializedValue, 0, bytes, HEADER_BYTES, serializedValue.length);
        return new StoredValue(bytes, expireAtMs, value);
    }

    /**
     * @param value      the value object, kept by reference.
     * @param expireAtMs epoch milliseconds or {@link #ETERNAL}.
     * @return the stored form of a store-by-reference cache.
     */
    static StoredValue reference(final Object value, final long expireAtMs)
    {
        return new StoredValue(null, expireAtMs, value);
    }

    /**
     * @param bytes as read from the Grid cache, or null.
     * @return the stored form, or null for null.
     * @throws CacheException if the bytes were not written by this adapter.
     */
    static StoredValue parse(final byte[] bytes)
    {
        if (bytes == null)
        {
            return null;
        }
        if (bytes.length < HEADER_BYTES || bytes[0] != FORMAT)
        {
            throw new CacheException("a stored value of " + bytes.length + " bytes is not in the JCache format " +
                FORMAT + ": was this cache written through Grid's own API?");
        }
        return new StoredValue(bytes, ByteBuffer.wrap(bytes).getLong(1), null);
    }

    /**
     * @return the stored form; not to be modified; null for a reference.
     */
    byte[] bytes()
    {
        return bytes;
    }

    /**
     * @return epoch milliseconds the entry expires at, or {@link #ETERNAL}.
     */
    long expireAtMs()
    {
        return expireAtMs;
    }

    /**
     * @param nowMs epoch milliseconds.
     * @return true if the entry has expired by then.
     */
    boolean expiredAt(final long nowMs)
    {
        return expireAtMs != ETERNAL && expireAtMs <= nowMs;
    }

    /**
     * @param serialization decodes the value the first time it is asked for.
     * @return the value.
     */
    Object value(final Serialization serialization)
    {
        if (value == null)
        {
            value = serialization.decode(bytes, HEADER_BYTES);
        }
        return value;
    }

    /**
     * @param newExpireAtMs the new expiry.
     * @return the same value with another expiry.
     */
    StoredValue withExpiry(final long newExpireAtMs)
    {
        if (bytes == null)
        {
            return reference(value, newExpireAtMs);
        }
        final byte[] copy = bytes.clone();
        ByteBuffer.wrap(copy).putLong(1, newExpireAtMs);
        return new StoredValue(copy, newExpireAtMs, value);
    }
}
