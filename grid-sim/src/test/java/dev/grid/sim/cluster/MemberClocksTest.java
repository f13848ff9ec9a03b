package dev.grid.sim.cluster;

import dev.grid.core.spi.SeededRandomSource;
import dev.grid.core.spi.WallClock;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The simulator's per-process clocks ({@link MemberClocks}): what each member reads, and the wall clock it is given.
 */
class MemberClocksTest
{
    private static final long SECOND_NS = 1_000_000_000L;

    @Test
    void withoutSkewEveryMemberReadsTheSimulationsTime()
    {
        final MemberClocks clocks = new MemberClocks(null, 3);
        clocks.started(1);
        assertEquals(5 * SECOND_NS, clocks.nowNs(1, 5 * SECOND_NS));
        final WallClock base = ns -> ns / 1_000_000L;
        assertEquals(base, clocks.wallClock(1, base), "the wall clock is the one given");
    }

    @Test
    void withSkewEachStartReadsAClockOfItsOwnThatGoesForwardAndDriftsLittle()
    {
        final MemberClocks clocks = new MemberClocks(new SeededRandomSource(42), 3);
        clocks.started(0);
        clocks.started(1);
        assertNotEquals(clocks.nowNs(0, SECOND_NS), clocks.nowNs(1, SECOND_NS), "two processes, two origins");
        for (final int slot : new int[] {0, 1})
        {
            final long elapsed = clocks.nowNs(slot, 11 * SECOND_NS) - clocks.nowNs(slot, SECOND_NS);
            assertTrue(Math.abs(elapsed - 10 * SECOND_NS) <= 10 * SECOND_NS * MemberClocks.MAX_DRIFT + 1,
                "10 s of the simulation read as " + elapsed + " ns on m" + slot);
        }
        final long before = clocks.nowNs(0, SECOND_NS);
        clocks.started(0);
        assertNotEquals(before, clocks.nowNs(0, SECOND_NS), "a restarted process reads a new clock");
    }

    @Test
    void theWallClockIsGivenTheSimulationsTimeBack()
    {
        final MemberClocks clocks = new MemberClocks(new SeededRandomSource(7), 2);
        clocks.started(1);
        final WallClock wall = clocks.wallClock(1, ns -> ns / 1_000_000L);
        for (final long simNs : new long[] {SECOND_NS, 37 * SECOND_NS + 123_456_789L})
        {
            assertEquals(simNs / 1_000_000L, wall.epochMs(clocks.nowNs(1, simNs)), 1,
                "the member's wall clock at " + simNs + " ns of the simulation");
        }
    }
}
