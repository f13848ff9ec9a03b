package dev.grid.core.codec;

import dev.grid.core.codec.messages.ExchangeReportDecoder;
import dev.grid.core.codec.messages.ExchangeReportEncoder;
import dev.grid.core.codec.messages.HeartbeatDecoder;
import dev.grid.core.codec.messages.HeartbeatEncoder;
import dev.grid.core.codec.messages.MessageHeaderEncoder;
import dev.grid.core.codec.messages.ReplicateDecoder;
import dev.grid.core.codec.messages.ReplicateEncoder;
import dev.grid.core.codec.messages.RequestDecoder;
import dev.grid.core.codec.messages.RequestEncoder;
import dev.grid.core.engine.MessageTypes;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.File;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The member message schema as the engine uses it: the header, a round trip, messages of another version, and
 * messages that lie about their lengths.
 */
class MemberMessagesTest
{
    private static final long SENDER = 0x1234_5678_9ABCL;
    private static final long DESTINATION = 0x42L;

    private final MessageWriter writer = new MessageWriter();
    private final MemberMessages messages = new MemberMessages(writer);
    private final RequestEncoder requestOut = new RequestEncoder();
    private final RequestDecoder requestIn = new RequestDecoder();

    @Test
    void everyMessageOfTheSchemaHasItsTypeInTheCatalogue() throws Exception
    {
        final NodeList list = DocumentBuilderFactory.newInstance().newDocumentBuilder()
            .parse(new File("src/main/sbe/member-messages.xml")).getElementsByTagName("sbe:message");
        assertTrue(list.getLength() > 0, "the schema defines messages");
        for (int i = 0; i < list.getLength(); i++)
        {
            final Element message = (Element)list.item(i);
            if (message.getAttribute("name").endsWith("Body"))
            {
                assertTrue(Integer.parseInt(message.getAttribute("id")) >= 100,
                    "bodies take ids from 100, apart from message types: " + message.getAttribute("name"));
                continue;
            }
            final String name = message.getAttribute("name").replaceAll("([a-z])([A-Z])", "$1_$2")
                .toUpperCase(Locale.ROOT);
            assertEquals(MessageTypes.class.getField(name).getInt(null), Integer.parseInt(message.getAttribute("id")),
                "the id of " + message.getAttribute("name") + " in the schema and MessageTypes." + name);
        }
    }

    @Test
    void aRequestRoundTripsWithItsNullsAndItsHeader()
    {
        final byte[] key = "key".getBytes(StandardCharsets.UTF_8);
        encodeRequest(key, null, new byte[0]);
        messages.open(writer.buffer(), 0, writer.length());
        assertEquals(MessageTypes.REQUEST, messages.type());
        assertEquals(SENDER, messages.sender());
        assertEquals(DESTINATION, messages.destination());
        final RequestDecoder in = messages.decode(requestIn);
        assertEquals(7, in.sequence());
        assertEquals(3, in.partition());
        assertEquals(0, in.hasValue());
        assertEquals(1, in.hasExpected());
        final byte[] readKey = MemberMessages.bytes(in, in.keyLength(), "key");
        in.getKey(readKey, 0, readKey.length);
        assertArrayEquals(key, readKey);
        final byte[] value = MemberMessages.bytes(in, in.valueLength(), "value");
        in.getValue(value, 0, value.length);
        assertNull(MemberMessages.ifHas(in.hasValue(), value));
        final byte[] expected = MemberMessages.bytes(in, in.expectedLength(), "expected");
        in.getExpected(expected, 0, expected.length);
        assertArrayEquals(new byte[0], MemberMessages.ifHas(in.hasExpected(), expected), "empty, not null");
    }

    @Test
    void aNewerSendersLongerBlockIsSkippedAndItsFieldsRead()
    {
        final byte[] key = {1, 2, 3};
        encodeRequest(key, new byte[] {9}, null);
        final byte[] current = copy();
        // The same request as a version 2 sender would send it: 8 more bytes of block this member does not know.
        final int block = RequestEncoder.BLOCK_LENGTH;
        final int header = MemberMessages.HEADER_LENGTH;
        final byte[] newer = new byte[current.length + 8];
        System.arraycopy(current, 0, newer, 0, header + block);
        System.arraycopy(current, header + block, newer, header + block + 8, current.length - header - block);
        final UnsafeBuffer buffer = new UnsafeBuffer(newer);
        buffer.putShort(MessageHeaderEncoder.blockLengthEncodingOffset(), (short)(block + 8), ByteOrder.LITTLE_ENDIAN);
        buffer.putShort(MessageHeaderEncoder.versionEncodingOffset(), (short)(RequestEncoder.SCHEMA_VERSION + 1),
            ByteOrder.LITTLE_ENDIAN);
        messages.open(buffer, 0, newer.length);
        final RequestDecoder in = messages.decode(requestIn);
        assertEquals(7, in.sequence());
        final byte[] readKey = MemberMessages.bytes(in, in.keyLength(), "key");
        in.getKey(readKey, 0, readKey.length);
        assertArrayEquals(key, readKey);
    }

