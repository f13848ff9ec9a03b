package dev.grid.sim.cluster;

import dev.grid.core.EvictionPolicy;
import dev.grid.core.CacheEvent;
import dev.grid.core.CacheEventListener;
import dev.grid.core.Codecs;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.QuorumReadPolicy;
import dev.grid.core.ScanQuery;
import dev.grid.core.client.JournalReader;
import dev.grid.core.client.ScanPages;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.CopyView;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpCallback;
import dev.grid.core.engine.OpType;
import dev.grid.core.engine.PartitionMap;
import dev.grid.core.spi.RandomSource;
import dev.grid.core.spi.WallClock;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * A {@link ClusterScenario}'s caches with entry policies, under the same faults: an eviction-bound cache on in-memory
 * members (writes of many keys; after the faults, its copies equal, each primary within its share of the bound and
 * every value one written to its key), and a cache with an expiry policy: writes with short and no
 * times-to-live and under the policy, removes and reads, on members whose wall clocks are skewed apart. It checks
 * that no read returns a value whose life certainly ended (acknowledged, and read later than its life plus twice the
 * largest skew), and once the faults stopped and every finite life ended: every copy of a partition equal (expiry
 * removals are counted updates, whatever the clocks say), no expired entry left on a primary, every stored value one
 * that never expires and was written, and the last acknowledged such write kept where nothing came after it. A
 * listener reads the expiring cache's event journal through whichever member is ready: each partition's events in
 * counter order, no value twice, only values written, and (where no loss was reported) every acknowledged put.
 * <p>
 * <b>Threading:</b> the simulation's thread only.
 */
final class ExpiryWorkload
{
    static final String CACHE = "sim-expiring";
    static final String EVICTING = "sim-evicting";
    /** The evicting cache's bound: live entries per member (LRU). */
    static final long EVICTING_MAX_ENTRIES = 40;
    /** The cache's policy: an entry written without a time-to-live lives this long after its last write. */
    static final long POLICY_MS = 1500;
    /** Times-to-live the workload writes with; 0 never expires. */
    private static final long[] TTLS_MS = {0, 50, 300, 1000};
    /** How far apart members' wall clocks may be, at most, in each direction. */
    static final long SKEW_MAX_NS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    /**
     * How old the time a member decides with may be: that of its last duty cycle, which the scenario runs every 5 ms
     * (and the rounding of wall-clock milliseconds).
     */
    private static final long STALE_MAX_NS = 6 * MS;

    private final ClusterScenario scenario;
    private final RandomSource random;
    private final long[] skewNs;
    private final Map<String, List<Write>> writes = new TreeMap<>();
    private final Map<String, Write> byValue = new HashMap<>();
    private int cacheId = -1;
    /** How long half the listener's reads ask their primary to hold them while nothing is new. */
    private static final long HELD_READ_WAIT_MS = 300;
    /** The listener on the expiring cache's journal, and what it saw. */
    private JournalReader<String, String> listener;
    private long[] readingSinceNs;
    private long[] readGenerations;
    private final Map<Integer, Long> lastCounter = new HashMap<>();
    private final java.util.Set<String> seenValues = new java.util.HashSet<>();
    private final java.util.Set<Integer> lossReported = new java.util.HashSet<>();
    /** Events the listener delivered. */
    long eventsSeen;
    private int evictingId = -1;
    private final Map<String, String> evictingKeyOf = new HashMap<>();
    private long nextToken;
    /** Reads that returned a value, each checked against its write's life. */
    long readsChecked;

    ExpiryWorkload(final ClusterScenario scenario, final RandomSource random, final int slots)
    {
        this.scenario = scenario;
        this.random = random;
        this.skewNs = new long[slots];
        for (int slot = 0; slot < slots; slot++)
        {
            skewNs[slot] = random.nextLong(-SKEW_MAX_NS, SKEW_MAX_NS + 1);
        }
    }

    /** @return the wall clock of the member in a slot: the simulation's time, skewed. */
    WallClock wallClock(final int slot)
    {
        final long skew = skewNs[slot];
        return ns -> Math.floorDiv(ns + skew, MS);
    }

    CacheDescriptor descriptor(final int partitions, final int backups, final PartitionLossPolicy lossPolicy)
    {
        return new CacheDescriptor(0, CACHE, partitions, backups, "string", "string", null,
            TimeUnit.SECONDS.toNanos(5), null, 0, 0, lossPolicy, 0, QuorumReadPolicy.REFUSE,
            ExpiryPolicy.modified(Duration.ofMillis(POLICY_MS)), null, 1 << 16);
    }

