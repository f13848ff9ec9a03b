package dev.grid.jcache;

import dev.grid.client.ClientConfiguration;
import dev.grid.core.Grid;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.node.MemberConfigurationFile;

import javax.cache.CacheException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How a cache manager's URI and properties choose what it stands on. The URI forms:
 * <ul>
 *   <li>{@code grid:member} (the default): a member started in this JVM, alone on 127.0.0.1 unless the properties
 *   say otherwise: every {@code grid.member.KEY} property is a key of the member properties file format
 *   ({@code grid.member.seeds}, {@code grid.member.port}, {@code grid.member.data.directory}, ...);</li>
 *   <li>{@code grid:member:/path/to/member.properties}: a member started in this JVM from that file;</li>
 *   <li>{@code grid:client://host:port,host:port}: a thin client connected to those members, with
 *   {@code grid.client.user} and {@code grid.client.password} if members require credentials and
 *   {@code grid.client.truststore} (and {@code .password}) for TLS.</li>
 * </ul>
 * The system property {@code grid.jcache.uri} replaces the default URI. Caches a manager creates have
 * {@code grid.jcache.partitions} partitions and {@code grid.jcache.backups} backups (Grid's defaults if absent);
 * properties given to {@code getCacheManager} win over system properties. Stateless.
 */
final class ProviderSettings
{
    /** The default URI unless {@code grid.jcache.uri} names another. */
    static final String DEFAULT_URI = "grid:member";

    private static final String MEMBER_PREFIX = "grid.member.";
    private static final AtomicInteger MEMBER_SEQUENCE = new AtomicInteger();

    private ProviderSettings()
    {
    }

    /**
     * @return the provider's default URI.
     */
    static URI defaultUri()
    {
        return URI.create(System.getProperty("grid.jcache.uri", DEFAULT_URI));
    }

    /**
     * @param properties given to {@code getCacheManager}.
     * @param key        to look up.
     * @return its value there, else as a system property, else null.
     */
    static String setting(final Properties properties, final String key)
    {
        final String value = properties.getProperty(key);
        return value != null ? value : System.getProperty(key);
    }

    /**
     * @param uri        of the cache manager.
     * @param properties given to {@code getCacheManager}.
     * @return the started backend.
     * @throws CacheException naming the URI if it is none of the forms above or its member or client cannot start.
     */
    static GridBackend start(final URI uri, final Properties properties)
    {
        final String part = uri.getSchemeSpecificPart();
        if (!"grid".equals(uri.getScheme()) || part == null)
        {
            throw new CacheException("unsupported cache manager URI '" + uri +
                "': expected grid:member, grid:member:/path/member.properties or grid:client://host:port,...");
        }
        try
        {
            if (part.equals("member"))
            {
                return GridBackend.member(Grid.start(MemberConfigurationFile.parse(memberProperties(properties),
                    "cache manager " + uri)));
            }
            if (part.startsWith("member:"))
            {
                return GridBackend.member(Grid.start(MemberConfigurationFile.load(
                    Path.of(part.substring("member:".length())))));
            }
            if (part.startsWith("client://"))
            {
                return GridBackend.client(clientConfiguration(part.substring("client://".length()), properties));
            }
        }
        catch (final InvalidConfigurationException ex)
        {
            throw new CacheException("cache manager " + uri + ": " + ex.getMessage(), ex);
        }
        throw new CacheException("unsupported cache manager URI '" + uri +
            "': expected grid:member, grid:member:/path/member.properties or grid:client://host:port,...");
    }

    private static Properties memberProperties(final Properties given)
    {
        final Properties member = new Properties();
        for (final Properties source : new Properties[] {System.getProperties(), given})
        {
            for (final String key : source.stringPropertyNames())
            {
                if (key.startsWith(MEMBER_PREFIX))
                {
                    member.setProperty(key.substring(MEMBER_PREFIX.length()), source.getProperty(key));
                }
            }
        }
        if (member.getProperty("member.id") == null)
        {
            member.setProperty("member.id", "jcache-" + ProcessHandle.current().pid() + "-" +
                MEMBER_SEQUENCE.incrementAndGet());
        }
        if (member.getProperty("bind.address") == null)
        {
            member.setProperty("bind.address", "127.0.0.1");
        }
        if (member.getProperty("port") == null)
        {
            member.setProperty("port", Integer.toString(freeUdpPort(member.getProperty("bind.address"))));
        }
        if (member.getProperty("seeds") == null)
        {
            member.setProperty("seeds", member.getProperty("bind.address") + ":" + member.getProperty("port"));
        }
        return member;
    }

    private static int freeUdpPort(final String address)
    {
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getByName(address)))
        {
            return socket.getLocalPort();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("no free UDP port on " + address, ex);
        }
    }

    private static ClientConfiguration clientConfiguration(final String addresses, final Properties properties)
    {
        final ClientConfiguration config = new ClientConfiguration();
        for (final String address : addresses.split(","))
        {
            if (!address.isBlank())
            {
                config.address(address.trim());
            }
        }
        final String user = setting(properties, "grid.client.user");
        if (user != null)
        {
            config.credentials(user, setting(properties, "grid.client.password"));
        }
        final String trustStore = setting(properties, "grid.client.truststore");
        if (trustStore != null)
        {
            config.tls(Path.of(trustStore), setting(properties, "grid.client.truststore.password"));
        }
        return config;
    }
}
