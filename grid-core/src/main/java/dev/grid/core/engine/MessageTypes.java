package dev.grid.core.engine;

/**
 * The catalogue of member-to-member message types: every message a member sends another carries one of these in its
 * header (see {@code MemberMessages}), and the engine routes it by this type to the component that owns it.
 * Values are stable on the wire: a value is never reused for another message, and a new message takes a new value
 * ({@code MessageTypesTest} checks that no two share one). Grouped by owner: membership ({@code Joining},
 * {@code Membership}) 1-9, the exchange ({@code Exchange}) 10-19, single-key operations and their replication
 * ({@code NearOps}, {@code Replication}) 20-29, cache administration ({@code CacheAdmin}) 30-39, transactions
 * ({@code TxManager}) 40-49 and 57-58, rebalance ({@code Rebalancer}) 50-52, the consistency check
 * ({@code ConsistencyChecker}) 53-56.
 */
public final class MessageTypes
{
    /** A joiner asks a seed or the coordinator to be admitted. */
    public static final int JOIN_REQUEST = 1;
    /** The cluster exists but cannot admit the joiner yet (no quorum, an exchange running): ask again. */
    public static final int JOIN_PENDING = 2;
    /** The joiner may not join (another cluster name, an incompatible configuration). */
    public static final int JOIN_REJECTED = 3;
    /** The coordinator publishes a topology version. */
    public static final int TOPOLOGY = 4;
    /** Liveness, the echo of the peer's last heartbeat, and whom the sender takes for coordinator. */
    public static final int HEARTBEAT = 5;
    /** The sender does not count the receiver as a member of its topology. */
    public static final int NOT_MEMBER = 6;
    /** The sender leaves the cluster gracefully. */
    public static final int LEAVE = 7;

    /** A member reports its copies (states, counters, gaps, hashes) to the coordinator, in chunks. */
    public static final int EXCHANGE_REPORT = 10;
    /** The coordinator received every chunk of a member's report. */
    public static final int REPORT_ACK = 11;
    /** The coordinator publishes the partition map it decided, in chunks. */
    public static final int PARTITION_MAP = 12;
    /** A member installed a map version. */
    public static final int MAP_INSTALLED = 13;

    /** A single-key operation, to the partition's primary. */
    public static final int REQUEST = 20;
    /** The primary's answer to a request: done, remap or error. */
    public static final int RESPONSE = 21;
    /** A primary ships an update with its counter to a backup. */
    public static final int REPLICATE = 22;
    /** A backup applied (and logged) an update. */
    public static final int REPLICATE_ACK = 23;
    /** How many entries a cache's primary copies here hold. */
    public static final int SIZE_REQUEST = 24;

    /** A cache create, destroy, lost-partition reset, baseline change or activation, to the coordinator. */
    public static final int CACHE_ADMIN = 30;
    /** The coordinator's answer to a cache administration request. */
    public static final int CACHE_ADMIN_RESPONSE = 31;

    /** A transaction's coordinator asks a primary to lock (or read) keys. */
    public static final int TX_LOCK = 40;
    /** The coordinator asks a primary to prepare its part: reserve counters, log, ship to backups. */
    public static final int TX_PREPARE = 41;
    /** The coordinator tells a participant to commit its part. */
    public static final int TX_COMMIT = 42;
    /** The coordinator tells a participant to roll its part back. */
    public static final int TX_ROLLBACK = 43;
    /** A primary's answer to lock, prepare, commit or rollback. */
    public static final int TX_ANSWER = 44;
    /** A primary ships a transaction part's prepare, commit or rollback to a backup. */
    public static final int TX_BACKUP = 45;
    /** A backup logged a transaction part's step. */
    public static final int TX_BACKUP_ACK = 46;
    /** Asks a transaction part's primary what it holds of that part (recovery of in-doubt transactions). */
    public static final int TX_STATUS = 47;
    /** The answer to a status question: prepared, committed, rolled back or unknown. */
    public static final int TX_STATUS_ANSWER = 48;
    /** To a live coordinator: is this transaction still yours to finish? */
    public static final int TX_QUERY = 57;
    /** The coordinator's answer to a query: active, committed, rolled back or unknown. */
    public static final int TX_QUERY_ANSWER = 58;

    /** A lagging copy asks a supplier for history or for the whole partition. */
    public static final int REBALANCE_DEMAND = 50;
    /** A supplier's batch of records or entries. */
    public static final int REBALANCE_SUPPLY = 51;
    /** A copy caught up: the coordinator may let it own. */
    public static final int REBALANCE_DONE = 52;

    /** The checking member asks a partition's primary to compare its copies at one counter. */
    public static final int VERIFY_REQUEST = 53;
    /** The primary, holding the partition still, asks every other owning copy for its state. */
    public static final int VERIFY_COPY = 54;
    /** An owning copy's state (counters and content hash). */
    public static final int VERIFY_COPY_ANSWER = 55;
    /** The primary's answer to the checking member: every copy's state, or retry. */
    public static final int VERIFY_ANSWER = 56;

    private MessageTypes()
    {
    }
}
