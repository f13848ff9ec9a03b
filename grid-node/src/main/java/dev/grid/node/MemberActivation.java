package dev.grid.node;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Whether an operator deactivated this member, to stop the cluster as a whole without replaying its writes at the next
 * start ({@code grid-admin deactivate}). The admin tool takes every member through three steps:
 * <ol>
 *   <li>{@link #deactivate}: from now on cache operations, scans, journal reads and transactions that begin here are
 *   refused with {@link ErrorCode#CLUSTER_INACTIVE} (checked on the agent thread as each reaches the engine); those
 *   under way finish (replication, rebalance and the engine's own work go on);</li>
 *   <li>{@link #quiescent}: asked of every member until two passes in a row find all of them with nothing in
 *   flight;</li>
 *   <li>{@link #checkpoint}: a checkpoint that began after the request, so a restart replays only what the member
 *   logged after it (what stopping logs, and what expiry removes meanwhile).</li>
 * </ol>
 * {@link #activate} (step 0) lifts it; a restarted member starts active.
 * <p>
 * <b>Threading:</b> the flag is volatile, set by the thread serving client requests and read on the agent thread;
 * step 3 waits on a thread of its own.
 */
final class MemberActivation
{
    private static final long CHECKPOINT_POLL_NS = TimeUnit.MILLISECONDS.toNanos(20);

    private final GridMember member;
    private volatile boolean deactivated;

    MemberActivation(final GridMember member)
    {
        this.member = member;
    }

    /** @throws GridException with {@link ErrorCode#CLUSTER_INACTIVE} if an operator deactivated this member. */
    void requireActive()
    {
        if (deactivated)
        {
            throw inactive();
        }
    }

    /** @return the error an operation gets while this member is deactivated, or null while it is active. */
    GridException refusal()
    {
        return deactivated ? inactive() : null;
    }

    private void requestCheckpoint()
    {
        Futures.await(member.query(() ->
        {
            member.engine().history().checkpointNow();
            return Boolean.TRUE;
        }));
    }

    private GridException inactive()
    {
        return new GridException(ErrorCode.CLUSTER_INACTIVE, "member " + member.configuration().memberId() +
            ": the cluster was deactivated by an operator; activate it (grid-admin activate) or restart it");
    }

    boolean isDeactivated()
    {
        return deactivated;
    }

    /** Step 1: refuse operations that begin from now on. */
    void deactivate()
    {
        deactivated = true;
    }

    /** Undo {@link #deactivate} (deactivation step 0). */
    void activate()
    {
        deactivated = false;
    }

    /** Step 2: @return whether nothing is in flight on this member (settled, no operation, update or rebalance). */
    CompletableFuture<Boolean> quiescent()
    {
        return member.query(() -> member.engine().status().isQuiescent());
    }

    /**
     * Step 3: checkpoint now and complete once the checkpoint covers everything logged (at once for an in-memory
     * member).
     *
     * @param timeoutNs how long to wait for it.
     * @return the id of the covering checkpoint.
     */
    CompletableFuture<Long> checkpoint(final long timeoutNs)
    {
        final CompletableFuture<Long> done = new CompletableFuture<>();
        // A thread of its own: the wait may be long, and must not hold a pool the application shares.
        final Thread waiter = new Thread(() ->
        {
            try
            {
                done.complete(awaitCheckpoint(timeoutNs));
            }
            catch (final RuntimeException ex)
            {
                done.completeExceptionally(ex);
            }
        }, "grid-deactivate-" + member.configuration().memberId());
        waiter.setDaemon(true);
        waiter.start();
        return done;
    }

    /**
     * Wait until a checkpoint covers what was logged, or, where the member keeps logging on its own (expiry removes
     * entries whatever the operators do), until a checkpoint that began after this call committed: then a restart
     * replays only those.
     */
    private long awaitCheckpoint(final long timeoutNs)
    {
        final long deadlineNs = System.nanoTime() + timeoutNs;
        // Checkpoints begun so far (one may be under way) may predate the quiescence: wait for a later one.
        final long begunBefore = Futures.await(member.query(() ->
            member.engine().history().lastBegunCheckpointId()));
        requestCheckpoint();
        while (true)
        {
            final long committed = Futures.await(member.query(() -> member.engine().history()
                .checkpointCurrent() ? -1 : member.engine().history().committedCheckpointId()));
            if (committed == -1 || committed > begunBefore)
            {
                return Futures.await(member.query(() -> member.engine().history().committedCheckpointId()));
            }
            if (System.nanoTime() > deadlineNs)
            {
                throw new GridException(ErrorCode.OPERATION_TIMEOUT, "member " + member.configuration().memberId() +
                    ": no checkpoint covered the WAL within " + TimeUnit.NANOSECONDS.toSeconds(timeoutNs) + " s");
            }
            java.util.concurrent.locks.LockSupport.parkNanos(CHECKPOINT_POLL_NS);
            // A checkpoint that was under way when asked may not cover the last records: ask again.
            requestCheckpoint();
        }
    }
}
