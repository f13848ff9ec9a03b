package dev.grid.core.engine;

/**
 * An entry processor on encoded keys and values, as the engine runs it on a partition's primary for
 * {@link OpType#INVOKE}: the host resolves a processor registered by name on the member into this, with the cache's
 * codecs around it.
 * <p>
 * <b>Threading:</b> called on the engine's thread; it must not block, and must be a pure function of its arguments
 * (a retried invocation after a primary's failure may run it again on the new primary, whose copy holds the same
 * value).
 */
@FunctionalInterface
public interface BytesEntryProcessor
{
    /**
     * What a processor decided for an entry.
     *
     * @param write  whether the entry changes (false: the store is left as it is and nothing is replicated).
     * @param value  the entry's new encoded value when {@code write}; null removes the key.
     * @param result the encoded result for the caller, or null.
     */
    record Processed(boolean write, byte[] value, byte[] result)
    {
    }

    /**
     * @param key      the encoded key.
     * @param current  the encoded current value, or null if absent.
     * @param argument the encoded argument the caller passed, or null.
     * @return what to do with the entry and what to answer.
     */
    Processed process(byte[] key, byte[] current, byte[] argument);
}
