package dev.grid.resp;

import dev.grid.core.CacheConfiguration;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.MemberConfiguration;

import java.util.Map;
import java.util.Set;

/**
 * The member's {@code resp.*} settings (member properties file or {@link MemberConfiguration#setting}):
 * <pre>
 * resp.port = 6379                 # serve the Redis protocol on this TCP port (0: any free one); absent: not at all
 * resp.bind.address = 127.0.0.1    # default: the member's bind address
 * resp.max.connections = 1024      # connections served at once; more are answered with an error and closed
 * resp.max.request.bytes = ...     # the longest argument (bulk string) of a command; default the member's
 *                                  # entry.max.bytes
 * resp.max.arguments = 1048576     # the most arguments of one command
 * resp.max.command.bytes = ...     # the most bytes of one command's arguments together; default 4 times
 *                                  # resp.max.request.bytes
 * resp.max.pending = 1024          # commands of a connection in flight before the member stops reading it
 * resp.databases = 16              # SELECT 0 .. 15
 * resp.db.0 = mycache              # the Grid cache of a database index; default resp.N, created when first served
 * resp.cache.backups = 1           # backups of a database's cache created by the member
 * resp.cache.partitions = 1024     # its partitions
 * </pre>
 * The member's users ({@code client.user.*}) are the users of AUTH; its {@code client.tls.keystore} makes RESP TLS too.
 * Immutable.
 *
 * @param port            the TCP port.
 * @param bindAddress     the address to listen on.
 * @param maxConnections  connections at once.
 * @param maxArgumentBytes the longest argument.
 * @param maxArguments    the most arguments of a command.
 * @param maxCommandBytes the most bytes of a command's arguments together.
 * @param maxPending      commands in flight per connection.
 * @param databases       the number of database indexes.
 * @param cacheNames      the Grid cache of each index.
 * @param backups         backups of created caches.
 * @param partitions      partitions of created caches.
 */
record RespSettings(int port, String bindAddress, int maxConnections, int maxArgumentBytes, int maxArguments,
    long maxCommandBytes, int maxPending, int databases, String[] cacheNames, int backups, int partitions)
{
    private static final Set<String> KEYS = Set.of("resp.port", "resp.bind.address", "resp.max.connections",
        "resp.max.request.bytes", "resp.max.arguments", "resp.max.command.bytes", "resp.max.pending",
        "resp.databases", "resp.cache.backups", "resp.cache.partitions");

    /**
     * @param config the member's configuration.
     * @return its RESP settings, or null if it has no {@code resp.port}.
     * @throws InvalidConfigurationException naming a key that is unknown or a value that is wrong.
     */
    static RespSettings of(final MemberConfiguration config)
    {
        final Map<String, String> settings = config.settings();
        for (final String key : settings.keySet())
        {
            if (key.startsWith("resp.") && !KEYS.contains(key) && !key.matches("resp\\.db\\.[0-9]{1,4}"))
            {
                throw new InvalidConfigurationException("unknown setting '" + key + "'; known: " + KEYS +
                    " and resp.db.N");
            }
        }
        if (!settings.containsKey("resp.port"))
        {
            return null;
        }
        final int databases = number(settings, "resp.databases", 16, 1, 10_000);
        final String[] names = new String[databases];
        for (int i = 0; i < databases; i++)
        {
            names[i] = settings.getOrDefault("resp.db." + i, "resp." + i);
            if (!CacheConfiguration.NAME_PATTERN.matcher(names[i]).matches())
            {
                throw new InvalidConfigurationException("resp.db." + i + " = '" + names[i] + "' is not a cache name");
            }
        }
        final int maxArgumentBytes = number(settings, "resp.max.request.bytes", config.maxEntryBytes(), 1,
            Integer.MAX_VALUE);
        return new RespSettings(number(settings, "resp.port", 0, 0, 65_535),
            settings.getOrDefault("resp.bind.address", config.bindAddress()),
            number(settings, "resp.max.connections", 1024, 1, 1_000_000), maxArgumentBytes,
            number(settings, "resp.max.arguments", 1 << 20, 1, Integer.MAX_VALUE),
            number(settings, "resp.max.command.bytes", (int)Math.min(Integer.MAX_VALUE, 4L * maxArgumentBytes), 1,
                Integer.MAX_VALUE),
            number(settings, "resp.max.pending", 1024, 1, 1_000_000), databases, names,
            number(settings, "resp.cache.backups", 1, 0, 8),
            number(settings, "resp.cache.partitions", CacheConfiguration.PARTITIONS_DEFAULT, 1, 65_536));
    }

    private static int number(final Map<String, String> settings, final String key, final int defaultValue,
        final int min, final int max)
    {
        final String value = settings.get(key);
        if (value == null)
        {
            return defaultValue;
        }
        try
        {
            final int number = Integer.parseInt(value.trim());
            if (number < min || number > max)
            {
                throw new InvalidConfigurationException(key + " = " + value + " is outside [" + min + ", " + max +
                    "]");
            }
            return number;
        }
        catch (final NumberFormatException ex)
        {
            throw new InvalidConfigurationException(key + " = '" + value + "' is not a whole number");
        }
    }
}
