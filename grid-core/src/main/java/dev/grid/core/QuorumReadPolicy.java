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
     * A member without quorum answers a read from its own up-to-date-as-of-the-split copy of the key's partition
     * (primary or backup), flagged as served without quorum ({@link ReadResult#withoutQuorum()}); a member holding no
     * such copy refuses with {@link ErrorCode#NO_QUORUM}.
     */
    SERVE_LOCAL
}
