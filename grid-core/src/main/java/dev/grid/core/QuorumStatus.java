package dev.grid.core;

import java.util.List;

/**
 * What one member knows of its cluster's quorum, for operators (the admin tool's {@code state}, the {@code quorum.*}
 * metrics). A member serves writes, transactions, cache and baseline changes, and removes failed members, only while
 * it holds the quorum; without it they fail with {@link ErrorCode#NO_QUORUM}.
 *
 * @param have          members that count toward the quorum (the baseline's, or every member without a baseline)
 *                      and echoed one of this member's heartbeats within the lease, this member included.
 * @param need          members the quorum needs: {@code cluster.min.members} if configured, else a majority of the
 *                      baseline, else a majority of the seeds.
 * @param held          whether this member holds the quorum now.
 * @param writesRefused writes, transactions and changes this member refused for want of quorum since it started.
 * @param readsWithoutQuorum reads this member answered from its own copies without quorum since it started (caches
 *                      with {@link QuorumReadPolicy#SERVE_LOCAL}).
 * @param history       the latest times this member lost or regained quorum (splits and heals as it saw them),
 *                      oldest first, at most 16.
 */
public record QuorumStatus(int have, int need, boolean held, long writesRefused, long readsWithoutQuorum,
    List<String> history)
{
    /**
     * @param history copied.
     */
    public QuorumStatus
    {
        history = List.copyOf(history);
    }
}
