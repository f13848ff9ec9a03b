package dev.grid.core.internal.cluster;

import dev.grid.core.engine.MessageTypes;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The catalogues of wire and WAL types: a value names one message or record only, and fits the byte it travels in.
 */
class MessageTypesTest
{
    @Test
    void everyMessageTypeIsDistinctAndFitsItsHeaderByte() throws IllegalAccessException
    {
        final Map<Integer, String> seen = types(MessageTypes.class, "");
        assertEquals(36, seen.size(), "message types: " + seen);
    }

    @Test
    void everyWalRecordTypeIsDistinctAndFitsItsTypeByte() throws IllegalAccessException
    {
        final Map<Integer, String> seen = types(WalRecords.class, "WAL_");
        assertEquals(16, seen.size(), "record types: " + seen);
    }

    private static Map<Integer, String> types(final Class<?> catalogue, final String prefix)
        throws IllegalAccessException
    {
        final Map<Integer, String> seen = new HashMap<>();
        for (final Field field : catalogue.getDeclaredFields())
        {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == int.class &&
                field.getName().startsWith(prefix))
            {
                field.setAccessible(true);
                final int value = field.getInt(null);
                assertTrue(value > 0 && value < 128, field.getName() + " = " + value + " does not fit a type byte");
                assertNull(seen.put(value, field.getName()), field.getName() + " reuses " + value);
            }
        }
        return seen;
    }
}
