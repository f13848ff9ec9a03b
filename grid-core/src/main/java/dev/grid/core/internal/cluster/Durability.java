package dev.grid.core.internal.cluster;

import dev.grid.core.internal.cluster.LocalPartition.PrimaryUpdate;

import java.util.Arrays;

/**
 * Actions that wait for the WAL: a queue of positions, each with what to do once the WAL holds it durably (close a
 * counter so that LWM may move, complete a primary's update, acknowledge a backup's, or run a callback). LWM never
 * passes a record that is not durable.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class Durability
{
    private static final int INITIAL_CAPACITY = 64;

    private final MemberContext context;
    /*
     * The queue, oldest first: a ring of columns rather than an object per wait (a put made two, one on its primary
     * and one on its backup). A wait is one of four kinds: a primary's update to complete (update set), a backup's
     * acknowledgement to send (primary set), a callback to run (onDurable set), or a counter to close only.
     */
    private long[] positions = new long[INITIAL_CAPACITY];
    private LocalPartition[] copies = new LocalPartition[INITIAL_CAPACITY];
    private long[] counters = new long[INITIAL_CAPACITY];
    private PrimaryUpdate[] updates = new PrimaryUpdate[INITIAL_CAPACITY];
    private long[] primaries = new long[INITIAL_CAPACITY];
    private long[] versions = new long[INITIAL_CAPACITY];
    private Runnable[] callbacks = new Runnable[INITIAL_CAPACITY];
    private int head;
    private int size;
    /**
     * The WAL's durable position as the last {@link #processDurability} read it, set once that call acted on every
     * wait at or below it: every record at or below it is reflected in its copy's counter. A checkpoint starts its
     * replay here, not at the WAL's durable position of the moment, which may be further on: an EXPELLED member syncs
     * its WAL and finishes its checkpoint without acting on waits, and a WAL that syncs on its own thread moves on
     * between two reads (soak seeds 0x15f60a50 and 0x15e3b0dc: an image whose replay began past records its counters
     * did not reflect came back with those counters open; the copy's entries stood above the counters new updates then
     * took, and the store kept the stale entries over acknowledged ones).
     */
    private long reflectedPosition;

    Durability(final MemberContext context)
    {
        this.context = context;
    }

    /** Forget what waits for durability: the member leaves its topology to join again. */
    void reset()
    {
        Arrays.fill(copies, null);
        Arrays.fill(updates, null);
        Arrays.fill(callbacks, null);
        head = 0;
        size = 0;
    }

    /** @return the WAL position at or below which every record is reflected in its copy's counter. */
    long reflectedPosition()
    {
        return reflectedPosition;
    }

    /** @return how many acknowledgements wait for durability. */
    int waiting()
    {
        return size;
    }

    /**
     * Once the WAL holds {@code position} durably, close {@code counter} on the primary's copy and complete its
     * {@code update} (answered once its backups acknowledged it too).
     */
    void awaitUpdate(final long position, final LocalPartition lp, final long counter, final PrimaryUpdate update)
    {
        add(position, lp, counter, update, 0, 0, null);
    }

    /**
     * Once the WAL holds {@code position} durably, close {@code counter} on the backup's copy and acknowledge the
     * update to {@code primary} (also when the copy was dropped meanwhile: the primary still waits for the answer).
     */
    void awaitAcknowledged(final long position, final LocalPartition lp, final long counter, final long primary,
        final long version)
    {
        add(position, lp, counter, null, primary, version, null);
    }

    /**
     * Once the WAL holds {@code position} durably, close {@code counter} on the copy (LWM may move; none if 0), then
     * run {@code onDurable} if given.
     */
    void awaitDurable(final long position, final LocalPartition lp, final long counter, final Runnable onDurable)
    {
        add(position, lp, counter, null, 0, 0, onDurable);
    }

    private void add(final long position, final LocalPartition lp, final long counter, final PrimaryUpdate update,
        final long primary, final long version, final Runnable onDurable)
    {
        if (size == positions.length)
        {
            grow();
        }
        final int slot = (head + size) & (positions.length - 1);
        positions[slot] = position;
        copies[slot] = lp;
        counters[slot] = counter;
        updates[slot] = update;
        primaries[slot] = primary;
        versions[slot] = version;
        callbacks[slot] = onDurable;
        size++;
    }

    /** Double the ring, its waits moved to the start in order. */
    private void grow()
    {
        final int capacity = 2 * positions.length;
        final long[] newPositions = new long[capacity];
        final LocalPartition[] newCopies = new LocalPartition[capacity];
        final long[] newCounters = new long[capacity];
        final PrimaryUpdate[] newUpdates = new PrimaryUpdate[capacity];
        final long[] newPrimaries = new long[capacity];
        final long[] newVersions = new long[capacity];
        final Runnable[] newCallbacks = new Runnable[capacity];
        for (int i = 0; i < size; i++)
        {
            final int slot = (head + i) & (positions.length - 1);
            newPositions[i] = positions[slot];
            newCopies[i] = copies[slot];
            newCounters[i] = counters[slot];
            newUpdates[i] = updates[slot];
            newPrimaries[i] = primaries[slot];
            newVersions[i] = versions[slot];
            newCallbacks[i] = callbacks[slot];
        }
        positions = newPositions;
        copies = newCopies;
        counters = newCounters;
        updates = newUpdates;
        primaries = newPrimaries;
        versions = newVersions;
        callbacks = newCallbacks;
        head = 0;
    }

    private void release(final int slot)
    {
        copies[slot] = null;
        updates[slot] = null;
        callbacks[slot] = null;
    }

    int processDurability()
    {
        int work = 0;
        final long durable = context.wal().durablePosition();
        while (size > 0 && positions[head] <= durable)
        {
            // Taken out of the ring before it is acted on: completing an update or running a callback may add waits.
            final LocalPartition lp = copies[head];
            final long counter = counters[head];
            final PrimaryUpdate update = updates[head];
            final long primary = primaries[head];
            final long version = versions[head];
            final Runnable onDurable = callbacks[head];
            release(head);
            head = (head + 1) & (positions.length - 1);
            size--;
            work++;
            if (lp == null || context.localCopy(lp.cacheId, lp.partition) != lp)
            {
                // The copy was dropped, or cleared for a full rebalance: its counter is gone, but whoever waits is
                // still answered (a cleared MOVING copy is not trusted until an exchange finds it identical to the
                // owners, so an update the stream does not bring it only delays its ownership).
                if (onDurable != null)
                {
                    onDurable.run();
                }
                else if (lp != null && update == null && primary != 0 &&
                    context.topology().member(primary) != null)
                {
                    context.replication().acknowledgeReplicate(primary, lp.cacheId, lp.partition, counter, version,
                        true);
                }
                continue;
            }
            if (counter > 0)
            {
                lp.counter.apply(counter - 1, 1);
            }
            if (onDurable != null)
            {
                onDurable.run();
            }
            else if (update != null)
            {
                update.durable = true;
                context.replication().tryComplete(lp, update);
            }
            else
            {
                context.replication().acknowledgeReplicate(primary, lp.cacheId, lp.partition, counter, version, true);
            }
        }
        reflectedPosition = Math.max(reflectedPosition, durable);
        return work;
    }
}
