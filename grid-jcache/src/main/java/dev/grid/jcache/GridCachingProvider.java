package dev.grid.jcache;

import javax.cache.CacheManager;
import javax.cache.configuration.OptionalFeature;
import javax.cache.spi.CachingProvider;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.WeakHashMap;

/**
 * Grid's JCache provider: {@code Caching.getCachingProvider()} finds it through {@code META-INF/services}. A cache
 * manager stands on a member started in this JVM or on a thin client, chosen by its URI (see
 * {@link ProviderSettings}); there is one manager per URI and class loader until it is closed.
 * <p>
 * Thread-safe: managers are created and closed under this provider's lock. Managers still open when the JVM exits
 * are closed by a shutdown hook.
 */
public final class GridCachingProvider implements CachingProvider
{
    private final Map<ClassLoader, Map<URI, GridCacheManager>> managers = new WeakHashMap<>();
    private boolean shutdownHookAdded;

    @Override
    public CacheManager getCacheManager(final URI uri, final ClassLoader classLoader, final Properties properties)
    {
        final URI managerUri = uri == null ? getDefaultURI() : uri;
        final ClassLoader loader = classLoader == null ? getDefaultClassLoader() : classLoader;
        final Properties managerProperties = properties == null ? new Properties() : properties;
        synchronized (managers)
        {
            final Map<URI, GridCacheManager> byUri = managers.computeIfAbsent(loader, l -> new HashMap<>());
            GridCacheManager manager = byUri.get(managerUri);
            if (manager == null || manager.isClosed())
            {
                manager = new GridCacheManager(this, managerUri, loader, managerProperties);
                byUri.put(managerUri, manager);
                if (!shutdownHookAdded)
                {
                    // A member started for a manager the application never closed still leaves its cluster
                    // cleanly and removes its transport's files when the JVM exits.
                    Runtime.getRuntime().addShutdownHook(new Thread(this::close, "grid-jcache-shutdown"));
                    shutdownHookAdded = true;
                }
            }
            return manager;
        }
    }

    @Override
    public ClassLoader getDefaultClassLoader()
    {
        return getClass().getClassLoader();
    }

    @Override
    public URI getDefaultURI()
    {
        return ProviderSettings.defaultUri();
    }

    @Override
    public Properties getDefaultProperties()
    {
        return new Properties();
    }

    @Override
    public CacheManager getCacheManager(final URI uri, final ClassLoader classLoader)
    {
        return getCacheManager(uri, classLoader, getDefaultProperties());
    }

    @Override
    public CacheManager getCacheManager()
    {
        return getCacheManager(getDefaultURI(), getDefaultClassLoader(), getDefaultProperties());
    }

    @Override
    public void close()
    {
        final List<GridCacheManager> all = new ArrayList<>();
        synchronized (managers)
        {
            managers.values().forEach(byUri -> all.addAll(byUri.values()));
            managers.clear();
        }
        all.forEach(GridCacheManager::close);
    }

    @Override
    public void close(final ClassLoader classLoader)
    {
        final Map<URI, GridCacheManager> byUri;
        synchronized (managers)
        {
            byUri = managers.remove(classLoader == null ? getDefaultClassLoader() : classLoader);
        }
        if (byUri != null)
        {
            byUri.values().forEach(GridCacheManager::close);
        }
    }

    @Override
    public void close(final URI uri, final ClassLoader classLoader)
    {
        final GridCacheManager manager;
        synchronized (managers)
        {
            final Map<URI, GridCacheManager> byUri =
                managers.get(classLoader == null ? getDefaultClassLoader() : classLoader);
            manager = byUri == null ? null : byUri.remove(uri == null ? getDefaultURI() : uri);
        }
        if (manager != null)
        {
            manager.close();
        }
    }

    @Override
    public boolean isSupported(final OptionalFeature optionalFeature)
    {
        // A store-by-reference cache is kept in the cache manager's JVM (GridCacheManager#createCache).
        return optionalFeature == OptionalFeature.STORE_BY_REFERENCE;
    }

    /**
     * Called by a manager that closed, so that the next {@code getCacheManager} starts a new one.
     *
     * @param manager that closed.
     */
    void closed(final GridCacheManager manager)
    {
        synchronized (managers)
        {
            final Map<URI, GridCacheManager> byUri = managers.get(manager.getClassLoader());
            if (byUri != null && byUri.get(manager.getURI()) == manager)
            {
                byUri.remove(manager.getURI());
            }
        }
    }
}
