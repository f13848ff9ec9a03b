package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.CacheAlreadyExistsException;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.CacheDestroyedException;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.Grid;
import dev.grid.core.GridException;
import dev.grid.core.JoinFailedException;
import dev.grid.core.MemberMetrics;
import dev.grid.core.NodeStoppingException;
import dev.grid.core.engine.MemberState;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three members in this JVM over real Aeron on loopback.
 */
class GridMemberTest
{
    private static CacheConfiguration<String, String> strings(final String name)
    {
        return new CacheConfiguration<>(name, Codecs.STRING, Codecs.STRING).partitions(64).backups(1)
            .mergeOperator(TestCluster.APPEND_NAME, TestCluster.APPEND);
    }

    @Test
    void everyOperationWorksAcrossMembersAndShutdownLeavesNoDriverDirectory()
    {
        final List<String> directories = new ArrayList<>();
        try (TestCluster cluster = TestCluster.start(3))
        {
            cluster.members.forEach(m -> directories.add(m.driverDirectory()));
            final GridMember a = cluster.members.get(0);
            final GridMember b = cluster.members.get(1);
            final Cache<String, String> cache = a.createCache(strings("ops"));
            final Cache<String, String> viaB = b.cache("ops");
            assertThrows(CacheAlreadyExistsException.class, () -> b.createCache(strings("ops")));
            assertTrue(cluster.members.get(2).caches().contains("ops"));

            for (int i = 0; i < 500; i++)
            {
                cache.put("k" + i, "v" + i);
            }
            for (int i = 0; i < 500; i++)
            {
                assertEquals("v" + i, viaB.get("k" + i));
            }
            assertEquals(500, viaB.size());
            assertFalse(viaB.putIfAbsent("k1", "x"));
            assertTrue(viaB.putIfAbsent("new", "n"));
            assertFalse(cache.replace("k2", "wrong", "x"));
            assertTrue(cache.replace("k2", "v2", "x"));
            assertEquals("x", viaB.get("k2"));
            assertFalse(cache.remove("k3", "wrong"));
            assertTrue(cache.remove("k3", "v3"));
            assertTrue(viaB.remove("k4"));
            assertFalse(viaB.remove("k4"));
            assertFalse(viaB.containsKey("k4"));
            assertTrue(viaB.containsKey("k5"));
            assertNull(viaB.get("absent"));
            assertEquals("a", cache.merge("m", "a"));
            assertEquals("ab", viaB.merge("m", "b"));
            assertEquals("abc", cache.mergeAsync("m", "c").join());

            final Map<String, String> batch = new HashMap<>();
            for (int i = 0; i < 100; i++)
            {
                batch.put("b" + i, "w" + i);
            }
            viaB.putAllAsync(batch).join();
            final Map<String, String> read = cache.getAll(batch.keySet());
            assertEquals(batch, read);
            assertEquals(Set.of("b1"), cache.getAllAsync(List.of("b1", "nope")).join().keySet());

            final MemberMetrics metrics = a.metrics();
            assertEquals(3, metrics.members());
            assertTrue(metrics.latencies().get("put").count() >= 500, metrics.toString());
            assertTrue(metrics.latencies().get("put").p99Us() > 0, metrics.toString());

            a.destroyCache("ops");
            assertThrows(CacheNotFoundException.class, () -> b.cache("ops"));
            assertThrows(CacheDestroyedException.class, () -> viaB.get("k1"));
        }
        for (final String directory : directories)
        {
            assertFalse(new File(directory).exists(), "driver directory left behind: " + directory);
        }
    }

    /**
     * An application's close racing with a shutdown hook's (as SIGTERM brings about in a member process): each
     * caller returns only once the member is closed. Before, the second caller returned at once, its JVM could end
     * while the first was still closing, and the driver directory stayed behind in /dev/shm, 13 MB each time.
     */
    @Test
    void everyConcurrentCloseReturnsOnlyOnceTheMemberIsClosed() throws Exception
    {
        for (int round = 0; round < 3; round++)
        {
            try (TestCluster cluster = TestCluster.start(1))
            {
                final GridMember member = cluster.members.get(0);
                final File directory = new File(member.driverDirectory());
                final CyclicBarrier together = new CyclicBarrier(2);
                final Callable<Boolean> closeAndLook = () ->
                {
                    together.await(10, TimeUnit.SECONDS);
                    member.close();
                    return directory.exists();
                };
                final ExecutorService closers = Executors.newFixedThreadPool(2);
                try
                {
                    final Future<Boolean> first = closers.submit(closeAndLook);
                    final Future<Boolean> second = closers.submit(closeAndLook);
                    assertFalse(first.get(30, TimeUnit.SECONDS), "a close returned with " + directory + " still there");
                    assertFalse(second.get(30, TimeUnit.SECONDS), "a close returned with " + directory + " still there");
                }
                finally
                {
                    closers.shutdownNow();
                }
                assertEquals(MemberState.STOPPED, member.state());
            }
        }
    }

