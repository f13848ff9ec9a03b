package dev.grid.sim;

/**
 * A simulation run failed: an invariant broke, or the cluster did not converge. The message always carries the seed
 * and the system property that replays the run exactly.
 */
public final class SimulationException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final long seed;

    /**
     * @param seed    of the failed run.
     * @param message what failed, at which virtual time.
     * @param cause   the failure, or null.
     */
    public SimulationException(final long seed, final String message, final Throwable cause)
    {
        super("Failed on seed " + hex(seed) + ": " + message + " (replay: -D" + Simulation.SEED_PROP_NAME + "=" +
            hex(seed) + ")", cause);
        this.seed = seed;
    }

    /**
     * @return the seed of the failed run.
     */
    public long seed()
    {
        return seed;
    }

    static String hex(final long seed)
    {
        return "0x" + Long.toHexString(seed);
    }
}
