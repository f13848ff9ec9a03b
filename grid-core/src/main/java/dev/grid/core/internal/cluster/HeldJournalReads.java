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
 * exchanging or without quorum) is answered with a remap, and the reader's member sends it to the new primary. A read
 * sent again by its origin (its resend every retry interval) leaves the one held for it as it is.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class HeldJournalReads
{
    /** Between checks of the held reads. */
    static final long CHECK_INTERVAL_NS = 1_000_000L;
    /** The longest a read may be held, whatever it asks. */
    static final long WAIT_MAX_NS = 30_000_000_000L;

    private final MemberContext context;
    /** By origin and sequence, in the order held (deterministic, for the simulator). */
    private final Map<ReadId, Held> held = new LinkedHashMap<>();
    private long nextCheckNs;

    HeldJournalReads(final MemberContext context)
    {
        this.context = context;
    }

    /** A held read's identity: the member that sent it and its sequence there. */
    private record ReadId(long origin, long sequence)
    {
    }

    /** A held read: where it reads, from which position, and until when it waits. */
    private record Held(int cacheId, int partition, long after, byte[] request, long untilNs)
    {
    }

    /**
     * Hold a read until the partition's horizon passes {@code after} or {@code untilNs}.
     *
     * @param request the read's request, answered as is once it is due.
     */
    void hold(final LocalPartition lp, final long origin, final long sequence, final long after,
        final byte[] request, final long untilNs)
    {
        // A resend of a read held already keeps the first one's end: resends come every retry interval and would
        // otherwise hold it until close to the operation's deadline.
        held.putIfAbsent(new ReadId(origin, sequence), new Held(lp.cacheId, lp.partition, after, request,
            Math.min(untilNs, context.nowNs() + WAIT_MAX_NS)));
    }

    /** @return how many reads are held. */
    int size()
    {
        return held.size();
    }

    /**
     * Answer the held reads that are due: their horizon moved past their position, their wait ended, or this member
     * no longer serves their partition as primary.
     *
     * @return the number answered.
     */
    int duty()
    {
        if (held.isEmpty() || context.nowNs() < nextCheckNs)
        {
            return 0;
        }
        nextCheckNs = context.nowNs() + CHECK_INTERVAL_NS;
        int answered = 0;
        for (final Iterator<Map.Entry<ReadId, Held>> it = held.entrySet().iterator(); it.hasNext(); )
        {
            final Map.Entry<ReadId, Held> entry = it.next();
            final Held read = entry.getValue();
            final ReadId id = entry.getKey();
            final CacheDescriptor cache = context.topology().cache(read.cacheId());
            final LocalPartition lp = cache == null ? null : context.localCopy(read.cacheId(), read.partition());
            if (lp == null || !servesAsPrimary(lp, cache))
            {
                it.remove();
                context.replication().answerRemap(id.origin(), id.sequence());
                answered++;
            }
            else if (context.nowNs() >= read.untilNs() || KeyOperations.horizon(lp) > read.after())
            {
                it.remove();
                context.keyOperations().answerJournalRead(lp, cache, id.origin(), id.sequence(), read.request());
                answered++;
            }
        }
        return answered;
    }

    /** Drop every held read: the engine stops (their origins time out or fail with it). */
    void clear()
    {
        held.clear();
    }

    private boolean servesAsPrimary(final LocalPartition lp, final CacheDescriptor cache)
    {
        return context.state() == MemberState.ACTIVE && !context.isExchanging() && context.installedMap() != null &&
            context.membership().hasQuorum() && lp.state == PartitionState.OWNING &&
            context.installedMap().rank(lp.cacheId, lp.partition,
                context.installedMap().topology().indexOf(context.incarnation())) == 0;
    }
}
