package dev.grid.core.spi;

import org.agrona.DeadlineTimerWheel;

import java.util.concurrent.TimeUnit;

/**
 * Deadlines for a single-threaded component, driven by the {@code nowNs} its duty cycle is given: nothing fires by
 * itself. A thin wrapper over Agrona's {@link DeadlineTimerWheel} so that protocol code names one type, and the
 * simulator and the real runner drive the same code.
 * <p>
 * Not thread-safe: owned by one component.
 */
public final class Timers
{
    /** Tick resolution by default: 2^20 ns (about 1 ms, far below any protocol timeout); Agrona needs a power of 2. */
    public static final long TICK_RESOLUTION_DEFAULT_NS = 1L << 20;
    /** Ticks per wheel by default (a power of two). */
    public static final int TICKS_PER_WHEEL_DEFAULT = 512;

    /** Called when a timer expires. */
    @FunctionalInterface
    public interface Handler
    {
        /**
         * @param nowNs   the time of the poll that found the timer expired.
         * @param timerId the id returned by {@link #schedule(long)}.
         */
        void onTimerExpired(long nowNs, long timerId);
    }

    private final DeadlineTimerWheel wheel;
    private Handler handler;
    private final DeadlineTimerWheel.TimerHandler adapter = this::onExpiry;

    /**
     * @param startTimeNs the time the wheel starts at.
     */
    public Timers(final long startTimeNs)
    {
        wheel = new DeadlineTimerWheel(TimeUnit.NANOSECONDS, startTimeNs, TICK_RESOLUTION_DEFAULT_NS,
            TICKS_PER_WHEEL_DEFAULT);
    }

    /**
     * @param deadlineNs when the timer should expire.
     * @return the timer id.
     */
    public long schedule(final long deadlineNs)
    {
        return wheel.scheduleTimer(deadlineNs);
    }

    /**
     * @param timerId to cancel.
     * @return true if it was pending and is now cancelled.
     */
    public boolean cancel(final long timerId)
    {
        return wheel.cancelTimer(timerId);
    }

    /**
     * Fire every timer due by {@code nowNs}, up to a limit.
     *
     * @param nowNs   the current time.
     * @param handler to call per expired timer.
     * @param limit   the most timers to fire in this call.
     * @return the number fired.
     */
    public int poll(final long nowNs, final Handler handler, final int limit)
    {
        this.handler = handler;
        int fired = 0;
        // The wheel advances at most one tick per poll; keep polling until it has caught up with nowNs.
        do
        {
            fired += wheel.poll(nowNs, adapter, limit - fired);
        }
        while (fired < limit && wheel.currentTickTime() <= nowNs);
        return fired;
    }

    /**
     * @return the number of pending timers.
     */
    public long pendingCount()
    {
        return wheel.timerCount();
    }

    private boolean onExpiry(final TimeUnit timeUnit, final long nowNs, final long timerId)
    {
        handler.onTimerExpired(nowNs, timerId);
        return true;
    }
}
