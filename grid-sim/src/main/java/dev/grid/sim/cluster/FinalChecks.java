package dev.grid.sim.cluster;

import dev.grid.core.ConsistencyReport;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.engine.CopyView;
import dev.grid.core.engine.HistoryCoverage;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.PartitionMap;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a {@link ClusterScenario} checks once the faults stopped and the cluster healed: every copy of a partition
 * equal to its owners' (counters and content), the consistency check clean, every acknowledged write readable with
 * its value (registers and merges), each copy's retained history equal to what was applied, and no partition lost
 * except where the scenario's faults may lose one.
 * <p>
 * <b>Threading:</b> the simulation's thread only.
 */
final class FinalChecks
{
    private final ClusterScenario scenario;

    FinalChecks(final ClusterScenario scenario)
    {
        this.scenario = scenario;
    }

    /**
     * The consistency check, as an operator would run it, finds no conflict in the healed cluster (run again if the
     * member that ran it was removed from the cluster meanwhile, as an operator would).
     */
    void checkConsistency()
    {
        final long deadlineNs = scenario.sim.nowNs() + scenario.options.settleNs;
        // Bounded: a check that keeps meeting MEMBER_REJOINING is reported, never retried for ever.
        int rejoins = 0;
        while (true)
        {
            final ConsistencyReport[] report = new ConsistencyReport[1];
            final GridException[] error = new GridException[1];
            scenario.liveMembers().get(0).status().checkConsistency(scenario.options.bank ? "bank"
                : ClusterScenario.CACHE, (result, failure) ->
            {
                report[0] = result;
                error[0] = failure;
            });
            if (!scenario.sim.runUntil(deadlineNs, () -> report[0] != null || error[0] != null))
            {
                throw scenario.sim.fail("the consistency check did not finish: " + scenario.describe());
            }
            if (error[0] != null && error[0].errorCode() == ErrorCode.MEMBER_REJOINING && ++rejoins <= 10 &&
                scenario.sim.nowNs() < deadlineNs)
            {
                // The member that ran it was removed from the cluster and joins again: an operator runs it again,
                // once the cluster has settled.
                scenario.sim.runUntil(deadlineNs, () -> scenario.liveMembers().get(0).status().isSettled());
                continue;
            }
            if (error[0] != null)
            {
                throw scenario.sim.fail("the consistency check failed: " + error[0]);
            }
            if (!report[0].isClean())
            {
                throw scenario.sim.fail("the consistency check found conflicts: " + report[0].conflicts());
            }
            return;
        }
    }

    boolean rebalanced()
    {
        for (final Engine member : scenario.liveMembers())
        {
            if (member.installedMap() == null || !member.installedMap().plans().isEmpty() ||
                member.status().rebalanceStatus().active())
            {
                return false;
            }
        }
        return true;
    }

    /**
     * @return whether every member that knew the cache went (in memory), or every data directory that knew it was
     *         wiped (persistent; see {@link CacheKnowledge}): then no member may know it at the end (fails otherwise),
     *         and there are no copies to check.
     */
    boolean cacheForgottenEverywhere()
    {
        if (!scenario.cacheKnowledge.forgotten())
        {
            return false;
        }
        for (final Engine member : scenario.liveMembers())
        {
            if (member.cache(scenario.cacheName()) != null)
            {
                throw scenario.sim.fail("a member knows the cache after every member that knew it went: " +
                    scenario.describe());
            }
        }
        return true;
    }

    void checkCopies()
    {
        final Engine reference = scenario.liveMembers().get(0);
        final PartitionMap map = reference.installedMap();
        for (int p = 0; p < scenario.options.partitions; p++)
        {
            final int[] owners = map.owners(scenario.cacheId, p);
            if (owners.length == 0)
            {
                throw scenario.sim.fail("partition " + p + " has no owner");
            }
            checkShardPlacement(map, p, owners);
            CopyView first = null;
            for (final int owner : owners)
            {
                final long incarnation = map.topology().members().get(owner).incarnation();
                final Engine member = scenario.memberByIncarnation(incarnation);
                final CopyView copy = member == null ? null : member.status().copy(scenario.cacheId, p);
                if (copy == null)
                {
                    throw scenario.sim.fail("owner " + map.topology().members().get(owner) + " of partition " + p +
                        " holds no copy");
                }
                if (copy.hwm() != copy.lwm() || !copy.gaps().isEmpty())
                {
                    throw scenario.sim.fail("partition " + p + " on " +
                        map.topology().members().get(owner) + " has HWM " +
                        copy.hwm() + " LWM " + copy.lwm() + " gaps " + copy.gaps() + " after quiescence");
                }
                if (scenario.options.persistent)
                {
                    checkHistory(member, p, copy);
                }
                if (first == null)
                {
                    first = copy;
                }
                else if (first.lwm() != copy.lwm() || first.contentHash() != copy.contentHash() ||
                    first.size() != copy.size())
                {
                    throw scenario.sim.fail("copies of partition " + p + " differ: " + first + " vs " + copy + " on " +
                        map.topology().members().get(owner));
                }
            }
        }
    }

