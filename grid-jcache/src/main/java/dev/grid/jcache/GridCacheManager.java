package dev.grid.jcache;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ScanCursor;

import javax.cache.CacheException;
import javax.cache.CacheManager;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.Configuration;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.spi.CachingProvider;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A JCache {@link CacheManager} over one Grid member or thin client ({@link GridBackend}). Its caches are Grid caches
 * named {@code jcache.<name>} with byte-array keys and values; their JCache configurations are kept cluster-wide in
 * the Grid cache {@code jcache._configurations} (a name no JCache name maps to), so every manager on the same cluster
 * sees the same caches with the same configuration, and a cache's name is taken once however many managers create it
 * at once. Managers of a namespace ({@code grid.jcache.namespace}, or one per class loader other than the provider's
 * default, as JCache scopes caches by URI and class loader) see only that namespace's caches.
 * <p>
 * Thread-safe. Closing it closes its caches (their data stays in the cluster) and the member or client it started.
 */
public final class GridCacheManager implements CacheManager
{
    /** The Grid cache holding every JCache cache's configuration by name. */
    static final String CONFIGURATIONS_CACHE = "jcache._configurations";

    private static final String CACHE_PREFIX = "jcache.";
    private static final char NAMESPACE_SEPARATOR = '\u0000';
    private static final int CONFIGURATIONS_PARTITIONS = 16;
    private static final long SWEEP_DEFAULT_MS = 60_000;

    private final GridCachingProvider provider;
    private final URI uri;
    private final ClassLoader classLoader;
    private final Properties properties;
    private final Serialization serialization;
    private final String namespace;
    private final GridBackend backend;
    private final Cache<byte[], byte[]> configurations;
    private final Map<String, GridCache<?, ?>> caches = new ConcurrentHashMap<>();
    private volatile boolean closed;
    private ScheduledExecutorService sweeper;

    GridCacheManager(final GridCachingProvider provider, final URI uri, final ClassLoader classLoader,
        final Properties properties)
    {
        this.provider = provider;
        this.uri = uri;
        this.classLoader = classLoader;
        this.properties = properties;
        this.serialization = new Serialization(classLoader);
        this.namespace = namespace(provider, classLoader, properties);
        this.backend = ProviderSettings.start(uri, properties);
        try
        {
            this.configurations = backend.createOrOpen(new CacheConfiguration<>(CONFIGURATIONS_CACHE, Codecs.BYTES,
                Codecs.BYTES).partitions(CONFIGURATIONS_PARTITIONS)
                .backups(backups(CacheConfiguration.BACKUPS_DEFAULT)));
        }
        catch (final RuntimeException ex)
        {
            backend.close();
            throw ex;
        }
    }

    @Override
    public CachingProvider getCachingProvider()
    {
        return provider;
    }

    @Override
    public URI getURI()
    {
        return uri;
    }

    @Override
    public ClassLoader getClassLoader()
    {
        return classLoader;
    }

    @Override
    public Properties getProperties()
    {
        return properties;
    }

    @Override
    public <K, V, C extends Configuration<K, V>> javax.cache.Cache<K, V> createCache(final String cacheName,
        final C configuration)
    {
        checkOpen();
        Objects.requireNonNull(cacheName, "cacheName");
        Objects.requireNonNull(configuration, "configuration");
        final MutableConfiguration<K, V> config = copyOf(configuration);
        final byte[] nameBytes = registryKey(cacheName);
        if (!config.isStoreByValue())
        {
            return createLocal(cacheName, config, nameBytes);
        }
        if (caches.containsKey(cacheName) || !EntrySlots.call(() -> configurations.putIfAbsent(nameBytes,
            storable(config))))
        {
            throw new CacheException("a cache named '" + cacheName + "' already exists");
        }
        final Cache<byte[], byte[]> grid;
        try
        {
            grid = backend.createOrOpen(new CacheConfiguration<>(gridName(namespace, cacheName), Codecs.BYTES,
                Codecs.BYTES).partitions(partitions()).backups(backups(CacheConfiguration.BACKUPS_DEFAULT)));
        }
        catch (final RuntimeException ex)
        {
            configurations.remove(nameBytes);
            throw new CacheException("cannot create cache '" + cacheName + "': " + ex.getMessage(), ex);
        }
        final GridCache<K, V> cache = new GridCache<>(this, cacheName, config, grid, serialization);
        caches.put(cacheName, cache);
        cache.start();
        return cache;
    }

