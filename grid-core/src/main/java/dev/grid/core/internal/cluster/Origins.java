package dev.grid.core.internal.cluster;

import dev.grid.core.BaselineTopology;
import dev.grid.core.CacheDestroyedException;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.JoinFailedException;
import dev.grid.core.KeptCopy;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.NodeStoppingException;
import dev.grid.core.OperationTimeoutException;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.QuorumReadPolicy;
import dev.grid.core.QuorumStatus;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.internal.affinity.AffinityAssignment;
import dev.grid.core.internal.affinity.AffinityMember;
import dev.grid.core.internal.affinity.RendezvousAffinity;
import dev.grid.core.internal.cluster.LocalPartition.OpKey;
import dev.grid.core.internal.cluster.LocalPartition.Predecessors;
import dev.grid.core.internal.cluster.LocalPartition.PrimaryUpdate;
import dev.grid.core.internal.partition.CounterRange;
import dev.grid.core.internal.partition.PartitionUpdateCounter;
import dev.grid.core.spi.CheckpointStore;
import dev.grid.core.spi.RandomSource;
import dev.grid.core.spi.Transport;
import dev.grid.core.spi.Wal;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongArrayList;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.UnsafeBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * TODO
 */
final class Origins
{
    private final MemberEngine engine;

    Origins(final MemberEngine engine)
    {
        this.engine = engine;
    }

    /**
     * Per origin incarnation, the lowest sequence it may still resend (every operation of it below was answered or
     * given up), as its requests and the primaries' replicates carry it: outcomes below it are retired.
     */
    final Long2LongHashMap originWatermarks = new Long2LongHashMap(Long.MIN_VALUE);

    /**
     * Per thin client this member heard of (a request, a replicate or a record carrying its identity), when it last
     * did. A client is no member, so its outcomes cannot be retired when it leaves: they go below its watermark, or
     * {@link ClientProtocol#CLIENT_OUTCOME_RETENTION_NS} after it was last heard of (it resends only within its request
     * timeout, which is shorter). Pruned with the client's watermark once expired.
     */
    private final Long2LongHashMap clientSeenNs = new Long2LongHashMap(Long.MIN_VALUE);

    private long nextClientPruneNs;

    /** {@link #originMayResend}, made once: every remembered outcome passes it to the retirement sweep. */
    final java.util.function.LongPredicate originMayResend = this::originMayResend;

    void noteWatermark(final long origin, final long watermark)
    {
        if (watermark > originWatermarks.get(origin))
        {
            originWatermarks.put(origin, watermark);
        }
        noteClientSeen(origin);
    }

    void rememberPredecessors(final LocalPartition lp, final Predecessors predecessors)
    {
        predecessors.rememberIn(lp);
        for (final OpKey key : predecessors.keys())
        {
            noteClientSeen(key.originIncarnation());
        }
    }

    void noteClientSeen(final long origin)
    {
        if (ClientProtocol.isClientId(origin))
        {
            clientSeenNs.put(origin, engine.nowNs);
        }
    }

    /**
     * @return whether an operation's origin may still resend operations: a member still in the cluster, or a thin
     *         client heard of within {@link ClientProtocol#CLIENT_OUTCOME_RETENTION_NS}.
     */
    boolean originMayResend(final long origin)
    {
        if (engine.topology != null && engine.topology.member(origin) != null)
        {
            return true;
        }
        final long seenNs = clientSeenNs.get(origin);
        return seenNs != Long.MIN_VALUE && engine.nowNs - seenNs < ClientProtocol.CLIENT_OUTCOME_RETENTION_NS;
    }

    /** Forget the thin clients not heard of for longer than their outcomes are kept, with their watermarks. */
    void pruneClients()
    {
        if (engine.nowNs < nextClientPruneNs || clientSeenNs.isEmpty())
        {
            return;
        }
        nextClientPruneNs = engine.nowNs + ClientProtocol.CLIENT_OUTCOME_RETENTION_NS / 8;
        for (final Long2LongHashMap.EntryIterator it = clientSeenNs.entrySet().iterator(); it.hasNext(); )
        {
            it.next();
            if (engine.nowNs - it.getLongValue() >= ClientProtocol.CLIENT_OUTCOME_RETENTION_NS)
            {
                originWatermarks.remove(it.getLongKey());
                it.remove();
            }
        }
    }
}
