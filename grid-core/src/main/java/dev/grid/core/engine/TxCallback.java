package dev.grid.core.engine;

import dev.grid.core.GridException;

/**
 * Completion of a transaction step submitted to a member's engine (enlist, commit, rollback). Called exactly
 * once, on the engine's thread; must not block.
 */
public interface TxCallback
{
    /**
     * @param values for an enlist, the keys' current values in the order asked (null: absent); otherwise empty.
     */
    void onSuccess(byte[][] values);

    /**
     * @param error what went wrong; its {@link GridException#errorCode()} says which outcome it is.
     */
    void onFailure(GridException error);
}
