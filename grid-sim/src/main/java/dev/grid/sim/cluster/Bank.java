package dev.grid.sim.cluster;

/**
 * What a bank run did, in a {@link ScenarioResult} (zeros unless {@link ClusterScenario.Options#bank}).
 *
 * @param committed         transfers acknowledged committed.
 * @param aborted           transfers that ended aborted (predicate failures included).
 * @param unknown           transfers whose commit status the workload never learned.
 * @param predicateFailures transfers refused for want of funds.
 * @param consistentReads   reads of every account in one transaction (each summed to the total).
 * @param applied           transfers found in the final accounts.
 */
public record Bank(long committed, long aborted, long unknown, long predicateFailures, long consistentReads,
    int applied)
{
}
