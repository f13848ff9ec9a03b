package dev.grid.metrics;

import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.MemberConfiguration;
import dev.grid.node.GridMember;
import dev.grid.node.MemberService;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Publishes a member's metrics where monitoring looks: as MBeans on the platform MBean server
 * ({@code dev.grid:type=Member,cluster=<cluster>,name=<member>} and
 * {@code dev.grid:type=Cache,cluster=<cluster>,member=<member>,name=<cache>}) and, when
 * {@code metrics.port} is set, on a Prometheus/OpenMetrics HTTP endpoint ({@code /metrics}) served by Prometheus's own
 * Java client, with the JVM's metrics beside Grid's. Both views read the member afresh at each request through one
 * {@link MemberMetricsReader}, so they agree.
 * <p>
 * Settings ({@link MemberConfiguration#settings}): {@code metrics.port} (0 for any free port; no endpoint if absent),
 * {@code metrics.bind.address} (default: the member's bind address), {@code metrics.jmx} ({@code true} by default).
 * <b>Threading:</b> the HTTP server has one thread; a scheduler thread keeps the cache MBeans in step with the caches.
 */
public final class MetricsService implements MemberService
{
    private static final Logger LOG = LoggerFactory.getLogger(MetricsService.class);
    private static final Set<String> KEYS = Set.of("metrics.port", "metrics.bind.address", "metrics.jmx");
    private static final long CACHE_BEANS_REFRESH_MS = 2_000;

    /** The JVM's metrics, registered the first time an endpoint is served (not where metrics are off). */
    private static final class JvmRegistry
    {
        static final PrometheusRegistry INSTANCE = new PrometheusRegistry();

        static
        {
            JvmMetrics.builder().register(INSTANCE);
        }
    }

    private final GridMember member;
    private final MemberMetricsReader reader;
    private final HTTPServer http;
    private final ScheduledExecutorService jmxRefresher;
    private final MBeanServer mbeans = ManagementFactory.getPlatformMBeanServer();
    private final Map<String, ObjectName> cacheBeans = new ConcurrentHashMap<>();
    private final ObjectName memberBean;

    /** Starts the service when grid-metrics is on a member's class path. */
    public static final class Provider implements MemberService.Provider
    {
        @Override
        public MemberService start(final GridMember member)
        {
            final Map<String, String> settings = member.configuration().settings();
            for (final String key : settings.keySet())
            {
                if (key.startsWith("metrics.") && !KEYS.contains(key))
                {
                    throw new InvalidConfigurationException("unknown setting '" + key + "'; known: " + KEYS);
                }
            }
            final String jmx = settings.getOrDefault("metrics.jmx", "true");
            if (!jmx.equals("true") && !jmx.equals("false"))
            {
                throw new InvalidConfigurationException("metrics.jmx = '" + jmx + "' is neither true nor false");
            }
            final Integer port = port(settings.get("metrics.port"));
            if (port == null && jmx.equals("false"))
            {
                return null;
            }
            return new MetricsService(member, port, settings.getOrDefault("metrics.bind.address",
                member.configuration().bindAddress()), jmx.equals("true"));
        }
    }

    private static Integer port(final String value)
    {
        if (value == null)
        {
            return null;
        }
        try
        {
            final int port = Integer.parseInt(value.trim());
            if (port < 0 || port > 65_535)
            {
                throw new NumberFormatException();
            }
            return port;
        }
        catch (final NumberFormatException ex)
        {
            throw new InvalidConfigurationException("metrics.port = '" + value + "' is not a port (0 to 65535)");
        }
    }

    private MetricsService(final GridMember member, final Integer port, final String bindAddress, final boolean jmx)
    {
        this.member = member;
        this.reader = new MemberMetricsReader(member);
        this.http = port == null ? null : serve(port, bindAddress);
        ObjectName registered = null;
        try
        {
            registered = jmx ? registerMemberBean() : null;
        }
        catch (final RuntimeException ex)
        {
            if (http != null)
            {
                http.close();
            }
            throw ex;
        }
        this.memberBean = registered;
        this.jmxRefresher = jmx ? Executors.newSingleThreadScheduledExecutor(runnable ->
        {
            final Thread thread = new Thread(runnable, "grid-metrics-jmx-" + member.configuration().memberId());
            thread.setDaemon(true);
            return thread;
        }) : null;
        if (jmxRefresher != null)
        {
            jmxRefresher.scheduleWithFixedDelay(this::refreshCacheBeans, 0, CACHE_BEANS_REFRESH_MS,
                TimeUnit.MILLISECONDS);
        }
    }

    private HTTPServer serve(final int port, final String bindAddress)
    {
        final PrometheusRegistry registry = new PrometheusRegistry();
        // The JVM's metrics from one registry per JVM: their registration is static in the library (it holds the
        // registry and GC listeners for good), so a registry per member would keep every member ever started.
        registry.register((MultiCollector)JvmRegistry.INSTANCE::scrape);
        registry.register(new MultiCollector()
        {
            @Override
            public MetricSnapshots collect()
            {
                return reader.readAll().toSnapshots();
            }
        });
        try
        {
            final HTTPServer server = HTTPServer.builder().hostname(bindAddress).port(port).registry(registry)
                .buildAndStart();
            LOG.info("member {}: Prometheus metrics on http://{}:{}/metrics", member.configuration().memberId(),
                bindAddress, server.getPort());
            return server;
        }
        catch (final IOException | UncheckedIOException ex)
        {
            throw new InvalidConfigurationException("member " + member.configuration().memberId() +
                " cannot serve metrics on " + bindAddress + ":" + port + ": " + ex.getMessage());
        }
    }

    /**
     * @return the port of the Prometheus endpoint, or -1 if there is none.
     */
    public int port()
    {
        return http == null ? -1 : http.getPort();
    }

    private ObjectName registerMemberBean()
    {
        final String memberId = member.configuration().memberId();
        final ObjectName name = objectName("dev.grid:type=Member,cluster=" +
            quoted(member.configuration().clusterName()) + ",name=" + quoted(memberId));
        register(name, new FamiliesMBean(reader::readMemberOnly, "member " + memberId));
        return name;
    }

    private void refreshCacheBeans()
    {
        try
        {
            final Set<String> caches = new HashSet<>(member.caches());
            for (final String cache : caches)
            {
                cacheBeans.computeIfAbsent(cache, c ->
                {
                    final ObjectName name = objectName("dev.grid:type=Cache,cluster=" +
                        quoted(member.configuration().clusterName()) + ",member=" +
                        quoted(member.configuration().memberId()) + ",name=" + quoted(c));
                    register(name, new FamiliesMBean(() -> reader.readCacheOnly(c), "cache " + c + " on member " +
                        member.configuration().memberId()));
                    return name;
                });
            }
            cacheBeans.keySet().removeIf(cache ->
            {
                if (caches.contains(cache))
                {
                    return false;
                }
                unregister(cacheBeans.get(cache));
                return true;
            });
        }
        catch (final RuntimeException ex)
        {
            // The member is stopping or between states: the next refresh tries again.
            LOG.debug("cache MBeans not refreshed", ex);
        }
    }

    private void register(final ObjectName name, final FamiliesMBean bean)
    {
        try
        {
            if (mbeans.isRegistered(name))
            {
                // A member of the same id closed in this JVM without unregistering (it cannot: close unregisters);
                // or a test restarted a member in the same JVM: the newest one is the one to show.
                mbeans.unregisterMBean(name);
            }
            mbeans.registerMBean(bean, name);
        }
        catch (final JMException ex)
        {
            throw new IllegalStateException("cannot register MBean " + name, ex);
        }
    }

    private void unregister(final ObjectName name)
    {
        try
        {
            mbeans.unregisterMBean(name);
        }
        catch (final InstanceNotFoundException gone)
        {
            // Already unregistered.
        }
        catch (final JMException ex)
        {
            LOG.warn("cannot unregister MBean {}", name, ex);
        }
    }

    private static ObjectName objectName(final String name)
    {
        try
        {
            return new ObjectName(name);
        }
        catch (final MalformedObjectNameException ex)
        {
            throw new IllegalArgumentException("not an MBean name: " + name, ex);
        }
    }

    /** @return the value as is if an ObjectName may hold it unquoted, else quoted. */
    static String quoted(final String value)
    {
        return value.matches("[A-Za-z0-9_.\\-]+") ? value : ObjectName.quote(value);
    }

    @Override
    public void close()
    {
        if (http != null)
        {
            http.close();
        }
        if (jmxRefresher != null)
        {
            jmxRefresher.shutdownNow();
            try
            {
                jmxRefresher.awaitTermination(5, TimeUnit.SECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
            cacheBeans.values().forEach(this::unregister);
            cacheBeans.clear();
        }
        if (memberBean != null)
        {
            unregister(memberBean);
        }
    }
}