    /**
     * Nothing keeps a closed member reachable: the first collection after its close frees it with every entry it held,
     * so an application (or a benchmark) that restarts a member in the same JVM does not carry the old member's data
     * through the new one's recovery. A phantom reference is enqueued only once its member is gone for good, after any
     * finalizer that reached it ran and a later collection found it again: a single collection enqueues it only if no
     * finalizer reached it.
     */
    @Test
    void aClosedMemberIsFreedByTheFirstCollectionAfterItsClose() throws Exception
    {
        final ReferenceQueue<Object> queue = new ReferenceQueue<>();
        final PhantomReference<Object> closed = startUseAndClose(queue);
        System.gc();
        assertSame(closed, queue.remove(10_000), "the closed member was still reachable after a full collection");
    }

    /** @return a phantom reference to a member that held entries and is closed; nothing else refers to it here. */
    private static PhantomReference<Object> startUseAndClose(final ReferenceQueue<Object> queue)
    {
        try (TestCluster cluster = TestCluster.start(1))
        {
            final GridMember member = cluster.members.get(0);
            final Cache<String, String> cache = member.createCache(strings("freed"));
            for (int i = 0; i < 1_000; i++)
            {
                cache.put("k" + i, "v" + i);
            }
            return new PhantomReference<>(member, queue);
        }
    }

    /**
     * The member's thread reads client requests in its own duty cycle: a command it queues while its command queue is
     * full runs the queued commands first, in order, then is queued itself; it never waits for the queue to drain (that
     * wait would be for this very thread).
     */
    @Test
    void aCommandTheAgentQueuesWhileItsQueueIsFullRunsTheQueuedOnesFirst() throws Exception
    {
        try (TestCluster cluster = TestCluster.start(1))
        {
            final GridMember member = cluster.members.get(0);
            final AtomicInteger ran = new AtomicInteger();
            final AtomicInteger queued = new AtomicInteger();
            final AtomicInteger ranBeforeItWasQueued = new AtomicInteger();
            final CompletableFuture<CompletableFuture<Integer>> asked = member.query(() ->
            {
                // Fill it, from the agent thread, as a burst of requests read in one cycle would.
                while (member.commands.offer(ran::incrementAndGet))
                {
                    queued.incrementAndGet();
                }
                final CompletableFuture<Integer> last = new CompletableFuture<>();
                member.execute(() -> last.complete(ran.get()), last);
                ranBeforeItWasQueued.set(ran.get());
                return last;
            });
            final CompletableFuture<Integer> last = asked.get(30, TimeUnit.SECONDS);
            assertTrue(queued.get() > 60_000, queued + " commands queued");
            assertEquals(queued.get(), ranBeforeItWasQueued.get(), "the queue ran before the command was queued");
            assertEquals(queued.get(), last.get(30, TimeUnit.SECONDS), "the command ran after every queued one");
            assertEquals(MemberState.ACTIVE, member.state());
        }
    }

