package dev.grid.core.internal.cluster;

import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.QuorumReadPolicy;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A cache descriptor's encoding: the read policy (issue 16) rides in the loss policy's byte, so descriptors written
 * before it existed (in WAL records and checkpoint manifests of an older data directory) still decode.
 */
class CacheDescriptorTest
{
    @Test
    void aDescriptorRoundTripsWithBothPolicies()
    {
        final CacheDescriptor descriptor = new CacheDescriptor(7, "c", 64, 2, "string", "bytes", "rack", 5_000, "add",
            11, 12, PartitionLossPolicy.IGNORE, 3, QuorumReadPolicy.SERVE_LOCAL);
        final MessageWriter writer = new MessageWriter();
        descriptor.encode(writer);
        final CacheDescriptor decoded = CacheDescriptor.decode(new MessageReader().wrap(writer.buffer(), 0,
            writer.length()));
        assertEquals(descriptor, decoded);
    }

    @Test
    void aDescriptorWrittenBeforeTheReadPolicyDecodesAsRefuse()
    {
        // The layout of earlier builds: [loss policy ordinal][lost resets], nothing after.
        final MessageWriter writer = new MessageWriter();
        writer.writeInt(7).writeString("c").writeInt(64).writeInt(2).writeString("string").writeString("bytes")
            .writeString(null).writeLong(5_000).writeString(null).writeLong(11).writeLong(12)
            .writeByte(PartitionLossPolicy.READ_ONLY_SAFE.ordinal()).writeInt(1);
        final MessageReader reader = new MessageReader().wrap(writer.buffer(), 0, writer.length());
        final CacheDescriptor decoded = CacheDescriptor.decode(reader);
        assertEquals(PartitionLossPolicy.READ_ONLY_SAFE, decoded.lossPolicy());
        assertEquals(QuorumReadPolicy.REFUSE, decoded.readsWithoutQuorum());
        assertEquals(1, decoded.lostResets());
        assertEquals(0, reader.remaining(), "nothing read beyond the old layout");
    }
}
