package dev.grid.core;

import java.util.List;

/**
 * The outcome of a {@link PredicateTransaction}.
 */
public sealed interface PredicateResult
    permits PredicateResult.Committed, PredicateResult.PredicateFailure, PredicateResult.Aborted
{
    /**
     * Every predicate held and the writes are applied on every copy.
     *
     * @param attempts how many attempts it took.
     */
    record Committed(int attempts) implements PredicateResult
    {
    }

    /**
     * A predicate did not hold: nothing changed.
     *
     * @param values what each predicate saw, in the order they were added.
     */
    record PredicateFailure(List<SeenValue> values) implements PredicateResult
    {
    }

    /**
     * The transaction was aborted and nothing changed (after every retry, if it retried).
     *
     * @param reason   the error code of the last abort ({@link ErrorCode#TX_DEADLOCK_PREVENTION},
     *                 {@link ErrorCode#TX_TIMEOUT}, ...).
     * @param message  what happened.
     * @param attempts how many attempts were made.
     */
    record Aborted(ErrorCode reason, String message, int attempts) implements PredicateResult
    {
    }

    /**
     * A key's value as a predicate saw it.
     *
     * @param cache     the cache's name.
     * @param key       the key.
     * @param value     its value (null: absent).
     * @param satisfied whether the predicate held.
     */
    record SeenValue(String cache, Object key, Object value, boolean satisfied)
    {
    }
}