    /**
     * With several shards per process: no two copies of a partition on shards of one process (a crash of the process
     * would take both), and each copy on its process's shard {@code partition mod shards}.
     */
    private void checkShardPlacement(final PartitionMap map, final int partition, final int[] owners)
    {
        final int shards = scenario.options.shards;
        if (shards == 1)
        {
            return;
        }
        final Set<Integer> processes = new HashSet<>();
        for (final int owner : owners)
        {
            final String id = map.topology().members().get(owner).memberId();
            final int slot = Integer.parseInt(id.substring(1));
            if (!processes.add(scenario.processOf(slot)) || slot % shards != partition % shards)
            {
                throw scenario.sim.fail("partition " + partition + " of " + shards + " shards per process has a copy " +
                    "on " + id + " (process " + scenario.processOf(slot) + ", shard " + slot % shards + "): " +
                    Arrays.toString(owners));
            }
        }
    }

    /**
     * The retained WAL holds the copy's whole history after the counter it claims, one record per counter, however
     * aggressively WAL was released behind checkpoints (history starts by HWM, not LWM).
     */
    void checkHistory(final Engine member, final int partition, final CopyView copy)
    {
        final long from = member.history().historyFrom(scenario.cacheId, partition);
        if (from > copy.lwm())
        {
            throw scenario.sim.fail("partition " + partition + " on " + member.localAddress() +
                " claims history only after " +
                from + ", above its LWM " + copy.lwm());
        }
        final HistoryCoverage history = member.history().historyCoverage(scenario.cacheId, partition, from,
            copy.lwm());
        if (!history.complete() || history.records() != copy.lwm() - from)
        {
            throw scenario.sim.fail("partition " + partition + " on " + member.localAddress() +
                ": history (" + from + ", " +
                copy.lwm() + "] is not complete: " + history.why() + ", " + history.records() + " records");
        }
        if (member.history().historyPins() != 0)
        {
            throw scenario.sim.fail("history pins left on " + member.localAddress());
        }
        scenario.historyRecordsChecked += history.records();
    }

    private String readFinal(final String key)
    {
        final Engine reference = scenario.liveMembers().get(0);
        final int partition = KeyPartitioner.partition(ClusterScenario.bytes(key), scenario.options.partitions);
        final long primary = reference.installedMap().primary(scenario.cacheId, partition).incarnation();
        final byte[] value = scenario.memberByIncarnation(primary).readLocal(scenario.cacheId,
            ClusterScenario.bytes(key));
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    byte[] readFinalBytes(final String key)
    {
        final Engine reference = scenario.liveMembers().get(0);
        final int partition = KeyPartitioner.partition(ClusterScenario.bytes(key), scenario.options.partitions);
        final long primary = reference.installedMap().primary(scenario.cacheId, partition).incarnation();
        return scenario.memberByIncarnation(primary).readLocal(scenario.cacheId, ClusterScenario.bytes(key));
    }

    private boolean everLost(final String key)
    {
        return scenario.lostPartitions.contains(KeyPartitioner.partition(ClusterScenario.bytes(key),
            scenario.options.partitions));
    }

    int checkHistory()
    {
        int checked = 0;
        for (final Map.Entry<String, List<KeyWrite>> e : scenario.writesByKey.entrySet())
        {
            final String key = e.getKey();
            if (everLost(key))
            {
                continue;
            }
            checked++;
            final String finalValue = readFinal(key);
            final List<KeyWrite> writes = e.getValue();
            long latestAckedInvokeNs = -1;
            for (final KeyWrite w : writes)
            {
                if (w.completedNs != Long.MAX_VALUE && w.isEffective())
                {
                    latestAckedInvokeNs = Math.max(latestAckedInvokeNs, w.invokedNs);
                }
            }
            boolean justified = finalValue == null && latestAckedInvokeNs < 0;
            for (final KeyWrite w : writes)
            {
                final boolean matches = w.put ? w.value.equals(finalValue) : finalValue == null && w.isEffective();
                if (matches && w.completedNs >= latestAckedInvokeNs)
                {
                    justified = true;
                }
            }
            if (!justified)
            {
                throw scenario.sim.fail("key " + key + " ends as " + finalValue +
                    ", which no write justifies; writes: " + writes);
            }
        }
        return checked + checkMerges();
    }

    /**
     * Every acknowledged merge's token is in its key's final value, and no token is there twice or without a merge.
     *
     * @return how many keys were checked.
     */
    private int checkMerges()
    {
        int checked = 0;
        for (final Map.Entry<String, List<KeyMerge>> e : scenario.mergesByKey.entrySet())
        {
            final String key = e.getKey();
            if (everLost(key))
            {
                continue;
            }
            checked++;
            final String finalValue = readFinal(key);
            final Map<String, Integer> seen = new HashMap<>();
            if (finalValue != null)
            {
                for (final String token : finalValue.split(";"))
                {
                    if (!token.isEmpty())
                    {
                        seen.merge(token, 1, Integer::sum);
                    }
                }
            }
            final Set<String> known = new HashSet<>();
            for (final KeyMerge merge : e.getValue())
            {
                known.add(merge.token);
                if (merge.acknowledged && !seen.containsKey(merge.token))
                {
                    throw scenario.sim.fail("acknowledged merge " + merge.token + " of key " + key + " (partition " +
                        KeyPartitioner.partition(ClusterScenario.bytes(key), scenario.options.partitions) +
                        ") is missing from " + finalValue);
                }
            }
            for (final Map.Entry<String, Integer> s : seen.entrySet())
            {
                if (s.getValue() > 1 || !known.contains(s.getKey()))
                {
                    throw scenario.sim.fail("merge token " + s.getKey() + " of key " + key + " (partition " +
                        KeyPartitioner.partition(ClusterScenario.bytes(key), scenario.options.partitions) +
                        ") appears " + s.getValue() + " times in " + finalValue);
                }
            }
        }
        return checked;
    }
}
