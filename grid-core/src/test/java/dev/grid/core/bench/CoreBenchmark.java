package dev.grid.core.bench;

import dev.grid.core.KeyPartitioner;
import dev.grid.core.internal.affinity.AffinityAssignment;
import dev.grid.core.internal.affinity.AffinityMember;
import dev.grid.core.internal.affinity.RendezvousAffinity;
import dev.grid.core.internal.partition.PartitionUpdateCounter;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Micro-benchmarks of the grid-core hot spots: affinity lookup (per operation), affinity assignment (per topology
 * change), key-to-partition hashing (per operation) and counter updates (per write). Run with {@code scripts/bench.sh}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class CoreBenchmark
{
    private final List<AffinityMember> members = new ArrayList<>();
    private RendezvousAffinity affinity;
    private AffinityAssignment assignment;
    private byte[][] keys;
    private int next;
    private PartitionUpdateCounter inOrder;
    private PartitionUpdateCounter outOfOrder;

    /** Builds a five-member topology and a set of 16-byte keys. */
    @Setup
    public void setUp()
    {
        for (int i = 0; i < 5; i++)
        {
            members.add(AffinityMember.of("node-" + i));
        }
        affinity = new RendezvousAffinity(1024, 1, null);
        assignment = affinity.assign(members);
        keys = new byte[4096][];
        for (int i = 0; i < keys.length; i++)
        {
            keys[i] = String.format("key-%012d", i).getBytes();
        }
        inOrder = new PartitionUpdateCounter(0, PartitionUpdateCounter.GAPS_MAX_DEFAULT);
        outOfOrder = new PartitionUpdateCounter(0, PartitionUpdateCounter.GAPS_MAX_DEFAULT);
    }

    /** @return the partition of a 16-byte key. */
    @Benchmark
    public int keyToPartition()
    {
        return KeyPartitioner.partition(keys[next++ & 4095], 1024);
    }

    /** @return the primary's member index for a key: hashing plus the affinity lookup, as every operation does. */
    @Benchmark
    public int affinityLookup()
    {
        return assignment.ownerIndex(KeyPartitioner.partition(keys[next++ & 4095], 1024), 0);
    }

    /** @return a whole assignment for 1024 partitions over 5 members, as a topology change computes. */
    @Benchmark
    public AffinityAssignment affinityAssign()
    {
        return affinity.assign(members);
    }

    /** @return LWM after a primary reserves and closes one counter in order. */
    @Benchmark
    public long counterReserveAndApplyInOrder()
    {
        final long start = inOrder.reserve(1);
        inOrder.apply(start, 1);
        return inOrder.lwm();
    }

    /** @return LWM after two counters close in reverse order (one gap opened and absorbed). */
    @Benchmark
    public long counterApplyPairOutOfOrder()
    {
        final long start = outOfOrder.lwm();
        outOfOrder.apply(start + 1, 1);
        outOfOrder.apply(start, 1);
        return outOfOrder.lwm();
    }
}
