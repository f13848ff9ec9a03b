package dev.grid.sim;

import dev.grid.sim.cluster.ClusterScenario;
import dev.grid.sim.cluster.ScenarioResult;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The simulator's own promises: a planted bug of a known kind is found by some seed, the failure names the seed and
 * how to replay it, and the replay fails the same way; seeds are given in hex or decimal; a suite's seeds run on
 * several threads exactly as they run alone, and its failures are reported the same whichever thread met them.
 */
class SimulationTest
{
    @Test
    void aDiskThatAcknowledgesBeforeDurabilityIsCaughtAndTheSeedReplays()
    {
        final ClusterScenario.Options buggy = new ClusterScenario.Options().persistent(true)
            .walLiesAboutDurability(true);
        SimulationException caught = null;
        for (long seed = 1; seed <= 40 && caught == null; seed++)
        {
            try
            {
                ClusterScenario.run(seed, buggy);
            }
            catch (final SimulationException ex)
            {
                caught = ex;
            }
        }
        assertTrue(caught != null, "the planted bug went unnoticed over 40 seeds");
        final String message = caught.getMessage();
        System.out.println("the planted bug was caught: " + message);
        assertTrue(message.contains("Failed on seed 0x" + Long.toHexString(caught.seed())), message);
        assertTrue(message.contains("-Dgrid.sim.seed=0x" + Long.toHexString(caught.seed())), message);
        assertTrue(message.contains("acknowledged") && message.contains("missing"),
            "the failure is the bug's kind, an acknowledged write lost: " + message);

        final long failingSeed = caught.seed();
        final SimulationException replayed =
            assertThrows(SimulationException.class, () -> ClusterScenario.run(failingSeed, buggy));
        assertEquals(message, replayed.getMessage());
    }

    @Test
    void seedsParseFromHexOrDecimal()
    {
        final String previous = System.getProperty(Simulation.SEED_PROP_NAME);
        try
        {
            System.setProperty(Simulation.SEED_PROP_NAME, "0x1f2e");
            assertEquals(0x1f2eL, Simulation.seedFromSystemProperty());
            System.setProperty(Simulation.SEED_PROP_NAME, "42");
            assertEquals(42L, Simulation.seedFromSystemProperty());
        }
        finally
        {
            if (previous == null)
            {
                System.clearProperty(Simulation.SEED_PROP_NAME);
            }
            else
            {
                System.setProperty(Simulation.SEED_PROP_NAME, previous);
            }
        }
    }

    @Test
    void seedsRunOnSeveralThreadsExactlyAsTheyRunAlone()
    {
        final Map<Long, ScenarioResult> together = new ConcurrentHashMap<>();
        new SeedSuite(0, 12, false, i -> 0x7ea3L + i,
            seed -> together.put(seed, ClusterScenario.run(seed, new ClusterScenario.Options()))).run(3);
        assertEquals(12, together.size());
        together.forEach((seed, result) ->
            assertEquals(result, ClusterScenario.run(seed, new ClusterScenario.Options()), "seed " + seed));
    }

    @Test
    void theLowestFailingIndexIsReportedWhicheverThreadFailedFirst()
    {
        final SimulationException failure = assertThrows(SimulationException.class,
            () -> new SeedSuite(0, 40, false, i -> i, SimulationTest::failSeedsFiveAndNine).run(4));
        assertEquals(5, failure.seed());
    }

    @Test
    void keepGoingRunsEverySeedOnceAndNamesEveryFailure()
    {
        final AtomicIntegerArray runs = new AtomicIntegerArray(40);
        final AssertionError failure = assertThrows(AssertionError.class, () -> new SeedSuite(0, 40, true, i -> i,
            seed ->
            {
                runs.incrementAndGet((int)seed);
                failSeedsFiveAndNine(seed);
            }).run(4));
        assertTrue(failure.getMessage().startsWith("2 of 40 seeds failed:\nindex 5: "), failure.getMessage());
        assertTrue(failure.getMessage().contains("\nindex 9: "), failure.getMessage());
        assertEquals(2, failure.getSuppressed().length, "each seed's own failure goes with it");
        for (int i = 0; i < runs.length(); i++)
        {
            assertEquals(1, runs.get(i), "runs of seed " + i);
        }
    }

    private static void failSeedsFiveAndNine(final long seed)
    {
        if (seed == 5 || seed == 9)
        {
            throw new SimulationException(seed, "planted failure", null);
        }
    }
}
