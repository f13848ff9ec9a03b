package dev.grid.core.internal.cluster;

import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.PartitionState;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Journal reads a primary holds until there is something to answer: a listener's read that asks to wait
 * ({@code waitMs} in its request) and finds nothing after its position is kept here, and answered as soon as the
 * partition's horizon passes the position (the events then go out at once, as a push would), or when its wait ends.
 * So an idle registration costs one read per partition per wait rather than a stream of empty answers, and an event
 * reaches the listener one duty cycle after every copy holds it.
 * <p>
 * A held read whose partition this member no longer serves as primary (a map change, the copy dropped, the member
 * exchanging or without quorum) is answered with a remap, and the reader's member sends it to the new primary.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class HeldJournalReads
{
    /** The longest a read may be held, whatever it asks. */
    static final long WAIT_MAX_NS = 30_000_000_000L;
    /** Between checks of the held reads, at most one. */
    static final long CHECK_INTERVAL_NS = 1_000_000L;

    private final MemberContext context;
    /** Held reads by partition (packed cache id and partition), each in the order held (deterministic). */
    private final Map<Long, Map<ReadId, Held>> byPartition = new LinkedHashMap<>();
    /** The earliest end of a held read's wait: until then, and while nothing happens, there is nothing to check. */
    private long earliestUntilNs = Long.MAX_VALUE;
    /** Whether a duty cycle did work since the last check (horizons move, maps change, only then). */
    private boolean changed;
    private long nextCheckNs;

    HeldJournalReads(final MemberContext context)
    {
        this.context = context;
    }

    /** A held read's identity: the member that sent it and its sequence there. */
    private record ReadId(long origin, long sequence)
    {
    }

    /** A held read: from which position, and until when it waits. */
    private record Held(long after, byte[] request, long untilNs)
    {
    }

    /**
     * Hold a read until the partition's horizon passes {@code after} or {@code untilNs}. A resend of a read held
     * already (every retry interval, from a remote origin) leaves it as it is: it would otherwise hold it until close
     * to the operation's deadline.
     *
     * @param request the read's request, answered as is once it is due.
     */
    void hold(final LocalPartition lp, final long origin, final long sequence, final long after,
        final byte[] request, final long untilNs)
    {
        final long end = Math.min(untilNs, context.nowNs() + WAIT_MAX_NS);
        if (byPartition.computeIfAbsent(packed(lp.cacheId, lp.partition), k -> new LinkedHashMap<>())
            .putIfAbsent(new ReadId(origin, sequence), new Held(after, request, end)) == null)
        {
            earliestUntilNs = Math.min(earliestUntilNs, end);
        }
    }

    /**
     * Answer the held reads that are due: their horizon moved past their position, their wait ended, or this member
     * no longer serves their partition as primary. Horizons move, and maps change, only on a cycle that did work, so
     * while nothing happens nothing is checked until a wait ends; otherwise at most every {@link #CHECK_INTERVAL_NS},
     * computing each partition's horizon once.
     *
     * @param workDone whether this duty cycle did anything before.
     * @return the number answered.
     */
    int duty(final boolean workDone)
    {
        changed |= workDone;
        if (byPartition.isEmpty() || context.nowNs() < nextCheckNs || !changed && context.nowNs() < earliestUntilNs)
        {
            return 0;
        }
        changed = false;
        nextCheckNs = context.nowNs() + CHECK_INTERVAL_NS;
        int answered = 0;
        long earliest = Long.MAX_VALUE;
        for (final Iterator<Map.Entry<Long, Map<ReadId, Held>>> partitions = byPartition.entrySet().iterator();
            partitions.hasNext(); )
        {
            final Map.Entry<Long, Map<ReadId, Held>> entry = partitions.next();
            final int cacheId = (int)(entry.getKey() >>> 32);
            final int partition = (int)(long)entry.getKey();
            final CacheDescriptor cache = context.topology().cache(cacheId);
            final LocalPartition lp = cache == null ? null : context.localCopy(cacheId, partition);
            final boolean primary = lp != null && servesAsPrimary(lp);
            final long horizon = primary ? KeyOperations.horizon(lp) : Long.MIN_VALUE;
            for (final Iterator<Map.Entry<ReadId, Held>> it = entry.getValue().entrySet().iterator(); it.hasNext(); )
            {
                final Map.Entry<ReadId, Held> held = it.next();
                final ReadId id = held.getKey();
                if (!primary)
                {
                    it.remove();
                    context.replication().answerRemap(id.origin(), id.sequence());
                    answered++;
                }
                else if (context.nowNs() >= held.getValue().untilNs() || horizon > held.getValue().after())
                {
                    it.remove();
                    context.keyOperations().answerJournalRead(lp, cache, id.origin(), id.sequence(),
                        held.getValue().request());
                    answered++;
                }
                else
                {
                    earliest = Math.min(earliest, held.getValue().untilNs());
                }
            }
            if (entry.getValue().isEmpty())
            {
                partitions.remove();
            }
        }
        earliestUntilNs = earliest;
        return answered;
    }

    /** Drop every held read: the engine starts again (their origins resend or time out). */
    void clear()
    {
        byPartition.clear();
        earliestUntilNs = Long.MAX_VALUE;
    }

    private static long packed(final int cacheId, final int partition)
    {
        return (long)cacheId << 32 | partition & 0xFFFF_FFFFL;
    }

    private boolean servesAsPrimary(final LocalPartition lp)
    {
        // Under a map not settled yet a read waits (Replication.handleRequest): remapped, it is held there.
        return context.state() == MemberState.ACTIVE && !context.isExchanging() &&
            context.exchange().installedMapSettled() &&
            context.membership().hasQuorum() && lp.state == PartitionState.OWNING &&
            context.installedMap().rank(lp.cacheId, lp.partition,
                context.installedMap().topology().indexOf(context.incarnation())) == 0;
    }
}
