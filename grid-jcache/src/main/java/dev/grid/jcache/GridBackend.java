package dev.grid.jcache;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheAlreadyExistsException;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.Codecs;
import dev.grid.core.Grid;

import java.util.Collection;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * What a {@link GridCacheManager} stands on: a member started in this JVM or a thin client connected to a cluster.
 * Both serve the same {@link Cache} API, so everything above this is one implementation. Thread-safe.
 */
abstract class GridBackend implements AutoCloseable
{
    /** How long a cache another member is creating at the same moment may take to be seen here. */
    private static final long CONCURRENT_CREATE_WAIT_NS = TimeUnit.SECONDS.toNanos(30);

    /**
     * @param configuration of the Grid cache to create or, if one of that name exists, to open.
     * @return the cache.
     */
    final Cache<byte[], byte[]> createOrOpen(final CacheConfiguration<byte[], byte[]> configuration)
    {
        final long deadlineNs = System.nanoTime() + CONCURRENT_CREATE_WAIT_NS;
        while (true)
        {
            try
            {
                return create(configuration);
            }
            catch (final CacheAlreadyExistsException ex)
            {
                try
                {
                    return open(configuration.name());
                }
                catch (final CacheNotFoundException notYet)
                {
                    // Another member's creation of it is known to the cluster but not yet to this member.
                    if (System.nanoTime() - deadlineNs > 0)
                    {
                        throw notYet;
                    }
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
                }
            }
        }
    }

    /**
     * @param name of the Grid cache.
     * @return it, or null if there is none.
     */
    final Cache<byte[], byte[]> openIfExists(final String name)
    {
        try
        {
            return open(name);
        }
        catch (final CacheNotFoundException ex)
        {
            return null;
        }
    }

    /**
     * @param name of the Grid cache to destroy; none of that name is not an error.
     */
    final void destroyIfExists(final String name)
    {
        try
        {
            destroy(name);
        }
        catch (final CacheNotFoundException ex)
        {
            // Destroyed by another manager meanwhile: what was asked for is done.
        }
    }

    abstract Cache<byte[], byte[]> create(CacheConfiguration<byte[], byte[]> configuration);

    abstract Cache<byte[], byte[]> open(String name);

    abstract void destroy(String name);

    abstract Collection<String> caches();

    /**
     * @return the {@link Grid} or {@link GridClient} this stands on, for {@code unwrap}.
     */
    abstract Object target();

    @Override
    public abstract void close();

    /**
     * @param grid a member started for this backend; closed with it.
     * @return the backend.
     */
    static GridBackend member(final Grid grid)
    {
        return new GridBackend()
        {
            Cache<byte[], byte[]> create(final CacheConfiguration<byte[], byte[]> configuration)
            {
                return grid.createCache(configuration);
            }

            Cache<byte[], byte[]> open(final String name)
            {
                return grid.cache(name);
            }

            void destroy(final String name)
            {
                grid.destroyCache(name);
            }

            Collection<String> caches()
            {
                return grid.caches();
            }

            Object target()
            {
                return grid;
            }

            public void close()
            {
                grid.close();
            }
        };
    }

    /**
     * @param configuration of a thin client to connect; closed with the backend.
     * @return the backend.
     */
    static GridBackend client(final ClientConfiguration configuration)
    {
        final GridClient client = GridClient.connect(configuration);
        return new GridBackend()
        {
            Cache<byte[], byte[]> create(final CacheConfiguration<byte[], byte[]> configuration)
            {
                return client.createCache(configuration);
            }

            Cache<byte[], byte[]> open(final String name)
            {
                return client.cache(name, Codecs.BYTES, Codecs.BYTES);
            }

            void destroy(final String name)
            {
                client.destroyCache(name);
            }

            Collection<String> caches()
            {
                return client.caches();
            }

            Object target()
            {
                return client;
            }

            public void close()
            {
                client.close();
            }
        };
    }
}
