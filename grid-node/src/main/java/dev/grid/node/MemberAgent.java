package dev.grid.node;

import dev.grid.core.GridException;
import dev.grid.core.NodeStoppingException;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.OpCallback;
import dev.grid.core.engine.OpType;
import dev.grid.core.engine.MemberState;
import dev.grid.net.ClientEndpoint;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentTerminationException;

/**
 * The agent a member's thread runs: each duty cycle runs the transport, the engine's duty cycle, the plain client
 * endpoint (reading requests, accepting connections, running single-key ones at once: {@link #runNow}) and then the
 * commands user threads and the other requests queued, and reports the member's progress (joined, quorum) to those
 * who wait for it.
 * <p>
 * <b>Threading:</b> the member's agent thread only.
 */
final class MemberAgent implements Agent
{
    /** The most queued commands one duty cycle runs, and the most requests it runs at once ({@link #runNow}). */
    static final int COMMANDS_PER_CYCLE = 256;
    private final GridMember member;
    private boolean joinReported;

    /** When the engine first had its map installed but no quorum (Long.MIN_VALUE: not so). */
    private long installedWithoutQuorumSinceNs = Long.MIN_VALUE;

    MemberAgent(final GridMember member)
    {
        this.member = member;
    }

    private long joinedWithoutQuorumFor(final long nowNs)
    {
        if (!member.engine.status().hasInstalledCurrentMap())
        {
            installedWithoutQuorumSinceNs = Long.MIN_VALUE;
            return 0;
        }
        if (installedWithoutQuorumSinceNs == Long.MIN_VALUE)
        {
            installedWithoutQuorumSinceNs = nowNs;
        }
        return nowNs - installedWithoutQuorumSinceNs;
    }

    public void onStart()
    {
        member.agentThread = Thread.currentThread();
    }

    /** @return whether {@link #runNow} would run a command now (it may still find the member inactive). */
    static boolean mayRunNow(final GridMember member)
    {
        return Thread.currentThread() == member.agentThread && !member.closing && member.deferredFault == null &&
            member.commands.isEmpty() && member.runNowBudget > 0;
    }

    /**
     * A read answered in this call ({@link Engine#readNow}) where {@link #runNow} would run its operation, and
     * counted in the cycle's budget as that would be. A fault of the engine stops the member after the poll, as in
     * {@link #runNow}; the read is then left to the caller's queued way, and its client sees the connection end.
     *
     * @return the value, null if absent, or {@link Engine#NOT_READ_NOW}: the caller submits the read as usual.
     */
    static byte[] readNow(final GridMember member, final int cacheId, final OpType type, final byte[] key)
    {
        if (!mayRunNow(member) || member.activation.refusal() != null)
        {
            return Engine.NOT_READ_NOW;
        }
        try
        {
            final byte[] value = member.engine.readNow(cacheId, type, key);
            // Counted only if answered: one left to the caller's runNow is counted there.
            member.runNowBudget -= value == Engine.NOT_READ_NOW ? 0 : 1;
            return value;
        }
        catch (final RuntimeException ex)
        {
            member.deferredFault = ex;
            return Engine.NOT_READ_NOW;
        }
    }

    /**
     * Run an engine command now, as the queue's drain would run it, if called on the agent thread with no command
     * waiting (a thin client's request its duty cycle read): no queued command, no future. At most
     * {@link #COMMANDS_PER_CYCLE} a cycle, as the drain runs at most as many: a cycle stays short, and so does what
     * one cycle's answers hold. The member's inactivity, or a refusal the command throws, goes to {@code failed}; a
     * fault goes there too (as {@link NodeStoppingException} if it is not a {@link GridException}) and stops the
     * member after the poll, as a fault in a drain does.
     *
     * @return false, having run nothing, on any other thread or with commands waiting: the caller queues it
     *         ({@link GridMember#execute}).
     */
    static boolean runNow(final GridMember member, final Runnable command, final OpCallback failed)
    {
        if (!mayRunNow(member))
        {
            return false;
        }
        member.runNowBudget--;
        final GridException inactive = member.activation.refusal();
        if (inactive != null)
        {
            failed.onFailure(inactive);
            return true;
        }
        try
        {
            command.run();
        }
        catch (final RuntimeException ex)
        {
            if (ex instanceof GridException refused && GridMember.isRefusal(refused))
            {
                failed.onFailure(refused);
                return true;
            }
            member.deferredFault = ex;
            failed.onFailure(ex instanceof GridException fault ? fault : new NodeStoppingException("member " +
                member.config.memberId() + " stops: " + ex));
        }
        return true;
    }

    /** A command the agent ran early, from inside {@link GridMember#execute}, failed: a fault like any other. */
    private void throwDeferredFault()
    {
        final RuntimeException fault = member.deferredFault;
        if (fault != null)
        {
            throw fault;
        }
    }

