package dev.grid.core.internal.cluster;

import dev.grid.core.engine.MessageTypes;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.File;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The catalogues of wire and WAL types: a value names one message or record only, and the schemas that define the
 * messages and records use the same values.
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

    @Test
    void everyWalRecordOfTheSchemaHasItsTypeInWalRecords() throws Exception
    {
        final NodeList list = DocumentBuilderFactory.newInstance().newDocumentBuilder()
            .parse(new File("src/main/sbe/wal-records.xml")).getElementsByTagName("sbe:message");
        assertEquals(16, list.getLength(), "every record type has its record in the schema");
        for (int i = 0; i < list.getLength(); i++)
        {
            final Element record = (Element)list.item(i);
            final String name = "WAL_" + record.getAttribute("name").substring(3).replaceAll("([a-z])([A-Z])", "$1_$2")
                .toUpperCase(Locale.ROOT);
            final Field field = WalRecords.class.getDeclaredField(name);
            field.setAccessible(true);
            assertEquals(field.getInt(null), Integer.parseInt(record.getAttribute("id")),
                "the id of " + record.getAttribute("name") + " in the schema and WalRecords." + name);
        }
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
