package dev.grid.core.engine;

import dev.grid.core.GridException;

/**
 * Completion of an operation submitted to a {@link Engine}. Called exactly once, on the engine's thread; must
 * not block.
 */
public interface OpCallback
{
    /**
     * @param outcome of the operation.
     */
    void onSuccess(OpOutcome outcome);

    /**
     * @param error what went wrong; its {@link GridException#errorCode()} says which outcome it is.
     */
    void onFailure(GridException error);
}
