package dev.grid.sim.toy;

import dev.grid.core.internal.partition.PartitionStore;
import dev.grid.core.internal.partition.PartitionUpdateCounter;
import dev.grid.core.spi.Transport;
import dev.grid.core.spi.Wal;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;

/**
 * A deliberately small member that replicates one partition from a fixed primary (endpoint 0) to backups, so the
 * simulator has real state machines to run until the cluster issue brings real members. It uses the real model:
 * {@link PartitionUpdateCounter}, {@link PartitionStore}, and the {@link Wal} and {@link Transport} interfaces.
 * <p>
 * Messages, in the byte layout that also goes into the WAL:
 * {@code UPDATE [type=1:u8][counter:i64][keyLength:i32][key][valueLength:i32, -1 for a remove][value]} and
 * {@code ACK [type=2:u8][counter:i64]}.
 * <ul>
 *     <li>The primary reserves the next counter, appends the update to its WAL, applies it, sends it to every backup,
 *     and resends to backups that have not acknowledged every {@code retransmitIntervalNs} (the network loses,
 *     duplicates and reorders). A write is acknowledged to the workload once its own WAL made it durable and every
 *     backup acknowledged.</li>
 *     <li>A backup appends an update it has not seen, applies it, and once its WAL reports it durable closes its
 *     counter and acknowledges. A duplicate of a closed update is acknowledged again.</li>
 *     <li>A restarted member rebuilds store and counter by replaying its WAL (a torn tail is truncated).</li>
 * </ul>
 * {@code acknowledgeBeforeDurable} injects the classic bug (acknowledge and advance LWM before the WAL sync) so tests
 * can show the simulator catches it. Single-threaded: driven by {@link #doWork(long)}.
 */
public final class ToyReplicaMember
{
    /** Message type of an update. */
    public static final byte UPDATE = 1;
    /** Message type of an acknowledgement. */
    public static final byte ACK = 2;
    /** Most writes the primary keeps in flight. */
    public static final int IN_FLIGHT_MAX = 256;

    /** Told about every write the primary acknowledged. */
    @FunctionalInterface
    public interface AcknowledgementListener
    {
        /**
         * @param counter the write's update counter.
         * @param key     the key bytes.
         * @param value   the value bytes, or null for a remove.
         */
        void onAcknowledged(long counter, byte[] key, byte[] value);
    }

    private static final class InFlight
    {
        final byte[] key;
        final byte[] value;
        final boolean[] acknowledgedBy;
        boolean durableHere;
        long resendDeadlineNs;

        InFlight(final byte[] key, final byte[] value, final int endpoints)
        {
            this.key = key;
            this.value = value;
            this.acknowledgedBy = new boolean[endpoints];
        }
    }

    private final int endpoint;
    private final int endpointCount;
    private final Transport transport;
    private final Wal wal;
    private final long retransmitIntervalNs;
    private final boolean acknowledgeBeforeDurable;
    private final AcknowledgementListener listener;
    private final PartitionUpdateCounter counter = new PartitionUpdateCounter(0, PartitionUpdateCounter.GAPS_MAX_DEFAULT);
    private final PartitionStore store = new PartitionStore(0);
    /** Appended records not yet durable, in append order: {walPosition, counter, source endpoint}. */
    private final ArrayDeque<long[]> awaitingDurability = new ArrayDeque<>();
    /** Counters appended here and not yet durable (a duplicate of one of them is ignored). */
    private final java.util.TreeSet<Long> appendedNotDurable = new java.util.TreeSet<>();
    private final TreeMap<Long, InFlight> inFlight = new TreeMap<>();
    private final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(256);
    private final ExpandableArrayBuffer ackBuffer = new ExpandableArrayBuffer(16);
    private long nowNs;
    private long malformedCount;

