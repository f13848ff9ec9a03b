package dev.grid.metrics;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.Transaction;
import dev.grid.core.WalMode;
import dev.grid.core.testing.LoopbackPorts;
import dev.grid.node.GridMember;
import dev.grid.node.ShardedMember;
import io.prometheus.metrics.expositionformats.generated.com_google_protobuf_4_36_2.Metrics;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXConnectorServerFactory;
import javax.management.remote.JMXServiceURL;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.UnicastRemoteObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A member's metrics as monitoring reads them: Prometheus's protobuf scrape parsed with the client library's own
 * generated parser, the OpenMetrics text, and the MBeans read through a JMX connector (RMI) as JConsole would.
 */
class MetricsServiceTest
{
    private static final String CACHE = "metered";
    private static final List<GridMember> MEMBERS = new ArrayList<>();
    private static final int[] METRICS_PORTS = new int[2];
    @TempDir
    static Path data;

    @BeforeAll
    static void startMembersAndLoad()
    {
        final int[] ports = {LoopbackPorts.next(), LoopbackPorts.next()};
        final List<CompletableFuture<GridMember>> starts = new ArrayList<>();
        for (int i = 0; i < 2; i++)
        {
            METRICS_PORTS[i] = LoopbackPorts.next();
            final MemberConfiguration config = new MemberConfiguration("metrics" + i).port(ports[i])
                .heartbeatIntervalNs(TimeUnit.MILLISECONDS.toNanos(100))
                .failureDetectionTimeoutNs(TimeUnit.MILLISECONDS.toNanos(1500))
                .clientPort(0).dataDirectory(data.resolve("m" + i)).walMode(WalMode.LOG_ONLY)
                .checkpointIntervalNs(TimeUnit.MILLISECONDS.toNanos(300))
                .setting("metrics.port", Integer.toString(METRICS_PORTS[i]));
            for (final int port : ports)
            {
                config.addSeed("127.0.0.1:" + port);
            }
            starts.add(CompletableFuture.supplyAsync(() -> GridMember.start(config)));
        }
        starts.forEach(start -> MEMBERS.add(start.join()));
        final Cache<String, String> cache = MEMBERS.get(0).createCache(new CacheConfiguration<>(CACHE, Codecs.STRING,
            Codecs.STRING).partitions(16).backups(1));
        for (int i = 0; i < 200; i++)
        {
            cache.put("k" + i, "v" + i);
            assertEquals("v" + i, cache.get("k" + i));
        }
        try (Transaction tx = MEMBERS.get(0).transactions().begin())
        {
            cache.put("k0", "tx");
            tx.commit();
        }
    }

    @AfterAll
    static void stopMembers()
    {
        MEMBERS.forEach(GridMember::close);
    }

    @Test
    void prometheusScrapeParsedWithTheLibrarysParser() throws Exception
    {
        final Map<String, Metrics.MetricFamily> families = scrape(METRICS_PORTS[0]);
        final Metrics.MetricFamily ops = families.get("grid_operation_duration_seconds");
        assertEquals(Metrics.MetricType.HISTOGRAM, ops.getType());
        final Metrics.Metric puts = withLabel(ops, "op", "put");
        assertTrue(puts.getHistogram().getSampleCount() >= 200, "puts counted: " + puts.getHistogram());
        long previous = 0;
        for (final Metrics.Bucket bucket : puts.getHistogram().getBucketList())
        {
            assertTrue(bucket.getCumulativeCount() >= previous, "buckets are cumulative: " + puts.getHistogram());
            previous = bucket.getCumulativeCount();
        }
        assertTrue(puts.getHistogram().getSampleSum() > 0, "latencies sum up to something");

        assertEquals(Metrics.MetricType.COUNTER, families.get("grid_transactions_total").getType(),
            "counters are named with _total: " + families.keySet());
        assertTrue(withLabel(families.get("grid_transactions_total"), "outcome", "committed").getCounter()
            .getValue() >= 1);
        final Metrics.Metric entries = withLabel(families.get("grid_cache_entries"), "cache", CACHE);
        assertTrue(entries.getGauge().getValue() >= 200, "member 0 holds every entry as primary or backup: " +
            entries);
        assertEquals(16, families.get("grid_partition_copies").getMetricList().stream()
            .filter(m -> label(m, "cache").equals(CACHE) && label(m, "state").equals("OWNING"))
            .mapToDouble(m -> m.getGauge().getValue()).sum(), "both members own every partition (one backup)");
        assertEquals(2, families.get("grid_topology_members").getMetric(0).getGauge().getValue());
        assertTrue(families.get("grid_wal_records_total").getMetric(0).getCounter().getValue() >= 200);
        assertTrue(families.get("grid_client_connections") != null, "the thin-client endpoint is counted");
        assertTrue(withLabel(families.get("grid_transport_bytes_total"), "direction", "sent").getCounter().getValue() >
            0, "the transport's bytes are counted");
        assertEquals(Set.of("sent", "received"), families.get("grid_transport_naks_total").getMetricList().stream()
            .map(m -> label(m, "direction")).collect(Collectors.toSet()), "NAKs both ways");
        assertTrue(families.containsKey("jvm_memory_used_bytes"), "the JVM's metrics are beside Grid's");
        awaitCheckpoint();
    }

