package dev.grid.core.codec;

import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape of every message of an SBE schema (its block length, its groups and their shapes, how many data fields
 * follow), read from the schema itself, and a walk that checks a received message against it before anything reads
 * its fields. The generated decoders trust what a message says about itself (a group's block length, a data length
 * above 2^31 read as negative); this walk does not: every block must be at least the schema's, every length must fit
 * what is left, so every group entry consumes bytes and the walk is linear in the message's length.
 *
 * <p><b>Threading:</b> immutable once loaded; any thread.
 */
final class SchemaShapes
{
    private static final int GROUP_HEADER_LENGTH = 4;
    private static final int DATA_HEADER_LENGTH = 4;
    /** The highest template id a schema may use (SBE's are u16; ours stay small, so the shapes fit an array). */
    private static final int MAX_TEMPLATE_ID = 4_095;
    /** By schema id: a primitive key, looked up for every message checked (no boxed id per message). */
    private static final Int2ObjectHashMap<SchemaShapes> BY_SCHEMA = new Int2ObjectHashMap<>();

    static
    {
        for (final String resource : new String[] {"/sbe/member-messages.xml", "/sbe/wal-records.xml"})
        {
            final SchemaShapes shapes = load(resource);
            BY_SCHEMA.put(shapes.schemaId, shapes);
        }
    }

    /**
     * A message's or a group's layout: its fixed block, then its groups in order, then its data fields. The block's
     * fields added in a later version of the schema ({@code sinceVersion}) are at its end: {@code laterSince} and
     * {@code laterSizes} give each one's version and size, so a sender of an older version carries a shorter block.
     */
    record Shape(int blockLength, List<Shape> groups, int dataFields, int[] laterSince, int[] laterSizes)
    {
        /**
         * @param version the sender's schema version.
         * @return the block such a sender carries at least: this version's, without the fields added after it.
         */
        int blockLength(final int version)
        {
            int length = blockLength;
            for (int i = 0; i < laterSince.length; i++)
            {
                if (laterSince[i] > version)
                {
                    length -= laterSizes[i];
                }
            }
            return length;
        }
    }

    private final int schemaId;
    /**
     * The messages' shapes by template id (null where the schema has none): an array, since every message and WAL
     * record checked looks its shape up here (a hash map's lookup was 1.4% of a member's CPU under transfers and 6%
     * of a WAL replay's).
     */
    private final Shape[] messages;

    private SchemaShapes(final int schemaId, final Shape[] messages)
    {
        this.schemaId = schemaId;
        this.messages = messages;
    }

    /** @return the shapes of a schema this build knows, or null. */
    static SchemaShapes of(final int schemaId)
    {
        return BY_SCHEMA.get(schemaId);
    }

    /** @return the shape of a message of this schema, or null if it has no such message. */
    Shape message(final int templateId)
    {
        return templateId >= 0 && templateId < messages.length ? messages[templateId] : null;
    }

    /**
     * Walk a message's body against its shape.
     *
     * @param buffer      the message, bounded to it.
     * @param offset      where its block starts.
     * @param blockLength the block length its header gives (at least the shape's at the sender's version).
     * @param version     the sender's schema version: a group's entries carry at least that version's block.
     * @return the body's length as the walk found it.
     * @throws MalformedMessageException if a block is shorter than the schema's or anything reaches past the end.
     */
    static int walk(final DirectBuffer buffer, final int offset, final int blockLength, final int version,
        final Shape shape, final Object flyweight)
    {
        final int end = buffer.capacity();
        final int position = walkFrom(buffer, offset + need(offset, blockLength, end, flyweight), end, version, shape,
            flyweight);
        return position - offset;
    }

