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
     * @param write      whether the entry changes (false: the store is left as it is and nothing is replicated).
     * @param value      the entry's new encoded value when {@code write}; null removes the key.
     * @param result     the encoded result for the caller, or null.
     * @param expireAtMs when the written value expires, epoch milliseconds (0: never), or {@link #BY_POLICY} for the
     *                   cache's expiry policy to decide as for any write; only a cache with an expiry policy stores
     *                   an expiry time.
     */
    record Processed(boolean write, byte[] value, byte[] result, long expireAtMs)
    {
        /** An {@link #expireAtMs} that leaves the expiry to the cache's policy. */
        public static final long BY_POLICY = -1;

        /**
         * A decision that leaves the expiry to the cache's policy.
         *
         * @param write  whether the entry changes.
         * @param value  the new encoded value; null removes the key.
         * @param result the encoded result, or null.
         */
        public Processed(final boolean write, final byte[] value, final byte[] result)
        {
            this(write, value, result, BY_POLICY);
        }
    }

    /**
     * @param key               the encoded key.
     * @param current           the encoded current value, or null if absent.
     * @param argument          the encoded argument the caller passed, or null.
     * @param currentExpireAtMs when the current value expires, epoch milliseconds; 0 if never or absent.
     * @param nowMs             the primary's wall clock, epoch milliseconds, by which expiry times are decided.
     * @return what to do with the entry and what to answer.
     */
    Processed process(byte[] key, byte[] current, byte[] argument, long currentExpireAtMs, long nowMs);
}