    /**
     * A heartbeat as a member of schema version 1 sends it, before {@code settledVersion} was added: its block is 8
     * bytes shorter, and it is read with the field's null value (it used to be refused as malformed, and such a member
     * would have been taken for a silent one).
     */
    @Test
    void anOlderSendersShorterBlockIsReadWithTheNewerFieldsNull()
    {
        messages.finish(messages.encode(new HeartbeatEncoder(), SENDER, DESTINATION).version(3).sentNs(4).echoNs(5)
            .coordinatorVote(6).memoryFull((short)1).settledVersion(2).coordinator(7));
        final byte[] current = copy();
        final int header = MemberMessages.HEADER_LENGTH;
        assertEquals(header + HeartbeatEncoder.BLOCK_LENGTH, current.length, "a heartbeat is its block alone");
        final byte[] older = new byte[current.length - 8];
        System.arraycopy(current, 0, older, 0, older.length);
        final UnsafeBuffer buffer = new UnsafeBuffer(older);
        buffer.putShort(MessageHeaderEncoder.blockLengthEncodingOffset(), (short)(HeartbeatEncoder.BLOCK_LENGTH - 8),
            ByteOrder.LITTLE_ENDIAN);
        buffer.putShort(MessageHeaderEncoder.versionEncodingOffset(), (short)1, ByteOrder.LITTLE_ENDIAN);
        messages.open(buffer, 0, older.length);
        final HeartbeatDecoder in = messages.decode(new HeartbeatDecoder());
        assertEquals(6, in.coordinatorVote());
        assertEquals(1, in.memoryFull());
        assertEquals(HeartbeatDecoder.settledVersionNullValue(), in.settledVersion());
        assertEquals(HeartbeatDecoder.coordinatorNullValue(), in.coordinator());

        // Claiming version 2, the block has settledVersion (added in 2) but not coordinator (added in 3).
        buffer.putShort(MessageHeaderEncoder.versionEncodingOffset(), (short)2, ByteOrder.LITTLE_ENDIAN);
        messages.open(buffer, 0, older.length);
        final HeartbeatDecoder second = messages.decode(new HeartbeatDecoder());
        assertEquals(2, second.settledVersion());
        assertEquals(HeartbeatDecoder.coordinatorNullValue(), second.coordinator());

        // The same short block claiming the version that has the field is malformed.
        buffer.putShort(MessageHeaderEncoder.versionEncodingOffset(), (short)HeartbeatEncoder.SCHEMA_VERSION,
            ByteOrder.LITTLE_ENDIAN);
        messages.open(buffer, 0, older.length);
        assertThrows(MalformedMessageException.class, () -> messages.decode(new HeartbeatDecoder()));
    }

    /**
     * An exchange report as a member of schema version 3 sends it, before {@code previousIncarnation} was added: its
     * block is 8 bytes shorter, its groups and data follow as they were, and the field reads as its null value (taken
     * for "none known"), so such a member's restart never counts as one that held nothing (LastOwners).
     */
    @Test
    void anExchangeReportOfAnOlderSenderReadsWithoutAPreviousIncarnation()
    {
        final ExchangeReportEncoder out = messages.encode(new ExchangeReportEncoder(), SENDER, DESTINATION).version(9)
            .chunkIndex(2).last((short)1).hasOwnershipHeader((short)1).previousIncarnation(77);
        out.entriesCount(0);
        out.ownershipCachesCount(0);
        final byte[] table = {7, 8, 9};
        messages.finish(out.putOwnershipHeader(table, 0, table.length));
        final byte[] current = copy();
        final int blockEnd = MemberMessages.HEADER_LENGTH + ExchangeReportEncoder.BLOCK_LENGTH;
        final byte[] older = new byte[current.length - 8];
        System.arraycopy(current, 0, older, 0, blockEnd - 8);
        System.arraycopy(current, blockEnd, older, blockEnd - 8, current.length - blockEnd);
        final UnsafeBuffer buffer = new UnsafeBuffer(older);
        buffer.putShort(MessageHeaderEncoder.blockLengthEncodingOffset(),
            (short)(ExchangeReportEncoder.BLOCK_LENGTH - 8), ByteOrder.LITTLE_ENDIAN);
        buffer.putShort(MessageHeaderEncoder.versionEncodingOffset(), (short)3, ByteOrder.LITTLE_ENDIAN);
        messages.open(buffer, 0, older.length);
        final ExchangeReportDecoder in = messages.decode(new ExchangeReportDecoder());
        assertEquals(9, in.version());
        assertEquals(2, in.chunkIndex());
        assertEquals(ExchangeReportDecoder.previousIncarnationNullValue(), in.previousIncarnation());
        assertEquals(0, in.entries().count());
        assertEquals(0, in.ownershipCaches().count());
        final byte[] read = new byte[in.ownershipHeaderLength()];
        in.getOwnershipHeader(read, 0, read.length);
        assertArrayEquals(table, read);

        messages.open(new UnsafeBuffer(current), 0, current.length);
        assertEquals(77, messages.decode(new ExchangeReportDecoder()).previousIncarnation(), "a current sender's");
    }

