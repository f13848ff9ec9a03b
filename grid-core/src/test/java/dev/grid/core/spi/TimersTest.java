package dev.grid.core.spi;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TimersTest
{
    private static final long MS = 1_000_000;

    @Test
    void timersFireOnlyOnceTheirDeadlinePassedAndCancelledOnesNever()
    {
        final Timers timers = new Timers(0);
        final List<Long> fired = new ArrayList<>();
        final long early = timers.schedule(5 * MS);
        final long cancelled = timers.schedule(7 * MS);
        final long late = timers.schedule(500 * MS);
        assertTrue(timers.cancel(cancelled));

        assertEquals(0, timers.poll(4 * MS, (nowNs, id) -> fired.add(id), 10));
        assertEquals(1, timers.poll(10 * MS, (nowNs, id) -> fired.add(id), 10));
        assertEquals(List.of(early), fired);
        assertEquals(1, timers.pendingCount());

        // A large jump in time (the simulator skips idle periods) still fires everything due.
        assertEquals(1, timers.poll(2_000 * MS, (nowNs, id) -> fired.add(id), 10));
        assertEquals(List.of(early, late), fired);
        assertEquals(0, timers.pendingCount());
    }

    @Test
    void seededSourcesReplayAndForksAreIndependent()
    {
        final RandomSource a = new SeededRandomSource(1);
        final RandomSource b = new SeededRandomSource(1);
        assertEquals(a.nextLong(), b.nextLong());
        final RandomSource forkA = a.fork();
        final RandomSource forkB = b.fork();
        assertEquals(forkA.nextLong(), forkB.nextLong());
        // Drawing more from one fork does not shift the parent.
        forkA.nextLong();
        assertEquals(a.nextLong(), b.nextLong());
    }
}