    void opened(final int cacheId)
    {
        this.cacheId = cacheId;
        final Map<Integer, Long> fromStart = new HashMap<>();
        for (int p = 0; p < scenario.options.partitions; p++)
        {
            fromStart.put(p, 0L);
        }
        this.readingSinceNs = new long[scenario.options.partitions];
        this.readGenerations = new long[scenario.options.partitions];
        this.listener = new JournalReader<>(scenario.options.partitions, ScanQuery.all(), Codecs.STRING,
            Codecs.STRING, new CacheEventListener<>()
        {
            public void onEvent(final CacheEvent<String, String> event)
            {
                seen(event);
            }

            public void onEventsLost(final int partition, final long fromCounter, final long toCounter)
            {
                lossReported.add(partition);
            }
        }, fromStart);
    }

    /** The listener's invariants: per partition in counter order, each value once, only values written. */
    private void seen(final CacheEvent<String, String> event)
    {
        eventsSeen++;
        final long before = lastCounter.getOrDefault(event.partition(), 0L);
        if (event.counter() <= before)
        {
            throw scenario.sim.fail("listener: partition " + event.partition() + " event at counter " +
                event.counter() + " after " + before + ": " + event);
        }
        lastCounter.put(event.partition(), event.counter());
        if (event.value() != null)
        {
            final Write write = byValue.get(event.value());
            if (write == null || !write.key.equals(event.key()))
            {
                throw scenario.sim.fail("listener: " + event + " was never written");
            }
            if (!seenValues.add(event.value()))
            {
                throw scenario.sim.fail("listener: " + event + " delivered twice");
            }
        }
    }

    /**
     * Read the journal of each partition not being read, through a ready member. A read whose member crashed never
     * answers: after its timeout it is given up and sent again (an answer of a read given up is ignored).
     */
    private void pollListener(final List<Engine> running, final long timeoutNs)
    {
        for (int p = 0; p < readingSinceNs.length && !running.isEmpty(); p++)
        {
            if (readingSinceNs[p] != 0 && scenario.sim.nowNs() - readingSinceNs[p] < timeoutNs + 1_000 * MS)
            {
                continue;
            }
            readingSinceNs[p] = Math.max(1, scenario.sim.nowNs());
            final int partition = p;
            final long generation = ++readGenerations[p];
            // Half of the reads ask to be held while nothing is new (as the hosts' reads do), half not.
            running.get(random.nextInt(running.size())).journalRead(cacheId, p,
                listener.request(p, random.nextInt(2) * HELD_READ_WAIT_MS), timeoutNs,
                new OpCallback()
            {
                public void onSuccess(final OpOutcome outcome)
                {
                    if (readGenerations[partition] == generation)
                    {
                        readingSinceNs[partition] = 0;
                        listener.deliver(partition, ScanPages.Events.decode(outcome.value()), () -> true);
                    }
                }

                public void onFailure(final dev.grid.core.GridException error)
                {
                    if (readGenerations[partition] == generation)
                    {
                        readingSinceNs[partition] = 0;
                    }
                }
            });
        }
    }

    CacheDescriptor evictingDescriptor(final int partitions, final int backups, final PartitionLossPolicy lossPolicy)
    {
        return new CacheDescriptor(0, EVICTING, partitions, backups, "string", "string", null,
            TimeUnit.SECONDS.toNanos(5), null, 0, 0, lossPolicy, 0, QuorumReadPolicy.REFUSE, null,
            EvictionPolicy.lru(EVICTING_MAX_ENTRIES));
    }

    void openedEvicting(final int cacheId)
    {
        this.evictingId = cacheId;
    }

    /**
     * Issue one operation through a ready member that is not paused: a stopped process runs no application thread
     * either, and a member's engine decides expiry with the time of its last duty cycle.
     *
     * @param ready   the members ready for operations.
     * @param members the members by slot.
     */
    void issue(final List<Engine> ready, final Engine[] members, final long timeoutNs)
    {
        final List<Engine> running = new ArrayList<>();
        for (int slot = 0; slot < members.length; slot++)
        {
            if (ready.contains(members[slot]) && !scenario.isPaused(slot) && members[slot].cache(CACHE) != null)
            {
                running.add(members[slot]);
            }
        }
        if (!running.isEmpty())
        {
            issue(running.get(random.nextInt(running.size())), timeoutNs);
            pollListener(running, timeoutNs);
        }
    }