    private static int walkFrom(final DirectBuffer buffer, final int start, final int end, final int version,
        final Shape shape, final Object flyweight)
    {
        int position = start;
        // Indexed, not for-each: this runs for every group entry of every message, and an iterator per entry was the
        // largest allocation of a transfer's path (JFR).
        final List<Shape> groups = shape.groups();
        for (int g = 0, n = groups.size(); g < n; g++)
        {
            final Shape group = groups.get(g);
            need(position, GROUP_HEADER_LENGTH, end, flyweight);
            final int entryBlock = buffer.getShort(position, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
            final int count = buffer.getShort(position + 2, ByteOrder.LITTLE_ENDIAN) & 0xFFFF;
            position += GROUP_HEADER_LENGTH;
            final int groupBlock = group.blockLength(version);
            if (entryBlock < groupBlock)
            {
                throw new MalformedMessageException(nameOf(flyweight) + " has a group of " + entryBlock +
                    "-byte entries, expected at least " + groupBlock);
            }
            for (int i = 0; i < count; i++)
            {
                position = walkFrom(buffer, position + need(position, entryBlock, end, flyweight), end, version,
                    group, flyweight);
            }
        }
        for (int i = 0; i < shape.dataFields(); i++)
        {
            need(position, DATA_HEADER_LENGTH, end, flyweight);
            final long length = buffer.getInt(position, ByteOrder.LITTLE_ENDIAN) & 0xFFFF_FFFFL;
            position += DATA_HEADER_LENGTH;
            if (length > end - position)
            {
                throw new MalformedMessageException(nameOf(flyweight) + " has data of " + length + " bytes where " +
                    (end - position) + " are left");
            }
            position += (int)length;
        }
        return position;
    }

    /** The message's name, for an error only: computing it is not free, and every message is walked. */
    private static String nameOf(final Object flyweight)
    {
        return flyweight.getClass().getSimpleName();
    }

    private static int need(final int position, final int length, final int end, final Object flyweight)
    {
        if (length > end - position)
        {
            throw new MalformedMessageException(nameOf(flyweight) + " needs " + length + " bytes at " + position +
                " of " + end);
        }
        return length;
    }

    private static SchemaShapes load(final String resource)
    {
        try (InputStream in = SchemaShapes.class.getResourceAsStream(resource))
        {
            if (in == null)
            {
                throw new IllegalStateException("schema " + resource + " is not on the class path");
            }
            final Element schema = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(in)
                .getDocumentElement();
            final Map<String, Integer> sizes = typeSizes(schema);
            final Map<Integer, Shape> byId = new HashMap<>();
            final NodeList list = schema.getElementsByTagName("sbe:message");
            int highestId = -1;
            for (int i = 0; i < list.getLength(); i++)
            {
                final Element message = (Element)list.item(i);
                final int id = Integer.parseInt(message.getAttribute("id"));
                if (id < 0 || id > MAX_TEMPLATE_ID)
                {
                    throw new IllegalStateException("message " + message.getAttribute("name") +
                        " has the template id " + id + ", outside 0.." + MAX_TEMPLATE_ID);
                }
                byId.put(id, shape(message, sizes));
                highestId = Math.max(highestId, id);
            }
            final Shape[] messages = new Shape[highestId + 1];
            byId.forEach((id, shape) -> messages[id] = shape);
            return new SchemaShapes(Integer.parseInt(schema.getAttribute("id")), messages);
        }
        catch (final Exception ex)
        {
            throw new IllegalStateException("cannot read the schema " + resource + ": " + ex, ex);
        }
    }

    private static Shape shape(final Element element, final Map<String, Integer> sizes)
    {
        int blockLength = 0;
        final List<Shape> groups = new ArrayList<>();
        int dataFields = 0;
        final List<int[]> later = new ArrayList<>();
        for (Node node = element.getFirstChild(); node != null; node = node.getNextSibling())
        {
            if (node instanceof Element child)
            {
                switch (child.getTagName())
                {
                    case "field" ->
                    {
                        final int size = size(sizes, child.getAttribute("type"));
                        blockLength += size;
                        if (!child.getAttribute("sinceVersion").isEmpty())
                        {
                            later.add(new int[] {Integer.parseInt(child.getAttribute("sinceVersion")), size});
                        }
                        else if (!later.isEmpty())
                        {
                            throw new IllegalStateException("field " + child.getAttribute("name") +
                                ", of the schema's first version, follows a field added later (sinceVersion): " +
                                "later fields must end their block");
                        }
                    }
                    case "group" -> groups.add(shape(child, sizes));
                    case "data" -> dataFields++;
                    default ->
                    {
                        // Nothing else shapes a message.
                    }
                }
            }
        }
        final int[] laterSince = new int[later.size()];
        final int[] laterSizes = new int[later.size()];
        for (int i = 0; i < later.size(); i++)
        {
            laterSince[i] = later.get(i)[0];
            laterSizes[i] = later.get(i)[1];
        }
        return new Shape(blockLength, List.copyOf(groups), dataFields, laterSince, laterSizes);
    }

    private static int size(final Map<String, Integer> sizes, final String type)
    {
        final Integer size = sizes.get(type);
        if (size == null)
        {
            throw new IllegalStateException("unknown type " + type);
        }
        return size;
    }

    private static Map<String, Integer> typeSizes(final Element schema)
    {
        final Map<String, Integer> sizes = new HashMap<>(Map.of("char", 1, "int8", 1, "uint8", 1, "int16", 2,
            "uint16", 2, "int32", 4, "uint32", 4, "int64", 8, "uint64", 8, "float", 4));
        sizes.put("double", 8);
        final Element types = (Element)schema.getElementsByTagName("types").item(0);
        for (Node node = types.getFirstChild(); node != null; node = node.getNextSibling())
        {
            if (node instanceof Element type)
            {
                switch (type.getTagName())
                {
                    case "type" -> sizes.put(type.getAttribute("name"), sizes.get(type.getAttribute("primitiveType")));
                    case "enum", "set" -> sizes.put(type.getAttribute("name"),
                        sizes.get(type.getAttribute("encodingType")));
                    default ->
                    {
                        // Composites (headers, data encodings) are not field types here.
                    }
                }
            }
        }
        return sizes;
    }
}