    private static void awaitCheckpoint() throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true)
        {
            final Metrics.MetricFamily checkpoints = scrape(METRICS_PORTS[0]).get("grid_checkpoint_duration_seconds");
            if (checkpoints.getMetric(0).getHistogram().getSampleCount() > 0)
            {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "no checkpoint timed within 30 s: " + checkpoints);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
    }

    @Test
    void openMetricsTextEndsWithEofAndNamesCountersWithTotal() throws Exception
    {
        final HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + METRICS_PORTS[1] + "/metrics"))
            .header("Accept", "application/openmetrics-text; version=1.0.0; charset=utf-8")
            .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/openmetrics-text"));
        final String body = response.body();
        assertTrue(body.endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
        assertTrue(body.contains("# TYPE grid_transactions counter"), body);
        assertTrue(body.contains("grid_transactions_total{outcome=\"committed\"}"), body);
        assertTrue(body.contains("grid_operation_duration_seconds_bucket{op=\"get\",le=\"+Inf\"}"), body);
        assertTrue(body.contains("# UNIT grid_wal_written_bytes bytes"), body);
    }

    @Test
    void mbeansReadThroughAJmxConnector() throws Exception
    {
        final int rmiPort = LoopbackPorts.next();
        final Registry registry = LocateRegistry.createRegistry(rmiPort);
        final JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + rmiPort + "/jmxrmi");
        final JMXConnectorServer server = JMXConnectorServerFactory.newJMXConnectorServer(url, null,
            ManagementFactory.getPlatformMBeanServer());
        server.start();
        try (JMXConnector connector = JMXConnectorFactory.connect(url))
        {
            final MBeanServerConnection connection = connector.getMBeanServerConnection();
            final ObjectName member = new ObjectName("dev.grid:type=Member,cluster=grid,name=metrics0");
            assertTrue(((Number)connection.getAttribute(member, "operation_duration_seconds_put_count")).longValue() >=
                200);
            assertEquals(2.0, connection.getAttribute(member, "topology_members"));
            assertTrue((Double)connection.getAttribute(member, "transactions_total_committed") >= 1);
            final ObjectName cache = new ObjectName("dev.grid:type=Cache,cluster=grid,member=metrics1,name=" + CACHE);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!connection.isRegistered(cache))
            {
                assertTrue(System.nanoTime() < deadline, "no MBean " + cache + " within 30 s");
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            }
            assertTrue((Double)connection.getAttribute(cache, "cache_entries_" + CACHE) >= 200);
            assertEquals(16.0, connection.getAttribute(cache, "partition_copies_" + CACHE + "_OWNING"));
            assertTrue(List.of(connection.getMBeanInfo(member).getAttributes()).stream()
                .anyMatch(a -> a.getName().equals("wal_sync_duration_seconds_p99")));
        }
        finally
        {
            server.stop();
            UnicastRemoteObject.unexportObject(registry, true);
        }
    }

    @Test
    void anUnknownSettingOrABadPortStopsTheMemberWithAnErrorNamingIt()
    {
        final InvalidConfigurationException unknown = assertThrows(InvalidConfigurationException.class, () ->
            GridMember.start(new MemberConfiguration("bad").port(LoopbackPorts.next()).setting("metrics.prot", "1")));
        assertTrue(unknown.getMessage().contains("metrics.prot"), unknown.getMessage());
        final InvalidConfigurationException taken = assertThrows(InvalidConfigurationException.class, () ->
            GridMember.start(new MemberConfiguration("bad").port(LoopbackPorts.next())
                .setting("metrics.port", Integer.toString(METRICS_PORTS[0]))));
        assertTrue(taken.getMessage().contains(":" + METRICS_PORTS[0]), taken.getMessage());
    }

    @Test
    void aMemberOfTwoShardsIsScrapedWholeOnItsFirstShardEachShardLabelled() throws Exception
    {
        final int metricsPort = LoopbackPorts.next();
        final int firstPort = LoopbackPorts.nextRun(2);
        try (ShardedMember member = ShardedMember.start("sharded", 2, i ->
        {
            final MemberConfiguration config = new MemberConfiguration(ShardedMember.shardId("sharded", i))
                .port(firstPort + i).idleMaxParkNs(TimeUnit.MILLISECONDS.toNanos(1));
            // Services' ports on the first shard only, as a member's configuration file gives them.
            return i == 0 ? config.setting("metrics.port", Integer.toString(metricsPort)) : config;
        }))
        {
            final Cache<String, String> cache = member.createCache(new CacheConfiguration<>("sharded", Codecs.STRING,
                Codecs.STRING).partitions(16));
            for (int i = 0; i < 100; i++)
            {
                cache.put("k" + i, "v" + i);
            }
            final Map<String, Metrics.MetricFamily> families = scrape(metricsPort);
            assertEquals(Set.of("sharded.s0", "sharded.s1"), families.get("grid_member_info").getMetricList()
                .stream().map(m -> label(m, "member")).collect(Collectors.toSet()));
            long puts = 0;
            double entries = 0;
            for (final String shard : List.of("0", "1"))
            {
                final long served = families.get("grid_operation_duration_seconds").getMetricList().stream()
                    .filter(m -> label(m, "op").equals("put") && label(m, "shard").equals(shard))
                    .mapToLong(m -> m.getHistogram().getSampleCount()).sum();
                assertTrue(served > 0, "shard " + shard + " served some of the puts");
                puts += served;
                entries += families.get("grid_cache_entries").getMetricList().stream()
                    .filter(m -> label(m, "cache").equals("sharded") && label(m, "shard").equals(shard))
                    .mapToDouble(m -> m.getGauge().getValue()).sum();
            }
            assertEquals(100, puts, "every put counted once, by the shard that ran it");
            assertEquals(100, entries, "each entry is in one shard's copies");
        }
    }

    private static Map<String, Metrics.MetricFamily> scrape(final int port) throws IOException, InterruptedException
    {
        final HttpResponse<InputStream> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/metrics"))
            .header("Accept", "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; " +
                "encoding=delimited").timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, response.statusCode());
        final Map<String, Metrics.MetricFamily> families = new HashMap<>();
        try (InputStream in = response.body())
        {
            Metrics.MetricFamily family;
            while ((family = Metrics.MetricFamily.parseDelimitedFrom(in)) != null)
            {
                families.put(family.getName(), family);
            }
        }
        return families;
    }

    private static Metrics.Metric withLabel(final Metrics.MetricFamily family, final String name, final String value)
    {
        return family.getMetricList().stream().filter(m -> value.equals(label(m, name))).findFirst()
            .orElseThrow(() -> new AssertionError("no " + name + "=" + value + " in " + family.getMetricList().stream()
                .map(Metrics.Metric::getLabelList).map(Object::toString).collect(Collectors.joining("; "))));
    }

    private static String label(final Metrics.Metric metric, final String name)
    {
        return metric.getLabelList().stream().filter(l -> l.getName().equals(name)).map(Metrics.LabelPair::getValue)
            .findFirst().orElse("");
    }
}