    /**
     * A report entry as a member of schema version 4 sends it, before {@code owningStamp} was added: each entry's block
     * is 8 bytes shorter (its group header says so), and the field reads as its null value, which the exchange takes
     * for "does not own in its installed map" (LastOwners), while the entry's other fields and groups read as sent.
     */
    @Test
    void aReportEntryOfAnOlderSenderReadsWithoutAnOwningStamp()
    {
        final ExchangeReportEncoder out = messages.encode(new ExchangeReportEncoder(), SENDER, DESTINATION).version(9)
            .chunkIndex(0).last((short)1).hasOwnershipHeader((short)0).previousIncarnation(0);
        final ExchangeReportEncoder.EntriesEncoder entry = out.entriesCount(1).next().cacheId(3).partition(5).lwm(20)
            .hwm(21).primary((short)0).contentHash(99).historyFrom(1).epochId(77).size(4).primaryVersion(0)
            .backupsComplete((short)0).owningStamp(12);
        entry.gapsCount(1).next().start(21).length(1);
        entry.preparesCount(0);
        out.ownershipCachesCount(0);
        messages.finish(out.putOwnershipHeader(new byte[0], 0, 0));
        final byte[] current = copy();
        final int groupHeader = MemberMessages.HEADER_LENGTH + ExchangeReportEncoder.BLOCK_LENGTH;
        final int entryEnd = groupHeader + 4 + ExchangeReportEncoder.EntriesEncoder.sbeBlockLength();
        final byte[] older = new byte[current.length - 8];
        System.arraycopy(current, 0, older, 0, entryEnd - 8);
        System.arraycopy(current, entryEnd, older, entryEnd - 8, current.length - entryEnd);
        final UnsafeBuffer buffer = new UnsafeBuffer(older);
        buffer.putShort(groupHeader, (short)(ExchangeReportEncoder.EntriesEncoder.sbeBlockLength() - 8),
            ByteOrder.LITTLE_ENDIAN);
        buffer.putShort(MessageHeaderEncoder.versionEncodingOffset(), (short)4, ByteOrder.LITTLE_ENDIAN);
        messages.open(buffer, 0, older.length);
        final ExchangeReportDecoder.EntriesDecoder read = messages.decode(new ExchangeReportDecoder()).entries();
        assertEquals(1, read.count());
        read.next();
        assertEquals(20, read.lwm());
        assertEquals(ExchangeReportDecoder.EntriesDecoder.owningStampNullValue(), read.owningStamp());
        final ExchangeReportDecoder.EntriesDecoder.GapsDecoder gaps = read.gaps();
        assertEquals(1, gaps.count());
        assertEquals(21, gaps.next().start(), "the groups after the shorter block read as sent");

        messages.open(new UnsafeBuffer(current), 0, current.length);
        final ExchangeReportDecoder.EntriesDecoder now = messages.decode(new ExchangeReportDecoder()).entries();
        assertEquals(12, now.next().owningStamp(), "a current sender's");
    }

