package dev.grid.node;

import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.WalMode;
import dev.grid.core.internal.affinity.ShardedAffinity;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Loads a {@link MemberConfiguration} from a Java properties file. The format (also in README):
 * <pre>
 * member.id = m1                          # required
 * cluster.name = grid                     # default grid
 * bind.address = 127.0.0.1                # default 127.0.0.1
 * port = 47500                            # required: the member's UDP port
 * seeds = 127.0.0.1:47500,127.0.0.1:47501 # comma-separated host:port; may include this member
 * attribute.rack = r1                     # any number of attribute.NAME entries
 * heartbeat.interval.ms = 200
 * failure.detection.timeout.ms = 3000
 * join.timeout.ms = 10000
 * cluster.min.members = 2                 # quorum without a baseline; default a majority of the seeds
 * idle.max.park.us = 1000                 # park of a member thread idle for more than 10 ms
 * data.directory = /var/lib/grid/m1       # WAL and identity; none: a pure in-memory member
 * wal.mode = LOG_ONLY                     # FSYNC, LOG_ONLY (default with a data directory), BACKGROUND, NONE
 * wal.sync.interval.ms = 1000             # BACKGROUND mode's sync interval
 * checkpoint.interval.ms = 60000          # between checkpoints (with a data directory)
 * checkpoint.wal.records = 1000000        # WAL records that start a checkpoint before its interval
 * wal.history.age.ms = 600000             # WAL kept for rebalance: released only when older than this
 * wal.history.records = 10000000          # ... and more than this many records back
 * rebalance.batch.bytes = 65536           # size of one rebalance batch
 * rebalance.throttle.ms = 0               # pause between a rebalancing partition's batches
 * rebalance.concurrency = 64              # partitions a member catches up at once (one missing k < 64 updates: k/64)
 * client.port = 10800                     # TCP port for thin clients and the admin tool; 0 any; none if absent
 * client.max.connections = 256
 * client.max.frame.bytes = 37748736      # 36 MiB: a replace of the largest entry fits
 * entry.max.bytes = 17825792              # 17 MiB: the longest key and value together a write may store
 * cache.memory.max.bytes = 4294967296      # cache data this member holds at most (default: 60% of the max heap)
 * client.max.pending = 1024               # outstanding requests per connection
 * client.handshake.timeout.ms = 10000     # a connection that has not authenticated by then is closed
 * client.idle.timeout.ms = 0              # an authenticated connection silent this long is closed; 0 never
 * client.user.alice = USER:pbkdf2-sha256-nfc:...   # role (USER or ADMIN), then a hash from dev.grid.node.Passwords
 * client.tls.keystore = /etc/grid/m1.p12   # serve clients over TLS with this PKCS12 certificate and key
 * client.tls.keystore.password = ...
 * resp.port = 6379                        # serve the Redis protocol (grid-resp on the class path); resp.* keys
 * metrics.port = 9404                     # serve Prometheus metrics (grid-metrics on the class path); metrics.* keys
 * shards = 2                              # engines in this process (default 1; see loadShards)
 * </pre>
 * An unknown key or a malformed number is an {@link InvalidConfigurationException} naming the key, so a typo never
 * silently falls back to a default.
 */
public final class MemberConfigurationFile
{
    /** Key prefixes of member services' settings ({@link MemberConfiguration#settings}). */
    private static final List<String> SERVICE_PREFIXES = List.of("resp.", "metrics.", "console.");

    private MemberConfigurationFile()
    {
    }

    /**
     * @param file to read.
     * @return the concluded configuration.
     * @throws InvalidConfigurationException naming the file and the key that is wrong.
     */
    public static MemberConfiguration load(final Path file)
    {
        return load(file, Map.of());
    }

    /** Prefix of environment variables that override a configuration file's keys ({@link #load(Path, Map)}). */
    public static final String ENVIRONMENT_PREFIX = "GRID_CONF_";

    /**
     * Read a file, then let environment variables override its keys, as containers configure a member: a variable
     * {@code GRID_CONF_CLIENT_PORT=10800} sets {@code client.port} (the rest of the name in lower case, {@code _} for
     * {@code .}). Variables without the prefix are ignored; one that names no key is an error like an unknown key.
     *
     * @param file        to read.
     * @param environment variables, e.g. {@link System#getenv()}.
     * @return the concluded configuration.
     * @throws InvalidConfigurationException naming the file or variable and the key that is wrong.
     */
    public static MemberConfiguration load(final Path file, final Map<String, String> environment)
    {
        final Properties properties = new Properties();
        final String source = read(file, environment, properties);
        return parse(properties, source, true);
    }

