package dev.grid.core.internal.cluster;

import dev.grid.core.internal.cluster.LocalPartition.PrimaryUpdate;

import java.util.ArrayDeque;

/**
 * Actions that wait for the WAL: a queue of positions, each with what to do once the WAL holds it durably (close a
 * counter so that LWM may move, complete a primary's update, acknowledge a backup's, or run a callback). LWM never
 * passes a record that is not durable.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class Durability
{
    private final MemberContext context;
    private final ArrayDeque<DurabilityWait> durabilityQueue = new ArrayDeque<>();

    Durability(final MemberContext context)
    {
        this.context = context;
    }

    /** Forget what waits for durability: the member leaves its topology to join again. */
    void reset()
    {
        durabilityQueue.clear();
    }

    /** @param wait an acknowledgement (or step) to run once the WAL is durable up to its position. */
    void enqueue(final DurabilityWait wait)
    {
        durabilityQueue.add(wait);
    }

    /** @return how many acknowledgements wait for durability. */
    int waiting()
    {
        return durabilityQueue.size();
    }

    /**
     * Once the WAL holds {@code position} durably, close {@code counter} on the copy (LWM may move), then run
     * {@code onDurable} if given.
     */
    void awaitDurable(final long position, final LocalPartition lp, final long counter, final Runnable onDurable)
    {
        durabilityQueue.add(new DurabilityWait(position, lp, counter, null, 0, 0, onDurable));
    }

    int processDurability()
    {
        int work = 0;
        final long durable = context.wal().durablePosition();
        while (!durabilityQueue.isEmpty() && durabilityQueue.peek().position <= durable)
        {
            final DurabilityWait wait = durabilityQueue.poll();
            work++;
            if (wait.lp == null || context.localCopy(wait.lp.cacheId, wait.lp.partition) != wait.lp)
            {
                // The copy was dropped, or cleared for a full rebalance: its counter is gone, but whoever waits is
                // still answered (a cleared MOVING copy is not trusted until an exchange finds it identical to the
                // owners, so an update the stream does not bring it only delays its ownership).
                if (wait.onDurable != null)
                {
                    wait.onDurable.run();
                }
                else if (wait.lp != null && wait.update == null && wait.primary != 0 &&
                    context.topology().member(wait.primary) != null)
                {
                    context.replication().acknowledgeReplicate(wait.primary, wait.lp.cacheId, wait.lp.partition,
                        wait.counter, wait.version, true);
                }
                continue;
            }
            if (wait.counter > 0)
            {
                wait.lp.counter.apply(wait.counter - 1, 1);
            }
            if (wait.onDurable != null)
            {
                wait.onDurable.run();
            }
            else if (wait.update != null)
            {
                wait.update.durable = true;
                context.replication().tryComplete(wait.lp, wait.update);
            }
            else
            {
                context.replication().acknowledgeReplicate(wait.primary, wait.lp.cacheId, wait.lp.partition,
                    wait.counter, wait.version, true);
            }
        }
        return work;
    }

    record DurabilityWait(long position, LocalPartition lp, long counter, PrimaryUpdate update, long primary,
        long version, Runnable onDurable)
    {
    }
}
