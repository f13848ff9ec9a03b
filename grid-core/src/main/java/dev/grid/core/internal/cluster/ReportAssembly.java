package dev.grid.core.internal.cluster;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One member's exchange report as the coordinator assembles it from its chunks: the planner's input.
 */
final class ReportAssembly
{
    final Map<Integer, List<ReportEntry>> chunks = new TreeMap<>();
    /** The reporter's ownership table, assembled from the chunks that carry it. */
    final OwnershipTable table = new OwnershipTable();
    int lastIndex = -1;
    /** The reporting incarnation (0 where a test assembles a report without saying). */
    long member;
    /** The incarnation that ran on the reporter's data directory before it, 0 if none known (Recovery). */
    long previousIncarnation;

    boolean isComplete()
    {
        return lastIndex >= 0 && chunks.size() == lastIndex + 1;
    }
}
