package dev.grid.core.client;

/**
 * The thin-client protocol's constants: framing, handshake, op codes and answer statuses. The format of every frame
 * is in {@code docs/protocol.md} ({@code ProtocolDocumentationTest} checks its tables against these constants). The
 * thin client encodes with {@link FrameWriter} and decodes with {@link FrameReader} (plain Java: no Agrona, no JVM
 * flags); the member with {@link dev.grid.core.codec.MessageWriter} and {@link dev.grid.core.codec.MessageReader}.
 * Both write the same bytes (integers little-endian, byte arrays and strings as a 32-bit length, -1 for null, then
 * the bytes; strings UTF-8), which {@code FrameCodecTest} checks.
 * <p>
 * A frame is a 32-bit length, then that many bytes. A request is {@code [u8 op][i64 requestId][payload]}; its answer
 * is {@code [u8 status][i64 requestId][i64 topologyVersion][payload]}, with the request's id, in any order relative to
 * other requests on the connection (pipelining); the member's topology version tells a partition-aware client when
 * its partition map is stale. The first request of a connection must be {@link #HANDSHAKE}.
 */
public final class ClientProtocol
{
    /**
     * The top 16 bits of every thin client's identity ({@link #newClientId}): a member's retry memory keeps a client's
     * outcomes until the client's watermark passes them or {@link #CLIENT_OUTCOME_RETENTION_NS} after it last heard of
     * the client, where a member's outcomes go when the member leaves the cluster.
     */
    public static final long CLIENT_ID_TAG = 0x6C1EL;
    /**
     * How long a member keeps a thin client's operation outcomes after it last heard of that client (a request, or a
     * primary's replicate carrying its identity): a client resends a request only within
     * {@link #MAX_RESEND_WINDOW_NS} of its first send, which is shorter.
     */
    public static final long CLIENT_OUTCOME_RETENTION_NS = java.util.concurrent.TimeUnit.MINUTES.toNanos(5);
    /**
     * How long after a request's first send a thin client may still send it again (after a broken connection), however
     * long its timeout: well inside {@link #CLIENT_OUTCOME_RETENTION_NS}.
     */
    public static final long MAX_RESEND_WINDOW_NS = java.util.concurrent.TimeUnit.MINUTES.toNanos(2);

    /**
     * @param random random longs (a client passes a {@code SecureRandom}'s), for the identity's 48 random bits.
     * @return a new thin client's identity: {@link #CLIENT_ID_TAG} in the top 16 bits, never 0.
     */
    public static long newClientId(final java.util.function.LongSupplier random)
    {
        long low;
        do
        {
            low = random.getAsLong() & 0xFFFF_FFFF_FFFFL;
        }
        while (low == 0);
        return (CLIENT_ID_TAG << 48) | low;
    }

    /**
     * @param id an operation's origin.
     * @return whether it is a thin client's identity rather than a member's incarnation (an incarnation is random, so
     *         one in 65,536 looks like a client's: its outcomes are then kept by time as well, which is harmless).
     */
    public static boolean isClientId(final long id)
    {
        return (id >>> 48) == CLIENT_ID_TAG && (id & 0xFFFF_FFFF_FFFFL) != 0;
    }

    /**
     * @param op an op code.
     * @return whether it is a cache write carrying a client identity ({@link #PUT} to {@link #MERGE},
     *         {@link #PUT_ALL}).
     */
    public static boolean isWrite(final int op)
    {
        return (op >= PUT && op <= MERGE) || op == PUT_ALL;
    }

