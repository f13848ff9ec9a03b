package dev.grid.persistence;

import java.util.Arrays;

/** Records a crash tore, planted in a WAL for tests of replay. Test code only. */
final class TornRecords
{
    private TornRecords()
    {
    }

    /**
     * Append a record whose checksum does not match, as a write torn by a crash would leave.
     *
     * @param wal    the WAL.
     * @param length of the garbage record.
     * @return its position.
     */
    static long appendTorn(final ChronicleWal wal, final int length)
    {
        final byte[] garbage = new byte[length];
        Arrays.fill(garbage, (byte)0x5A);
        return wal.write(0x0BADC0DE, length, garbage);
    }
}
