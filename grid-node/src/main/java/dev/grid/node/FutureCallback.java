package dev.grid.node;

import dev.grid.core.GridException;
import dev.grid.core.engine.OpCallback;
import dev.grid.core.engine.OpOutcome;

import java.util.concurrent.CompletableFuture;

/**
 * Completes a future with an engine operation's outcome; called on the agent thread.
 */
final class FutureCallback implements OpCallback
{
    private final CompletableFuture<OpOutcome> future;

    FutureCallback(final CompletableFuture<OpOutcome> future)
    {
        this.future = future;
    }

    public void onSuccess(final OpOutcome outcome)
    {
        future.complete(outcome);
    }

    public void onFailure(final GridException error)
    {
        future.completeExceptionally(error);
    }
}