    /**
     * Create a member, rebuilding its state from the WAL.
     *
     * @param endpoint                 this member's endpoint; 0 is the primary.
     * @param endpointCount            how many members there are.
     * @param transport                to talk to the others.
     * @param wal                      this member's WAL, possibly holding records from before a crash.
     * @param retransmitIntervalNs     how long the primary waits for an acknowledgement before resending.
     * @param acknowledgeBeforeDurable inject the bug: acknowledge and close before the WAL sync.
     * @param listener                 told of acknowledged writes (primary only).
     */
    public ToyReplicaMember(
        final int endpoint,
        final int endpointCount,
        final Transport transport,
        final Wal wal,
        final long retransmitIntervalNs,
        final boolean acknowledgeBeforeDurable,
        final AcknowledgementListener listener)
    {
        this.endpoint = endpoint;
        this.endpointCount = endpointCount;
        this.transport = transport;
        this.wal = wal;
        this.retransmitIntervalNs = retransmitIntervalNs;
        this.acknowledgeBeforeDurable = acknowledgeBeforeDurable;
        this.listener = listener;
        wal.replay(0, this::onRecovered);
    }

    /** @return whether this member is the primary. */
    public boolean isPrimary()
    {
        return endpoint == 0;
    }

    /** @return the partition's update counter on this member. */
    public PartitionUpdateCounter counter()
    {
        return counter;
    }

    /** @return the partition's contents on this member. */
    public PartitionStore store()
    {
        return store;
    }

    /** @return writes submitted and not yet acknowledged (primary). */
    public int inFlightCount()
    {
        return inFlight.size();
    }

    /** @return messages dropped because they did not decode. */
    public long malformedCount()
    {
        return malformedCount;
    }

    /**
     * Submit a write on the primary.
     *
     * @param key   the key bytes.
     * @param value the value bytes, or null to remove.
     * @return the write's counter, or -1 if too many writes are in flight (try later).
     */
    public long submit(final byte[] key, final byte[] value)
    {
        if (!isPrimary())
        {
            throw new IllegalStateException("endpoint " + endpoint + " is not the primary");
        }
        if (inFlight.size() >= IN_FLIGHT_MAX)
        {
            return -1;
        }
        final long updateCounter = counter.reserve(1) + 1;
        final int length = encodeUpdate(updateCounter, key, value);
        appendAndApply(updateCounter, key, value, length, endpoint);
        final InFlight write = new InFlight(key, value, endpointCount);
        write.resendDeadlineNs = nowNs + retransmitIntervalNs;
        inFlight.put(updateCounter, write);
        for (int backup = 1; backup < endpointCount; backup++)
        {
            transport.send(backup, buffer, 0, length);
        }
        return updateCounter;
    }

    /**
     * One duty cycle: receive, observe durability, resend.
     *
     * @param nowNs this member's current time.
     * @return the amount of work done.
     */
    public int doWork(final long nowNs)
    {
        this.nowNs = nowNs;
        int work = transport.poll(this::onMessage, 64);
        work += onDurable();
        if (!awaitingDurability.isEmpty())
        {
            wal.requestDurability();
        }
        if (isPrimary())
        {
            work += resendOverdue();
        }
        return work;
    }

    private void onMessage(final int source, final DirectBuffer message, final int offset, final int length)
    {
        if (length < 9)
        {
            malformedCount++;
            return;
        }
        final byte type = message.getByte(offset);
        final long updateCounter = message.getLong(offset + 1);
        if (type == ACK && isPrimary())
        {
            final InFlight write = inFlight.get(updateCounter);
            if (write != null && source > 0 && source < endpointCount)
            {
                write.acknowledgedBy[source] = true;
                completeIfDone(updateCounter, write);
            }
        }
        else if (type == UPDATE && !isPrimary())
        {
            onUpdate(source, message, offset, length, updateCounter);
        }
        else
        {
            malformedCount++;
        }
    }

    private void onUpdate(
        final int source, final DirectBuffer message, final int offset, final int length, final long updateCounter)
    {
        if (updateCounter <= 0 || counter.isClosed(updateCounter))
        {
            if (updateCounter > 0)
            {
                sendAck(source, updateCounter);
            }
            return;
        }
        if (appendedNotDurable.contains(updateCounter))
        {
            return;
        }
        final byte[][] keyValue = decodeKeyValue(message, offset, length);
        if (keyValue == null)
        {
            malformedCount++;
            return;
        }
        message.getBytes(offset, buffer, 0, length);
        appendAndApply(updateCounter, keyValue[0], keyValue[1], length, source);
        if (acknowledgeBeforeDurable)
        {
            counter.apply(updateCounter - 1, 1);
            sendAck(source, updateCounter);
        }
    }