    /**
     * The newest protocol version this build speaks. Version 2: a connection's TX_BEGIN ids count its TX_BEGIN
     * requests, refused ones included, so a client sends a transaction's steps without waiting for the id. Version 3:
     * a transaction's write step (TX_PUT, TX_MERGE, TX_REMOVE) that fails makes the transaction's commit roll back, so
     * a client sends writes, and the commit behind them, without waiting for the writes' answers (docs/protocol.md).
     */
    public static final int VERSION = 3;
    /** The oldest protocol version this build still speaks. */
    public static final int MIN_VERSION = 1;
    /** The first field of a handshake: "GRID" in ASCII, as a little-endian int. */
    public static final int MAGIC = 0x44495247;
    /**
     * The longest frame a member accepts before a connection's handshake succeeded (a handshake is far shorter): a
     * connection that has not authenticated cannot make the member hold more than this.
     */
    public static final int MAX_HANDSHAKE_FRAME_BYTES = 64 * 1024;
    /** Bytes of a frame's length prefix. */
    public static final int LENGTH_PREFIX = 4;
    /** Bytes of a request header: op, then request id. */
    public static final int HEADER = 1 + 8;
    /** Bytes of an answer header: status, request id, topology version. */
    public static final int ANSWER_HEADER = 1 + 8 + 8;