    /**
     * A store-by-reference cache: its entries stay in this JVM (the objects stored are the objects returned), so it
     * is neither distributed nor listed for other managers; its name is still checked against the cluster's.
     */
    private <K, V> javax.cache.Cache<K, V> createLocal(final String cacheName, final MutableConfiguration<K, V> config,
        final byte[] nameBytes)
    {
        final GridCache<K, V> cache = new GridCache<>(this, cacheName, config, null, serialization);
        if (configurations.get(nameBytes) != null || caches.putIfAbsent(cacheName, cache) != null)
        {
            throw new CacheException("a cache named '" + cacheName + "' already exists");
        }
        cache.start();
        return cache;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <K, V> javax.cache.Cache<K, V> getCache(final String cacheName, final Class<K> keyType,
        final Class<V> valueType)
    {
        checkOpen();
        Objects.requireNonNull(keyType, "keyType");
        Objects.requireNonNull(valueType, "valueType");
        final GridCache<?, ?> cache = lookup(Objects.requireNonNull(cacheName, "cacheName"));
        if (cache == null)
        {
            return null;
        }
        final CompleteConfiguration<?, ?> config = cache.getConfiguration(CompleteConfiguration.class);
        if (!keyType.equals(config.getKeyType()) || !valueType.equals(config.getValueType()))
        {
            throw new ClassCastException("cache '" + cacheName + "' is configured for " +
                config.getKeyType().getName() + " -> " + config.getValueType().getName() + ", not " +
                keyType.getName() + " -> " + valueType.getName());
        }
        return (javax.cache.Cache<K, V>)cache;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <K, V> javax.cache.Cache<K, V> getCache(final String cacheName)
    {
        checkOpen();
        return (javax.cache.Cache<K, V>)lookup(Objects.requireNonNull(cacheName, "cacheName"));
    }

    @Override
    public Iterable<String> getCacheNames()
    {
        checkOpen();
        final TreeSet<String> names = new TreeSet<>(caches.keySet());
        try (ScanCursor<byte[], byte[]> cursor = EntrySlots.call(() -> configurations.scan()))
        {
            while (cursor.hasNext())
            {
                final String key = new String(cursor.next().getKey(), StandardCharsets.UTF_8);
                final int separator = key.indexOf(NAMESPACE_SEPARATOR);
                if (namespace.isEmpty() ? separator < 0 : key.startsWith(namespace + NAMESPACE_SEPARATOR))
                {
                    names.add(key.substring(separator + 1));
                }
            }
        }
        return Collections.unmodifiableSet(names);
    }

    @Override
    public void destroyCache(final String cacheName)
    {
        checkOpen();
        final GridCache<?, ?> cache = lookup(Objects.requireNonNull(cacheName, "cacheName"));
        if (cache != null)
        {
            cache.close();
        }
        EntrySlots.call(() ->
        {
            backend.destroyIfExists(gridName(namespace, cacheName));
            return configurations.remove(registryKey(cacheName));
        });
    }

    @Override
    public void enableManagement(final String cacheName, final boolean enabled)
    {
        checkOpen();
        final GridCache<?, ?> cache = lookup(Objects.requireNonNull(cacheName, "cacheName"));
        if (cache != null)
        {
            cache.setManagementEnabled(enabled);
        }
    }

    @Override
    public void enableStatistics(final String cacheName, final boolean enabled)
    {
        checkOpen();
        final GridCache<?, ?> cache = lookup(Objects.requireNonNull(cacheName, "cacheName"));
        if (cache != null)
        {
            cache.setStatisticsEnabled(enabled);
        }
    }

    @Override
    public void close()
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            closed = true;
        }
        try
        {
            for (final GridCache<?, ?> cache : caches.values())
            {
                cache.close();
            }
        }
        finally
        {
            synchronized (this)
            {
                if (sweeper != null)
                {
                    sweeper.shutdownNow();
                }
            }
            backend.close();
            provider.closed(this);
        }
    }

