package dev.grid.core.engine;

import dev.grid.core.GridException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;

/**
 * What a member's engine gives its transaction component ({@link Transactions}): the narrow context it works in,
 * instead of the engine's fields. Time is the engine's (passed in by its duty cycle, never read from a clock), the
 * cluster is the installed partition map and the adopted topology, local data is reached through
 * {@link PartitionCopy}, messages go out through {@link #header} and {@link #send}, and the WAL through the append
 * methods, whose positions {@link #awaitDurable} waits for.
 * <p>
 * <b>Threading:</b> the engine's thread only; every method returns at once.
 */
public interface TransactionContext
{
    /** No member: incarnations are never 0. */
    long NO_MEMBER = 0;

    /**
     * @param nowNs     the current time.
     * @param timeoutNs a timeout; 0 or less for none left.
     * @return when it expires, saturated at {@link Long#MAX_VALUE}.
     */
    static long deadlineNs(final long nowNs, final long timeoutNs)
    {
        if (timeoutNs <= 0)
        {
            return nowNs;
        }
        final long deadline = nowNs + timeoutNs;
        return deadline < nowNs ? Long.MAX_VALUE : deadline;
    }

    /** @return the engine's time of the current duty cycle or message, in nanoseconds. */
    long nowNs();

    /**
     * @return the member's wall clock at {@link #nowNs()}, in epoch milliseconds ({@link dev.grid.core.spi.WallClock}):
     *         what compares across members (each process's monotonic clock has an origin of its own), so transactions'
     *         ages are taken from it.
     */
    long epochMs();

    /** @return how long to wait before sending an unanswered request again. */
    long retryIntervalNs();

    /** @return this member's configured id (for events and error messages). */
    String memberId();

    /** @return this member's incarnation (its identity in the topology for this life). */
    long incarnation();

    /** @return a new sequence of this member's own operations (a transaction's id). */
    long newSequence();

    /** @return whether an exchange is running (no map installed for the newest topology yet). */
    boolean isExchanging();

    /**
     * @param incarnation a member's incarnation.
     * @return whether it is a member of the adopted topology.
     */
    boolean isMember(long incarnation);

    /** @return the version of the adopted topology. */
    long topologyVersion();

    /**
     * @param cacheId a cache.
     * @return its number of partitions, or 0 if the topology has no such cache (never created, or destroyed).
     */
    int partitionsOf(int cacheId);

    /**
     * @param cacheId a cache.
     * @return its name, or null if the topology has no such cache.
     */
    String cacheName(int cacheId);

    /**
     * Keep the transaction message being handled (only while {@link Transactions#onMessage} handles it) and handle it
     * again once the next partition map is installed (which may still be older than the message's: then it may park
     * again), unless its sender left by then. Dropped if no map is installed within the join timeout; a copy equal to
     * one already parked is not kept twice.
     */
    void parkUntilInstalled();

    /** @return whether a partition map is installed. */
    boolean hasMap();

    /** @return the installed map's version, or -1 if none is. */
    long mapVersion();

    /**
     * @return the newest topology version whose map every member of that topology installed, as this member knows
     *         (a part's "committed" waits for its map to settle, as a single write's answer does).
     */
    long settledVersion();

    /** @return whether the installed map is active (not waiting for its last members after a whole-cluster stop). */
    boolean isMapActive();

    /**
     * @param cacheId   the cache.
     * @param partition the partition.
     * @return the incarnation of the partition's primary in the installed map, or {@link #NO_MEMBER}.
     */
    long primaryOf(int cacheId, int partition);

    /**
     * @param cacheId   the cache.
     * @param partition the partition.
     * @param member    a member's incarnation.
     * @return its rank among the partition's owners in the installed map (0: primary, MOVING copies after OWNING
     *         ones), or -1 if it is not one, the map has no such cache, or no map is installed.
     */
    int rankOf(int cacheId, int partition, long member);

    /**
     * @param cacheId   the cache.
     * @param partition the partition.
     * @return this member's {@link #rankOf rank} among the partition's owners in the installed map.
     */
    default int rankHere(final int cacheId, final int partition)
    {
        return rankOf(cacheId, partition, incarnation());
    }

    /**
     * @param cacheId   the cache.
     * @param partition the partition.
     * @return the incarnations of the partition's owners in the installed map, primary first.
     */
    long[] ownersOf(int cacheId, int partition);