    // Requests. --------------------------------------------------------------------------------------------------
    /** [i32 magic][u16 minVersion][u16 maxVersion][string user][string password][string clientName]. */
    public static final int HANDSHAKE = 1;
    /** No payload; answered OK with none. */
    public static final int PING = 2;
    /** [string cache][bytes key] -> [bytes value]. */
    public static final int GET = 10;
    /**
     * Writes ({@link #PUT} to {@link #MERGE}, and {@link #PUT_ALL}) carry the client's identity after the cache name:
     * {@code [i64 clientId][i64 sequence][i64 watermark]}, the sequence numbering the operation across resends (a
     * {@link #PUT_ALL} of n entries numbers them sequence to sequence + n - 1) and the watermark the lowest sequence
     * the client may still resend. A member applies each identity once, however often it is resent, through any
     * member, across a primary's failure.
     * <p>
     * [string cache][identity][bytes key][bytes value] -> nothing.
     */
    public static final int PUT = 11;
    /** [string cache][identity][bytes key][bytes value] -> [bool put]. */
    public static final int PUT_IF_ABSENT = 12;
    /** [string cache][identity][bytes key][bytes expected][bytes value] -> [bool replaced]. */
    public static final int REPLACE = 13;
    /** [string cache][identity][bytes key] -> [bool removed]. */
    public static final int REMOVE = 14;
    /** [string cache][identity][bytes key][bytes expected] -> [bool removed]. */
    public static final int REMOVE_IF_EQUALS = 15;
    /** [string cache][identity][bytes key][bytes operand] -> [bytes merged value]. */
    public static final int MERGE = 16;
    /** [string cache][bytes key] -> [bool present]. */
    public static final int CONTAINS_KEY = 17;
    /** [string cache][i32 n][bytes key]*n -> [i32 m]([bytes key][bytes value])*m, present keys only. */
    public static final int GET_ALL = 18;
    /** [string cache][identity][i32 n]([bytes key][bytes value])*n -> nothing. */
    public static final int PUT_ALL = 19;
    /** [string cache] -> [i64 entries]. */
    public static final int SIZE = 20;
    /**
     * [string cache][bytes key] -> [bytes value][bool withoutQuorum]: a {@link #GET} that says whether the member
     * answered from its own copy without quorum ({@link dev.grid.core.QuorumReadPolicy#SERVE_LOCAL}).
     */
    public static final int READ = 21;
    /** [string cache][identity][bytes key][bytes value] -> [bytes previous value]. */
    public static final int GET_AND_PUT = 22;
    /** [string cache][identity][bytes key] -> [bytes removed value]. */
    public static final int GET_AND_REMOVE = 23;
    /** [string cache][identity][bytes key][bytes value] -> [bytes previous value] (null: absent, not written). */
    public static final int GET_AND_REPLACE = 24;
    /** [string cache][identity][bytes key][bytes value] -> [bool replaced] (written only if the key is present). */
    public static final int REPLACE_PRESENT = 25;
    /**
     * [string cache][identity][bytes key][string processor][bytes argument, -1: none] -> [bool written][bytes result]:
     * runs an entry processor registered by name on the members, atomically on the key's primary.
     */
    public static final int INVOKE = 26;
    /**
     * [string cache][i32 partition][bytes afterKey, -1: the partition's first page][spec] -> [i64 counter][page]:
     * a page of one partition read at one update counter (every update up to {@code counter} is in it, the horizon a
     * JOURNAL_READ stops at); spec and page as {@link ScanPages} encodes them.
     */
    public static final int SCAN_PAGE = 27;
    /** [string cache][identity][i32 n][bytes key]*n -> [i32 removed]: independent removes, numbered like PUT_ALL. */
    public static final int REMOVE_ALL = 28;
    /** [string cache] -> [i64 removed]: removes every entry present when it starts (a scan and removes). */
    public static final int CLEAR = 29;
    /**
     * [string cache][identity][bytes key][bytes value][i64 ttlMs] -> nothing: a write with a time-to-live of its own
     * (0: never expires), into a cache with an expiry policy ({@code CONFIGURATION_INVALID} otherwise).
     */
    public static final int PUT_WITH_TTL = 70;
    /**
     * [string cache][i32 partition][i64 after, -1: from now][spec] -> [events]: a partition's event journal after a
     * position, read on its primary up to the counter every copy holds; spec and events as {@link ScanPages} encodes
     * them ({@code ScanPages.Events}).
     */
    public static final int JOURNAL_READ = 71;
    /**
     * [string name][i32 partitions][i32 backups][string keyCodec][string valueCodec][string backupFilterAttribute]
     * [i64 operationTimeoutNs][u8 lossPolicy][string mergeOperator][u8 readsWithoutQuorum, optional: REFUSE if
     * absent][u8 expiryKind + 1, 0: none][i64 expiryDurationMs] (both optional: none if absent)[u8 evictionKind + 1,
     * 0: none][i64 maxEntries][i64 maxBytes] (optional: none if absent)[i32 eventJournal] (optional: 0, none, if
     * absent) -> nothing (an equal existing cache is fine;
     * the merge operator, by name, must be registered on the members).
     */
    public static final int CACHE_CREATE = 30;
    /** [string name] -> nothing. */
    public static final int CACHE_DESTROY = 31;
    /** No payload -> [i32 n]([string name][i32 partitions][i32 backups][string keyCodec][string valueCodec])*n. */
    public static final int CACHE_LIST = 32;
    /**
     * [string cache] -> [i64 topologyVersion][i32 partitions][i32 members]([string memberId][string clientAddress])*
     * [u16 primary member index, 0xFFFF if none]*partitions.
     */
    public static final int PARTITION_MAP = 33;
    /**
     * [string cache] -> [i32 n]([i32 partition][string state][bool primary][i64 lwm][i64 hwm][string gaps]
     * [i32 size])*n: the copies the answering member holds.
     */
    public static final int LOCAL_COPIES = 34;
    /**
     * [string cache] -> [i64 entries][i64 primaryEntries][i64 bytes][i64 memberBytes][i64 memberBoundBytes]
     * [i64 evictions][i64 expirations]: the cache's data on the answering member ({@code CacheMetrics}).
     */
    public static final int CACHE_METRICS = 35;
    /** [u8 concurrency][u8 isolation][i64 timeoutMs] -> [i64 txId]. Transactions live on the connection. */
    public static final int TX_BEGIN = 40;
    /** [i64 txId][string cache][bytes key] -> [bytes value]. */
    public static final int TX_GET = 41;
    /** [i64 txId][string cache][bytes key][bytes value] -> nothing. */
    public static final int TX_PUT = 42;
    /** [i64 txId][string cache][bytes key] -> nothing. */
    public static final int TX_REMOVE = 43;
    /** [i64 txId] -> nothing. */
    public static final int TX_COMMIT = 44;
    /** [i64 txId] -> nothing. */
    public static final int TX_ROLLBACK = 45;
    /**
     * [i64 timeoutMs][bool retryOnAbort][i32 n]([string cache][bytes key][u8 kind][bytes operand])*n
     * [i32 m]([string cache][bytes key][bool delete][bytes value])*m -> [u8 outcome], then for 0 (committed):
     * [i32 attempts]; for 1 (a predicate failed): [i32 n]([string cache][bytes key][bytes value][bool satisfied])*n;
     * for 2 (aborted): [i32 errorCode][string message][i32 attempts]. Kinds are
     * {@link dev.grid.core.ValuePredicate.Kind} ordinals.
     */
    public static final int PREDICATE_TX = 46;
    /** [i64 txId][string cache][bytes key][bytes operand] -> nothing: the cache's merge operator, at commit. */
    public static final int TX_MERGE = 47;
    /**
     * No payload -> [i64 topologyVersion][string coordinator][i32 n]([string memberId][string address]
     * [string clientAddress])*n[i32 quorumHave][i32 quorumNeed][bool quorumHeld][i64 writesRefusedForQuorum]
     * [strings quorumHistory][i64 readsWithoutQuorum] (the last field added last: a client may ignore it).
     */
    public static final int CLUSTER_STATE = 50;
    /** No payload -> [i64 topologyVersion][i64 autoAdjustTimeoutNs][strings members][strings running]. */
    public static final int BASELINE_SHOW = 51;
    /** [u8 change: 1 set, 2 add, 3 remove, 4 auto-adjust][i32 n][string id]*n[i64 timeoutNs] -> nothing. Admin. */
    public static final int BASELINE_CHANGE = 52;
    /** [string cache] -> [i32 n][i32 partition]*n. */
    public static final int LOST_PARTITIONS = 53;
    /** [string cache] -> nothing. Admin. */
    public static final int RESET_LOST = 54;
    /**
     * [string cache] -> [i32 checked][i32 moving][i32 n]([i32 partition][string kind][string detail])*n.
     */
    public static final int CHECK_CONSISTENCY = 55;
    /**
     * No payload -> [i64 topologyVersion][i32 planned][i32 done][i32 historicalPlanned][i64 records][i64 bytes]
     * [i64 elapsedNs][i64 etaNs][i64 totalHistorical][i64 totalFull] of the member answering.
     */
    public static final int REBALANCE_STATUS = 56;
    /** No payload -> [i32 n]([string name][i64 value])*n: the answering member's metrics. */
    public static final int METRICS = 57;
    /**
     * No payload -> [i32 n]([i64 id][string state][i64 ageMs][i32 partitions][i32 lockedKeys])*n: the transactions
     * the answering member coordinates.
     */
    public static final int TX_LIST = 58;
    /** [i64 id] -> nothing: roll back a transaction the answering member coordinates. Admin. */
    public static final int TX_KILL = 59;
    /** No payload -> nothing. Admin. Activates a cluster waiting for members that will not return. */
    public static final int ACTIVATE = 60;
    /**
     * [string name][i32 n, -1: this member's primaries]([string cache/partition])*n -> [string memberId][i32 n]
     * ([string cache/partition])*n [i64 entries][i64 bytes]: write the answering member's part of a snapshot. Admin.
     */
    public static final int SNAPSHOT_CREATE = 61;
    /**
     * No payload -> [i32 n]([string name][i64 createdMs][i32 c]([string cache][i32 partitions])*c
     * [i32 f]([string cache/partition])*f [i64 entries])*n: the snapshots the answering member holds.
     */
    public static final int SNAPSHOT_LIST = 62;
    /** [string name] -> [i32 files][i32 n]([string problem])*n: the answering member's files of it checked. */
    public static final int SNAPSHOT_CHECK = 63;
    /**
     * [string name][u8 prepare] -> [i64 entries]: load the answering member's files of a snapshot; with prepare, first
     * destroy and recreate its caches. Admin.
     */
    public static final int SNAPSHOT_RESTORE = 64;
    /**
     * No payload -> [i32 n]([string key][string value])*n: the answering member's configuration as the keys of its
     * file format, secrets masked. Admin.
     */
    public static final int CONFIG = 65;
    /**
     * [u8 step] -> step 1: nothing (the answering member refuses operations that begin from now on,
     * {@code CLUSTER_INACTIVE}); step 2: [u8 quiescent] (deactivated and nothing in flight there); step 3:
     * [i64 checkpointId] once a checkpoint covers everything it logged; step 0: nothing (it serves again). Admin.
     */
    public static final int DEACTIVATE = 66;

