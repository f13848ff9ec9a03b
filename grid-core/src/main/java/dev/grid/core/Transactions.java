package dev.grid.core;

import java.time.Duration;

/**
 * Begins transactions coordinated by this member. Obtained from {@link Grid#transactions()}.
 * <p>
 * <b>Threading:</b> safe to call from any thread; each transaction it returns belongs to one thread at a time.
 */
public interface Transactions
{
    /**
     * Begin a transaction.
     *
     * @param concurrency when keys are locked.
     * @param isolation   what reads see.
     * @param timeout     after which a transaction not yet decided is rolled back with {@link ErrorCode#TX_TIMEOUT};
     *                    also bounds its commit.
     * @return the transaction; use it in try-with-resources, so what is not committed is rolled back.
     */
    Transaction begin(TransactionConcurrency concurrency, TransactionIsolation isolation, Duration timeout);

    /**
     * Begin a pessimistic, repeatable-read transaction with a 10 second timeout.
     *
     * @return the transaction.
     */
    default Transaction begin()
    {
        return begin(TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(10));
    }

    /**
     * Start building a predicate transaction: conditions on keys and the writes to make if they all hold, executed
     * atomically.
     *
     * @param timeout of each attempt, and of all attempts together when it retries on abort.
     * @return the builder.
     */
    PredicateTransaction predicate(Duration timeout);
}