    public int doWork()
    {
        final String transportFailure = member.transport.failure();
        if (transportFailure != null)
        {
            onTransportFailure(transportFailure);
        }
        int work;
        // The plain client endpoint is served by this thread (TLS connections have reader threads of their own).
        // Answers to clients this cycle makes go out once per connection at its end, not one write each.
        final ClientEndpoint clients = member.clientEndpoint instanceof ClientEndpoint plain ? plain : null;
        if (clients != null)
        {
            clients.beginBatch();
        }
        try
        {
            try
            {
                work = member.transport.doWork();
                // The duty cycle first: it reads the clock, and the application's commands after it then decide with
                // the time of this cycle (an entry's expiry, a deadline), never with one from before an idle wait or
                // a pause of the process.
                work += member.engine.doWork(System.nanoTime());
                if (clients != null)
                {
                    // Requests read now run at once (single-key ones, runNow) or become commands run below (in this
                    // cycle unless many wait): no other thread, no wake-up.
                    member.runNowBudget = COMMANDS_PER_CYCLE;
                    work += clients.poll();
                    throwDeferredFault();
                }
                work += member.commands.drain(Runnable::run, COMMANDS_PER_CYCLE);
                throwDeferredFault();
            }
            finally
            {
                // Before a restart's replay, not after it; endBatch throws nothing, so no failure is masked.
                if (clients != null)
                {
                    clients.endBatch();
                }
            }
            if (member.engine.status().isReadyForRestart())
            {
                member.restartExpelledEngine();
                work++;
            }
        }
        catch (final AgentTerminationException ex)
        {
            throw ex;
        }
        catch (final RuntimeException | Error ex)
        {
            // Fail-stop: protocol state after an unexpected exception cannot be trusted (an update dequeued and
            // lost, a counter half moved). Carrying on could acknowledge what is not durable; stopping makes the
            // peers treat this member as crashed, which every protocol handles.
            failStop(ex);
            return 0;
        }
        if (!joinReported)
        {
            if (member.engine.status().isSettled() ||
                joinedWithoutQuorumFor(System.nanoTime()) > member.config.failureDetectionTimeoutNs())
            {
                // Without quorum a failure-detection timeout after joining, it runs all the same: a member that
                // started on the minority side of a split refuses writes with NO_QUORUM until the split heals.
                joinReported = true;
                member.joined.complete(null);
            }
            else if (member.engine.state() == MemberState.FAILED || member.engine.state() == MemberState.STOPPED)
            {
                joinReported = true;
                member.joined.completeExceptionally(member.engine.failure() != null ? member.engine.failure() :
                    new NodeStoppingException("member " + member.config.memberId() + " stopped before joining"));
            }
        }
        if (member.cyclesAfterStop >= 0)
        {
            // Keep the driver running briefly so the leave announcement leaves the process.
            if (++member.cyclesAfterStop > GridMember.FLUSH_CYCLES_AFTER_STOP)
            {
                member.stopped.complete(null);
            }
            return 1;
        }
        return work;
    }

    /**
     * The member cannot reach anyone any more: fail what is in flight, refuse new work, and end the agent (its
     * onClose releases the driver). Peers see a crash and re-form without this member.
     */
    private void failStop(final Throwable cause)
    {
        GridMember.LOG.error("member {} fails and stops: unexpected {} on its agent thread", member.config.memberId(),
            cause.toString(), cause);
        member.stopReason = "failed on an unexpected " + cause;
        member.closing = true;
        try
        {
            member.engine.fail(new NodeStoppingException("member " + member.config.memberId() +
                " " + member.stopReason));
        }
        catch (final RuntimeException | Error ex)
        {
            // The agent ends even if failing the engine's operations throws too.
            cause.addSuppressed(ex);
        }
        throw new AgentTerminationException(member.stopReason);
    }

    private void onTransportFailure(final String why)
    {
        GridMember.LOG.error("member {} stops: {}", member.config.memberId(), why);
        member.stopReason = "stopped because " + why;
        member.closing = true;
        member.engine.fail(new NodeStoppingException("member " + member.config.memberId() + " " + member.stopReason));
        throw new AgentTerminationException(why);
    }

    public void onClose()
    {
        if (member.engine.state() != MemberState.STOPPED && member.engine.state() != MemberState.FAILED)
        {
            member.engine.stop();
        }
        // No thread serves the plain client endpoint any more: its clients see their connections close (and fail
        // over) now, not when the member is closed.
        if (member.clientEndpoint instanceof ClientEndpoint plain)
        {
            plain.close();
        }
        Runnable command;
        while ((command = member.commands.poll()) != null)
        {
            command.run();
        }
        member.transport.close();
        member.closePersistence();
        member.joined.completeExceptionally(member.engine.failure() != null ? member.engine.failure() :
            new NodeStoppingException("member " + member.config.memberId() + " stopped before joining"));
        member.stopped.complete(null);
    }

    public String roleName()
    {
        return "grid-member-" + member.config.memberId();
    }
}
