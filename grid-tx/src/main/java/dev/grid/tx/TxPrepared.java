package dev.grid.tx;

import dev.grid.core.engine.TxPartKey;

/**
 * A prepare this member holds for a partition it is not primary of (a backup's, or its own recovered), held by
 * {@link TxManager}.
 *
 * @param replayed whether it was recovered from the WAL (a previous life of this member): it may be stale, its
 *                 transaction finished by the others while this member was away.
 */
record TxPrepared(TxPartKey key, long priority, byte[][] keys, byte[][] values, long[] participants,
    long sinceNs, boolean replayed)
{
}
