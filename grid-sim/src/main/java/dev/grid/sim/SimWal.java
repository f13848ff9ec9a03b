package dev.grid.sim;

import dev.grid.core.ErrorCode;
import dev.grid.core.PersistenceException;
import dev.grid.core.spi.RandomSource;
import dev.grid.core.spi.Wal;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;

import java.util.zip.CRC32C;

/**
 * A simulated write-ahead log: the member's "disk", which outlives the member across a {@link #crash()}.
 * <p>
 * Records are framed as {@code [length:i32][crc32c:i32][payload]}; a record's position is the offset of its end.
 * {@link #requestDurability()} makes everything appended so far durable after a random disk latency, as a group commit
 * does. A crash keeps only the durable bytes, and sometimes a torn prefix of the next record, which {@link #replay}
 * detects by length or checksum, reports, and truncates. A checksum failure before the last record is corruption:
 * replay refuses it with the position, as recovery must.
 * <p>
 * Single-threaded: runs inside the {@link Simulation}.
 */
public final class SimWal implements Wal
{
    /** Bytes of a record frame before the payload. */
    public static final int FRAME_HEADER_LENGTH = 8;

    private final Simulation simulation;
    private final RandomSource random;
    private final String name;
    private final ExpandableArrayBuffer bytes = new ExpandableArrayBuffer(4096);
    private final CRC32C crc = new CRC32C();
    private long diskLatencyMinNs = 200_000;
    private long diskLatencyMaxNs = 3_000_000;
    private double tornTailProbability = 0.5;
    private int length;
    private long durable;
    private long released;
    private boolean syncInFlight;
    private int epoch;
    private long tornTailCount;
    private boolean liesAboutDurability;
    private long stalledUntilNs;
    private boolean failed;
    private boolean thrown;

    /**
     * @param simulation to schedule disk completions in.
     * @param random     the disk's own random stream.
     * @param name       for event labels.
     */
    public SimWal(final Simulation simulation, final RandomSource random, final String name)
    {
        this.simulation = simulation;
        this.random = random;
        this.name = name;
    }

    /**
     * @param minNs shortest time for a durability request to complete.
     * @param maxNs longest.
     * @return this.
     */
    public SimWal diskLatency(final long minNs, final long maxNs)
    {
        this.diskLatencyMinNs = minNs;
        this.diskLatencyMaxNs = maxNs;
        return this;
    }

    /**
     * @param probability that a crash leaves a torn prefix of the first non-durable record.
     * @return this.
     */
    public SimWal tornTailProbability(final double probability)
    {
        this.tornTailProbability = probability;
        return this;
    }

    /**
     * A planted bug for tests of the simulator itself: the disk reports every appended record durable at once, though
     * a crash still loses what was not synced. A member then acknowledges writes a crash can lose, which the
     * scenario's checks must catch on some seed.
     *
     * @param lies whether the disk lies.
     * @return this.
     */
    public SimWal liesAboutDurability(final boolean lies)
    {
        this.liesAboutDurability = lies;
        return this;
    }

    public long append(final DirectBuffer buffer, final int offset, final int recordLength)
    {
        if (failed)
        {
            throw failure("append to");
        }
        final byte[] payload = new byte[recordLength];
        buffer.getBytes(offset, payload);
        crc.reset();
        crc.update(payload);
        bytes.putInt(length, recordLength);
        bytes.putInt(length + 4, (int)crc.getValue());
        bytes.putBytes(length + FRAME_HEADER_LENGTH, payload);
        length += FRAME_HEADER_LENGTH + recordLength;
        return length;
    }

    /**
     * The disk stalls (a failing drive, a saturated volume): a sync requested before {@code untilNs} completes no
     * earlier than then; what is already syncing completes as it would.
     *
     * @param untilNs when the stall ends, in the simulation's time.
     */
    public void stallUntil(final long untilNs)
    {
        stalledUntilNs = Math.max(stalledUntilNs, untilNs);
    }

    /**
     * The disk fails (a write error, a full volume): from now on every append and every request for durability
     * throws, as the file WAL's do ({@link ErrorCode#PERSISTENCE_IO_FAILED}), and a sync in flight never completes.
     * A member's agent answers that with a fail-stop. What was durable stays on the disk.
     */
    public void fail()
    {
        failed = true;
        epoch++;
    }

    /** The disk works again (repaired or replaced with its contents), for the member's next start. */
    public void repair()
    {
        failed = false;
        thrown = false;
        syncInFlight = false;
    }

    /** @return whether the disk has failed ({@link #fail}) and not been repaired since. */
    public boolean hasFailed()
    {
        return failed;
    }

    /** @return whether a write or sync has thrown since the disk failed: its member met the failure. */
    public boolean hasThrown()
    {
        return thrown;
    }

