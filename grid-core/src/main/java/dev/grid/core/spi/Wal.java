package dev.grid.core.spi;

import org.agrona.DirectBuffer;

/**
 * A write-ahead log as protocol code sees it. It keeps <em>appended</em> apart from <em>durable</em>: a record is
 * durable once {@link #durablePosition()} has reached its position, and only then may a copy's LWM pass it or a caller
 * be acknowledged. What "durable" means depends on the implementation's mode (fsync, process crash, none); a crash
 * loses every record above the durable position, and the last record may be torn.
 * <p>
 * Positions are opaque, positive and strictly increasing in append order. Not thread-safe: owned by one shard.
 */
public interface Wal
{
    /** The WAL cannot take the record now (full or closed); nothing was written. */
    long BACK_PRESSURED = -2;

    /** Receives records during replay. */
    @FunctionalInterface
    interface RecordHandler
    {
        /**
         * @param position of the record.
         * @param buffer   holding the record; valid only during the call.
         * @param offset   of the record.
         * @param length   of the record in bytes.
         */
        void onRecord(long position, DirectBuffer buffer, int offset, int length);
    }

    /**
     * Append a record; it is copied before return. Appending does not make it durable.
     *
     * @param buffer holding the record.
     * @param offset of the record.
     * @param length of the record in bytes.
     * @return the record's position, or {@link #BACK_PRESSURED}.
     */
    long append(DirectBuffer buffer, int offset, int length);

    /**
     * Ask for everything appended so far to become durable (group commit: one request may cover many records).
     * Completion is observed through {@link #durablePosition()}.
     */
    void requestDurability();

    /**
     * @return the position of the last appended record, or 0 if none.
     */
    long appendedPosition();

    /**
     * @return the highest position such that it and every position before it are durable, or 0.
     */
    long durablePosition();

    /**
     * Read back the records after a position, in append order, as recovery does. A torn final record is skipped and
     * reported by the implementation; a corrupt record before the end fails the replay.
     *
     * @param afterPosition replay records with a greater position; 0 for all.
     * @param handler       to call per record.
     * @return the number of records replayed.
     */
    long replay(long afterPosition, RecordHandler handler);

    /**
     * Read a bounded batch of the live log: at most {@code maxRecords} records after a position, in append order, for
     * a reader that goes on later from where it stopped (a history scan, one batch per duty cycle). Unlike
     * {@link #replay} it repairs nothing: the log is being appended to by the caller's own thread, so its tail is
     * whole. This default replays the whole log and skips; implementations that can seek should.
     *
     * @param afterPosition read records with a greater position (a position this log returned, or 0).
     * @param maxRecords    the most records to hand over.
     * @param handler       to call per record.
     * @return the position of the last record handed over, or {@code afterPosition} if none follows it.
     */
    default long read(final long afterPosition, final int maxRecords, final RecordHandler handler)
    {
        final long[] last = {afterPosition};
        final int[] count = {0};
        replay(afterPosition, (position, buffer, offset, length) ->
        {
            if (count[0] < maxRecords)
            {
                count[0]++;
                last[0] = position;
                handler.onRecord(position, buffer, offset, length);
            }
        });
        return last[0];
    }

    /**
     * Allow the log to drop records at or below a position (a committed checkpoint covers them and no history reader
     * needs them). An implementation drops whole segments only, so records below the position may stay; it never drops
     * one above it.
     *
     * @param upToPosition records at or below it may go.
     * @return {@link #firstRetainedPosition()} after the call.
     */
    default long release(final long upToPosition)
    {
        return firstRetainedPosition();
    }

    /**
     * @return true if {@link #replay} returns what was appended (so the WAL can serve a copy's history to a member
     *         that catches up); false for a WAL that keeps nothing.
     */
    default boolean retainsRecords()
    {
        return true;
    }

    /**
     * @return a position just before the oldest record still readable (0 is one while nothing was dropped): replay
     * after it sees everything retained.
     */
    default long firstRetainedPosition()
    {
        return 0;
    }
}
