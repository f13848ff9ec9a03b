package dev.grid.core.internal.cluster;

import dev.grid.core.CacheEvent;
import dev.grid.core.client.FrameWriter;
import dev.grid.core.client.ScanPages;
import dev.grid.core.engine.CacheDescriptor;

import java.util.Map;
import java.util.TreeMap;

/**
 * One copy's journal of its partition's changes, for listeners: per update counter, what happened to which key, kept
 * on every OWNING copy (the primary and its backups record the same events from the same updates, so a listener
 * resumes on whichever becomes primary). Events are read only up to a horizon the primary gives (counters every copy
 * holds: see {@link KeyOperations}), in counter order; a counter without an event (a transaction's rolled-back
 * reservation, an expiry extension) is a hole the reader passes over.
 * <p>
 * The journal knows nothing at or below its {@link #floor}: the highest counter its copy applied without an event
 * (what a full or historical rebalance streamed, what recovery replayed, a transaction's write applied before the
 * journal existed: {@link LocalPartition#unjournaled}), or the highest counter dropped for capacity. Every update a
 * copy applies live (as primary, as backup, moving or owning) is journaled. A reader behind the floor is told its
 * events are lost, never served a gap.
 * <p>
 * <b>Threading:</b> the engine's thread only.
 */
final class EventJournal
{
    /** A change: its kind, key, and stored value (null for a removal). */
    record Event(CacheEvent.Kind kind, byte[] key, byte[] value)
    {
    }

    /** An update that journals no event (an expiry extension; a cache without a journal). */
    static final byte NONE = -1;
    /** An update whose event is decided by the key's value before and after it. */
    static final byte BY_VALUE = -2;
    private static final CacheEvent.Kind[] KINDS = CacheEvent.Kind.values();

    private final TreeMap<Long, Event> events = new TreeMap<>();
    private final int capacity;
    private long floor;

    /**
     * @param capacity the most events kept.
     * @param floor    the counter the copy had reached: nothing at or below it is journaled.
     */
    EventJournal(final int capacity, final long floor)
    {
        this.capacity = capacity;
        this.floor = floor;
    }

    /**
     * The event a primary's update journals, decided once and shipped to the backups, so every copy journals the same.
     *
     * @param requested {@link #BY_VALUE}, {@link #NONE} or a kind's ordinal.
     * @return {@link #NONE}, or the kind's ordinal.
     */
    static byte kindOf(final MemberContext context, final LocalPartition lp, final CacheDescriptor cache,
        final byte[] key, final byte[] newValue, final byte requested)
    {
        if (cache.journalCapacity() == 0 || requested == NONE)
        {
            return NONE;
        }
        if (requested != BY_VALUE)
        {
            return requested;
        }
        final byte[] before = lp.store.get(key);
        final boolean existed = before != null && !(StoredValues.expiring(cache) &&
            StoredValues.expired(before, context.epochMs()));
        return byValue(existed, newValue);
    }

    /** @return the ordinal of CREATED, UPDATED or REMOVED, by whether the key had a value and has one now. */
    static byte byValue(final boolean existed, final byte[] newValue)
    {
        return (byte)(newValue == null ? CacheEvent.Kind.REMOVED.ordinal() : existed ?
            CacheEvent.Kind.UPDATED.ordinal() : CacheEvent.Kind.CREATED.ordinal());
    }

    /** @return a replicated event kind, checked. */
    static byte checkedKind(final byte kind)
    {
        if (kind != NONE && (kind < 0 || kind >= KINDS.length))
        {
            throw new dev.grid.core.codec.MalformedMessageException("unknown event kind " + kind);
        }
        return kind;
    }

    /**
     * Journal an update applied live to a copy, if its cache has a journal.
     */
    static void record(final LocalPartition lp, final CacheDescriptor cache, final long counter, final byte kind,
        final byte[] key, final byte[] value)
    {
        if (kind == NONE || cache == null || cache.journalCapacity() == 0)
        {
            return;
        }
        journalOf(lp, cache).record(counter, KINDS[kind], key, value);
    }

    /** @return the copy's journal, made if it has none yet (knowing nothing at or below the copy's floor). */
    static EventJournal journalOf(final LocalPartition lp, final CacheDescriptor cache)
    {
        if (lp.journal == null)
        {
            lp.journal = new EventJournal(cache.journalCapacity(), lp.journalFloor);
        }
        return lp.journal;
    }

    /** Know nothing at or below {@code counter} any more (see {@link LocalPartition#unjournaled}). */
    void raiseFloor(final long counter)
    {
        if (counter > floor)
        {
            floor = counter;
            events.headMap(counter, true).clear();
        }
    }

    /** @return the counter at or below which nothing is known. */
    long floor()
    {
        return floor;
    }

    /** Record the change an update at {@code counter} made; ignored at or below the floor. */
    void record(final long counter, final CacheEvent.Kind kind, final byte[] key, final byte[] value)
    {
        if (counter <= floor)
        {
            return;
        }
        events.put(counter, new Event(kind, key, value));
        while (events.size() > capacity)
        {
            floor = events.pollFirstEntry().getKey();
        }
    }

    /**
     * Encode the events after {@code after} up to {@code horizon} that pass the filter, at most {@code maxEvents}:
     * {@code [bool lost][i64 floor][i64 readUpTo][i32 n]([i64 counter][u8 kind][bytes key][bytes value])*n}, values
     * as the caller sees them (without an expiry time). {@code readUpTo} is where the next read starts: the horizon
     * if every event up to it was taken, else the counter of the last event taken. Lost: {@code after} is below the
     * floor (the reader goes on from the floor).
     *
     * @param after   the reader's position; -1 to start at the horizon; -2 for a position this copy's counters never
     *                reached (the reader is told it lost what it may have missed and starts at the floor).
     * @param horizon the highest counter every copy holds.
     * @param filter  which events the reader wants (a key prefix; a value predicate for events with a value).
     */
    byte[] read(final CacheDescriptor cache, final long after, final long horizon, final int maxEvents,
        final ScanPages.Spec filter)
    {
        final FrameWriter out = new FrameWriter();
        if (after == -2 || after >= 0 && after < floor)
        {
            return out.writeBoolean(true).writeLong(floor).writeLong(floor).writeInt(0).toBytes();
        }
        final long from = after < 0 ? horizon : after;
        final FrameWriter entries = new FrameWriter();
        int count = 0;
        long readUpTo = Math.max(from, horizon);
        for (final Map.Entry<Long, Event> e : events.subMap(from, false, Math.max(from, horizon), true).entrySet())
        {
            if (count >= maxEvents)
            {
                readUpTo = e.getKey() - 1;
                break;
            }
            final Event event = e.getValue();
            final byte[] value = event.value() == null ? null : StoredValues.expiring(cache) ?
                StoredValues.unwrap(event.value()) : event.value();
            if (filter.acceptsEvent(event.key(), value))
            {
                entries.writeLong(e.getKey()).writeByte(event.kind().ordinal()).writeBytes(event.key())
                    .writeBytes(value);
                count++;
            }
        }
        return out.writeBoolean(false).writeLong(floor).writeLong(readUpTo).writeInt(count)
            .writeRaw(entries.array(), 0, entries.length()).toBytes();
    }
}
