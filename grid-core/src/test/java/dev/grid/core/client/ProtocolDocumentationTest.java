package dev.grid.core.client;

import dev.grid.core.ErrorCode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code docs/protocol.md} says what {@link ClientProtocol} and {@link ErrorCode} define: every operation the
 * constants define is in its table with the same number and name, every row of the table is a constant, and every
 * error in its table has the code and name {@link ErrorCode} gives it.
 */
class ProtocolDocumentationTest
{
    /** Constants of {@link ClientProtocol} that are not operation codes. */
    private static final Set<String> NOT_OPERATIONS = Set.of("VERSION", "MIN_VERSION", "MAGIC",
        "MAX_HANDSHAKE_FRAME_BYTES", "LENGTH_PREFIX", "HEADER", "ANSWER_HEADER", "HANDSHAKE", "OK", "ERROR");

    private static final Pattern OPERATION_ROW = Pattern.compile("^\\| (\\d+) \\| ([A-Z_]+)( \\(admin\\))? \\|");
    private static final Pattern ERROR_ROW = Pattern.compile("^\\| (\\d+) \\| ([A-Z_]+) \\|");

    private static List<String> document() throws IOException
    {
        Path path = Path.of("docs", "protocol.md");
        if (!Files.exists(path))
        {
            path = Path.of("..", "docs", "protocol.md");
        }
        return Files.readAllLines(path);
    }

    private static List<String> section(final List<String> lines, final String heading)
    {
        final int start = lines.indexOf(heading);
        assertTrue(start >= 0, "docs/protocol.md has a section " + heading);
        final List<String> section = new ArrayList<>();
        for (int i = start + 1; i < lines.size() && !lines.get(i).startsWith("## "); i++)
        {
            section.add(lines.get(i));
        }
        return section;
    }

    private static TreeMap<String, Integer> operationConstants() throws IllegalAccessException
    {
        final TreeMap<String, Integer> operations = new TreeMap<>();
        for (final Field field : ClientProtocol.class.getFields())
        {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == int.class &&
                !NOT_OPERATIONS.contains(field.getName()))
            {
                operations.put(field.getName(), field.getInt(null));
            }
        }
        return operations;
    }

    private static TreeMap<String, Integer> documentedOperations(final List<String> lines)
    {
        final TreeMap<String, Integer> documented = new TreeMap<>();
        for (final String line : section(lines, "## Operations"))
        {
            final Matcher row = OPERATION_ROW.matcher(line);
            if (row.find())
            {
                documented.put(row.group(2), Integer.parseInt(row.group(1)));
            }
        }
        return documented;
    }

    @Test
    void theOperationsTableIsTheProtocolsOperations() throws Exception
    {
        final TreeMap<String, Integer> documented = documentedOperations(document());
        assertTrue(documented.size() > 30, "the table was read: " + documented);
        assertEquals(operationConstants(), documented, "docs/protocol.md's operations table against ClientProtocol");
    }

    @Test
    void theErrorsTableHasErrorCodesCodesAndNames() throws Exception
    {
        int rows = 0;
        for (final String line : section(document(), "## Errors"))
        {
            final Matcher row = ERROR_ROW.matcher(line);
            if (row.find())
            {
                rows++;
                final int code = Integer.parseInt(row.group(1));
                assertEquals(ErrorCode.ofCode(code).name(), row.group(2), "the error documented as " + code);
            }
        }
        assertTrue(rows > 10, "the table was read");
    }

    @Test
    void everyErrorCodeIsDocumentedWithWhatAClientMayDo() throws Exception
    {
        final Set<String> documented = new java.util.HashSet<>();
        for (final String line : section(document(), "## Errors"))
        {
            final Matcher row = ERROR_ROW.matcher(line);
            if (row.find())
            {
                documented.add(row.group(2));
                final String[] cells = line.split("\\|");
                final String retry = cells[cells.length - 1].trim();
                assertTrue(retry.startsWith("retry") || retry.startsWith("no") || retry.equals("new tx") ||
                    retry.equals("read"), "the retry column of " + row.group(2) + ": '" + retry + "'");
            }
        }
        for (final ErrorCode code : ErrorCode.values())
        {
            assertTrue(documented.contains(code.name()), code + " is missing from docs/protocol.md's errors");
        }
    }

    /** The key-to-partition test vectors of docs/protocol.md, against the members' own partitioner. */
    @Test
    void theKeyToPartitionVectorsAreTheMembersPartitions() throws Exception
    {
        final Pattern vector = Pattern.compile(
            "^\\| [^|]+ \\| `([0-9a-f]*)` \\| (-?\\d+) \\| (\\d+) \\| (\\d+) \\| (\\d+) \\|$");
        int rows = 0;
        for (final String line : section(document(), "## Keys and partitions"))
        {
            final Matcher row = vector.matcher(line);
            if (row.find())
            {
                rows++;
                final byte[] key = java.util.HexFormat.of().parseHex(row.group(1));
                assertEquals(Integer.parseInt(row.group(2)), dev.grid.core.KeyPartitioner.hash(key), line);
                assertEquals(Integer.parseInt(row.group(3)), dev.grid.core.KeyPartitioner.partition(key, 1024), line);
                assertEquals(Integer.parseInt(row.group(4)), dev.grid.core.KeyPartitioner.partition(key, 64), line);
                assertEquals(Integer.parseInt(row.group(5)), dev.grid.core.KeyPartitioner.partition(key, 271), line);
            }
        }
        assertTrue(rows >= 8, "the vectors were read: " + rows);
        assertEquals("000000000000002a", java.util.HexFormat.of().formatHex(dev.grid.core.Codecs.LONG.encode(42L)),
            "the long codec as documented");
        assertEquals("00000007", java.util.HexFormat.of().formatHex(dev.grid.core.Codecs.INT.encode(7)),
            "the int codec as documented");
    }

    @Test
    void anOperationMissingFromTheDocumentIsNoticed() throws Exception
    {
        final List<String> lines = new ArrayList<>(document());
        assertTrue(lines.removeIf(line -> line.startsWith("| " + ClientProtocol.GET + " | GET |")));
        assertNotEquals(operationConstants(), documentedOperations(lines), "a row taken out of the table");
    }
}
