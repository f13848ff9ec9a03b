package dev.grid.core.engine;

/**
 * A merge operator over encoded keys and values, as the primary runs it. The embedding layer adapts a typed
 * {@link dev.grid.core.MergeOperator} and the cache's codecs to this. Runs on the engine's thread: must be quick and
 * must not block.
 */
@FunctionalInterface
public interface BytesMergeOperator
{
    /**
     * @param key     encoded key.
     * @param current encoded current value, or null if absent.
     * @param operand encoded operand.
     * @return the encoded new value, or null to delete the key.
     */
    byte[] merge(byte[] key, byte[] current, byte[] operand);
}