    /**
     * The shards a file asks for: {@code shards = N} (default 1) runs N engines in the process ({@link ShardedMember}),
     * shard {@code i} with the id {@link ShardedMember#shardId}, the UDP port {@code port + i}, the client port
     * {@code client.port + i} (0 stays any), the data directory {@code data.directory/shard-<i>}, and, for the first
     * shard only, the member services' ports ({@code resp.port}, {@code metrics.port}, {@code console.port}): a
     * service listens once per process (JMX metrics, which need no port, are every shard's). With one shard the
     * configuration is the file's own, as {@link #load(Path, Map)} reads it. Every shard's configuration is checked
     * before this returns.
     *
     * @param file        to read.
     * @param environment variables that override keys, as for {@link #load(Path, Map)}.
     * @return the member's id, its shard count and each shard's configuration (not concluded: a shard's is concluded
     *         when it starts).
     * @throws InvalidConfigurationException naming the file and the key that is wrong.
     */
    public static Shards loadShards(final Path file, final Map<String, String> environment)
    {
        final Properties properties = new Properties();
        final String source = read(file, environment, properties);
        final String value = properties.getProperty("shards");
        properties.remove("shards");
        final int shards = value == null ? 1 : clamp(number(source, "shards", value.trim()));
        if (shards < 1 || shards > ShardedMember.MAX_SHARDS)
        {
            throw new InvalidConfigurationException(source + ": shards = " + value.trim() + " must be in [1, " +
                ShardedMember.MAX_SHARDS + "]");
        }
        final String memberId = parse(properties, source, false).memberId();
        // Each shard's configuration is checked now, so that a mistake is named with the file before anything starts;
        // the configurations handed out are fresh, not concluded, for the shards to add their grouping to.
        for (int shard = 0; shard < shards; shard++)
        {
            parse(shardProperties(properties, source, memberId, shards, shard), shardSource(source, shards, shard),
                true);
        }
        return new Shards(memberId, shards, shard -> parse(shardProperties(properties, source, memberId, shards,
            shard), shardSource(source, shards, shard), false));
    }

    private static String shardSource(final String source, final int shards, final int shard)
    {
        return shards == 1 ? source : source + " (shard " + shard + ")";
    }

    /** A shard's keys: the file's with the shard's id, ports and data directory; services' ports on shard 0 only. */
    private static Properties shardProperties(final Properties properties, final String source, final String memberId,
        final int shards, final int shard)
    {
        final Properties own = new Properties();
        own.putAll(properties);
        if (shards == 1)
        {
            return own;
        }
        own.setProperty("member.id", ShardedMember.shardId(memberId, shard));
        final String port = properties.getProperty("port");
        if (port != null)
        {
            own.setProperty("port", Long.toString(number(source, "port", port.trim()) + shard));
        }
        final String clientPort = properties.getProperty("client.port");
        if (clientPort != null && number(source, "client.port", clientPort.trim()) > 0)
        {
            own.setProperty("client.port", Long.toString(number(source, "client.port", clientPort.trim()) + shard));
        }
        final String data = properties.getProperty("data.directory");
        if (data != null && !data.isBlank())
        {
            own.setProperty("data.directory", Path.of(data.trim()).resolve("shard-" + shard).toString());
        }
        if (shard > 0)
        {
            // A service listens once per process: without its port key it does not start on the other shards.
            own.stringPropertyNames().stream().filter(key -> key.endsWith(".port") &&
                SERVICE_PREFIXES.stream().anyMatch(key::startsWith)).forEach(own::remove);
        }
        return own;
    }

    /**
     * What {@link #loadShards} read.
     *
     * @param memberId the member's id, as the file names it.
     * @param count    its shards, at least 1.
     * @param shard    a shard's configuration by index, not concluded; with one shard, the file's own.
     */
    public record Shards(String memberId, int count, IntFunction<MemberConfiguration> shard)
    {
    }

