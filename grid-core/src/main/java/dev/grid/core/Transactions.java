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
     * Run {@code work} in a transaction and commit it, retrying the whole of it while it aborts for a reason that
     * may pass ({@link TransactionAbortedException#isRetryable()}). Each retry keeps the first attempt's age, so
     * deadlock prevention lets it through once older transactions finish: under contention it does not starve as
     * independent new transactions can. If {@code work} commits or rolls back itself, it is not committed again.
     *
     * @param concurrency when keys are locked.
     * @param isolation   what reads see.
     * @param timeout     of all attempts together.
     * @param work        reads and writes through the transaction it is given; runs once per attempt.
     * @param <T>         what it returns.
     * @return what the successful attempt returned.
     * @throws TransactionAbortedException             the last abort, if not retryable or past the timeout.
     * @throws TransactionCommitStatusUnknownException if the outcome could not be confirmed (never retried).
     */
    <T> T run(TransactionConcurrency concurrency, TransactionIsolation isolation, Duration timeout,
        java.util.function.Function<Transaction, T> work);

    /**
     * Start building a predicate transaction: conditions on keys and the writes to make if they all hold, executed
     * atomically.
     *
     * @param timeout of each attempt, and of all attempts together when it retries on abort.
     * @return the builder.
     */
    PredicateTransaction predicate(Duration timeout);
}