    /**
     * @param cacheId   the cache.
     * @param partition the partition.
     * @return whether the installed map holds the partition lost.
     */
    boolean isLost(int cacheId, int partition);

    /**
     * @param cacheId   the cache.
     * @param partition the partition.
     * @return this member's copy of the partition, or null.
     */
    PartitionCopy copy(int cacheId, int partition);

    /**
     * @param cacheId   the cache.
     * @param partition the partition.
     * @return whether updates of the partition are paused here (a rebalance or check holds them).
     */
    boolean isPaused(int cacheId, int partition);

    /**
     * @param cacheId   the cache.
     * @param partition the partition.
     * @param write     whether the operation writes.
     * @return why a lost partition refuses the operation under the cache's loss policy, or null if it does not.
     */
    String lossRefusal(int cacheId, int partition, boolean write);

    /**
     * Whether the member's memory bound lets this primary store a transaction's value (an evicting cache makes room
     * first, as for a single write).
     *
     * @param cacheId   the cache.
     * @param partition the partition.
     * @param key       the key written.
     * @return null if it may, else the refusal ({@link dev.grid.core.ErrorCode#MEMORY_BOUND_EXCEEDED}).
     */
    dev.grid.core.GridException memoryRefusal(int cacheId, int partition, byte[] key);

    /**
     * Close the still open counters of {@code (start, start + count]} without data (a rolled back reservation), and
     * log it so replay closes them too.
     */
    void closeRange(PartitionCopy copy, long start, long count);

    /** An update of a copy began: the engine's idle check and checkpoints wait for it to finish. */
    void updateStarted();

    /** An update begun by {@link #updateStarted} finished. */
    void updateFinished();

    /** @return whether this member hears a quorum of the topology's members. */
    boolean hasQuorum();

    /** @return whether this member refuses changes now for want of quorum. */
    boolean refusesForQuorum();

    /**
     * @param what the refused operation, for the message.
     * @return the error refusing it for want of quorum.
     */
    GridException noQuorum(String what);

    /**
     * @return the members' message codec: {@link MemberMessages#encode} starts a message in the engine's writer (sent
     *         with {@link #send}), {@link MemberMessages#decode} reads the message being handled.
     */
    MemberMessages messages();

    /**
     * Send the message started by {@link MemberMessages#encode} and ended by {@link MemberMessages#finish}; to this
     * member itself it is handled in the next duty cycle.
     *
     * @param destination the recipient's incarnation; a member not in the topology gets nothing.
     */
    void send(long destination);

    /** @return the WAL position of a transaction part's prepare record, appended now. */
    long appendTxPrepare(TxPartKey key, long priority, long[] participants, byte[][] keys, byte[][] values);

    /**
     * @return the WAL position of a record voiding a prepare this member holds as a backup (recovered from the WAL
     *         and not held by the rebalance's supplier, or one its primary committed another transaction over),
     *         appended now.
     */
    long appendTxVoid(TxPartKey key);

    /** @return the WAL position of a transaction part's end record, appended now. */
    long appendTxEnd(TxPartKey key, boolean committed);

    /** @return the WAL position of one write of a transaction under its counter, appended now. */
    long appendTxData(PartitionCopy copy, long counter, long coordinator, long seq, byte[] key, byte[] value);

    /** @return the WAL position of the last record appended. */
    long appendedPosition();

    /**
     * Run {@code onDurable} once the WAL is durable up to {@code position} (and, with a counter, once the copy's
     * counter is applied through it).
     *
     * @param position  a WAL position.
     * @param copy      the copy the record is about.
     * @param counter   the counter the record applied, or 0.
     * @param onDurable what to run then, or null.
     */
    void awaitDurable(long position, PartitionCopy copy, long counter, Runnable onDurable);

    /** @param message an event for the member's log. */
    void event(String message);

    /** @param prepareNs how long a transaction took to prepare. */
    void transactionPrepared(long prepareNs);

    /**
     * @param errorCode 0, or the code of the error it ended with.
     * @param commitNs  how long its commit took, or -1.
     * @param totalNs   how long it lived.
     */
    void transactionFinished(int errorCode, long commitNs, long totalNs);

    /** @param waitNs how long a lock request waited. */
    void lockWaited(long waitNs);
}
