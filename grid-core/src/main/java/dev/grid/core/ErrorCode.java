package dev.grid.core;

/**
 * Every outcome a caller of Grid can act on, with a stable numeric code grouped by subsystem.
 * <p>
 * The code of a constant never changes once released: the thin client, the admin tool and logs carry it. Codes are
 * {@code group * 1000 + number}; {@link #group()} names the subsystem. Exceptions of the {@link GridException}
 * hierarchy carry one of these.
 */
public enum ErrorCode
{
    /** A configuration value is missing or out of range; the message names the field. */
    CONFIGURATION_INVALID(Group.CONFIGURATION, 1),
    /** No cache of that name exists on this member. */
    CACHE_NOT_FOUND(Group.CACHE, 1),
    /** The cache was destroyed while, or before, the operation ran. */
    CACHE_DESTROYED(Group.CACHE, 2),
    /** A cache of that name already exists with a different configuration. */
    CACHE_ALREADY_EXISTS(Group.CACHE, 3),
    /** The operation did not complete within its timeout; the message says what it waited for. */
    OPERATION_TIMEOUT(Group.OPERATION, 1),
    /** The member is stopping and refused or abandoned the operation. */
    NODE_STOPPING(Group.OPERATION, 2),
    /** The cache's merge operator is not registered on the primary, or it threw. */
    MERGE_FAILED(Group.OPERATION, 3),
    /** The cluster removed this member (it was suspected failed); it is joining again and failed its operations. */
    MEMBER_REJOINING(Group.OPERATION, 4),
    /**
     * The key's partition is lost (every owner of it left) and the cache's {@link PartitionLossPolicy} refuses the
     * operation; nothing was applied. Reset the partition once its owners are back. Also, whatever the policy, while a
     * cluster restarted from its data directories waits for the members of its newest ownership table (the message
     * says so): it serves once they are back, with no reset, or once activated without them.
     */
    PARTITION_LOST(Group.OPERATION, 5),
    /**
     * A key and its value (or the value a merge made, or a transaction's writes together) are longer than the
     * member's {@code entry.max.bytes}; the message names both sizes. Nothing was stored.
     */
    VALUE_TOO_LARGE(Group.OPERATION, 6),
    /**
     * The entry processor an invocation names is not registered on the key's primary, or it threw; the entry is
     * unchanged.
     */
    ENTRY_PROCESSOR_FAILED(Group.OPERATION, 7),
    /**
     * The key's primary holds as much cache data as its memory bound allows ({@code cache.memory.max.bytes}) and the
     * cache evicts nothing: the write was refused and nothing was stored; reads and removes are still served. Retry
     * after removing data, or give members more memory.
     */
    MEMORY_BOUND_EXCEEDED(Group.OPERATION, 8),
    /** Bytes could not be encoded to or decoded from the declared type. */
    CODEC_FAILED(Group.CODEC, 1),
    /** A partition copy tracks more out-of-order counter ranges than its bound allows. */
    COUNTER_GAP_LIMIT_EXCEEDED(Group.COUNTER, 1),
    /** An applied counter range overlaps a range applied before: copies have diverged. */
    COUNTER_RANGE_CONFLICT(Group.COUNTER, 2),
    /** Serialised counter state is malformed. */
    COUNTER_STATE_CORRUPT(Group.COUNTER, 3),
    /** No seed answered within the join timeout. */
    JOIN_FAILED(Group.MEMBERSHIP, 1),
    /** The cluster refused the join (another cluster name, or the member id is taken by a live member). */
    JOIN_REJECTED(Group.MEMBERSHIP, 2),
    /**
     * A baseline change was refused: it named a member that is neither running nor in the baseline, removed one that
     * is not in it, or would leave the baseline empty. The message says which. Nothing changed.
     */
    BASELINE_INVALID(Group.MEMBERSHIP, 3),
    /**
     * The member that took the request does not hold a quorum (a majority of the baseline's members, or
     * {@code cluster.min.members} members, heard from within the failure-detection timeout): it may be on the minority
     * side of a network split or just resumed from a pause. Nothing was applied; a member of the majority side can
     * take the request (the thin client fails over by itself).
     */
    NO_QUORUM(Group.MEMBERSHIP, 4),
    /**
     * An operator deactivated the cluster ({@code grid-admin deactivate}) to stop it as a whole: cache operations and
     * transactions are refused until {@code grid-admin activate} or a restart. Not retried by the thin client.
     */
    CLUSTER_INACTIVE(Group.MEMBERSHIP, 5),
    /** The data directory is held by another running member (its lock file is locked). */
    DATA_DIRECTORY_LOCKED(Group.PERSISTENCE, 1),
    /** The data directory was written by another member identity or another cluster. */
    DATA_DIRECTORY_MISMATCH(Group.PERSISTENCE, 2),
    /** A WAL record before the end of the log fails its checksum or is malformed; the message names file and index. */
    WAL_CORRUPT(Group.PERSISTENCE, 3),
    /** Reading or writing persistent state failed (I/O error, disk full); the message names the file. */
    PERSISTENCE_IO_FAILED(Group.PERSISTENCE, 4),
    /** A committed checkpoint's file fails its checksum or is malformed; the message names the file. */
    CHECKPOINT_CORRUPT(Group.PERSISTENCE, 5),
    /** No snapshot of that name on any member asked (or, on one member, none there). */
    SNAPSHOT_NOT_FOUND(Group.PERSISTENCE, 6),
    /** A snapshot of that name exists already; snapshots are never overwritten. */
    SNAPSHOT_EXISTS(Group.PERSISTENCE, 7),
    /**
     * A snapshot is incomplete (a partition of a cache is on no member) or a file of it fails its hash or is malformed;
     * the message names what.
     */
    SNAPSHOT_CORRUPT(Group.PERSISTENCE, 8),
    /** The member keeps no data directory (an in-memory member): it can take and restore no snapshot. */
    SNAPSHOT_UNAVAILABLE(Group.PERSISTENCE, 9),
    /**
     * An optimistic transaction found, when it locked its keys at commit, that a value it read had changed; nothing of
     * it was applied. Retrying may succeed.
     */
    TX_CONFLICT(Group.TRANSACTION, 1),
    /**
     * Deadlock prevention (wait-die) aborted the transaction: it asked for a key held by an older transaction. Nothing
     * of it was applied; retrying (which keeps its age) succeeds once the older one finishes.
     */
    TX_DEADLOCK_PREVENTION(Group.TRANSACTION, 2),
    /**
     * The partition map changed under the transaction (a member joined, left or failed) before it was prepared; its
     * locks are gone and nothing of it was applied. Retrying succeeds on the new map.
     */
    TX_TOPOLOGY_CHANGED(Group.TRANSACTION, 3),
    /** The transaction did not finish within its timeout (waiting for locks, or preparing) and was rolled back. */
    TX_TIMEOUT(Group.TRANSACTION, 4),
    /** The transaction was already rolled back (by the user, or after an earlier failure); it accepts nothing more. */
    TX_ROLLED_BACK(Group.TRANSACTION, 5),
    /**
     * The coordinator decided to commit but could not confirm that every partition applied the transaction (the
     * coordinating member is stopping or left, or confirmation did not come within the timeout). The participants'
     * recovery finishes it: it commits everywhere if every participant prepared, which a decision to commit implies.
     * Read the data to learn the outcome; do not blindly retry a non-idempotent transaction.
     */
    TX_COMMIT_STATUS_UNKNOWN(Group.TRANSACTION, 6),
    /** The client and the member share no protocol version; the message names both ranges. */
    PROTOCOL_VERSION_UNSUPPORTED(Group.CLIENT, 1),
    /** The user is unknown, the password wrong, or credentials are missing where the member requires them. */
    AUTHENTICATION_FAILED(Group.CLIENT, 2),
    /** The authenticated user lacks the role the request needs (the admin role, for changes to the cluster). */
    PERMISSION_DENIED(Group.CLIENT, 3),
    /** A request frame could not be decoded (truncated, a length out of range, a missing field); nothing ran. */
    MALFORMED_REQUEST(Group.CLIENT, 4),
    /** The request's op code is not one the member knows; nothing ran. */
    UNKNOWN_OPERATION(Group.CLIENT, 5),
    /** A frame's length is above the member's limit (or negative); the connection is closed. */
    FRAME_TOO_LARGE(Group.CLIENT, 6),
    /** The connection has as many requests outstanding as the member allows; this one did not run. Retry later. */
    TOO_MANY_REQUESTS(Group.CLIENT, 7),
    /** The member serves as many client connections as it allows; the connection is closed. */
    TOO_MANY_CONNECTIONS(Group.CLIENT, 8),
    /** The transaction id is not one this connection began, or the transaction already finished. */
    TRANSACTION_NOT_FOUND(Group.CLIENT, 9),
    /**
     * The connection to the member broke after a request that is not safe to repeat was sent (a conditional write, a
     * merge): it may or may not have been applied. Read the data to learn the outcome.
     */
    OUTCOME_UNKNOWN(Group.CLIENT, 10),
    /** No member of the configured addresses could be reached (or every connection attempt failed its handshake). */
    CLUSTER_UNREACHABLE(Group.CLIENT, 11),
    /**
     * The answer to a read would be longer than the member's frame limit (the message names both); nothing was
     * changed. Ask for fewer keys at a time.
     */
    ANSWER_TOO_LARGE(Group.CLIENT, 12),
    /**
     * The connection sent no handshake in time, or nothing for longer than the member's idle timeout (the message
     * says which); the member closed it.
     */
    CONNECTION_TIMED_OUT(Group.CLIENT, 13);

