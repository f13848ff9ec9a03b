package dev.grid.examples;

import javax.cache.Cache;
import javax.cache.CacheManager;
import javax.cache.Caching;
import javax.cache.configuration.FactoryBuilder;
import javax.cache.configuration.MutableCacheEntryListenerConfiguration;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.event.CacheEntryCreatedListener;
import javax.cache.event.CacheEntryEvent;
import javax.cache.event.CacheEntryUpdatedListener;
import javax.cache.expiry.AccessedExpiryPolicy;
import javax.cache.expiry.Duration;
import javax.cache.spi.CachingProvider;
import java.io.PrintStream;
import java.io.Serializable;
import java.net.URI;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * An application that uses nothing but the JCache API ({@code javax.cache}) against a running Grid cluster: the
 * provider on its class path is Grid's, and the cache manager's URI names members' client ports. It counts page visits
 * in a cache whose entries live an hour after their last use, with an entry processor (atomic on the key's primary
 * however many applications count at once) and a listener that prints each change this application makes.
 * <p>
 * Run: {@code scripts/java.sh dev.grid.examples.JCacheExample 127.0.0.1:10800 [127.0.0.1:10801 ...]}; any
 * other JCache provider would run it unchanged with its own URI.
 */
public final class JCacheExample
{
    private JCacheExample()
    {
    }

    /**
     * @param args members' client addresses, host:port.
     */
    public static void main(final String[] args)
    {
        if (args.length == 0)
        {
            System.err.println("usage: JCacheExample host:port [host:port ...]");
            System.exit(2);
        }
        run(URI.create("grid:client://" + String.join(",", args)), System.out);
    }

    /**
     * @param uri of the cache manager.
     * @param out where to print.
     * @return the visit counts after the run.
     */
    static Map<String, Long> run(final URI uri, final PrintStream out)
    {
        final CachingProvider provider = Caching.getCachingProvider();
        try (CacheManager manager = provider.getCacheManager(uri, JCacheExample.class.getClassLoader()))
        {
            Cache<String, Long> visits = manager.getCache("visits", String.class, Long.class);
            if (visits == null)
            {
                visits = manager.createCache("visits", new MutableConfiguration<String, Long>()
                    .setTypes(String.class, Long.class)
                    .setExpiryPolicyFactory(AccessedExpiryPolicy.factoryOf(new Duration(TimeUnit.HOURS, 1)))
                    .setStatisticsEnabled(true));
            }
            visits.registerCacheEntryListener(new MutableCacheEntryListenerConfiguration<>(
                FactoryBuilder.factoryOf(new Printer(out)), null, true, true));
            for (final String page : new String[] {"/", "/docs", "/", "/pricing", "/"})
            {
                final long count = visits.invoke(page, (entry, arguments) ->
                {
                    entry.setValue(entry.exists() ? entry.getValue() + 1 : 1L);
                    return entry.getValue();
                });
                out.println("visit " + page + " -> " + count);
            }
            final Map<String, Long> counts = new TreeMap<>();
            visits.forEach(entry -> counts.put(entry.getKey(), entry.getValue()));
            out.println("counts " + counts);
            return counts;
        }
    }

    /** Prints the changes it is told of. */
    private static final class Printer implements CacheEntryCreatedListener<String, Long>,
        CacheEntryUpdatedListener<String, Long>, Serializable
    {
        private static final long serialVersionUID = 1L;
        private final transient PrintStream out;

        Printer(final PrintStream out)
        {
            this.out = out;
        }

        @Override
        public void onCreated(final Iterable<CacheEntryEvent<? extends String, ? extends Long>> events)
        {
            events.forEach(e -> out.println("created " + e.getKey() + " = " + e.getValue()));
        }

        @Override
        public void onUpdated(final Iterable<CacheEntryEvent<? extends String, ? extends Long>> events)
        {
            events.forEach(e -> out.println("updated " + e.getKey() + ": " + e.getOldValue() + " -> " +
                e.getValue()));
        }
    }
}
