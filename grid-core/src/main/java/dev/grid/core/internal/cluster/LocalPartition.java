package dev.grid.core.internal.cluster;

import dev.grid.core.internal.partition.PartitionStore;
import dev.grid.core.internal.partition.PartitionUpdateCounter;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongHashSet;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * This member's copy of one partition of one cache: its store, its update counter, the outcomes of recent operations
 * (so that an operation retried after a lost answer or a primary's failure is answered, not applied twice) and, on the
 * primary, the updates still waiting for backups. Owned by the engine's thread.
 */
final class LocalPartition
{
    /** How many recent operation outcomes each copy remembers for retries. */
    static final int RECENT_OUTCOMES = 256;

    final int cacheId;
    final int partition;
    final PartitionStore store;
    final PartitionUpdateCounter counter;
    /** Updates this copy applied as primary and not yet acknowledged, by counter. */
    final Long2ObjectHashMap<PrimaryUpdate> inFlight = new Long2ObjectHashMap<>();
    /** Outcomes by operation key; a null value means the operation is still in flight here. */
    final LinkedHashMap<OpKey, OpOutcome> recent = new LinkedHashMap<>(64, 0.75f, false)
    {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(final Map.Entry<OpKey, OpOutcome> eldest)
        {
            return size() > RECENT_OUTCOMES;
        }
    };

    // During recovery only: the newest replayed outcomes, in order, in a ring (no hashing per record); moved into
    // recent when replay ends. Recovery replays far more operations than recent keeps.
    private OpKey[] replayKeys;
    private OpOutcome[] replayOutcomes;
    private boolean[] replayIfAbsent;
    private int replayCount;

    /**
     * Remember an outcome replayed from the WAL.
     *
     * @param key      the operation.
     * @param outcome  its outcome.
     * @param ifAbsent keep an outcome already known for the key (a predecessor's identity carried by a later update).
     */
    void replayRecent(final OpKey key, final OpOutcome outcome, final boolean ifAbsent)
    {
        if (replayKeys == null)
        {
            replayKeys = new OpKey[RECENT_OUTCOMES];
            replayOutcomes = new OpOutcome[RECENT_OUTCOMES];
            replayIfAbsent = new boolean[RECENT_OUTCOMES];
        }
        final int slot = replayCount++ % RECENT_OUTCOMES;
        replayKeys[slot] = key;
        replayOutcomes[slot] = outcome;
        replayIfAbsent[slot] = ifAbsent;
    }

    /**
     * Move the replayed outcomes into {@link #recent}, oldest first, after those an image brought.
     */
    void finishReplay()
    {
        if (replayKeys == null)
        {
            return;
        }
        final int kept = Math.min(replayCount, RECENT_OUTCOMES);
        for (int i = replayCount - kept; i < replayCount; i++)
        {
            final int slot = i % RECENT_OUTCOMES;
            if (replayIfAbsent[slot])
            {
                recent.putIfAbsent(replayKeys[slot], replayOutcomes[slot]);
            }
            else
            {
                recent.put(replayKeys[slot], replayOutcomes[slot]);
            }
        }
        replayKeys = null;
        replayOutcomes = null;
        replayIfAbsent = null;
    }

    LocalPartition(final int cacheId, final int partition)
    {
        this(cacheId, partition, new PartitionUpdateCounter(partition, PartitionUpdateCounter.GAPS_MAX_DEFAULT));
    }

    LocalPartition(final int cacheId, final int partition, final PartitionUpdateCounter counter)
    {
        this.cacheId = cacheId;
        this.partition = partition;
        this.store = new PartitionStore(partition);
        this.counter = counter;
    }

    /**
     * An operation's identity across retries: the incarnation of the member that submitted it and its sequence there.
     */
    record OpKey(long originIncarnation, long sequence)
    {
    }

    /**
     * An update this copy applied as primary, waiting for its backups and its own WAL.
     */
    static final class PrimaryUpdate
    {
        final long counter;
        final OpKey opKey;
        final OpOutcome outcome;
        final byte[] key;
        final byte[] value;
        final long topologyVersion;
        final LongHashSet pendingBackups = new LongHashSet();
        final long deadlineNs;
        long lastSentNs;
        boolean durable;

        PrimaryUpdate(
            final long counter,
            final OpKey opKey,
            final OpOutcome outcome,
            final byte[] key,
            final byte[] value,
            final long topologyVersion,
            final long deadlineNs)
        {
            this.counter = counter;
            this.opKey = opKey;
            this.outcome = outcome;
            this.key = key;
            this.value = value;
            this.topologyVersion = topologyVersion;
            this.deadlineNs = deadlineNs;
        }
    }
}
