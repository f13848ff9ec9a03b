package dev.grid.sim.cluster;

/**
 * What a {@link ClusterScenario} run did.
 *
 * @param traceHash        of every event.
 * @param acknowledged     operations that completed successfully.
 * @param failed           operations that failed (timeout, node stopping, ...).
 * @param crashes          members crashed.
 * @param leaves           members that left cleanly.
 * @param topologyVersion  at the end.
 * @param lostPartitions   partitions whose every copy was lost.
 * @param droppedCopies    copies dropped at exchanges for disagreeing.
 * @param checkedKeys      keys whose final value was checked.
 * @param recoveredRecords WAL records replayed by members that started again (persistent runs).
 * @param checkpoints      checkpoints committed (persistent runs).
 * @param checkpointsLost  checkpoints a crash interrupted before they committed (persistent runs).
 * @param historyRecords   WAL history records checked at the end (persistent runs).
 * @param bank             what the bank workload did.
 * @param wholeClusterStops times every member stopped and the cluster started again.
 * @param pauses           members paused for longer than failure detection.
 * @param longCuts         network splits longer than failure detection.
 * @param expulsions       live members removed from the cluster that started again on their own data.
 * @param expiryReadsChecked reads of the expiring cache that returned a value, checked against its life.
 * @param backPressured    sends the network refused for back pressure (only with
 *                         {@link ClusterScenario.Options#sendWindow}).
 * @param everyFault       the faults only {@link ClusterScenario.Options#everyFault} (and
 *                         {@link ClusterScenario.Options#diskFailures}) strike with.
 */
public record ScenarioResult(String traceHash, long acknowledged, long failed, int crashes, int leaves,
    long topologyVersion, int lostPartitions, int droppedCopies, int checkedKeys, long recoveredRecords,
    long checkpoints, long checkpointsLost, long historyRecords, Bank bank, int wholeClusterStops, int pauses,
    int longCuts, int expulsions, long expiryReadsChecked, long backPressured, Nemesis.MoreFaults everyFault)
{
}
