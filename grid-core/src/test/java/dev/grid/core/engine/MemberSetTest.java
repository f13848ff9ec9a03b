package dev.grid.core.engine;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemberSetTest
{
    /** Random adds, removals and predicate removals agree with an insertion-ordered set, past the first capacity. */
    @Test
    void operationsAgreeWithAnInsertionOrderedSet()
    {
        final Random random = new Random(42);
        final MemberSet set = new MemberSet(1);
        final Set<Long> expected = new LinkedHashSet<>();
        for (int i = 0; i < 5_000; i++)
        {
            final long member = random.nextInt(12);
            switch (random.nextInt(4))
            {
                case 0, 1 -> assertEquals(expected.add(member), set.add(member), "add " + member);
                case 2 -> assertEquals(expected.remove(member), set.remove(member), "remove " + member);
                default ->
                {
                    final long divisor = 2 + random.nextInt(5);
                    assertEquals(expected.removeIf(m -> m % divisor == 0), set.removeIf(m -> m % divisor == 0));
                }
            }
            final List<Long> held = new ArrayList<>();
            for (int j = 0; j < set.size(); j++)
            {
                held.add(set.get(j));
            }
            assertEquals(new ArrayList<>(expected), held, "after step " + i);
            assertEquals(expected.isEmpty(), set.isEmpty());
            assertEquals(expected.contains(member), set.contains(member));
        }
    }

    @Test
    void clearEmptiesItAndItsTextNamesMembersInHexadecimal()
    {
        final MemberSet set = new MemberSet(2);
        set.add(0x1f2eL);
        set.add(0x3aL);
        set.add(0x1f2eL);
        assertEquals("{1f2e, 3a}", set.toString());
        assertThrows(IndexOutOfBoundsException.class, () -> set.get(2));
        set.clear();
        assertTrue(set.isEmpty());
        assertFalse(set.contains(0x3aL));
        assertEquals("{}", set.toString());
    }
}
