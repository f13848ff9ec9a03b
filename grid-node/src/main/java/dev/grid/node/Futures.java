package dev.grid.node;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Waiting for the member's futures on behalf of a blocking API call. Stateless; any thread.
 */
final class Futures
{
    private Futures()
    {
    }

    /**
     * @param future to wait for.
     * @param <T>    the result's type.
     * @return its result.
     * @throws RuntimeException the future's own failure, unwrapped from its {@link CompletionException}.
     */
    static <T> T await(final CompletableFuture<T> future)
    {
        try
        {
            return future.join();
        }
        catch (final CompletionException ex)
        {
            if (ex.getCause() instanceof RuntimeException)
            {
                throw (RuntimeException)ex.getCause();
            }
            throw ex;
        }
    }
}
