package dev.grid.node;

import dev.grid.core.PredicateTransaction;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.core.Transactions;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;

/**
 * Begins transactions coordinated by an embedded member. Thread-safe.
 */
final class MemberTransactions implements Transactions
{
    private final GridMember member;

    MemberTransactions(final GridMember member)
    {
        this.member = member;
    }

    public MemberTransaction begin(final TransactionConcurrency concurrency, final TransactionIsolation isolation,
        final Duration timeout)
    {
        Objects.requireNonNull(concurrency, "concurrency must not be null");
        Objects.requireNonNull(isolation, "isolation must not be null");
        return new MemberTransaction(member, concurrency, isolation, timeoutNs(timeout), 0);
    }

    public <T> T run(final TransactionConcurrency concurrency, final TransactionIsolation isolation,
        final Duration timeout, final Function<Transaction, T> work)
    {
        Objects.requireNonNull(concurrency, "concurrency must not be null");
        Objects.requireNonNull(isolation, "isolation must not be null");
        Objects.requireNonNull(work, "work must not be null");
        final long startNs = System.nanoTime();
        final long timeoutNs = timeoutNs(timeout);
        // Saturating: a huge timeout must not wrap around into the past.
        final long deadlineNs = startNs + timeoutNs < startNs ? Long.MAX_VALUE : startNs + timeoutNs;
        long priority = 0;
        for (int attempt = 1; ; attempt++)
        {
            final MemberTransaction tx = new MemberTransaction(member, concurrency, isolation,
                Math.max(1, deadlineNs - System.nanoTime()), priority);
            try
            {
                final T result = work.apply(tx);
                if (!tx.isFinished())
                {
                    tx.commit();
                }
                return result;
            }
            catch (final TransactionAbortedException ex)
            {
                if (priority == 0)
                {
                    priority = tx.priority();
                }
                tx.close();
                if (!ex.isRetryable() || System.nanoTime() >= deadlineNs)
                {
                    throw ex;
                }
                MemberPredicateTransaction.pause(attempt);
            }
            catch (final RuntimeException ex)
            {
                tx.close();
                throw ex;
            }
        }
    }

    public PredicateTransaction predicate(final Duration timeout)
    {
        return new MemberPredicateTransaction(member, timeoutNs(timeout));
    }

    static long timeoutNs(final Duration timeout)
    {
        Objects.requireNonNull(timeout, "timeout must not be null");
        if (timeout.isNegative() || timeout.isZero())
        {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout);
        }
        return timeout.toNanos();
    }
}
