package dev.grid.sim;

import dev.grid.sim.toy.ToyClusterScenario;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ToyClusterSimulationTest
{
    private static final long DETERMINISM_SEED = 0x1f2eL;

    @Test
    void theSameSeedGivesTheSameTraceHash()
    {
        final ToyClusterScenario.Result first = ToyClusterScenario.run(DETERMINISM_SEED, new ToyClusterScenario.Options());
        final ToyClusterScenario.Result second = ToyClusterScenario.run(DETERMINISM_SEED, new ToyClusterScenario.Options());
        assertEquals(first.traceHash(), second.traceHash());
        assertEquals(first, second);
        final ToyClusterScenario.Result other = ToyClusterScenario.run(DETERMINISM_SEED + 1,
            new ToyClusterScenario.Options());
        assertNotEquals(first.traceHash(), other.traceHash());
    }

    @Test
    void seededRunsUnderFaultsConverge()
    {
        runSeeds(Integer.getInteger(Simulation.SEEDS_PROP_NAME, 12));
    }

    @Test
    @Tag("soak")
    void manySeedsUnderFaultsConverge()
    {
        runSeeds(Integer.getInteger(Simulation.SEEDS_PROP_NAME, 500));
    }

    private static void runSeeds(final int count)
    {
        final Long only = Simulation.seedFromSystemProperty();
        long acknowledged = 0;
        long crashes = 0;
        for (int i = 0; i < (only != null ? 1 : count); i++)
        {
            final long seed = only != null ? only : 0xC0FFEEL * 31 + i;
            final ToyClusterScenario.Result result = ToyClusterScenario.run(seed, new ToyClusterScenario.Options());
            assertTrue(result.acknowledged() > 0, "seed 0x" + Long.toHexString(seed) + " acknowledged nothing");
            acknowledged += result.acknowledged();
            crashes += result.crashes();
        }
        assertTrue(only != null || crashes > 0, "the nemesis never crashed a member");
        System.out.printf("simulated seeds acknowledged %d writes over %d crashes%n", acknowledged, crashes);
    }

    @Test
    void acknowledgingBeforeDurabilityIsCaughtAndTheSeedReplays()
    {
        final ToyClusterScenario.Options buggy = new ToyClusterScenario.Options().acknowledgeBeforeDurable(true);
        SimulationException caught = null;
        for (long seed = 1; seed <= 20 && caught == null; seed++)
        {
            try
            {
                ToyClusterScenario.run(seed, buggy);
            }
            catch (final SimulationException ex)
            {
                caught = ex;
            }
        }
        assertTrue(caught != null, "the injected bug went unnoticed over 20 seeds");
        final String message = caught.getMessage();
        assertTrue(message.contains("Failed on seed 0x" + Long.toHexString(caught.seed())), message);
        assertTrue(message.contains("-Dgrid.sim.seed=0x" + Long.toHexString(caught.seed())), message);
        assertTrue(message.contains("acknowledged write"), message);

        final long failingSeed = caught.seed();
        final SimulationException replayed =
            assertThrows(SimulationException.class, () -> ToyClusterScenario.run(failingSeed, buggy));
        assertEquals(message, replayed.getMessage());
    }

    @Test
    void withoutFaultsEveryWriteIsAcknowledged()
    {
        final ToyClusterScenario.Result result =
            ToyClusterScenario.run(7, new ToyClusterScenario.Options().faults(false));
        assertEquals(0, result.dropped());
        assertEquals(0, result.crashes());
        assertEquals(result.lwm(), result.acknowledged());
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
