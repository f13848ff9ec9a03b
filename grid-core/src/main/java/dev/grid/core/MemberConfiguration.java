package dev.grid.core;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The configuration of one cluster member: its stable identity, the cluster it belongs to, where it listens, whom it
 * contacts to join, its attributes (rack, zone) and its failure-detection timing.
 * <p>
 * Fluent setters, then {@link #conclude()} validates once and freezes the object; a concluded configuration may be
 * shared between threads.
 */
public final class MemberConfiguration
{
    /** Cluster name by default. */
    public static final String CLUSTER_NAME_DEFAULT = "grid";
    /** Members bind to loopback unless told otherwise. */
    public static final String BIND_ADDRESS_DEFAULT = "127.0.0.1";
    /** Interval between heartbeats by default. */
    public static final long HEARTBEAT_INTERVAL_DEFAULT_NS = TimeUnit.MILLISECONDS.toNanos(200);
    /** Silence after which a peer is considered failed, by default. */
    public static final long FAILURE_DETECTION_TIMEOUT_DEFAULT_NS = TimeUnit.SECONDS.toNanos(3);
    /** How long a starting member tries to reach a seed before it gives up, by default. */
    public static final long JOIN_TIMEOUT_DEFAULT_NS = TimeUnit.SECONDS.toNanos(10);
    /**
     * Default park of a member thread that has been idle for a while (more than 10 ms): 1 ms. While requests flow the
     * thread parks at most 100 µs whatever this says.
     */
    public static final long IDLE_MAX_PARK_DEFAULT_NS = TimeUnit.MILLISECONDS.toNanos(1);
    /** Default interval between checkpoints: 60 s. */
    public static final long CHECKPOINT_INTERVAL_DEFAULT_NS = TimeUnit.SECONDS.toNanos(60);
    /** Default number of WAL records after which a checkpoint starts before its interval: 1,000,000. */
    public static final long CHECKPOINT_WAL_RECORDS_DEFAULT = 1_000_000;
    /** Default age of WAL history kept for rebalance beyond the newest checkpoint: 10 minutes. */
    public static final long WAL_HISTORY_AGE_DEFAULT_NS = TimeUnit.MINUTES.toNanos(10);
    /** Default size of WAL history kept for rebalance beyond the newest checkpoint: 10,000,000 records. */
    public static final long WAL_HISTORY_RECORDS_DEFAULT = 10_000_000;
    /** Default interval between syncs of the WAL in {@link WalMode#BACKGROUND}: 1 s. */
    public static final long WAL_SYNC_INTERVAL_DEFAULT_NS = TimeUnit.SECONDS.toNanos(1);
    /** Default size of one rebalance batch: 64 KiB (capped by the transport's message length). */
    public static final int REBALANCE_BATCH_BYTES_DEFAULT = 64 * 1024;
    /** Default pause between the batches a partition demands: none. */
    public static final long REBALANCE_THROTTLE_DEFAULT_NS = 0;
    /**
     * Default number of partitions a member rebalances at once: 64 (streaming fully, with the default batch, 4 MiB in
     * flight). A copy missing k &lt; 64 updates counts as k/64 of a partition: many partitions missing a few records
     * each are bound by round trips, so they stream together (a batch of each in flight: at most k records).
     */
    public static final int REBALANCE_CONCURRENCY_DEFAULT = 64;
    /** Default limit on thin-client connections a member serves at once. */
    public static final int CLIENT_MAX_CONNECTIONS_DEFAULT = 256;
    /**
     * Default limit on one thin-client frame: 36 MiB, room for a replace of the largest entry by default (a key, the
     * expected value and the new one).
     */
    public static final int CLIENT_MAX_FRAME_BYTES_DEFAULT = 36 << 20;
    /** Default limit on the requests one thin-client connection has outstanding. */
    public static final int CLIENT_MAX_PENDING_REQUESTS_DEFAULT = 1024;
    /** Default limit on one entry, key and value together: 17 MiB (a 16 MiB value and a key of up to 1 MiB). */
    public static final int MAX_ENTRY_BYTES_DEFAULT = 17 << 20;
    /** {@link #cacheMemoryMaxBytes(long)} unless set: {@link #CACHE_MEMORY_HEAP_PERCENT_DEFAULT}% of the max heap. */
    public static final long CACHE_MEMORY_MAX_BYTES_DEFAULT = -1;
    /** The share of the JVM's maximum heap cache data may take unless a bound is set. */
    public static final int CACHE_MEMORY_HEAP_PERCENT_DEFAULT = 60;
    /**
     * The highest {@link #maxEntryBytes(int)}: an update carries a key and up to two values (a merge's operand and
     * outcome, a replace's expected value) in one member message and one WAL record, both at most 64 MiB.
     */
    public static final int MAX_ENTRY_BYTES_LIMIT = 20 << 20;
    /** Default time a thin-client connection has to complete its handshake: 10 s. */
    public static final long CLIENT_HANDSHAKE_TIMEOUT_DEFAULT_NS = TimeUnit.SECONDS.toNanos(10);
    /** Default time an authenticated thin-client connection may stay silent: forever (0). */
    public static final long CLIENT_IDLE_TIMEOUT_DEFAULT_NS = 0;
    /** Identities: letters, digits, '.', '_', ':' and '-', 1 to 128 characters. */
    public static final Pattern ID_PATTERN = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

    private final String memberId;
    private String clusterName = CLUSTER_NAME_DEFAULT;
    private String bindAddress = BIND_ADDRESS_DEFAULT;
    private int port;
    private final List<String> seeds = new ArrayList<>();
    private final Map<String, String> attributes = new TreeMap<>();
    private final Map<String, String> settings = new TreeMap<>();
    private final Map<String, MergeOperator<?, ?>> mergeOperators = new TreeMap<>();
    private final Map<String, EntryProcessor<?, ?>> entryProcessors = new TreeMap<>();
    private final Map<String, Codec<?>> codecs = new TreeMap<>();
    private long heartbeatIntervalNs = HEARTBEAT_INTERVAL_DEFAULT_NS;
    private long failureDetectionTimeoutNs = FAILURE_DETECTION_TIMEOUT_DEFAULT_NS;
    private long joinTimeoutNs = JOIN_TIMEOUT_DEFAULT_NS;
    private int minMembers;
    private long idleMaxParkNs = IDLE_MAX_PARK_DEFAULT_NS;
    private Path dataDirectory;
    private WalMode walMode;
    private long walSyncIntervalNs = WAL_SYNC_INTERVAL_DEFAULT_NS;
    private long checkpointIntervalNs = CHECKPOINT_INTERVAL_DEFAULT_NS;
    private long checkpointWalRecords = CHECKPOINT_WAL_RECORDS_DEFAULT;
    private long walHistoryAgeNs = WAL_HISTORY_AGE_DEFAULT_NS;
    private long walHistoryRecords = WAL_HISTORY_RECORDS_DEFAULT;
    private int rebalanceBatchBytes = REBALANCE_BATCH_BYTES_DEFAULT;
    private long rebalanceThrottleNs = REBALANCE_THROTTLE_DEFAULT_NS;
    private int rebalanceConcurrency = REBALANCE_CONCURRENCY_DEFAULT;
    private int clientPort = -1;
    private int clientMaxConnections = CLIENT_MAX_CONNECTIONS_DEFAULT;
    private int clientMaxFrameBytes = CLIENT_MAX_FRAME_BYTES_DEFAULT;
    private int clientMaxPendingRequests = CLIENT_MAX_PENDING_REQUESTS_DEFAULT;
    private int maxEntryBytes = MAX_ENTRY_BYTES_DEFAULT;
    private long cacheMemoryMaxBytes = CACHE_MEMORY_MAX_BYTES_DEFAULT;
    private long clientHandshakeTimeoutNs = CLIENT_HANDSHAKE_TIMEOUT_DEFAULT_NS;
    private long clientIdleTimeoutNs = CLIENT_IDLE_TIMEOUT_DEFAULT_NS;
    private final Map<String, ClientUser> clientUsers = new TreeMap<>();
    private Path clientTlsKeyStore;
    private String clientTlsKeyStorePassword;
    private boolean concluded;

    /**
     * Start a configuration.
     *
     * @param memberId the member's stable identity across restarts; affinity is computed from it.
     */
    public MemberConfiguration(final String memberId)
    {
        this.memberId = memberId;
    }

    /**
     * @param clusterName members only join a cluster of the same name.
     * @return this for a fluent API.
     */
    public MemberConfiguration clusterName(final String clusterName)
    {
        checkNotConcluded();
        this.clusterName = clusterName;
        return this;
    }

    /**
     * @param bindAddress the address to listen on.
     * @return this for a fluent API.
     */
    public MemberConfiguration bindAddress(final String bindAddress)
    {
        checkNotConcluded();
        this.bindAddress = bindAddress;
        return this;
    }

    /**
     * @param port the port to listen on, in [1, 65535].
     * @return this for a fluent API.
     */
    public MemberConfiguration port(final int port)
    {
        checkNotConcluded();
        this.port = port;
        return this;
    }

    /**
     * @param seed an address {@code host:port} of a member to contact when joining.
     * @return this for a fluent API.
     */
    public MemberConfiguration addSeed(final String seed)
    {
        checkNotConcluded();
        seeds.add(seed);
        return this;
    }

    /**
     * @param name  of the attribute, e.g. {@code "rack"}.
     * @param value of the attribute.
     * @return this for a fluent API.
     */
    public MemberConfiguration attribute(final String name, final String value)
    {
        checkNotConcluded();
        attributes.put(name, value);
        return this;
    }

    /**
     * A setting of a service the member runs beside its own protocols (a {@code MemberService} of {@code grid-node},
     * such as {@code grid-resp}'s {@code resp.port}), which reads and checks its own keys when it starts.
     *
     * @param key   the setting's key, e.g. {@code "resp.port"}: a service's prefix, a dot, a name.
     * @param value its value.
     * @return this for a fluent API.
     */
    public MemberConfiguration setting(final String key, final String value)
    {
        checkNotConcluded();
        settings.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return this;
    }

    /**
     * Register a merge operator under the name caches refer to it by, so that this member can run merges as the
     * primary of caches created elsewhere. See {@link CacheConfiguration#mergeOperator(String, MergeOperator)}.
     *
     * @param name     the operator's cluster-wide name.
     * @param operator the operator.
     * @return this for a fluent API.
     */
    public MemberConfiguration mergeOperator(final String name, final MergeOperator<?, ?> operator)
    {
        checkNotConcluded();
        mergeOperators.put(name, operator);
        return this;
    }

    /**
     * Register a user codec, so that this member can open caches created elsewhere that use it by name. The built-in
     * codecs of {@link Codecs} are always known.
     *
     * @param codec to register under {@link Codec#name()}.
     * @return this for a fluent API.
     */
    public MemberConfiguration codec(final Codec<?> codec)
    {
        checkNotConcluded();
        codecs.put(codec.name(), codec);
        return this;
    }

    /**
     * Register an entry processor under the name {@link Cache#invoke(Object, String, Object)} calls it by. Every
     * member should register the same processors: whichever member is a key's primary runs it.
     *
     * @param name      the processor's cluster-wide name.
     * @param processor the processor, for caches whose codecs give it the types it expects.
     * @return this for a fluent API.
     */
    public MemberConfiguration entryProcessor(final String name, final EntryProcessor<?, ?> processor)
    {
        checkNotConcluded();
        entryProcessors.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(processor, "processor"));
        return this;
    }

    /** @return entry processors registered on this member, by name, unmodifiable. */
    public Map<String, EntryProcessor<?, ?>> entryProcessors()
    {
        return Collections.unmodifiableMap(entryProcessors);
    }

    /** @return merge operators registered on this member, by name, unmodifiable. */
    public Map<String, MergeOperator<?, ?>> mergeOperators()
    {
        return Collections.unmodifiableMap(mergeOperators);
    }

    /** @return user codecs registered on this member, by name, unmodifiable. */
    public Map<String, Codec<?>> codecs()
    {
        return Collections.unmodifiableMap(codecs);
    }

    /**
     * @param intervalNs between heartbeats, positive.
     * @return this for a fluent API.
     */
    public MemberConfiguration heartbeatIntervalNs(final long intervalNs)
    {
        checkNotConcluded();
        this.heartbeatIntervalNs = intervalNs;
        return this;
    }

    /**
     * @param timeoutNs of silence after which a peer is failed; greater than the heartbeat interval.
     * @return this for a fluent API.
     */
    public MemberConfiguration failureDetectionTimeoutNs(final long timeoutNs)
    {
        checkNotConcluded();
        this.failureDetectionTimeoutNs = timeoutNs;
        return this;
    }

    /**
     * The quorum: a cluster installs topologies, removes members and serves writes only while it holds this many
     * members heard from within the failure-detection timeout (with a baseline, only baseline members count), and a
     * seed starts a cluster only once it hears this many members starting. Unset, it is a majority of the baseline
     * once one is set, and a majority of the seeds before (and in clusters without a baseline). Two sides of a split
     * cannot both hold it only if it is more than half of the members that count: 1 turns the protection off.
     *
     * @param minMembers at least 1; 0 for the default, a majority of the seeds (1 without seeds).
     * @return this for a fluent API.
     */
    public MemberConfiguration minMembers(final int minMembers)
    {
        checkNotConcluded();
        this.minMembers = minMembers;
        return this;
    }

    /**
     * @return the configured quorum of a cluster without a baseline, or 0 for the default (see
     *         {@link #quorumMinMembers()}).
     */
    public int minMembers()
    {
        return minMembers;
    }

    /**
     * @return the quorum of a cluster without a baseline: {@link #minMembers()} if set, else a majority of the seeds
     *         (1 without seeds).
     */
    public int quorumMinMembers()
    {
        return minMembers > 0 ? minMembers : seeds.isEmpty() ? 1 : seeds.size() / 2 + 1;
    }

    /**
     * @param timeoutNs how long to try the seeds before start fails, positive.
     * @return this for a fluent API.
     */
    public MemberConfiguration joinTimeoutNs(final long timeoutNs)
    {
        checkNotConcluded();
        this.joinTimeoutNs = timeoutNs;
        return this;
    }

    /**
     * @param maxParkNs how long a member thread idle for more than 10 ms parks before it looks for work again, in
     *                  [1 µs, 100 ms]: lower answers the first request after a pause faster and costs more CPU idle.
     * @return this for a fluent API.
     */
    public MemberConfiguration idleMaxParkNs(final long maxParkNs)
    {
        checkNotConcluded();
        this.idleMaxParkNs = maxParkNs;
        return this;
    }

    /**
     * A user thin clients and the admin tool may authenticate as. With no user configured, the member asks for no
     * credentials and every connection has the admin role.
     *
     * @param role         what the user may do.
     * @param passwordHash made by {@link PasswordHash#hash} (with a fresh salt: {@code dev.grid.node.Passwords}).
     */
    public record ClientUser(ClientRole role, String passwordHash)
    {
    }

    /** What an authenticated thin-client or admin connection may do. */
    public enum ClientRole
    {
        /** Cache operations, transactions and every read-only admin request. */
        USER,
        /** Also the requests that change the cluster: caches, baseline, lost-partition resets. */
        ADMIN
    }

    /**
     * @param port the TCP port thin clients and the admin tool connect to, on {@link #bindAddress}; 0 for any free
     *             port; -1 (the default) serves none.
     * @return this for a fluent API.
     */
    public MemberConfiguration clientPort(final int port)
    {
        checkNotConcluded();
        this.clientPort = port;
        return this;
    }

    /**
     * @param maxConnections thin-client connections served at once, in [1, 65536]; more are refused.
     * @param maxFrameBytes  the largest frame accepted, in [1 KiB, 256 MiB]; a larger one closes its connection.
     * @param maxPending     requests one connection may have outstanding, in [1, 1048576]; more are refused.
     * @return this for a fluent API.
     */
    public MemberConfiguration clientLimits(final int maxConnections, final int maxFrameBytes, final int maxPending)
    {
        checkNotConcluded();
        this.clientMaxConnections = maxConnections;
        this.clientMaxFrameBytes = maxFrameBytes;
        this.clientMaxPendingRequests = maxPending;
        return this;
    }

    /**
     * Bound the cache data this member holds (entries and tombstones of every copy, by the stores' accounted bytes).
     * At the bound the member's primaries evict from caches with an {@link EvictionPolicy} and refuse other writes
     * with {@link ErrorCode#MEMORY_BOUND_EXCEEDED}, still serving reads and removes, so cache data never exhausts the
     * heap. Checked on the primary against its own data: a backup may exceed its bound by what its primaries accepted.
     *
     * @param bytes the bound, positive; {@link #CACHE_MEMORY_MAX_BYTES_DEFAULT} for
     *              {@link #CACHE_MEMORY_HEAP_PERCENT_DEFAULT}% of the JVM's maximum heap.
     * @return this for a fluent API.
     */
    public MemberConfiguration cacheMemoryMaxBytes(final long bytes)
    {
        checkNotConcluded();
        this.cacheMemoryMaxBytes = bytes;
        return this;
    }

    /** @return the bound of this member's cache data in accounted bytes (resolved once concluded). */
    public long cacheMemoryMaxBytes()
    {
        return cacheMemoryMaxBytes;
    }

    /**
     * @param maxEntryBytes the longest key and value together a cache write may store, in [1 KiB,
     *                      {@link #MAX_ENTRY_BYTES_LIMIT}]; a longer one fails at once with
     *                      {@link ErrorCode#VALUE_TOO_LARGE}, as does a transaction whose writes together are longer.
     *                      Every member of a cluster should have the same.
     * @return this for a fluent API.
     */
    public MemberConfiguration maxEntryBytes(final int maxEntryBytes)
    {
        checkNotConcluded();
        this.maxEntryBytes = maxEntryBytes;
        return this;
    }

    /** @return the longest key and value together a write may store. */
    public int maxEntryBytes()
    {
        return maxEntryBytes;
    }

    /**
     * @param handshakeTimeoutNs how long a thin-client connection may take to complete its handshake, positive; the
     *                           member then closes it ({@link ErrorCode#CONNECTION_TIMED_OUT}), so connections that
     *                           never authenticate cannot hold its connection slots.
     * @param idleTimeoutNs      how long an authenticated connection may send nothing while it awaits no answer
     *                           before the member closes it; 0 (the default) keeps it open.
     * @return this for a fluent API.
     */
    public MemberConfiguration clientTimeouts(final long handshakeTimeoutNs, final long idleTimeoutNs)
    {
        checkNotConcluded();
        this.clientHandshakeTimeoutNs = handshakeTimeoutNs;
        this.clientIdleTimeoutNs = idleTimeoutNs;
        return this;
    }

    /** @return how long a thin-client connection may take over its handshake. */
    public long clientHandshakeTimeoutNs()
    {
        return clientHandshakeTimeoutNs;
    }

    /** @return how long an authenticated connection may stay silent (0: forever). */
    public long clientIdleTimeoutNs()
    {
        return clientIdleTimeoutNs;
    }

    /**
     * @param name         the user's name, see {@link #ID_PATTERN}.
     * @param role         what the user may do.
     * @param passwordHash made by {@link PasswordHash#hash} with a fresh salt ({@code dev.grid.node.Passwords}); never
     *                     the password itself.
     * @return this for a fluent API.
     */
    public MemberConfiguration clientUser(final String name, final ClientRole role, final String passwordHash)
    {
        checkNotConcluded();
        clientUsers.put(name, new ClientUser(role, passwordHash));
        return this;
    }

    /**
     * Serve thin clients and the admin tool over TLS (the JDK's), with the member's certificate and key from a PKCS12
     * key store.
     *
     * @param keyStore the PKCS12 file; null serves plain TCP (the default).
     * @param password its password.
     * @return this for a fluent API.
     */
    public MemberConfiguration clientTls(final Path keyStore, final String password)
    {
        checkNotConcluded();
        this.clientTlsKeyStore = keyStore;
        this.clientTlsKeyStorePassword = password;
        return this;
    }

    /** @return the PKCS12 key store of the client endpoint's TLS, or null for plain TCP. */
    public Path clientTlsKeyStore()
    {
        return clientTlsKeyStore;
    }

    /** @return the password of {@link #clientTlsKeyStore()}. */
    public String clientTlsKeyStorePassword()
    {
        return clientTlsKeyStorePassword;
    }

    /** @return the thin-client port; -1 if none is served, 0 for any free port. */
    public int clientPort()
    {
        return clientPort;
    }

    /** @return the limit on thin-client connections. */
    public int clientMaxConnections()
    {
        return clientMaxConnections;
    }

    /** @return the limit on one thin-client frame's length. */
    public int clientMaxFrameBytes()
    {
        return clientMaxFrameBytes;
    }

    /** @return the limit on one connection's outstanding requests. */
    public int clientMaxPendingRequests()
    {
        return clientMaxPendingRequests;
    }

    /** @return the thin-client users by name, unmodifiable; empty when clients need no credentials. */
    public Map<String, ClientUser> clientUsers()
    {
        return Collections.unmodifiableMap(clientUsers);
    }

    /**
     * @param directory where the member keeps its WAL and identity; null (the default) for a pure in-memory member.
     * @return this for a fluent API.
     */
    public MemberConfiguration dataDirectory(final Path directory)
    {
        checkNotConcluded();
        this.dataDirectory = directory;
        return this;
    }

    /**
     * @param mode how durable an update is before it is acknowledged; by default {@link WalMode#LOG_ONLY} with a data
     *             directory and {@link WalMode#NONE} without. Any mode but NONE needs a data directory.
     * @return this for a fluent API.
     */
    public MemberConfiguration walMode(final WalMode mode)
    {
        checkNotConcluded();
        this.walMode = mode;
        return this;
    }

    /**
     * @param intervalNs between WAL syncs in {@link WalMode#BACKGROUND}, positive.
     * @return this for a fluent API.
     */
    public MemberConfiguration walSyncIntervalNs(final long intervalNs)
    {
        checkNotConcluded();
        this.walSyncIntervalNs = intervalNs;
        return this;
    }

    /**
     * @param intervalNs between checkpoints of a member with a data directory, positive.
     * @return this for a fluent API.
     */
    public MemberConfiguration checkpointIntervalNs(final long intervalNs)
    {
        checkNotConcluded();
        this.checkpointIntervalNs = intervalNs;
        return this;
    }

    /**
     * @param records WAL records appended since the last checkpoint that start the next one early, positive.
     * @return this for a fluent API.
     */
    public MemberConfiguration checkpointWalRecords(final long records)
    {
        checkNotConcluded();
        this.checkpointWalRecords = records;
        return this;
    }

    /**
     * WAL before a committed checkpoint is released only once it is older than this and more than
     * {@link #walHistoryRecords(long)} records back: until then it serves historical rebalance.
     *
     * @param ageNs of history to keep, zero or more.
     * @return this for a fluent API.
     */
    public MemberConfiguration walHistoryAgeNs(final long ageNs)
    {
        checkNotConcluded();
        this.walHistoryAgeNs = ageNs;
        return this;
    }

    /**
     * @param records of WAL history to keep beyond the newest checkpoint (see {@link #walHistoryAgeNs(long)}), zero
     *                or more.
     * @return this for a fluent API.
     */
    public MemberConfiguration walHistoryRecords(final long records)
    {
        checkNotConcluded();
        this.walHistoryRecords = records;
        return this;
    }

    /**
     * @param bytes the size a supplier fills each rebalance batch to (at least one entry per batch), 1 KiB to 64 MiB.
     * @return this for a fluent API.
     */
    public MemberConfiguration rebalanceBatchBytes(final int bytes)
    {
        checkNotConcluded();
        this.rebalanceBatchBytes = bytes;
        return this;
    }

    /**
     * @param throttleNs pause before a rebalancing partition demands its next batch, zero or more (limits the load
     *                   rebalance puts on suppliers).
     * @return this for a fluent API.
     */
    public MemberConfiguration rebalanceThrottleNs(final long throttleNs)
    {
        checkNotConcluded();
        this.rebalanceThrottleNs = throttleNs;
        return this;
    }

    /**
     * @param partitions how many partition copies this member catches up at once, 1 to 1024 (a copy missing k &lt; 64
     *                   updates counts as k/64 of one).
     * @return this for a fluent API.
     */
    public MemberConfiguration rebalanceConcurrency(final int partitions)
    {
        checkNotConcluded();
        this.rebalanceConcurrency = partitions;
        return this;
    }

    /**
     * Validate once and freeze. Idempotent.
     *
     * @return this, concluded.
     * @throws InvalidConfigurationException naming the first invalid field and its value.
     */
    public MemberConfiguration conclude()
    {
        if (concluded)
        {
            return this;
        }
        checkIdentityAndMembership();
        concludePersistence();
        checkClients();
        concluded = true;
        return this;
    }

    /** Identity, address, seeds, failure detection, quorum and join settings. */
    private void checkIdentityAndMembership()
    {
        if (memberId == null || !ID_PATTERN.matcher(memberId).matches())
        {
            throw new InvalidConfigurationException("memberId '" + memberId + "' must match " + ID_PATTERN.pattern());
        }
        if (clusterName == null || !ID_PATTERN.matcher(clusterName).matches())
        {
            throw new InvalidConfigurationException(
                "clusterName '" + clusterName + "' must match " + ID_PATTERN.pattern());
        }
        if (bindAddress == null || bindAddress.isEmpty())
        {
            throw new InvalidConfigurationException("bindAddress must be set");
        }
        if (port < 1 || port > 65535)
        {
            throw new InvalidConfigurationException("port=" + port + " must be in [1, 65535]");
        }
        for (final String seed : seeds)
        {
            final int colon = seed == null ? -1 : seed.lastIndexOf(':');
            if (colon <= 0 || !seed.substring(colon + 1).matches("[0-9]{1,5}"))
            {
                throw new InvalidConfigurationException("seed '" + seed + "' must be host:port");
            }
        }
        if (heartbeatIntervalNs <= 0)
        {
            throw new InvalidConfigurationException("heartbeatIntervalNs=" + heartbeatIntervalNs + " must be positive");
        }
        if (failureDetectionTimeoutNs <= heartbeatIntervalNs)
        {
            throw new InvalidConfigurationException("failureDetectionTimeoutNs=" + failureDetectionTimeoutNs +
                " must exceed heartbeatIntervalNs=" + heartbeatIntervalNs);
        }
        if (minMembers < 0 || minMembers > 1024)
        {
            throw new InvalidConfigurationException("minMembers=" + minMembers +
                " must be in [0, 1024] (0: a majority " +
                "of the seeds)");
        }
        if (joinTimeoutNs <= 0)
        {
            throw new InvalidConfigurationException("joinTimeoutNs=" + joinTimeoutNs + " must be positive");
        }
        if (idleMaxParkNs < TimeUnit.MICROSECONDS.toNanos(1) || idleMaxParkNs > TimeUnit.MILLISECONDS.toNanos(100))
        {
            throw new InvalidConfigurationException("idleMaxParkNs=" + idleMaxParkNs + " must be in [1 µs, 100 ms]");
        }
    }

    /** The WAL mode (defaulted from the data directory), checkpoints, WAL history and rebalance settings. */
    private void concludePersistence()
    {
        if (walMode == null)
        {
            walMode = dataDirectory == null ? WalMode.NONE : WalMode.LOG_ONLY;
        }
        else if (walMode != WalMode.NONE && dataDirectory == null)
        {
            throw new InvalidConfigurationException("walMode=" + walMode + " needs a dataDirectory");
        }
        if (checkpointIntervalNs <= 0)
        {
            throw new InvalidConfigurationException("checkpointIntervalNs=" + checkpointIntervalNs +
                " must be positive");
        }
        if (checkpointWalRecords <= 0)
        {
            throw new InvalidConfigurationException("checkpointWalRecords=" + checkpointWalRecords +
                " must be positive");
        }
        if (walHistoryAgeNs < 0 || walHistoryRecords < 0)
        {
            throw new InvalidConfigurationException("walHistoryAgeNs=" + walHistoryAgeNs + " and walHistoryRecords=" +
                walHistoryRecords + " must not be negative");
        }
        if (rebalanceBatchBytes < 1024 || rebalanceBatchBytes > 64 << 20)
        {
            throw new InvalidConfigurationException("rebalanceBatchBytes=" + rebalanceBatchBytes +
                " must be in [1024, 67108864]");
        }
        if (rebalanceThrottleNs < 0)
        {
            throw new InvalidConfigurationException("rebalanceThrottleNs=" + rebalanceThrottleNs +
                " must not be negative");
        }
        if (rebalanceConcurrency < 1 || rebalanceConcurrency > 1024)
        {
            throw new InvalidConfigurationException("rebalanceConcurrency=" + rebalanceConcurrency +
                " must be in [1, 1024]");
        }
        if (walSyncIntervalNs <= 0)
        {
            throw new InvalidConfigurationException("walSyncIntervalNs=" + walSyncIntervalNs + " must be positive");
        }
    }

    /** The client endpoint, its limits and users, entry sizes and merge operator names. */
    private void checkClients()
    {
        if (clientPort < -1 || clientPort > 65535)
        {
            throw new InvalidConfigurationException("clientPort=" + clientPort +
                " must be -1 (none), 0 (any) or a port");
        }
        if (clientMaxConnections < 1 || clientMaxConnections > 65536 || clientMaxFrameBytes < 1024 ||
            clientMaxFrameBytes > 256 << 20 || clientMaxPendingRequests < 1 || clientMaxPendingRequests > 1 << 20)
        {
            throw new InvalidConfigurationException("client limits (connections " + clientMaxConnections +
                ", frame bytes " + clientMaxFrameBytes + ", pending " + clientMaxPendingRequests +
                ") must be in [1, 65536], [1024, 268435456] and [1, 1048576]");
        }
        if (maxEntryBytes < 1024 || maxEntryBytes > MAX_ENTRY_BYTES_LIMIT)
        {
            throw new InvalidConfigurationException("maxEntryBytes=" + maxEntryBytes + " must be in [1024, " +
                MAX_ENTRY_BYTES_LIMIT + "]");
        }
        if (clientHandshakeTimeoutNs <= 0 || clientIdleTimeoutNs < 0)
        {
            throw new InvalidConfigurationException("client timeouts (handshake " + clientHandshakeTimeoutNs +
                " ns, idle " + clientIdleTimeoutNs + " ns) must be positive and not negative (0: no idle timeout)");
        }
        if (clientTlsKeyStore != null && clientTlsKeyStorePassword == null)
        {
            throw new InvalidConfigurationException("clientTls key store " + clientTlsKeyStore + " needs a password");
        }
        if (cacheMemoryMaxBytes == CACHE_MEMORY_MAX_BYTES_DEFAULT)
        {
            cacheMemoryMaxBytes = Runtime.getRuntime().maxMemory() / 100 * CACHE_MEMORY_HEAP_PERCENT_DEFAULT;
        }
        else if (cacheMemoryMaxBytes <= 0)
        {
            throw new InvalidConfigurationException("cache.memory.max.bytes " + cacheMemoryMaxBytes +
                " must be positive (unset: " + CACHE_MEMORY_HEAP_PERCENT_DEFAULT + "% of the maximum heap)");
        }
        for (final String name : mergeOperators.keySet())
        {
            if (MergeOperators.builtIns().containsKey(name))
            {
                throw new InvalidConfigurationException("merge operator name '" + name + "' is built in " +
                    "(MergeOperators); register yours under another name");
            }
        }
        for (final Map.Entry<String, ClientUser> user : clientUsers.entrySet())
        {
            if (!ID_PATTERN.matcher(user.getKey()).matches() || user.getValue().role() == null)
            {
                throw new InvalidConfigurationException("client user '" + user.getKey() + "' needs a name matching " +
                    ID_PATTERN.pattern() + " and a role");
            }
            try
            {
                PasswordHash.validate(user.getValue().passwordHash());
            }
            catch (final InvalidConfigurationException ex)
            {
                throw new InvalidConfigurationException("client user '" + user.getKey() + "': " + ex.getMessage());
            }
        }
    }

    /** @return the size of one rebalance batch. */
    public int rebalanceBatchBytes()
    {
        return rebalanceBatchBytes;
    }

    /** @return the pause between a rebalancing partition's batches. */
    public long rebalanceThrottleNs()
    {
        return rebalanceThrottleNs;
    }

    /** @return how many partitions this member rebalances at once. */
    public int rebalanceConcurrency()
    {
        return rebalanceConcurrency;
    }

    /** @return the member's stable identity. */
    public String memberId()
    {
        return memberId;
    }

    /** @return the cluster name. */
    public String clusterName()
    {
        return clusterName;
    }

    /** @return the bind address. */
    public String bindAddress()
    {
        return bindAddress;
    }

    /** @return the port. */
    public int port()
    {
        return port;
    }

    /** @return the seeds, unmodifiable. */
    public List<String> seeds()
    {
        return Collections.unmodifiableList(seeds);
    }

    /** @return the attributes in name order, unmodifiable. */
    public Map<String, String> attributes()
    {
        return Collections.unmodifiableMap(attributes);
    }

    /** @return the services' settings by key, unmodifiable (see {@link #setting}). */
    public Map<String, String> settings()
    {
        return Collections.unmodifiableMap(settings);
    }

    /** @return the heartbeat interval in nanoseconds. */
    public long heartbeatIntervalNs()
    {
        return heartbeatIntervalNs;
    }

    /** @return the failure detection timeout in nanoseconds. */
    public long failureDetectionTimeoutNs()
    {
        return failureDetectionTimeoutNs;
    }

    /** @return the join timeout in nanoseconds. */
    public long joinTimeoutNs()
    {
        return joinTimeoutNs;
    }

    /** @return the park of a member thread idle for more than 10 ms, in nanoseconds. */
    public long idleMaxParkNs()
    {
        return idleMaxParkNs;
    }

    /** @return the data directory, or null for a pure in-memory member. */
    public Path dataDirectory()
    {
        return dataDirectory;
    }

    /** @return the WAL mode (decided by {@link #conclude()} when not set). */
    public WalMode walMode()
    {
        return walMode;
    }

    /** @return the interval between WAL syncs in {@link WalMode#BACKGROUND}, in nanoseconds. */
    public long walSyncIntervalNs()
    {
        return walSyncIntervalNs;
    }

    /** @return the interval between checkpoints in nanoseconds. */
    public long checkpointIntervalNs()
    {
        return checkpointIntervalNs;
    }

    /** @return the WAL records since the last checkpoint that start the next one. */
    public long checkpointWalRecords()
    {
        return checkpointWalRecords;
    }

    /** @return the age of WAL history kept beyond the newest checkpoint, in nanoseconds. */
    public long walHistoryAgeNs()
    {
        return walHistoryAgeNs;
    }

    /** @return the WAL records of history kept beyond the newest checkpoint. */
    public long walHistoryRecords()
    {
        return walHistoryRecords;
    }

    private void checkNotConcluded()
    {
        if (concluded)
        {
            throw new IllegalStateException("member configuration '" + memberId + "' is concluded and cannot change");
        }
    }
}