    /**
     * A fault of a command the agent runs early (its queue full) stops the member, as any fault of a command does; the
     * command that was to be queued fails with NODE_STOPPING.
     */
    @Test
    void aFaultOfACommandRunEarlyStopsTheMember() throws Exception
    {
        try (TestCluster cluster = TestCluster.start(1))
        {
            final GridMember member = cluster.members.get(0);
            final CompletableFuture<CompletableFuture<Void>> asked = member.query(() ->
            {
                member.commands.offer(() ->
                {
                    throw new IllegalStateException("a counter in a state it must never reach");
                });
                while (member.commands.offer(() -> { }))
                {
                    // Full.
                }
                final CompletableFuture<Void> refused = new CompletableFuture<>();
                member.execute(() -> refused.complete(null), refused);
                return refused;
            });
            final ExecutionException failure = assertThrows(ExecutionException.class,
                () -> asked.get(30, TimeUnit.SECONDS).get(30, TimeUnit.SECONDS));
            assertTrue(failure.getCause() instanceof NodeStoppingException, failure.getCause().toString());
            final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (member.state() != MemberState.FAILED && member.state() != MemberState.STOPPED)
            {
                assertTrue(System.nanoTime() < deadlineNs, "still " + member.state());
                java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }
    }

    @Test
    void startThroughTheApiAndFailWithAClearErrorWhenNoSeedAnswers()
    {
        final int port = TestCluster.freeUdpPort();
        final String nowhere = "127.0.0.1:" + TestCluster.freeUdpPort();
        final long started = System.nanoTime();
        final JoinFailedException error = assertThrows(JoinFailedException.class, () -> Grid.start(
            TestCluster.config("lonely", port, List.of(nowhere)).joinTimeoutNs(TimeUnit.SECONDS.toNanos(1))));
        assertEquals(ErrorCode.JOIN_FAILED, error.errorCode());
        assertTrue(error.getMessage().contains(nowhere), error.getMessage());
        assertTrue(System.nanoTime() - started >= TimeUnit.SECONDS.toNanos(1));
    }

    @Test
    void destroyRacingWithEightThreadsFailsEachOperationCleanlyAndOtherCachesKeepServing() throws Exception
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final GridMember a = cluster.members.get(0);
            final Cache<String, String> doomed = a.createCache(strings("doomed"));
            final Cache<String, String> other = a.createCache(strings("other"));
            final ExecutorService threads = Executors.newFixedThreadPool(8);
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicInteger succeeded = new AtomicInteger();
            final AtomicInteger destroyed = new AtomicInteger();
            final List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < 8; t++)
            {
                final int thread = t;
                workers.add(threads.submit(() ->
                {
                    int i = 0;
                    while (!stop.get())
                    {
                        try
                        {
                            final String key = "k" + thread + "-" + i++;
                            switch (i % 3)
                            {
                                case 0 -> doomed.put(key, "v");
                                case 1 -> doomed.get(key);
                                default -> doomed.merge(key, "x");
                            }
                            succeeded.incrementAndGet();
                        }
                        catch (final CacheDestroyedException ex)
                        {
                            destroyed.incrementAndGet();
                            if (destroyed.get() > 50)
                            {
                                return;
                            }
                        }
                    }
                }));
            }
            final long deadline = System.currentTimeMillis() + 10_000;
            while (succeeded.get() < 200 && System.currentTimeMillis() < deadline)
            {
                Thread.onSpinWait();
            }
            cluster.members.get(1).destroyCache("doomed");
            for (final Future<?> worker : workers)
            {
                worker.get(20, TimeUnit.SECONDS);
            }
            stop.set(true);
            threads.shutdown();
            assertTrue(succeeded.get() >= 200, "operations before destroy: " + succeeded.get());
            assertTrue(destroyed.get() > 0);
            other.put("still", "serving");
            assertEquals("serving", cluster.members.get(2).cache("other").get("still"));
        }
    }

    @Test
    void closeDuringLoadFailsInFlightOperationsWithNodeStoppingWithinASecond()
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final GridMember a = cluster.members.get(0);
            final Cache<String, String> cache = a.createCache(strings("load"));
            final List<CompletableFuture<Void>> inFlight = new ArrayList<>();
            for (int i = 0; i < 5_000; i++)
            {
                inFlight.add(cache.putAsync("k" + i, "v"));
            }
            a.close();
            int stopped = 0;
            for (final CompletableFuture<Void> future : inFlight)
            {
                try
                {
                    future.get(1, TimeUnit.SECONDS);
                }
                catch (final java.util.concurrent.ExecutionException ex)
                {
                    assertTrue(ex.getCause() instanceof NodeStoppingException, ex.getCause().toString());
                    stopped++;
                }
                catch (final Exception ex)
                {
                    throw new AssertionError("an in-flight operation neither completed nor failed: " + ex);
                }
            }
            final GridException refused = assertThrows(NodeStoppingException.class, () -> cache.put("after", "close"));
            assertEquals(ErrorCode.NODE_STOPPING, refused.errorCode());
            cluster.awaitMembers(2, 10_000, cluster.members.get(1), cluster.members.get(2));
            System.out.println("close under load: " + stopped + " of " + inFlight.size() + " failed with node stopping");
        }
    }

    @Test
    void anUnexpectedExceptionInProtocolCodeStopsTheMemberAndThePeersCarryOn()
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final GridMember a = cluster.members.get(0);
            final Cache<String, String> cache = a.createCache(strings("failstop"));
            cache.put("before", "1");

            while (!a.commands.offer(() ->
            {
                throw new IllegalStateException("planted bug");
            }))
            {
                Thread.onSpinWait();
            }
            final long deadline = System.currentTimeMillis() + 5_000;
            while (a.state() != MemberState.FAILED)
            {
                assertTrue(System.currentTimeMillis() < deadline, "member still " + a.state());
                Thread.onSpinWait();
            }
            final NodeStoppingException refused = assertThrows(NodeStoppingException.class,
                () -> cache.put("after", "2"));
            assertTrue(refused.getMessage().contains("planted bug"), refused.getMessage());
            a.close();

            final GridMember b = cluster.members.get(1);
            cluster.awaitMembers(2, 10_000, b, cluster.members.get(2));
            assertEquals("1", b.<String, String>cache("failstop").get("before"));
        }
    }

    @Test
    void aMemberWhoseAeronClientDiesFailsItsOperationsStopsAndThePeersCarryOn()
    {
        try (TestCluster cluster = TestCluster.start(3))
        {
            final GridMember a = cluster.members.get(0);
            final Cache<String, String> cache = a.createCache(strings("orphan"));
            cache.put("before", "1");
            final String directory = a.driverDirectory();

            a.simulateTransportClientTimeout();
            final long deadline = System.currentTimeMillis() + 5_000;
            while (a.state() != MemberState.FAILED)
            {
                assertTrue(System.currentTimeMillis() < deadline, "member still " + a.state());
                Thread.onSpinWait();
            }
            final NodeStoppingException refused = assertThrows(NodeStoppingException.class,
                () -> cache.put("after", "2"));
            assertTrue(refused.getMessage().contains("Aeron client"), refused.getMessage());
            a.close();
            assertFalse(new File(directory).exists(), "driver directory left behind: " + directory);

            final GridMember b = cluster.members.get(1);
            cluster.awaitMembers(2, 10_000, b, cluster.members.get(2));
            assertEquals("1", b.<String, String>cache("orphan").get("before"));
        }
    }
}
