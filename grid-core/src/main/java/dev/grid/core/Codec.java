package dev.grid.core;

/**
 * Turns values of one type into bytes and back. Keys are hashed to partitions by their encoded bytes, so a key codec
 * must be deterministic: equal keys encode to equal bytes, on every JVM and in the thin client.
 * <p>
 * Grid never uses Java serialization; applications register a codec per cache for keys and for values. Codecs must
 * be stateless or thread-safe: they run on user threads.
 *
 * @param <T> the type of value.
 */
public interface Codec<T>
{
    /**
     * Encode a value.
     *
     * @param value to encode, never null.
     * @return the encoded bytes; the caller may keep them.
     * @throws CodecException if the value cannot be encoded.
     */
    byte[] encode(T value);

    /**
     * Decode a value from a range of bytes. The array may hold more than the encoding (a whole message, which the
     * thin client decodes from without copying): read only the range, and keep no reference to the array.
     *
     * @param bytes  holding the encoding.
     * @param offset of the first byte.
     * @param length of the encoding in bytes.
     * @return the decoded value.
     * @throws CodecException naming the expected form if the bytes do not hold one.
     */
    T decode(byte[] bytes, int offset, int length);

    /**
     * Decode a value from a whole array.
     *
     * @param bytes holding exactly the encoding.
     * @return the decoded value.
     * @throws CodecException naming the expected form if the bytes do not hold one.
     */
    default T decode(final byte[] bytes)
    {
        return decode(bytes, 0, bytes.length);
    }

    /**
     * A short name for messages and configuration files, e.g. {@code "string"}.
     *
     * @return the name.
     */
    String name();
}