    // Answer statuses. -------------------------------------------------------------------------------------------
    /** The request succeeded; the op's answer payload follows. */
    public static final int OK = 0;
    /** The request failed: [i32 errorCode][string message]; the code is an {@link dev.grid.core.ErrorCode}. */
    public static final int ERROR = 1;

    private ClientProtocol()
    {
    }

    /**
     * @param op a request op code.
     * @return whether the op changes the cluster's configuration or data placement, or reveals a member's
     *     configuration (needs the admin role).
     */
    public static boolean isAdminMutation(final int op)
    {
        return op == BASELINE_CHANGE || op == RESET_LOST || op == CACHE_CREATE || op == CACHE_DESTROY ||
            op == TX_KILL || op == ACTIVATE || op == SNAPSHOT_CREATE || op == SNAPSHOT_RESTORE ||
            op == DEACTIVATE || op == CONFIG;
    }

    /**
     * @param op a request op code.
     * @return its name for messages, or "op N" if unknown.
     */
    public static String name(final int op)
    {
        return switch (op)
        {
            case HANDSHAKE -> "HANDSHAKE";
            case PING -> "PING";
            case GET -> "GET";
            case PUT -> "PUT";
            case PUT_IF_ABSENT -> "PUT_IF_ABSENT";
            case REPLACE -> "REPLACE";
            case REMOVE -> "REMOVE";
            case REMOVE_IF_EQUALS -> "REMOVE_IF_EQUALS";
            case MERGE -> "MERGE";
            case CONTAINS_KEY -> "CONTAINS_KEY";
            case GET_ALL -> "GET_ALL";
            case PUT_ALL -> "PUT_ALL";
            case SIZE -> "SIZE";
            case READ -> "READ";
            case GET_AND_PUT -> "GET_AND_PUT";
            case GET_AND_REMOVE -> "GET_AND_REMOVE";
            case GET_AND_REPLACE -> "GET_AND_REPLACE";
            case REPLACE_PRESENT -> "REPLACE_PRESENT";
            case INVOKE -> "INVOKE";
            case SCAN_PAGE -> "SCAN_PAGE";
            case REMOVE_ALL -> "REMOVE_ALL";
            case CLEAR -> "CLEAR";
            case PUT_WITH_TTL -> "PUT_WITH_TTL";
            case JOURNAL_READ -> "JOURNAL_READ";
            case CACHE_CREATE -> "CACHE_CREATE";
            case CACHE_DESTROY -> "CACHE_DESTROY";
            case CACHE_LIST -> "CACHE_LIST";
            case PARTITION_MAP -> "PARTITION_MAP";
            case LOCAL_COPIES -> "LOCAL_COPIES";
            case CACHE_METRICS -> "CACHE_METRICS";
            case TX_BEGIN -> "TX_BEGIN";
            case TX_GET -> "TX_GET";
            case TX_PUT -> "TX_PUT";
            case TX_REMOVE -> "TX_REMOVE";
            case TX_COMMIT -> "TX_COMMIT";
            case TX_ROLLBACK -> "TX_ROLLBACK";
            case PREDICATE_TX -> "PREDICATE_TX";
            case TX_MERGE -> "TX_MERGE";
            case CLUSTER_STATE -> "CLUSTER_STATE";
            case BASELINE_SHOW -> "BASELINE_SHOW";
            case BASELINE_CHANGE -> "BASELINE_CHANGE";
            case LOST_PARTITIONS -> "LOST_PARTITIONS";
            case RESET_LOST -> "RESET_LOST";
            case ACTIVATE -> "ACTIVATE";
            case CHECK_CONSISTENCY -> "CHECK_CONSISTENCY";
            case REBALANCE_STATUS -> "REBALANCE_STATUS";
            case METRICS -> "METRICS";
            case TX_LIST -> "TX_LIST";
            case TX_KILL -> "TX_KILL";
            case SNAPSHOT_CREATE -> "SNAPSHOT_CREATE";
            case SNAPSHOT_LIST -> "SNAPSHOT_LIST";
            case SNAPSHOT_CHECK -> "SNAPSHOT_CHECK";
            case SNAPSHOT_RESTORE -> "SNAPSHOT_RESTORE";
            case CONFIG -> "CONFIG";
            case DEACTIVATE -> "DEACTIVATE";
            default -> "op " + op;
        };
    }
}
