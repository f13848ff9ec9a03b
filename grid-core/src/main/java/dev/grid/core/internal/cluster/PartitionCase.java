package dev.grid.core.internal.cluster;

import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.RebalancePlan;
import dev.grid.core.engine.Topology;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/** One partition's decision in progress: what it is decided from, and where the decision goes. */
final class PartitionCase
{
    final CacheDescriptor cache;
    final int cacheId;
    final int partition;
    final List<ReportEntry> holders;
    final List<String> idealOwners;
    /** The ideal owners present, as indices in the target topology (baseline owners away have no copy). */
    final int[] idealIndices;
    final Map<String, Integer> indexById;
    final Topology target;
    /** Whether the installed map knew the cache while the cluster was active. */
    final boolean known;
    /** Whether the durable table of last owners, not the installed map, says whose copies are current. */
    final boolean byTable;
    final int[] owningOut;
    final long[] epochIds;
    final long[] epochFloors;
    final List<RebalancePlan> plans;
    boolean hadOwners;
    long previousEpoch;
    /** The owners, when the partition is held as it is. */
    int[] result;

    PartitionCase(final CacheDescriptor cache, final int partition, final List<ReportEntry> holders,
        final List<String> idealOwners, final Map<String, Integer> indexById, final Topology target,
        final boolean known, final boolean byTable, final int[] owningOut, final long[] epochIds,
        final long[] epochFloors, final List<RebalancePlan> plans)
    {
        this.cache = cache;
        this.cacheId = cache.cacheId();
        this.partition = partition;
        this.holders = holders;
        this.idealOwners = idealOwners;
        this.idealIndices = idealOwners.stream().map(indexById::get).filter(Objects::nonNull)
            .mapToInt(Integer::intValue).toArray();
        this.indexById = indexById;
        this.target = target;
        this.known = known;
        this.byTable = byTable;
        this.owningOut = owningOut;
        this.epochIds = epochIds;
        this.epochFloors = epochFloors;
        this.plans = plans;
    }

    /** Hold every copy as it is, the lineage unchanged: the owners are {@code owners}. */
    int[] held(final int[] owners, final long epochFloor)
    {
        epochIds[partition] = previousEpoch;
        epochFloors[partition] = epochFloor;
        owningOut[partition] = owners.length;
        result = owners;
        return owners;
    }
}