    /** Subsystems that own error codes. */
    public enum Group
    {
        /** Configuration and validation. */
        CONFIGURATION(1),
        /** Cache lifecycle. */
        CACHE(2),
        /** Operation execution: timeouts and shutdown. */
        OPERATION(3),
        /** Key and value codecs. */
        CODEC(4),
        /** Partition update counters. */
        COUNTER(5),
        /** Joining and leaving the cluster. */
        MEMBERSHIP(6),
        /** Data directory, WAL, checkpoints. */
        PERSISTENCE(7),
        /** Transactions. */
        TRANSACTION(8),
        /** The thin-client protocol: connections, handshake, authentication and request limits. */
        CLIENT(9);

        private final int code;

        Group(final int code)
        {
            this.code = code;
        }

        /**
         * The stable numeric code of the group.
         *
         * @return the group code.
         */
        public int code()
        {
            return code;
        }
    }

    private final Group group;
    private final int code;

    ErrorCode(final Group group, final int number)
    {
        this.group = group;
        this.code = group.code * 1000 + number;
    }

    /**
     * The subsystem this code belongs to.
     *
     * @return the group.
     */
    public Group group()
    {
        return group;
    }

    /**
     * The stable numeric code, {@code group * 1000 + number}.
     *
     * @return the code.
     */
    public int code()
    {
        return code;
    }

    /**
     * Find the constant for a numeric code, as carried on the wire.
     *
     * @param code to look up.
     * @return the constant.
     * @throws IllegalArgumentException naming the code if it is unknown.
     */
    public static ErrorCode ofCode(final int code)
    {
        for (final ErrorCode errorCode : values())
        {
            if (errorCode.code == code)
            {
                return errorCode;
            }
        }
        throw new IllegalArgumentException("unknown error code: " + code);
    }
}