    @Override
    public boolean isClosed()
    {
        return closed;
    }

    @Override
    public <T> T unwrap(final Class<T> clazz)
    {
        if (clazz.isAssignableFrom(getClass()))
        {
            return clazz.cast(this);
        }
        if (clazz.isInstance(backend.target()))
        {
            return clazz.cast(backend.target());
        }
        throw new IllegalArgumentException("a Grid cache manager unwraps to " + getClass().getName() + " or " +
            backend.target().getClass().getName() + ", not " + clazz.getName());
    }

    /**
     * Called by a cache when it closes, so that {@link #getCache} opens it anew.
     *
     * @param cache that closed.
     */
    void closed(final GridCache<?, ?> cache)
    {
        caches.remove(cache.getName(), cache);
    }

    private GridCache<?, ?> lookup(final String cacheName)
    {
        final GridCache<?, ?> open = caches.get(cacheName);
        if (open != null && open.isLocal())
        {
            return open;
        }
        final byte[] stored = EntrySlots.call(() -> configurations.get(registryKey(cacheName)));
        if (stored == null)
        {
            if (open != null)
            {
                open.close(); // another manager destroyed it
            }
            return null;
        }
        if (open != null)
        {
            return open;
        }
        final Cache<byte[], byte[]> grid = EntrySlots.call(() -> backend.openIfExists(gridName(namespace, cacheName)));
        if (grid == null)
        {
            return null;
        }
        final MutableConfiguration<?, ?> config = (MutableConfiguration<?, ?>)serialization.decode(stored, 0);
        final GridCache<?, ?> cache = new GridCache<>(this, cacheName, config, grid, serialization);
        final GridCache<?, ?> raced = caches.putIfAbsent(cacheName, cache);
        if (raced != null)
        {
            return raced;
        }
        cache.start();
        return cache;
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("cache manager " + uri + " is closed");
        }
    }

    @SuppressWarnings("unchecked")
    private static <K, V> MutableConfiguration<K, V> copyOf(final Configuration<K, V> configuration)
    {
        if (configuration instanceof CompleteConfiguration)
        {
            return new MutableConfiguration<>((CompleteConfiguration<K, V>)configuration);
        }
        return new MutableConfiguration<K, V>().setTypes(configuration.getKeyType(), configuration.getValueType())
            .setStoreByValue(configuration.isStoreByValue());
    }

    /**
     * @return the configuration as other managers will read it: whole if it serializes; otherwise its types and
     *     flags only (factories of classes that are not serializable stay with this manager).
     */
    @SuppressWarnings("unchecked")
    private byte[] storable(final MutableConfiguration<?, ?> config)
    {
        try
        {
            return serialization.encode(config, "configuration");
        }
        catch (final IllegalArgumentException ex)
        {
            final MutableConfiguration<Object, Object> plain = new MutableConfiguration<>();
            plain.setTypes((Class<Object>)config.getKeyType(), (Class<Object>)config.getValueType());
            plain.setStoreByValue(config.isStoreByValue()).setStatisticsEnabled(config.isStatisticsEnabled())
                .setManagementEnabled(config.isManagementEnabled());
            return serialization.encode(plain, "configuration");
        }
    }

    /**
     * @param sweep a cache's sweep of expired entries, run every {@code grid.jcache.expiry.sweep.ms} (default 60 s;
     *              0 never) on this manager's one sweeper thread.
     * @return its schedule, to cancel when the cache closes; null if sweeps are off.
     */
    synchronized Future<?> scheduleSweep(final Runnable sweep)
    {
        final String configured = ProviderSettings.setting(properties, "grid.jcache.expiry.sweep.ms");
        final long periodMs = configured == null ? SWEEP_DEFAULT_MS : Long.parseLong(configured.trim());
        if (periodMs <= 0 || closed)
        {
            return null;
        }
        if (sweeper == null)
        {
            sweeper = Executors.newSingleThreadScheduledExecutor(task ->
            {
                final Thread thread = new Thread(task, "grid-jcache-sweeper-" + uri);
                thread.setDaemon(true);
                return thread;
            });
        }
        return sweeper.scheduleWithFixedDelay(() ->
        {
            try
            {
                sweep.run();
            }
            catch (final RuntimeException ex)
            {
                // A sweep that failed (a member leaving, a timeout) is tried again at the next period.
            }
        }, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    private int partitions()
    {
        final String value = ProviderSettings.setting(properties, "grid.jcache.partitions");
        return value == null ? CacheConfiguration.PARTITIONS_DEFAULT : Integer.parseInt(value.trim());
    }

    private int backups(final int defaultBackups)
    {
        final String value = ProviderSettings.setting(properties, "grid.jcache.backups");
        return value == null ? defaultBackups : Integer.parseInt(value.trim());
    }

    /** @return the key of a cache's configuration in {@link #CONFIGURATIONS_CACHE}. */
    private byte[] registryKey(final String cacheName)
    {
        return (namespace.isEmpty() ? cacheName : namespace + NAMESPACE_SEPARATOR + cacheName)
            .getBytes(StandardCharsets.UTF_8);
    }

    /**
     * @param namespace of the manager, or empty.
     * @param cacheName a JCache cache name: any string.
     * @return the Grid cache's name: {@code jcache.}, the escaped namespace and {@code _ns_} if there is one, then
     *     the escaped name: letters, digits, '.' and '-' kept, any other character as '_' and four hex digits; a
     *     name that would be longer than Grid allows is the SHA-256 of the namespace and name instead.
     */
    static String gridName(final String namespace, final String cacheName)
    {
        final StringBuilder name = new StringBuilder(CACHE_PREFIX);
        if (!namespace.isEmpty())
        {
            escape(namespace, name);
            name.append("_ns_");
        }
        escape(cacheName, name);
        if (name.length() <= 255)
        {
            return name.toString();
        }
        try
        {
            return CACHE_PREFIX + "sha256-" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest((namespace + NAMESPACE_SEPARATOR + cacheName).getBytes(StandardCharsets.UTF_8)));
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException("the JDK has no SHA-256", ex);
        }
    }

    private static void escape(final String text, final StringBuilder into)
    {
        for (int i = 0; i < text.length(); i++)
        {
            final char c = text.charAt(i);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-')
            {
                into.append(c);
            }
            else
            {
                into.append('_').append(String.format("%04x", (int)c));
            }
        }
    }

    /**
     * @return the namespace of this manager's caches: {@code grid.jcache.namespace} if set; none (caches shared by
     *     every manager on the cluster) for the provider's default class loader; otherwise one of the class loader's
     *     own, named after it (its name, else its identity in this JVM), as JCache scopes caches by class loader.
     */
    private static String namespace(final GridCachingProvider provider, final ClassLoader classLoader,
        final Properties properties)
    {
        final String configured = ProviderSettings.setting(properties, "grid.jcache.namespace");
        if (configured != null)
        {
            if (configured.indexOf(NAMESPACE_SEPARATOR) >= 0)
            {
                throw new CacheException("grid.jcache.namespace must not contain the character U+0000");
            }
            return configured;
        }
        if (classLoader == provider.getDefaultClassLoader())
        {
            return "";
        }
        return "loader-" + (classLoader.getName() != null ? classLoader.getName() :
            Integer.toHexString(System.identityHashCode(classLoader)));
    }
}
