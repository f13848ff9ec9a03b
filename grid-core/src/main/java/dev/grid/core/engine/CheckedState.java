package dev.grid.core.engine;

/**
 * A state of one of the engine's state machines, whose legal transitions are a table (the enum's javadoc) checked at
 * every move: an illegal transition is a bug, and throws instead of leaving the machine in a state nobody planned.
 *
 * @param <S> the state enum.
 */
public interface CheckedState<S extends Enum<S> & CheckedState<S>>
{
    /**
     * @param next the state to move to.
     * @return whether the table allows moving from this state to {@code next}.
     */
    boolean canMoveTo(S next);

    /**
     * @param next the state to move to.
     * @return {@code next}, to be assigned by the caller.
     * @throws IllegalStateException if the table does not allow the move.
     */
    default S moveTo(final S next)
    {
        if (!canMoveTo(next))
        {
            throw new IllegalStateException(next.getDeclaringClass().getSimpleName() + " cannot move from " + this +
                " to " + next);
        }
        return next;
    }
}