    private void issue(final Engine member, final long timeoutNs)
    {
        if (evictingId >= 0 && member.cache(EVICTING) != null && random.nextInt(4) == 0)
        {
            final String key = "v" + random.nextInt(400);
            if (random.nextInt(3) == 0)
            {
                member.submit(evictingId, OpType.GET, ClusterScenario.bytes(key), null, null, timeoutNs,
                    scenario.callback(outcome -> { }, () -> { }));
                return;
            }
            final String value = "y" + nextToken++;
            evictingKeyOf.put(value, key);
            member.submit(evictingId, OpType.PUT, ClusterScenario.bytes(key), ClusterScenario.bytes(value), null,
                timeoutNs, scenario.callback(outcome -> { }, () -> { }));
            return;
        }
        final String key = "e" + random.nextInt(16);
        final int dice = random.nextInt(100);
        if (dice < 45)
        {
            final long ttlMs = dice < 35 ? TTLS_MS[random.nextInt(TTLS_MS.length)] : -1;
            final Write write = new Write(key, "x" + nextToken++, ttlMs, scenario.sim.nowNs());
            writes.computeIfAbsent(key, k -> new ArrayList<>()).add(write);
            byValue.put(write.value, write);
            final byte[] value = ClusterScenario.bytes(write.value);
            member.submit(cacheId, ttlMs < 0 ? OpType.PUT : OpType.PUT_WITH_TTL, ClusterScenario.bytes(key),
                ttlMs < 0 ? value : OpType.valueWithTtl(ttlMs, value), null, timeoutNs,
                scenario.callback(outcome -> write.completedNs = scenario.sim.nowNs(), () -> { }));
        }
        else if (dice < 55)
        {
            final Write write = new Write(key, null, 0, scenario.sim.nowNs());
            writes.computeIfAbsent(key, k -> new ArrayList<>()).add(write);
            member.submit(cacheId, OpType.REMOVE, ClusterScenario.bytes(key), null, null, timeoutNs,
                scenario.callback(outcome -> write.completedNs = scenario.sim.nowNs(), () -> { }));
        }
        else if (dice < 62)
        {
            final long askedNs = scenario.sim.nowNs();
            member.submit(cacheId, OpType.CONTAINS_KEY, ClusterScenario.bytes(key), null, null, timeoutNs,
                scenario.callback(outcome -> checkContains(key, outcome.flag(), askedNs), () -> { }));
        }
        else
        {
            final long readNs = scenario.sim.nowNs();
            member.submit(cacheId, OpType.GET, ClusterScenario.bytes(key), null, null, timeoutNs,
                scenario.callback(outcome -> checkRead(key, outcome, readNs), () -> { }));
        }
    }

    /** Whether a key is present is never "yes" once the life of every value written to it certainly ended. */
    private void checkContains(final String key, final boolean present, final long askedNs)
    {
        if (!present)
        {
            return;
        }
        for (final Write write : writes.getOrDefault(key, List.of()))
        {
            final long lifeMs = write.lifeMs();
            if (write.value != null && (lifeMs <= 0 || write.completedNs == Long.MAX_VALUE ||
                askedNs <= write.completedNs + lifeMs * MS + 2 * SKEW_MAX_NS + STALE_MAX_NS))
            {
                return;
            }
        }
        throw scenario.sim.fail("containsKey(" + key + ") asked at " + askedNs + " answered true, but the life of " +
            "every value written to it had ended: " + writes.get(key));
    }

    /** A read never returns a value whose life certainly ended before the read was asked. */
    private void checkRead(final String key, final OpOutcome outcome, final long readNs)
    {
        if (outcome.value() == null)
        {
            return;
        }
        final String value = new String(outcome.value(), StandardCharsets.UTF_8);
        final Write write = byValue.get(value);
        if (write == null || !write.key.equals(key))
        {
            throw scenario.sim.fail("a read of " + key + " returned " + value + ", which was never written to it");
        }
        readsChecked++;
        final long lifeMs = write.lifeMs();
        if (lifeMs > 0 && write.completedNs != Long.MAX_VALUE &&
            readNs > write.completedNs + lifeMs * MS + 2 * SKEW_MAX_NS + STALE_MAX_NS)
        {
            throw scenario.sim.fail("a read of " + key + " asked at " + readNs + " returned " + write +
                ", whose life of " + lifeMs + " ms ended by " + (write.completedNs + lifeMs * MS) +
                " (clocks at most " + SKEW_MAX_NS + " ns apart)");
        }
    }

