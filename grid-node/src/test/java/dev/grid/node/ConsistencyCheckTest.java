package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.internal.cluster.EngineFaults;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The consistency check across three members in this JVM: clean while writers keep writing (copies are compared at
 * the same counter, not refused as "not idle"), and it finds a planted data divergence (same counters, different
 * value) and a planted counter conflict.
 */
class ConsistencyCheckTest
{
    private static TestCluster cluster;

    @BeforeAll
    static void start()
    {
        cluster = TestCluster.start(3);
    }

    @AfterAll
    static void stop()
    {
        cluster.close();
    }

    @Test
    void reportsNothingOnACleanClusterUnderLoad() throws Exception
    {
        final GridMember a = cluster.members.get(0);
        final Cache<String, String> cache = a.createCache(new CacheConfiguration<>("under-load", Codecs.STRING,
            Codecs.STRING).backups(2).partitions(64));
        final AtomicBoolean writing = new AtomicBoolean(true);
        final AtomicLong written = new AtomicLong();
        final CompletableFuture<Void> writers = CompletableFuture.allOf(
            CompletableFuture.runAsync(() -> write(cluster.members.get(1).<String, String>cache("under-load"),
                writing, written, 0)),
            CompletableFuture.runAsync(() -> write(cluster.members.get(2).<String, String>cache("under-load"),
                writing, written, 1)));
        try
        {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (written.get() < 2_000 && System.nanoTime() < deadline)
            {
                Thread.onSpinWait();
            }
            for (int round = 0; round < 3; round++)
            {
                final long before = written.get();
                final ConsistencyReport report = a.checkConsistency("under-load");
                assertTrue(report.isClean(), "conflicts under load: " + report.conflicts());
                assertEquals(64, report.partitionsChecked());
                assertTrue(written.get() > before, "the writers made no progress during the check");
            }
        }
        finally
        {
            writing.set(false);
            writers.get(10, TimeUnit.SECONDS);
        }
        assertTrue(cache.size() > 0);
    }

    @Test
    void findsAPlantedDataDivergenceAndAPlantedCounterConflict()
    {
        final GridMember a = cluster.members.get(0);
        final Cache<String, String> cache = a.createCache(new CacheConfiguration<>("planted", Codecs.STRING,
            Codecs.STRING).backups(2).partitions(16));
        for (int i = 0; i < 200; i++)
        {
            cache.put("k" + i, "v" + i);
        }
        assertTrue(a.checkConsistency("planted").isClean());

        final GridMember b = cluster.members.get(1);
        final CacheDescriptor descriptor = b.engine().cache("planted");
        final int partition = dev.grid.core.KeyPartitioner.partition(Codecs.STRING.encode("k7"),
            descriptor.partitions());
        final CompletableFuture<Void> planted = new CompletableFuture<>();
        b.execute(() ->
        {
            EngineFaults.corruptCopy(b.engine(), descriptor.cacheId(), Codecs.STRING.encode("k7"),
                Codecs.STRING.encode("not v7"));
            planted.complete(null);
        }, planted);
        Futures.await(planted);
        ConsistencyReport report = a.checkConsistency("planted");
        assertEquals(1, report.conflicts().size(), "one partition diverged: " + report.conflicts());
        assertEquals(partition, report.conflicts().get(0).partition());
        assertEquals(ConsistencyReport.ConflictKind.DATA, report.conflicts().get(0).kind());

        final int other = (partition + 1) % descriptor.partitions();
        final GridMember c = cluster.members.get(2);
        final CompletableFuture<Void> counter = new CompletableFuture<>();
        c.execute(() ->
        {
            EngineFaults.corruptCounter(c.engine(), descriptor.cacheId(), other);
            counter.complete(null);
        }, counter);
        Futures.await(counter);
        report = a.checkConsistency("planted");
        assertEquals(2, report.conflicts().size(), "two partitions conflict: " + report.conflicts());
        assertTrue(report.conflicts().stream().anyMatch(conflict -> conflict.partition() == other &&
            conflict.kind() == ConsistencyReport.ConflictKind.COUNTERS), report.conflicts().toString());
    }

    private static void write(final Cache<String, String> cache, final AtomicBoolean writing, final AtomicLong written,
        final int writer)
    {
        for (long i = 0; writing.get(); i++)
        {
            cache.put("w" + writer + "-" + (i % 500), "value " + i);
            written.incrementAndGet();
        }
    }
}
