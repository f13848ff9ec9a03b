package dev.grid.core.engine;

import java.util.EnumSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Checks a {@link CheckedState} enum against the transition table its javadoc documents: every listed move is allowed
 * and returns its target, every other move throws. Shared by the state tests of grid-core and grid-tx.
 */
public final class StateTables
{
    private StateTables()
    {
    }

    /**
     * @param states the enum.
     * @param table  its legal moves, as "FROM>TO".
     * @param <S>    the enum type.
     */
    public static <S extends Enum<S> & CheckedState<S>> void check(final Class<S> states, final Set<String> table)
    {
        int allowed = 0;
        for (final S from : EnumSet.allOf(states))
        {
            for (final S to : EnumSet.allOf(states))
            {
                final boolean listed = table.contains(from.name() + ">" + to.name());
                assertEquals(listed, from.canMoveTo(to), from + " -> " + to);
                if (listed)
                {
                    assertEquals(to, from.moveTo(to));
                    allowed++;
                }
                else
                {
                    assertThrows(IllegalStateException.class, () -> from.moveTo(to), from + " -> " + to);
                }
            }
        }
        assertEquals(table.size(), allowed, "every listed transition names states of " + states.getSimpleName());
    }
}
