package dev.grid.node;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Whether an operator deactivated this member, to stop the cluster as a whole without a recovery at the next start
 * ({@code grid-admin deactivate}). The admin tool takes every member through three steps, each answered at once:
 * <ol>
 *   <li>{@link #deactivate}: from now on cache operations and transactions that begin here are refused with
 *   {@link ErrorCode#CLUSTER_INACTIVE}; those under way finish (replication, rebalance and the engine's own work go
 *   on);</li>
 *   <li>{@link #quiescent}: asked of every member until all answer yes at once: nothing is in flight anywhere, and
 *   nothing new can start;</li>
 *   <li>{@link #checkpoint}: a checkpoint now, completed once it covers everything logged, so a restart replays
 *   nothing but its marker.</li>
 * </ol>
 * {@link #activate} lifts it; a restarted member starts active.
 * <p>
 * <b>Threading:</b> the flag is volatile, read on every operation's calling thread; the steps ask the engine on its
 * thread.
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
        GridMember.await(member.query(() ->
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
        final long before = GridMember.await(member.query(() -> member.engine().history().committedCheckpointId()));
        requestCheckpoint();
        while (true)
        {
            final long committed = GridMember.await(member.query(() -> member.engine().history()
                .checkpointCurrent() ? -1 : member.engine().history().committedCheckpointId()));
            // A checkpoint begun before this call (id before + 1) may predate the quiescence: wait for the next one.
            if (committed == -1 || committed >= before + 2)
            {
                return GridMember.await(member.query(() -> member.engine().history().committedCheckpointId()));
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