    private PersistenceException failure(final String what)
    {
        thrown = true;
        return new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot " + what + " the WAL " + name +
            ": its disk failed");
    }

    public void requestDurability()
    {
        if (failed)
        {
            throw failure("sync");
        }
        if (syncInFlight || durable == length)
        {
            return;
        }
        syncInFlight = true;
        final long target = length;
        final int syncEpoch = epoch;
        final long latencyNs = random.nextLong(diskLatencyMinNs, diskLatencyMaxNs + 1);
        simulation.schedule(Math.max(latencyNs, stalledUntilNs - simulation.nowNs()), "sync " + name, () ->
        {
            if (syncEpoch == epoch)
            {
                durable = Math.max(durable, target);
                syncInFlight = false;
            }
        });
    }

    public long appendedPosition()
    {
        return length;
    }

    public long durablePosition()
    {
        return liesAboutDurability ? length : durable;
    }

    /**
     * The process died: what was not durable is lost, except perhaps a torn piece of the next record.
     */
    public void crash()
    {
        epoch++;
        syncInFlight = false;
        int keep = (int)durable;
        if (length > durable && random.chance(tornTailProbability))
        {
            final int nextRecordLength = FRAME_HEADER_LENGTH + bytes.getInt((int)durable);
            keep += 1 + random.nextInt(nextRecordLength - 1);
        }
        length = keep;
        durable = Math.min(durable, length);
    }

    /**
     * @param keepWrites whether the machine kept running ({@link #crashKeepingWrites()}) or went down with the process
     *                   ({@link #crash()}).
     */
    public void crash(final boolean keepWrites)
    {
        if (keepWrites)
        {
            crashKeepingWrites();
        }
        else
        {
            crash();
        }
    }

    /**
     * The process was killed while its machine kept running: the operating system still holds what the process wrote
     * and never synced, so every appended record survives, those it never reported durable included (the common crash
     * of a real member, whose WAL is a memory-mapped file).
     */
    public void crashKeepingWrites()
    {
        epoch++;
        syncInFlight = false;
        durable = length;
    }

    /**
     * Flip a byte inside a durable record, as a failing disk might, so recovery must refuse it.
     *
     * @param offset a byte offset below the durable position.
     */
    public void corrupt(final int offset)
    {
        bytes.putByte(offset, (byte)(bytes.getByte(offset) ^ 0x5A));
    }

    /**
     * @return how many torn tails replays found and truncated.
     */
    public long tornTailCount()
    {
        return tornTailCount;
    }

    public long release(final long upToPosition)
    {
        released = Math.max(released, Math.min(upToPosition, durable));
        return released;
    }

    public long firstRetainedPosition()
    {
        return released;
    }

    public long replay(final long afterPosition, final RecordHandler handler)
    {
        if (afterPosition < released)
        {
            throw new IllegalStateException("WAL " + name + ": replay after position " + afterPosition +
                " asks for records released up to " + released);
        }
        long count = 0;
        int position = 0;
        while (position < length)
        {
            final int remaining = length - position;
            final int recordLength = remaining >= FRAME_HEADER_LENGTH ? bytes.getInt(position) : -1;
            final boolean fits = recordLength >= 0 && recordLength <= remaining - FRAME_HEADER_LENGTH;
            final boolean intact = fits && checksumMatches(position, recordLength);
            if (!intact)
            {
                final boolean isLast = !fits || position + FRAME_HEADER_LENGTH + recordLength == length;
                if (isLast)
                {
                    tornTailCount++;
                    length = position;
                    durable = Math.min(durable, length);
                    break;
                }
                throw new IllegalStateException("WAL " + name + ": corrupt record at position " + position +
                    " (checksum mismatch before the end of the log)");
            }
            position += FRAME_HEADER_LENGTH + recordLength;
            if (position > afterPosition)
            {
                handler.onRecord(position, bytes, position - recordLength, recordLength);
                count++;
            }
        }
        // Everything that survived a crash is on disk.
        durable = length;
        return count;
    }

    /**
     * A bounded read of the live log: positions are record ends, so the read starts at {@code afterPosition} itself
     * instead of walking from the start.
     */
    @Override
    public long read(final long afterPosition, final int maxRecords, final RecordHandler handler)
    {
        if (afterPosition < released)
        {
            throw new IllegalStateException("WAL " + name + ": read after position " + afterPosition +
                " asks for records released up to " + released);
        }
        int position = (int)Math.min(afterPosition, length);
        int count = 0;
        while (position < length && count < maxRecords)
        {
            final int recordLength = bytes.getInt(position);
            position += FRAME_HEADER_LENGTH + recordLength;
            handler.onRecord(position, bytes, position - recordLength, recordLength);
            count++;
        }
        return count == 0 ? afterPosition : position;
    }

    private boolean checksumMatches(final int position, final int recordLength)
    {
        final byte[] payload = new byte[recordLength];
        bytes.getBytes(position + FRAME_HEADER_LENGTH, payload);
        crc.reset();
        crc.update(payload);
        return (int)crc.getValue() == bytes.getInt(position + 4);
    }
}
