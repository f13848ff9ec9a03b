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

    /**
     * @return whether this callback only reads an outcome's value, at once and without keeping it (it copies the bytes
     *         out, as an answer to a thin client does): a local primary's outcome then reaches it without a copy and
     *         may hold the store's own array. False (the default): it gets a value array of its own.
     */
    default boolean readsValueOnly()
    {
        return false;
    }
}
