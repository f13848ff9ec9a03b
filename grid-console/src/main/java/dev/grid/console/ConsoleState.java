package dev.grid.console;

import dev.grid.admin.Json;
import dev.grid.client.ClientAdmin;
import dev.grid.client.GridClient;
import dev.grid.core.BaselineTopology;
import dev.grid.core.GridException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the console shows, read from the cluster through a thin client to the serving member, as the admin tool reads
 * it: topology and baseline, every cache's copies by partition and member (state, primary, LWM, HWM), lost
 * partitions, each member's rebalance and metrics, and the last consistency check run from the console. A member
 * that cannot be asked (it just left) is shown as unreachable; the rest of the state is still read.
 * <p>
 * <b>Threading:</b> the console's HTTP threads; {@link #json} and {@link #check} are synchronized, and a state read
 * less than {@link #MAX_AGE_NS} ago is served again, so many open pages cost the cluster one read a second.
 */
final class ConsoleState
{
    static final long MAX_AGE_NS = 500_000_000L;

    private final GridClient client;
    private final String memberId;
    private String lastJson;
    private long lastReadNs;
    private Map<String, Object> lastCheck;

    ConsoleState(final GridClient client, final String memberId)
    {
        this.client = client;
        this.memberId = memberId;
    }

    /** @return the state as JSON, read afresh unless the last read is younger than {@link #MAX_AGE_NS}. */
    synchronized String json()
    {
        final long nowNs = System.nanoTime();
        if (lastJson == null || nowNs - lastReadNs > MAX_AGE_NS)
        {
            lastJson = Json.write(read());
            lastReadNs = nowNs;
        }
        return lastJson;
    }

    /**
     * Run the consistency check of a cache and remember it as the last one.
     *
     * @param cache the cache.
     * @return the result as JSON.
     */
    synchronized String check(final String cache)
    {
        final ClientAdmin.ConsistencyResult result = client.admin().checkConsistency(cache);
        final List<Object> conflicts = new ArrayList<>();
        result.conflicts().forEach(c -> conflicts.add(map("partition", c.partition(), "kind", c.kind(), "detail",
            c.detail())));
        lastCheck = map("cache", cache, "atMs", System.currentTimeMillis(), "clean", result.isClean(),
            "partitionsChecked", result.partitionsChecked(), "copiesMoving", result.copiesMoving(), "conflicts",
            conflicts);
        lastJson = null;
        return Json.write(lastCheck);
    }

    private Map<String, Object> read()
    {
        final ClientAdmin admin = client.admin();
        final ClientAdmin.ClusterState cluster = admin.clusterState();
        final BaselineTopology baseline = admin.baseline();
        final List<Object> members = new ArrayList<>();
        for (final ClientAdmin.Member member : cluster.members())
        {
            // One lookup of the member per read, shared by its rebalance and metrics requests.
            ClientAdmin memberAdmin = null;
            String unreachable = null;
            try
            {
                memberAdmin = admin.onMember(member.memberId());
            }
            catch (final GridException ex)
            {
                unreachable = ex.getMessage();
            }
            members.add(map("id", member.memberId(), "address", member.address(), "clientAddress",
                member.clientAddress(), "rebalance", memberAdmin == null ? map("error", unreachable) :
                rebalance(memberAdmin), "metrics", memberAdmin == null ? map("error", unreachable) :
                metrics(memberAdmin)));
        }
        final List<Object> caches = new ArrayList<>();
        for (final String cache : client.caches())
        {
            caches.add(cache(admin, cache));
        }
        return map("servedBy", memberId, "atMs", System.currentTimeMillis(), "topologyVersion",
            cluster.topologyVersion(), "coordinator", cluster.coordinator(), "members", members, "quorum",
            map("have", cluster.quorum().have(), "need", cluster.quorum().need(), "held", cluster.quorum().held()),
            "baseline", map("set", baseline.isSet(), "members", baseline.members(), "offline", baseline.offline(),
            "outside", baseline.outside()), "caches", caches, "lastCheck", lastCheck);
    }

    private static Object rebalance(final ClientAdmin member)
    {
        try
        {
            final ClientAdmin.Rebalance r = member.rebalanceStatus();
            return map("active", r.active(), "planned", r.partitionsPlanned(), "done", r.partitionsDone(),
                "historical", r.historicalPlanned(), "records", r.records(), "bytes", r.bytes(), "etaMs",
                r.etaNs() < 0 ? -1 : r.etaNs() / 1_000_000, "totalHistorical", r.totalHistorical(), "totalFull",
                r.totalFull());
        }
        catch (final GridException unreachable)
        {
            return map("error", unreachable.getMessage());
        }
    }

    private static Object metrics(final ClientAdmin member)
    {
        try
        {
            final Map<String, Long> metrics = member.metrics();
            long operations = 0;
            for (final Map.Entry<String, Long> metric : metrics.entrySet())
            {
                if (metric.getKey().endsWith(".count") && !metric.getKey().startsWith("tx."))
                {
                    operations += metric.getValue();
                }
            }
            return map("operations", operations + metrics.getOrDefault("client.requests", 0L), "putP99Us",
                metrics.getOrDefault("put.p99Us", 0L), "getP99Us", metrics.getOrDefault("get.p99Us", 0L),
                "heapUsedBytes", metrics.getOrDefault("jvm.heapUsedBytes", 0L));
        }
        catch (final GridException unreachable)
        {
            return map("error", unreachable.getMessage());
        }
    }

    private static Object cache(final ClientAdmin admin, final String cache)
    {
        try
        {
            final Map<Integer, List<Object>> byPartition = new LinkedHashMap<>();
            int partitions = 0;
            for (final ClientAdmin.Copy copy : admin.copies(cache))
            {
                partitions = Math.max(partitions, copy.partition() + 1);
                byPartition.computeIfAbsent(copy.partition(), p -> new ArrayList<>()).add(map("m", copy.memberId(),
                    "s", copy.state(), "p", copy.primary(), "lwm", copy.lwm(), "hwm", copy.hwm()));
            }
            final List<Object> copies = new ArrayList<>();
            for (int p = 0; p < partitions; p++)
            {
                copies.add(byPartition.getOrDefault(p, List.of()));
            }
            return map("name", cache, "partitions", partitions, "copies", copies, "lost", admin.lostPartitions(cache));
        }
        catch (final GridException unreadable)
        {
            return map("name", cache, "error", unreadable.getMessage());
        }
    }

    static Map<String, Object> map(final Object... pairs)
    {
        final Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2)
        {
            map.put((String)pairs[i], pairs[i + 1]);
        }
        return map;
    }
}