    private void appendAndApply(
        final long updateCounter, final byte[] key, final byte[] value, final int length, final int source)
    {
        final long position = wal.append(buffer, 0, length);
        store.apply(key, value, updateCounter);
        awaitingDurability.add(new long[]{ position, updateCounter, source });
        appendedNotDurable.add(updateCounter);
    }

    private int onDurable()
    {
        int work = 0;
        final long durable = wal.durablePosition();
        while (!awaitingDurability.isEmpty() && awaitingDurability.peek()[0] <= durable)
        {
            final long[] record = awaitingDurability.poll();
            final long updateCounter = record[1];
            appendedNotDurable.remove(updateCounter);
            work++;
            if (isPrimary())
            {
                // The primary reserved the counter; it closes once its own copy is durable.
                counter.apply(updateCounter - 1, 1);
                final InFlight write = inFlight.get(updateCounter);
                if (write != null)
                {
                    write.durableHere = true;
                    completeIfDone(updateCounter, write);
                }
            }
            else if (!acknowledgeBeforeDurable)
            {
                counter.apply(updateCounter - 1, 1);
                sendAck((int)record[2], updateCounter);
            }
        }
        return work;
    }

    private void completeIfDone(final long updateCounter, final InFlight write)
    {
        if (!write.durableHere)
        {
            return;
        }
        for (int backup = 1; backup < endpointCount; backup++)
        {
            if (!write.acknowledgedBy[backup])
            {
                return;
            }
        }
        inFlight.remove(updateCounter);
        listener.onAcknowledged(updateCounter, write.key, write.value);
    }

    private int resendOverdue()
    {
        int work = 0;
        for (final Map.Entry<Long, InFlight> entry : inFlight.entrySet())
        {
            final InFlight write = entry.getValue();
            if (write.resendDeadlineNs > nowNs)
            {
                continue;
            }
            write.resendDeadlineNs = nowNs + retransmitIntervalNs;
            final int length = encodeUpdate(entry.getKey(), write.key, write.value);
            for (int backup = 1; backup < endpointCount; backup++)
            {
                if (!write.acknowledgedBy[backup])
                {
                    transport.send(backup, buffer, 0, length);
                    work++;
                }
            }
        }
        return work;
    }

    private void sendAck(final int destination, final long updateCounter)
    {
        ackBuffer.putByte(0, ACK);
        ackBuffer.putLong(1, updateCounter);
        transport.send(destination, ackBuffer, 0, 9);
    }

    private void onRecovered(final long position, final DirectBuffer record, final int offset, final int length)
    {
        final long updateCounter = record.getLong(offset + 1);
        final byte[][] keyValue = decodeKeyValue(record, offset, length);
        if (record.getByte(offset) != UPDATE || keyValue == null || updateCounter <= 0)
        {
            throw new IllegalStateException("endpoint " + endpoint + ": undecodable WAL record at " + position);
        }
        store.apply(keyValue[0], keyValue[1], updateCounter);
        counter.apply(updateCounter - 1, 1);
    }

    private int encodeUpdate(final long updateCounter, final byte[] key, final byte[] value)
    {
        int position = 0;
        buffer.putByte(position, UPDATE);
        buffer.putLong(position + 1, updateCounter);
        buffer.putInt(position + 9, key.length);
        buffer.putBytes(position + 13, key);
        position += 13 + key.length;
        buffer.putInt(position, value == null ? -1 : value.length);
        position += 4;
        if (value != null)
        {
            buffer.putBytes(position, value);
            position += value.length;
        }
        return position;
    }

    /** @return {key, value-or-null}, or null if the bytes are not a well-formed update. */
    private static byte[][] decodeKeyValue(final DirectBuffer message, final int offset, final int length)
    {
        if (length < 17)
        {
            return null;
        }
        final int keyLength = message.getInt(offset + 9);
        if (keyLength < 0 || keyLength > length - 17)
        {
            return null;
        }
        final int valueLength = message.getInt(offset + 13 + keyLength);
        if (valueLength < -1 || 17 + keyLength + Math.max(valueLength, 0) != length)
        {
            return null;
        }
        final byte[] key = new byte[keyLength];
        message.getBytes(offset + 13, key);
        byte[] value = null;
        if (valueLength >= 0)
        {
            value = new byte[valueLength];
            message.getBytes(offset + 17 + keyLength, value);
        }
        return new byte[][]{ key, value };
    }
}
