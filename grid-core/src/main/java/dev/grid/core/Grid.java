package dev.grid.core;

import java.util.Collection;

/**
 * An embedded cluster member as the application sees it: the entry point to caches.
 * <p>
 * Implementations are thread-safe; any user thread may call any method. {@link #close()} leaves the cluster cleanly,
 * fails in-flight operations with {@link NodeStoppingException} and refuses new ones. The member itself is started
 * by {@code dev.grid.node.GridMember}, the composition root.
 */
public interface Grid extends AutoCloseable
{
    /**
     * Create a cache, or return the existing one if its configuration is equal. Returns only when every partition has
     * an owning primary ready to serve.
     *
     * @param configuration of the cache; concluded by this call.
     * @param <K>           the key type.
     * @param <V>           the value type.
     * @return the cache.
     * @throws InvalidConfigurationException if the configuration is invalid.
     * @throws GridException with {@link ErrorCode#CACHE_ALREADY_EXISTS} if it exists with another configuration.
     */
    <K, V> Cache<K, V> createCache(CacheConfiguration<K, V> configuration);

    /**
     * Get an existing cache.
     *
     * @param name of the cache.
     * @param <K>  the key type.
     * @param <V>  the value type.
     * @return the cache.
     * @throws CacheNotFoundException if there is none of that name.
     */
    <K, V> Cache<K, V> cache(String name);

    /**
     * Destroy a cache and its data on every member. Operations in flight on it fail with
     * {@link CacheDestroyedException}.
     *
     * @param name of the cache.
     * @throws CacheNotFoundException if there is none of that name.
     */
    void destroyCache(String name);

    /**
     * The names of the caches that exist.
     *
     * @return a snapshot of the cache names.
     */
    Collection<String> caches();

    /**
     * Leave the cluster and release every resource. Idempotent.
     */
    void close();
}