    /**
     * Once the faults stopped and the cluster is quiescent: let every finite life end and the primaries remove what
     * expired, then check copies and values.
     */
    void finalCheck()
    {
        final long waitNs = (POLICY_MS + 1000) * MS + 2 * SKEW_MAX_NS;
        scenario.sim.runUntil(scenario.sim.nowNs() + waitNs, null);
        if (!scenario.sim.runUntil(scenario.sim.nowNs() + scenario.options.settleNs, scenario::allQuiescentTogether))
        {
            throw scenario.sim.fail("the cluster did not settle after the expiry removals: " + scenario.describe());
        }
        final Engine reference = scenario.liveMembers().get(0);
        final PartitionMap map = reference.installedMap();
        for (int p = 0; p < scenario.options.partitions; p++)
        {
            CopyView first = null;
            for (final int owner : map.owners(cacheId, p))
            {
                final Engine member = scenario.memberByIncarnation(map.topology().members().get(owner).incarnation());
                final CopyView copy = member == null ? null : member.status().copy(cacheId, p);
                if (copy == null)
                {
                    throw scenario.sim.fail("owner " + owner + " of expiring partition " + p + " holds no copy");
                }
                if (first != null && (first.lwm() != copy.lwm() || first.contentHash() != copy.contentHash() ||
                    first.size() != copy.size()))
                {
                    throw scenario.sim.fail("copies of expiring partition " + p + " differ: " + first + " vs " +
                        copy);
                }
                first = copy;
            }
        }
        for (final Map.Entry<String, List<Write>> e : writes.entrySet())
        {
            checkKey(map, e.getKey(), e.getValue());
        }
        checkListener(map);
        if (evictingId >= 0)
        {
            checkEvicting(map);
        }
    }

    /**
     * The listener saw every acknowledged put of a partition whose journal reported no loss (it is read until it did,
     * or the settle time ends).
     */
    private void checkListener(final PartitionMap map)
    {
        final long deadlineNs = scenario.sim.nowNs() + scenario.options.settleNs;
        java.util.Set<String> missing = undelivered();
        while (!missing.isEmpty() && scenario.sim.nowNs() < deadlineNs)
        {
            pollListener(scenario.liveMembers(), TimeUnit.SECONDS.toNanos(5));
            scenario.sim.runUntil(scenario.sim.nowNs() + 20 * MS, null);
            missing = undelivered();
        }
        if (!missing.isEmpty())
        {
            final java.util.Set<Integer> partitions = new java.util.TreeSet<>();
            for (final String value : missing)
            {
                partitions.add(partitionOf(byValue.get(value).key));
            }
            throw scenario.sim.fail("listener: acknowledged puts never delivered: " + missing + " in partitions " +
                partitions + " (map " + map.version() + "); positions " + listener.positions());
        }
    }

    /**
     * @return the acknowledged puts not delivered yet, in partitions whose journal reported no loss (a copy rebuilt
     *         by rebalance that became primary knows nothing below what it was streamed) and that were never lost.
     */
    private java.util.Set<String> undelivered()
    {
        final java.util.Set<String> missing = new java.util.TreeSet<>();
        for (final List<Write> keyWrites : writes.values())
        {
            for (final Write w : keyWrites)
            {
                final int partition = partitionOf(w.key);
                if (w.value != null && w.completedNs != Long.MAX_VALUE && !lossReported.contains(partition) &&
                    !scenario.lostPartitions.contains(partition) && !seenValues.contains(w.value))
                {
                    missing.add(w.value);
                }
            }
        }
        return missing;
    }

    private int partitionOf(final String key)
    {
        return KeyPartitioner.partition(ClusterScenario.bytes(key), scenario.options.partitions);
    }