    /** Read a file's keys into {@code properties}, then the environment's overrides; @return the source to name. */
    private static String read(final Path file, final Map<String, String> environment, final Properties properties)
    {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8))
        {
            properties.load(reader);
        }
        catch (final IOException ex)
        {
            throw new InvalidConfigurationException("cannot read configuration file " + file + ": " + ex);
        }
        final List<String> overridden = new ArrayList<>();
        for (final Map.Entry<String, String> variable : new TreeMap<>(environment).entrySet())
        {
            final String name = variable.getKey();
            if (name.startsWith(ENVIRONMENT_PREFIX) && name.length() > ENVIRONMENT_PREFIX.length())
            {
                final String key = name.substring(ENVIRONMENT_PREFIX.length()).toLowerCase(Locale.ROOT)
                    .replace('_', '.');
                properties.setProperty(key, variable.getValue());
                overridden.add(name + " (" + key + ")");
            }
        }
        return overridden.isEmpty() ? file.toString() : file + " with " + String.join(", ", overridden);
    }

    /**
     * A member's configuration as the keys of this file format (the values it runs with, defaults included), for
     * operators: passwords and password hashes are masked, every other value is shown.
     *
     * @param config a concluded configuration.
     * @return key to value, sorted by key.
     */
    public static java.util.SortedMap<String, String> describe(final MemberConfiguration config)
    {
        final java.util.SortedMap<String, String> keys = new java.util.TreeMap<>();
        keys.put("member.id", config.memberId());
        keys.put("cluster.name", config.clusterName());
        keys.put("bind.address", config.bindAddress());
        keys.put("port", Integer.toString(config.port()));
        keys.put("seeds", String.join(", ", config.seeds()));
        config.attributes().forEach((name, value) -> keys.put("attribute." + name, value));
        keys.put("heartbeat.interval.ms", Long.toString(TimeUnit.NANOSECONDS.toMillis(config.heartbeatIntervalNs())));
        keys.put("failure.detection.timeout.ms",
            Long.toString(TimeUnit.NANOSECONDS.toMillis(config.failureDetectionTimeoutNs())));
        keys.put("join.timeout.ms", Long.toString(TimeUnit.NANOSECONDS.toMillis(config.joinTimeoutNs())));
        keys.put("idle.max.park.us", Long.toString(TimeUnit.NANOSECONDS.toMicros(config.idleMaxParkNs())));
        keys.put("cluster.min.members", Integer.toString(config.minMembers()));
        keys.put("data.directory", config.dataDirectory() == null ? "" : config.dataDirectory().toString());
        keys.put("wal.mode", config.walMode().name());
        keys.put("wal.sync.interval.ms", Long.toString(TimeUnit.NANOSECONDS.toMillis(config.walSyncIntervalNs())));
        keys.put("checkpoint.interval.ms",
            Long.toString(TimeUnit.NANOSECONDS.toMillis(config.checkpointIntervalNs())));
        keys.put("checkpoint.wal.records", Long.toString(config.checkpointWalRecords()));
        keys.put("wal.history.age.ms", Long.toString(TimeUnit.NANOSECONDS.toMillis(config.walHistoryAgeNs())));
        keys.put("wal.history.records", Long.toString(config.walHistoryRecords()));
        keys.put("rebalance.batch.bytes", Integer.toString(config.rebalanceBatchBytes()));
        keys.put("rebalance.throttle.ms", Long.toString(TimeUnit.NANOSECONDS.toMillis(config.rebalanceThrottleNs())));
        keys.put("rebalance.concurrency", Integer.toString(config.rebalanceConcurrency()));
        keys.put("client.port", Integer.toString(config.clientPort()));
        keys.put("client.max.connections", Integer.toString(config.clientMaxConnections()));
        keys.put("client.max.frame.bytes", Integer.toString(config.clientMaxFrameBytes()));
        keys.put("client.max.pending", Integer.toString(config.clientMaxPendingRequests()));
        keys.put("client.handshake.timeout.ms",
            Long.toString(TimeUnit.NANOSECONDS.toMillis(config.clientHandshakeTimeoutNs())));
        keys.put("client.idle.timeout.ms", Long.toString(TimeUnit.NANOSECONDS.toMillis(config.clientIdleTimeoutNs())));
        keys.put("entry.max.bytes", Integer.toString(config.maxEntryBytes()));
        keys.put("cache.memory.max.bytes", Long.toString(config.cacheMemoryMaxBytes()));
        if (config.clientTlsKeyStore() != null)
        {
            keys.put("client.tls.keystore", config.clientTlsKeyStore().toString());
            keys.put("client.tls.keystore.password", MASK);
        }
        config.clientUsers().forEach((name, user) -> keys.put("client.user." + name, user.role() + ":" + MASK));
        config.settings().forEach((key, value) -> keys.put(key, key.contains("password") ? MASK : value));
        return keys;
    }

    /** What {@link #describe} shows instead of a secret. */
    public static final String MASK = "********";

    /**
     * @param properties to interpret.
     * @param source     named in errors.
     * @return the concluded configuration.
     */
    public static MemberConfiguration parse(final Properties properties, final String source)
    {
        return parse(properties, source, true);
    }

    private static MemberConfiguration parse(final Properties properties, final String source, final boolean conclude)
    {
        final String id = properties.getProperty("member.id");
        if (id == null)
        {
            throw new InvalidConfigurationException(source + ": member.id is required");
        }
        final MemberConfiguration config = new MemberConfiguration(id.trim());
        for (final String key : new TreeSet<>(properties.stringPropertyNames()))
        {
            final String value = properties.getProperty(key).trim();
            if (!membership(config, key, value, source) && !persistence(config, key, value, source) &&
                !clients(config, key, value, source) && !prefixed(config, key, value, source))
            {
                throw new InvalidConfigurationException(source + ": unknown key '" + key + "'");
            }
        }
        if (!conclude)
        {
            return config;
        }
        try
        {
            return config.conclude();
        }
        catch (final InvalidConfigurationException ex)
        {
            throw new InvalidConfigurationException(source + ": " + ex.detail());
        }
    }

    /** @return false if {@code key} is not one of the identity, address, seeds, failure detection and join keys. */
    private static boolean membership(final MemberConfiguration config, final String key, final String value,
        final String source)
    {
        switch (key)
        {
        case "member.id" ->
        {
        }
        case "cluster.name" -> config.clusterName(value);
        case "bind.address" -> config.bindAddress(value);
        case "port" -> config.port((int)number(source, key, value));
        case "seeds" ->
        {
            for (final String seed : value.split(","))
            {
                if (!seed.isBlank())
                {
                    config.addSeed(seed.trim());
                }
            }
        }
        case "heartbeat.interval.ms" ->
            config.heartbeatIntervalNs(TimeUnit.MILLISECONDS.toNanos(number(source, key, value)));
        case "failure.detection.timeout.ms" ->
            config.failureDetectionTimeoutNs(TimeUnit.MILLISECONDS.toNanos(number(source, key, value)));
        case "cluster.min.members" -> config.minMembers((int)Math.max(-1, Math.min(Integer.MAX_VALUE,
            number(source, key, value))));
        case "join.timeout.ms" ->
            config.joinTimeoutNs(TimeUnit.MILLISECONDS.toNanos(number(source, key, value)));
        case "shards" ->
        {
            if (!value.equals("1"))
            {
                throw new InvalidConfigurationException(source + ": shards = " + value + " asks for a member of " +
                    "several shards; start it with Main, which reads it with loadShards");
            }
        }
        case "idle.max.park.us" ->
            config.idleMaxParkNs(TimeUnit.MICROSECONDS.toNanos(number(source, key, value)));
            default ->
            {
                return false;
            }
        }
        return true;
    }

    /** @return false if {@code key} is not one of the data directory, WAL, checkpoint and rebalance keys. */
    private static boolean persistence(final MemberConfiguration config, final String key, final String value,
        final String source)
    {
        switch (key)
        {
        case "data.directory" ->
        {
            if (value.isEmpty())
            {
                // An empty value would quietly mean the working directory.
                throw new InvalidConfigurationException(source + ": data.directory is empty; remove the " +
                    "key for an in-memory member");
            }
            config.dataDirectory(Path.of(value));
        }
        case "wal.mode" ->
        {
            try
            {
                config.walMode(WalMode.valueOf(value));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new InvalidConfigurationException(source + ": wal.mode = '" + value + "' is not one of " +
                    java.util.Arrays.toString(WalMode.values()));
            }
        }
        case "checkpoint.interval.ms" ->
            config.checkpointIntervalNs(TimeUnit.MILLISECONDS.toNanos(number(source, key, value)));
        case "checkpoint.wal.records" -> config.checkpointWalRecords(number(source, key, value));
        case "wal.history.age.ms" ->
            config.walHistoryAgeNs(TimeUnit.MILLISECONDS.toNanos(number(source, key, value)));
        case "wal.history.records" -> config.walHistoryRecords(number(source, key, value));
        case "rebalance.batch.bytes" -> config.rebalanceBatchBytes((int)Math.min(Integer.MAX_VALUE,
            number(source, key, value)));
        case "rebalance.throttle.ms" ->
            config.rebalanceThrottleNs(TimeUnit.MILLISECONDS.toNanos(number(source, key, value)));
        case "rebalance.concurrency" -> config.rebalanceConcurrency((int)Math.min(Integer.MAX_VALUE,
            number(source, key, value)));
        case "wal.sync.interval.ms" ->
            config.walSyncIntervalNs(TimeUnit.MILLISECONDS.toNanos(number(source, key, value)));
            default ->
            {
                return false;
            }
        }
        return true;
    }

    /**
     * @return false if {@code key} is not a client endpoint key (port, limits, timeouts, TLS), entry.max.bytes or
     *         cache.memory.max.bytes.
     */
    private static boolean clients(final MemberConfiguration config, final String key, final String value,
        final String source)
    {
        switch (key)
        {
        case "client.port" -> config.clientPort((int)Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE,
            number(source, key, value))));
        case "client.max.connections" -> config.clientLimits(clamp(number(source, key, value)),
            config.clientMaxFrameBytes(), config.clientMaxPendingRequests());
        case "client.max.frame.bytes" -> config.clientLimits(config.clientMaxConnections(),
            clamp(number(source, key, value)), config.clientMaxPendingRequests());
        case "client.max.pending" -> config.clientLimits(config.clientMaxConnections(),
            config.clientMaxFrameBytes(), clamp(number(source, key, value)));
        case "entry.max.bytes" -> config.maxEntryBytes(clamp(number(source, key, value)));
        case "cache.memory.max.bytes" -> config.cacheMemoryMaxBytes(number(source, key, value));
        case "client.handshake.timeout.ms" -> config.clientTimeouts(
            TimeUnit.MILLISECONDS.toNanos(number(source, key, value)), config.clientIdleTimeoutNs());
        case "client.idle.timeout.ms" -> config.clientTimeouts(config.clientHandshakeTimeoutNs(),
            TimeUnit.MILLISECONDS.toNanos(number(source, key, value)));
        case "client.tls.keystore" -> config.clientTls(Path.of(value), config.clientTlsKeyStorePassword());
        case "client.tls.keystore.password" -> config.clientTls(config.clientTlsKeyStore(), value);
            default ->
            {
                return false;
            }
        }
        return true;
    }

    /** @return false if {@code key} is not a member attribute ({@code attribute.*}) or a client user. */
    private static boolean prefixed(final MemberConfiguration config, final String key, final String value,
        final String source)
    {
        if (SERVICE_PREFIXES.stream().anyMatch(prefix -> key.startsWith(prefix) && key.length() > prefix.length()))
        {
            // A member service's settings (grid-resp, grid-metrics, ...): the service checks them when it starts.
            config.setting(key, value);
            return true;
        }
        if (key.startsWith("attribute.") && key.length() > "attribute.".length())
        {
            final String name = key.substring("attribute.".length());
            if (name.equals(ShardedAffinity.MEMBER_ATTRIBUTE) || name.equals(ShardedAffinity.SHARD_ATTRIBUTE))
            {
                // Set by hand, it would make the affinity function take this member for a shard of another.
                throw new InvalidConfigurationException(source + ": " + key + " is reserved: a member's shards get " +
                    "it from the shards key");
            }
            config.attribute(name, value);
            return true;
        }
        if (key.startsWith("client.user.") && key.length() > "client.user.".length())
        {
            final int colon = value.indexOf(':');
            final MemberConfiguration.ClientRole role;
            try
            {
                role = MemberConfiguration.ClientRole.valueOf(colon < 0 ? value : value.substring(0, colon));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new InvalidConfigurationException(source + ": " + key + " must be USER:<hash> or " +
                    "ADMIN:<hash>");
            }
            config.clientUser(key.substring("client.user.".length()), role, value.substring(colon + 1));
            return true;
        }
        return false;
    }

    private static int clamp(final long value)
    {
        return (int)Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, value));
    }

    private static long number(final String source, final String key, final String value)
    {
        try
        {
            return Long.parseLong(value);
        }
        catch (final NumberFormatException ex)
        {
            throw new InvalidConfigurationException(source + ": " + key + " = '" + value + "' is not a number");
        }
    }
}
