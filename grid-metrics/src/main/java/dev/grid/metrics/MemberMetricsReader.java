package dev.grid.metrics;

import dev.grid.core.CacheMetrics;
import dev.grid.core.GridException;
import dev.grid.core.MemberMetrics;
import dev.grid.core.QuorumStatus;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.engine.CopyView;
import dev.grid.core.engine.PartitionState;
import dev.grid.core.internal.affinity.ShardedAffinity;
import dev.grid.node.GridMember;
import dev.grid.net.AeronTransport;
import dev.grid.node.MemberMonitoring;
import dev.grid.persistence.StorageMetrics;
import io.prometheus.metrics.model.snapshots.Unit;
import org.HdrHistogram.Histogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * Reads everything a member counts into {@link MetricFamilies}: operations and transactions (histograms, outcomes,
 * abort reasons, remaps, unknown outcomes), topology and quorum, thin-client connections, rebalance progress, WAL,
 * checkpoints and recovery (member scope); entries, bytes, evictions, expirations, lost partitions, copies by
 * partition state and counter lag (cache scope, labelled {@code cache}); the first shard of a member of several reads
 * every shard for the Prometheus endpoint ({@link #readAll}).
 * <p>
 * <b>Threading:</b> any thread; each read asks the member's agent for a consistent snapshot of its part.
 */
final class MemberMetricsReader
{
    private static final Logger LOG = LoggerFactory.getLogger(MemberMetricsReader.class);
    private static final double NS_PER_SECOND = 1_000_000_000.0;

    private final GridMember member;

    MemberMetricsReader(final GridMember member)
    {
        this.member = member;
    }

    /**
     * @return member-scope and every cache's families; on the first shard of a member of several, of every shard.
     *     What the Prometheus endpoint, on the first shard only, serves. A shard's points are labelled {@code shard}
     *     with its index (each shard is a node of the cluster with counts of its own), from its configuration, so
     *     also before the member listed its shards; a shard other than this one that fails to be read (it is
     *     stopping) ends its part of the reading there rather than failing the whole.
     */
    MetricFamilies readAll()
    {
        final MetricFamilies families = new MetricFamilies();
        final List<GridMember> shards = member.shardsOfMember();
        for (final GridMember shard : shards.get(0) == member ? shards : List.of(member))
        {
            final String index = shard.configuration().attributes().get(ShardedAffinity.SHARD_ATTRIBUTE);
            if (index != null)
            {
                families.commonLabels("shard", index);
            }
            try
            {
                readMember(families, shard);
                for (final String cache : shard.caches())
                {
                    readCache(families, shard, cache);
                }
            }
            catch (final RuntimeException ex)
            {
                if (shard == member)
                {
                    throw ex;
                }
                LOG.debug("member {}: shard {} left out of a metrics reading: {}", member.configuration().memberId(),
                    shard.configuration().memberId(), ex.toString());
            }
        }
        return families;
    }

    /** @return this member's (this shard's) member-scope families only: its MBean, registered on every shard. */
    MetricFamilies readMemberOnly()
    {
        final MetricFamilies families = new MetricFamilies();
        readMember(families, member);
        return families;
    }

    /** @return one cache's families only, this shard's (empty if the cache went away meanwhile). */
    MetricFamilies readCacheOnly(final String cache)
    {
        final MetricFamilies families = new MetricFamilies();
        readCache(families, member, cache);
        return families;
    }

    private static void readMember(final MetricFamilies f, final GridMember member)
    {
        final MemberMetrics metrics = member.metrics();
        final MemberMonitoring monitoring = member.monitoring();
        f.gauge("grid_member_info", "Constant 1, labelled with the member's id and cluster.", 1,
            "member", member.configuration().memberId(), "cluster", member.configuration().clusterName());
        f.gauge("grid_topology_version", "The member's current topology version.", metrics.topologyVersion());
        f.gauge("grid_topology_members", "Members in the member's current topology.", metrics.members());
        for (final Map.Entry<String, Histogram> entry : monitoring.latencyHistogramsUs().entrySet())
        {
            final String name = entry.getKey();
            if (name.startsWith("tx."))
            {
                f.histogramSeconds("grid_transaction_duration_seconds", "Transaction phases this member coordinated " +
                    "(total, prepare, commit) and key-lock waits on it as primary (lock_wait).", entry.getValue(),
                    "phase", name.equals("tx.lockWait") ? "lock_wait" : name.substring("tx.".length()));
            }
            else
            {
                f.histogramSeconds("grid_operation_duration_seconds", "Operations this member's users submitted, " +
                    "from submission to completion, failures included, by kind.", entry.getValue(), "op", name);
            }
        }
        f.counter("grid_operation_failures", "Operations that failed, by reason.", metrics.timeouts(),
            "reason", "timeout");
        f.counter("grid_operation_failures", "Operations that failed, by reason.", metrics.cacheDestroyed(),
            "reason", "cache_destroyed");
        f.counter("grid_operation_failures", "Operations that failed, by reason.", metrics.otherFailures(),
            "reason", "other");
        f.counter("grid_operation_remaps", "Answers from a primary that made an operation retry on a newer map.",
            metrics.remaps());
        f.counter("grid_operations_routed", "Single-key operations served here as primary or forwarded.",
            metrics.servedAsPrimary(), "route", "primary");
        f.counter("grid_operations_routed", "Single-key operations served here as primary or forwarded.",
            metrics.forwarded(), "route", "forwarded");
        final MemberMetrics.TransactionCounts tx = metrics.transactions();
        f.counter("grid_transactions", "Transactions this member coordinated, by outcome.", tx.commits(),
            "outcome", "committed");
        f.counter("grid_transactions", "Transactions this member coordinated, by outcome.",
            tx.aborts().values().stream().mapToLong(Long::longValue).sum(), "outcome", "aborted");
        f.counter("grid_transactions", "Transactions this member coordinated, by outcome.", tx.commitStatusUnknown(),
            "outcome", "unknown");
        tx.aborts().forEach((reason, count) -> f.counter("grid_transaction_aborts",
            "Aborted transactions by reason (user rollbacks under TX_ROLLED_BACK).", count, "reason", reason));
        readQuorum(f, member.quorum());
        readClients(f, monitoring.clients());
        readTransport(f, monitoring.transport());
        readRebalance(f, member.rebalanceStatus());
        readStorage(f, member, monitoring);
    }

    private static void readQuorum(final MetricFamilies f, final QuorumStatus quorum)
    {
        f.gauge("grid_quorum_held", "1 if this member sees a quorum of the baseline, else 0.", quorum.held() ? 1 : 0);
        f.gauge("grid_quorum_members_heard", "Baseline members this member hears.", quorum.have());
        f.gauge("grid_quorum_members_needed", "Baseline members a quorum needs.", quorum.need());
        f.counter("grid_quorum_refused_writes", "Writes refused for want of a quorum.", quorum.writesRefused());
        f.counter("grid_quorum_reads_without_quorum", "Reads served without a quorum.", quorum.readsWithoutQuorum());
    }

    private static void readClients(final MetricFamilies f, final MemberMonitoring.ClientFigures clients)
    {
        if (clients == null)
        {
            return;
        }
        f.gauge("grid_client_connections", "Open thin-client connections.", clients.connections());
        f.counter("grid_client_requests", "Thin-client requests received.", clients.requests());
        f.counter("grid_client_errors", "Thin-client requests answered with an error.", clients.errors());
        f.counter("grid_client_cut_off_connections", "Connections closed for leaving too many answers unread.",
            clients.cutOff());
    }

    private static void readTransport(final MetricFamilies f, final AeronTransport.Figures t)
    {
        final String naks = "NAKs: ranges of a link's datagrams that did not arrive (on loopback, dropped by a full " +
            "receive buffer), asked again by this member (sent) or of it (received).";
        f.counter("grid_transport_naks", naks, t.naksSent(), "direction", "sent");
        f.counter("grid_transport_naks", naks, t.naksReceived(), "direction", "received");
        f.counter("grid_transport_retransmits", "Resends this member made, one per NAK range served.",
            t.retransmits());
        f.counter("grid_transport_dropped_messages", "Messages the transport refused for back pressure after its " +
            "retries, or dropped from its queue for a peer that stayed unreachable (the sender's protocol retries " +
            "or gives up).", t.droppedMessages());
        final String bytes = "Data bytes this member's transport sent and received (resends, status messages and " +
            "NAKs not counted).";
        f.counter("grid_transport_bytes", bytes, Unit.BYTES, t.bytesSent(), "direction", "sent");
        f.counter("grid_transport_bytes", bytes, Unit.BYTES, t.bytesReceived(), "direction", "received");
        f.counter("grid_transport_driver_errors", "Errors the embedded Aeron driver logged.", t.driverErrors());
    }

    private static void readRebalance(final MetricFamilies f, final RebalanceStatus r)
    {
        f.gauge("grid_rebalance_partitions_planned", "MOVING copies this member catches up in the current map.",
            r.partitionsPlanned());
        f.gauge("grid_rebalance_partitions_done", "Of those, the copies caught up.", r.partitionsDone());
        f.gauge("grid_rebalance_partitions_historical_planned", "Of those planned, the copies caught up historically.",
            r.historicalPlanned());
        f.gauge("grid_rebalance_map_records", "Records and entries applied by the current map's rebalance.",
            r.records());
        f.gauge("grid_rebalance_map_bytes", "Key and value bytes applied by the current map's rebalance.", Unit.BYTES,
            r.bytes());
        f.gauge("grid_rebalance_elapsed_seconds", "Since the current map's rebalance began here.", Unit.SECONDS,
            r.elapsedNs() / NS_PER_SECOND);
        f.gauge("grid_rebalance_eta_seconds", "Estimated time left; 0 when done, -1 if unknown.", Unit.SECONDS,
            r.etaNs() < 0 ? -1 : r.etaNs() / NS_PER_SECOND);
        f.counter("grid_rebalance_partitions_caught_up", "Copies caught up since start, by kind.", r.totalHistorical(),
            "mode", "historical");
        f.counter("grid_rebalance_partitions_caught_up", "Copies caught up since start, by kind.", r.totalFull(),
            "mode", "full");
        f.counter("grid_rebalance_history_records", "WAL history records applied since start.",
            r.totalHistoryRecords());
        f.counter("grid_rebalance_full_entries", "Entries applied by full rebalances since start.",
            r.totalFullEntries());
        f.counter("grid_rebalance_fallbacks", "Historical plans a supplier refused, caught up in full instead.",
            r.totalFallbacks());
    }

    private static void readStorage(final MetricFamilies f, final GridMember member,
        final MemberMonitoring monitoring)
    {
        f.gauge("grid_recovery_duration_seconds", "How long building the engine took at start, WAL replay included.",
            Unit.SECONDS, member.recoveryNs() / NS_PER_SECOND);
        f.gauge("grid_recovery_records", "WAL records replayed at start.", member.recoveredRecords());
        final StorageMetrics wal = monitoring.wal();
        if (wal != null)
        {
            f.counter("grid_wal_records", "Records appended to the WAL since start.", wal.events());
            f.counter("grid_wal_written_bytes", "Bytes appended to the WAL since start.", Unit.BYTES, wal.bytes());
            f.histogramSeconds("grid_wal_sync_duration_seconds", "WAL syncs to the device.", wal.durationsUs());
        }
        final StorageMetrics checkpoints = monitoring.checkpoints();
        if (checkpoints != null)
        {
            f.counter("grid_checkpoints", "Checkpoints committed since start.", checkpoints.events());
            f.counter("grid_checkpoint_written_bytes", "Bytes of committed checkpoints since start.", Unit.BYTES,
                checkpoints.bytes());
            f.histogramSeconds("grid_checkpoint_duration_seconds", "Checkpoints, from begin to commit.",
                checkpoints.durationsUs());
            f.gauge("grid_checkpoint_last_id", "The newest checkpoint committed or recovered from.",
                member.committedCheckpointId());
        }
    }

    private static void readCache(final MetricFamilies f, final GridMember member, final String cache)
    {
        final CacheMetrics metrics;
        final SortedMap<Integer, CopyView> copies;
        final int lost;
        try
        {
            metrics = member.cacheMetrics(cache);
            copies = member.localCopies(cache);
            lost = member.lostPartitions(cache).size();
        }
        catch (final GridException gone)
        {
            // Destroyed between the listing and the reading: it has nothing to report any more.
            return;
        }
        f.gauge("grid_cache_entries", "Live entries in this member's copies.", metrics.entries(), "cache", cache);
        f.gauge("grid_cache_primary_entries", "Live entries in the partitions this member is primary of.",
            metrics.primaryEntries(), "cache", cache);
        f.gauge("grid_cache_size_bytes", "Accounted bytes of this member's copies.", Unit.BYTES, metrics.bytes(),
            "cache", cache);
        f.counter("grid_cache_evictions", "Entries evicted as primary since start.", metrics.evictions(),
            "cache", cache);
        f.counter("grid_cache_expirations", "Expired entries removed as primary since start.", metrics.expirations(),
            "cache", cache);
        f.gauge("grid_cache_lost_partitions", "Partitions of the cache that lost every copy.", lost, "cache", cache);
        final Map<PartitionState, Integer> byState = new EnumMap<>(PartitionState.class);
        long maxLag = 0;
        for (final Map.Entry<Integer, CopyView> copy : copies.entrySet())
        {
            final CopyView view = copy.getValue();
            byState.merge(view.state(), 1, Integer::sum);
            final long lag = view.hwm() - view.lwm();
            maxLag = Math.max(maxLag, lag);
            if (lag > 0)
            {
                f.gauge("grid_partition_counter_lag", "Counters a copy reserved or saw above its LWM (HWM - LWM): " +
                    "updates in flight or missing. Only lagging copies are listed.", lag,
                    "cache", cache, "partition", Integer.toString(copy.getKey()),
                    "role", view.primary() ? "primary" : "backup");
            }
        }
        for (final PartitionState state : PartitionState.values())
        {
            f.gauge("grid_partition_copies", "This member's copies of the cache's partitions, by state.",
                byState.getOrDefault(state, 0), "cache", cache, "state", state.name());
        }
        f.gauge("grid_partition_counter_lag_max", "The largest HWM - LWM among this member's copies.", maxLag,
            "cache", cache);
    }
}
