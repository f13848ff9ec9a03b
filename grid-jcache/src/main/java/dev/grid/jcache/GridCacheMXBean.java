package dev.grid.jcache;

import javax.cache.configuration.CompleteConfiguration;
import javax.cache.management.CacheMXBean;

/**
 * A JCache cache's configuration as the {@code CacheConfiguration} MBean shows it while management is enabled.
 * Thread-safe: reads the cache's current configuration on every call.
 */
public final class GridCacheMXBean implements CacheMXBean
{
    private final GridCache<?, ?> cache;

    GridCacheMXBean(final GridCache<?, ?> cache)
    {
        this.cache = cache;
    }

    private CompleteConfiguration<?, ?> config()
    {
        return cache.getConfiguration(CompleteConfiguration.class);
    }

    @Override
    public String getKeyType()
    {
        return config().getKeyType().getName();
    }

    @Override
    public String getValueType()
    {
        return config().getValueType().getName();
    }

    @Override
    public boolean isReadThrough()
    {
        return config().isReadThrough();
    }

    @Override
    public boolean isWriteThrough()
    {
        return config().isWriteThrough();
    }

    @Override
    public boolean isStoreByValue()
    {
        return config().isStoreByValue();
    }

    @Override
    public boolean isStatisticsEnabled()
    {
        return config().isStatisticsEnabled();
    }

    @Override
    public boolean isManagementEnabled()
    {
        return config().isManagementEnabled();
    }
}
