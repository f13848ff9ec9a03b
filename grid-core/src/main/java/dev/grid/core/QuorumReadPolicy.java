package dev.grid.core;

/**
 * What a member that does not hold the cluster's quorum ({@link ErrorCode#NO_QUORUM}) does with a read of a cache.
 * Writes are refused without quorum whatever the policy: a minority never acknowledges a write.
 * <p>
 * A member without quorum may be cut off from a majority that has since replaced it as primary and changed the
 * key: what it holds may be stale, and it cannot tell. {@link #REFUSE} keeps every answer current (the thin client
 * then retries on another member); {@link #SERVE_LOCAL} keeps reads available through a split for caches that prefer
 * an old value to none, and says so: {@link Cache#read(Object)} flags such an answer.
 */
public enum QuorumReadPolicy
{
    /** Reads fail with {@link ErrorCode#NO_QUORUM} like writes (the default). */
    REFUSE,
    /**
     * A member without quorum answers key reads ({@link Cache#get}, {@link Cache#containsKey}, each key of
     * {@link Cache#getAll}, {@link Cache#read}) from its own OWNING copy of the key's partition (primary or backup),
     * current as of when it lost quorum; {@link Cache#read} flags such an answer ({@link ReadResult#withoutQuorum()}),
     * the others return it as is. A key it holds no such copy of is refused with {@link ErrorCode#NO_QUORUM}, and so
     * are {@link Cache#size()} and reads inside transactions.
     */
    SERVE_LOCAL
}
