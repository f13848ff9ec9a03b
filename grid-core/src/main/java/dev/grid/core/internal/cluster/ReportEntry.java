package dev.grid.core.internal.cluster;

import java.util.Arrays;

/**
 * One copy as its holder reported it. Equal counters do not prove equal data (copies of two lineages of a
 * partition, one recovered from an old life, can both stand at LWM 1), so the content hash is compared too.
 * <p>
 * {@code owningStamp}: the stamp of the holder's installed map when that map is active, the partition not lost in it
 * and this copy one of its OWNING copies; 0 otherwise (and from a sender of member schema 4 or older, which does not
 * say). A coordinator that missed that map learns from it who owned the partition there ({@link LastOwners}).
 */
record ReportEntry(long member, int cacheId, int partition, long lwm, long hwm, boolean primary,
    long[] gaps, long contentHash, long historyFrom, long epochId, long size, long primaryVersion,
    boolean backupsComplete, long[] prepares, long owningStamp)
{
    /**
     * @return whether this copy holds every prepared transaction {@code other} holds.
     */
    boolean holdsPreparesOf(final ReportEntry other)
    {
        for (int i = 0; i < other.prepares.length; i += 2)
        {
            boolean found = false;
            for (int j = 0; j < prepares.length && !found; j += 2)
            {
                found = prepares[j] == other.prepares[i] && prepares[j + 1] == other.prepares[i + 1];
            }
            if (!found)
            {
                return false;
            }
        }
        return true;
    }

    long highestClosed()
    {
        return gaps.length == 0 ? lwm : gaps[gaps.length - 2] + gaps[gaps.length - 1];
    }

    boolean sameAs(final ReportEntry other)
    {
        return lwm == other.lwm && Arrays.equals(gaps, other.gaps) && contentHash == other.contentHash;
    }

    boolean isEmpty()
    {
        return lwm == 0 && hwm == 0 && gaps.length == 0;
    }

    long applied()
    {
        long applied = lwm;
        for (int i = 1; i < gaps.length; i += 2)
        {
            applied += gaps[i];
        }
        return applied;
    }
}