    @Test
    void aMessageThatLiesAboutItsLengthsOrSchemaIsMalformedNotACrash()
    {
        encodeRequest(new byte[] {1}, new byte[] {2, 3}, null);
        final byte[] whole = copy();

        final UnsafeBuffer lyingLength = new UnsafeBuffer(whole.clone());
        lyingLength.putInt(MemberMessages.HEADER_LENGTH + RequestEncoder.BLOCK_LENGTH, 1 << 30,
            ByteOrder.LITTLE_ENDIAN);
        messages.open(lyingLength, 0, whole.length);
        assertThrows(MalformedMessageException.class, () -> messages.decode(requestIn));

        final UnsafeBuffer negative = new UnsafeBuffer(whole.clone());
        negative.putInt(MemberMessages.HEADER_LENGTH + RequestEncoder.BLOCK_LENGTH, -8, ByteOrder.LITTLE_ENDIAN);
        messages.open(negative, 0, whole.length);
        assertThrows(MalformedMessageException.class, () -> messages.decode(requestIn),
            "a length above 2^31 (negative as an int) does not move the walk backwards");

        final UnsafeBuffer versionZero = new UnsafeBuffer(whole.clone());
        versionZero.putShort(MessageHeaderEncoder.versionEncodingOffset(), (short)0, ByteOrder.LITTLE_ENDIAN);
        versionZero.putShort(MessageHeaderEncoder.blockLengthEncodingOffset(), (short)0, ByteOrder.LITTLE_ENDIAN);
        messages.open(versionZero, 0, whole.length);
        assertThrows(MalformedMessageException.class, () -> messages.decode(requestIn),
            "a version older than the schema's first does not skip the block check");

        final UnsafeBuffer truncated = new UnsafeBuffer(whole);
        messages.open(truncated, 0, whole.length - 1);
        assertThrows(MalformedMessageException.class, () -> messages.decode(requestIn));

        final UnsafeBuffer shortBlock = new UnsafeBuffer(whole.clone());
        shortBlock.putShort(MessageHeaderEncoder.blockLengthEncodingOffset(), (short)8, ByteOrder.LITTLE_ENDIAN);
        messages.open(shortBlock, 0, whole.length);
        assertThrows(MalformedMessageException.class, () -> messages.decode(requestIn));

        final UnsafeBuffer otherSchema = new UnsafeBuffer(whole.clone());
        otherSchema.putShort(MessageHeaderEncoder.schemaIdEncodingOffset(), (short)1, ByteOrder.LITTLE_ENDIAN);
        assertThrows(MalformedMessageException.class, () -> messages.open(otherSchema, 0, whole.length));

        assertThrows(MalformedMessageException.class, () -> messages.open(new UnsafeBuffer(new byte[5]), 0, 5));
    }

    @Test
    void aGroupWhoseEntriesAreShorterThanTheSchemasIsMalformed()
    {
        final ReplicateEncoder out = messages.encode(new ReplicateEncoder(), SENDER, DESTINATION);
        out.cacheId(1).partition(2).version(3).counter(4).origin(5).sequence(6).watermark(7).flag((short)1)
            .hasOutcomeValue((short)0).hasValue((short)1);
        out.predecessorsCount(1).next().origin(8).sequence(9).flag((short)0).hasOutcome((short)0)
            .putOutcome(new byte[0], 0, 0);
        out.putOutcomeValue(new byte[0], 0, 0).putKey(new byte[] {1}, 0, 1).putValue(new byte[] {2}, 0, 1);
        messages.finish(out);
        final byte[] whole = copy();
        messages.open(new UnsafeBuffer(whole), 0, whole.length);
        assertEquals(1, messages.decode(new ReplicateDecoder()).predecessors().count(), "the message as sent reads");

        // The predecessors group's header follows the block: its entries said to be 0 bytes long.
        final UnsafeBuffer lying = new UnsafeBuffer(whole.clone());
        lying.putShort(MemberMessages.HEADER_LENGTH + ReplicateEncoder.BLOCK_LENGTH, (short)0, ByteOrder.LITTLE_ENDIAN);
        messages.open(lying, 0, whole.length);
        assertThrows(MalformedMessageException.class, () -> messages.decode(new ReplicateDecoder()));

        // And a count far beyond what the bytes hold.
        final UnsafeBuffer counting = new UnsafeBuffer(whole.clone());
        counting.putShort(MemberMessages.HEADER_LENGTH + ReplicateEncoder.BLOCK_LENGTH + 2, (short)60_000,
            ByteOrder.LITTLE_ENDIAN);
        messages.open(counting, 0, whole.length);
        assertThrows(MalformedMessageException.class, () -> messages.decode(new ReplicateDecoder()));
    }

    private void encodeRequest(final byte[] key, final byte[] value, final byte[] expected)
    {
        final RequestEncoder out = messages.encode(requestOut, SENDER, DESTINATION);
        out.sequence(7).watermark(6).cacheId(11).partition(3).version(5).opType((byte)1).timeoutNs(1_000)
            .clientId(0).clientSequence(0).clientWatermark(0)
            .hasValue(MemberMessages.has(value)).hasExpected(MemberMessages.has(expected))
            .putKey(key, 0, key.length)
            .putValue(MemberMessages.orEmpty(value), 0, MemberMessages.orEmpty(value).length)
            .putExpected(MemberMessages.orEmpty(expected), 0, MemberMessages.orEmpty(expected).length);
        messages.finish(out);
    }

    private byte[] copy()
    {
        final byte[] bytes = new byte[writer.length()];
        writer.buffer().getBytes(0, bytes);
        return bytes;
    }
}
