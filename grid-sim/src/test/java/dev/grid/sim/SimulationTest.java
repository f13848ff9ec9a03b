package dev.grid.sim;

import dev.grid.sim.cluster.ClusterScenario;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The simulator's own promises: a planted bug of a known kind is found by some seed, the failure names the seed and
 * how to replay it, and the replay fails the same way; seeds are given in hex or decimal.
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
}
