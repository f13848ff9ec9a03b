package dev.grid.sim.cluster;

import dev.grid.core.GridException;
import dev.grid.core.engine.OpCallback;
import dev.grid.core.engine.OpOutcome;

/**
 * For simulator tests: a callback that keeps an operation's answer where the test can await it (single-threaded, as
 * the simulation is).
 */
final class Answers
{
    private Answers()
    {
    }

    /**
     * @param outcome where a success goes (index 0).
     * @param error   where a failure goes (index 0).
     * @return the callback.
     */
    static OpCallback capture(final OpOutcome[] outcome, final GridException[] error)
    {
        return new OpCallback()
        {
            public void onSuccess(final OpOutcome result)
            {
                outcome[0] = result;
            }

            public void onFailure(final GridException failure)
            {
                error[0] = failure;
            }
        };
    }
}
