package dev.grid.core.spi;

import org.agrona.DirectBuffer;

/**
 * A WAL that keeps nothing: every record is durable the moment it is appended, and replay finds nothing. It is what
 * a member uses while it has no persistence (a pure in-memory cluster, and until the Chronicle Queue WAL exists):
 * data then survives only as long as one copy of its partition lives. Not thread-safe.
 */
public final class VolatileWal implements Wal
{
    private long position;

    public long append(final DirectBuffer buffer, final int offset, final int length)
    {
        return ++position;
    }

    public void requestDurability()
    {
    }

    public long appendedPosition()
    {
        return position;
    }

    public long durablePosition()
    {
        return position;
    }

    public long replay(final long afterPosition, final RecordHandler handler)
    {
        return 0;
    }

    @Override
    public long read(final long afterPosition, final int maxRecords, final RecordHandler handler)
    {
        return afterPosition;
    }

    @Override
    public boolean retainsRecords()
    {
        return false;
    }
}