    /** The evicting cache's copies are equal, within each partition's share, and hold only values written to them. */
    private void checkEvicting(final PartitionMap map)
    {
        final long share = Math.max(1, EVICTING_MAX_ENTRIES * map.topology().members().size() /
            scenario.options.partitions);
        for (int p = 0; p < scenario.options.partitions; p++)
        {
            CopyView first = null;
            for (final int owner : map.owners(evictingId, p))
            {
                final Engine member = scenario.memberByIncarnation(map.topology().members().get(owner).incarnation());
                final CopyView copy = member == null ? null : member.status().copy(evictingId, p);
                if (copy == null || first != null && (first.lwm() != copy.lwm() ||
                    first.contentHash() != copy.contentHash() || first.size() != copy.size()))
                {
                    throw scenario.sim.fail("copies of evicting partition " + p + " differ: " + first + " vs " + copy);
                }
                first = copy;
            }
            // A primary that took over holds what its predecessor kept; the next write or sweep evicts what is over.
            if (first != null && first.size() > share)
            {
                throw scenario.sim.fail("evicting partition " + p + " holds " + first.size() + " entries, over its " +
                    "share of " + share + " after the sweeps");
            }
        }
        for (int i = 0; i < 400; i++)
        {
            final String key = "v" + i;
            final int partition = KeyPartitioner.partition(ClusterScenario.bytes(key), scenario.options.partitions);
            final Engine primary = scenario.memberByIncarnation(map.primary(evictingId, partition).incarnation());
            final byte[] stored = primary.readLocal(evictingId, ClusterScenario.bytes(key));
            if (stored != null && !key.equals(evictingKeyOf.get(new String(stored, StandardCharsets.UTF_8))))
            {
                throw scenario.sim.fail("evicting " + key + " holds " + new String(stored, StandardCharsets.UTF_8) +
                    ", never written to it");
            }
        }
    }

    private void checkKey(final PartitionMap map, final String key, final List<Write> keyWrites)
    {
        final int partition = KeyPartitioner.partition(ClusterScenario.bytes(key), scenario.options.partitions);
        if (scenario.lostPartitions.contains(partition))
        {
            return;
        }
        final Engine primary = scenario.memberByIncarnation(map.primary(cacheId, partition).incarnation());
        final byte[] stored = primary.readLocal(cacheId, ClusterScenario.bytes(key));
        String finalValue = null;
        if (stored != null)
        {
            final long expireAtMs = ByteBuffer.wrap(stored).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            finalValue = new String(stored, 8, stored.length - 8, StandardCharsets.UTF_8);
            final Write write = byValue.get(finalValue);
            if (expireAtMs != 0 || write == null || write.lifeMs() != 0)
            {
                throw scenario.sim.fail(key + " holds " + finalValue + " expiring at " + expireAtMs +
                    " after every finite life ended: " + keyWrites);
            }
        }
        long latestAckedInvokeNs = -1;
        for (final Write w : keyWrites)
        {
            if (w.completedNs != Long.MAX_VALUE)
            {
                latestAckedInvokeNs = Math.max(latestAckedInvokeNs, w.invokedNs);
            }
        }
        // Justified by a write that was not over before the last acknowledged one began: a never-expiring put of
        // the value, or (for an absent key) a remove or a put whose life ended.
        boolean justified = finalValue == null && latestAckedInvokeNs < 0;
        for (final Write w : keyWrites)
        {
            final boolean matches = finalValue == null ? w.value == null || w.lifeMs() != 0 :
                finalValue.equals(w.value);
            justified |= matches && w.completedNs >= latestAckedInvokeNs;
        }
        if (!justified)
        {
            throw scenario.sim.fail("expiring " + key + " ends as " + finalValue + ", which no write justifies: " +
                keyWrites);
        }
    }

    /** A write of the expiring cache: a put (with its time-to-live, -1 by the policy) or a remove (no value). */
    private static final class Write
    {
        final String key;
        final String value;
        final long ttlMs;
        final long invokedNs;
        long completedNs = Long.MAX_VALUE;

        Write(final String key, final String value, final long ttlMs, final long invokedNs)
        {
            this.key = key;
            this.value = value;
            this.ttlMs = ttlMs;
            this.invokedNs = invokedNs;
        }

        /** @return how long the value lives after it is applied, in ms; 0 for ever. */
        long lifeMs()
        {
            return ttlMs < 0 ? POLICY_MS : ttlMs;
        }

        @Override
        public String toString()
        {
            return (value == null ? "remove" : "put " + value + " ttl " + ttlMs) + " [" + invokedNs + ", " +
                (completedNs == Long.MAX_VALUE ? "?" : completedNs) + "]";
        }
    }
}
