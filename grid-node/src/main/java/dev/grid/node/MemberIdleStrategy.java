package dev.grid.node;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The member thread's idle strategy: no spinning, two yields, then parks growing from 1 µs to 100 µs while work was
 * seen within the last 10 ms, and parks of the configured maximum once the member has been idle longer.
 * <p>
 * Why: on a machine with about as many members as cores, a spinning member steals the CPU its peers need to answer it
 * (docs/benchmarks.md: spinning cost 40% of put throughput on 2 cores with 3 members), while parking up to 1 ms in
 * the middle of a request stream adds up to that much to every hop. An idle member still must cost little: after
 * 10 ms without work it parks for the long maximum, so an idle member costs about 3% of a core.
 * <p>
 * <b>Threading:</b> used by the one member thread only.
 */
final class MemberIdleStrategy implements IdleStrategy
{
    /** Longest park while requests are flowing. */
    static final long HOT_MAX_PARK_NS = TimeUnit.MICROSECONDS.toNanos(100);
    /** Idleness after which the member parks for the long maximum. */
    static final long HOT_WINDOW_NS = TimeUnit.MILLISECONDS.toNanos(10);

    private final BackoffIdleStrategy hot = new BackoffIdleStrategy(0, 2, TimeUnit.MICROSECONDS.toNanos(1),
        HOT_MAX_PARK_NS);
    private final long idleParkNs;
    private long idleSinceNs;
    private boolean idle;

    /**
     * @param idleParkNs the park once idle longer than {@link #HOT_WINDOW_NS}.
     */
    MemberIdleStrategy(final long idleParkNs)
    {
        this.idleParkNs = idleParkNs;
    }

    public void idle(final int workCount)
    {
        if (workCount > 0)
        {
            reset();
            return;
        }
        idle();
    }

    public void idle()
    {
        if (!idle)
        {
            idle = true;
            idleSinceNs = System.nanoTime();
        }
        if (System.nanoTime() - idleSinceNs < HOT_WINDOW_NS)
        {
            hot.idle();
        }
        else
        {
            LockSupport.parkNanos(idleParkNs);
        }
    }

    public void reset()
    {
        idle = false;
        hot.reset();
    }

    public String alias()
    {
        return "member";
    }
}
