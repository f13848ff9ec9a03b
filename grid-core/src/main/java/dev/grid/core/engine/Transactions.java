package dev.grid.core.engine;

import dev.grid.core.GridException;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/**
 * A member's transactions as one component of its engine (grid-tx's {@code TxManager}): the coordinator side for the
 * transactions this member's users begin, and the participant side for the partitions this member holds. The engine
 * creates it with a {@link TransactionContext}, routes the transaction messages to {@link #onMessage}, drives
 * {@link #duty} every cycle, tells it of topology and map changes, and consults it where replication, the exchange,
 * rebalance, checkpoints and WAL replay meet transactions.
 * <p>
 * <b>Threading:</b> the engine's thread only; no method blocks.
 */
public interface Transactions extends TransactionSteps
{
    // ---------------------------------------------------------------------------------------------------------
    // The coordinator side, for this member's users.
    // ---------------------------------------------------------------------------------------------------------

    // begin, priority, enlist, commit, rollback: see TransactionSteps.

    /** @return whether this member coordinates the transaction and it is not yet committing. */
    boolean coordinates(long txId);

    /** @return the transactions this member coordinates, oldest first. */
    List<TransactionView> views();

    // ---------------------------------------------------------------------------------------------------------
    // The engine's loop.
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Handle a transaction message; its body is at the context's {@link TransactionContext#reader}.
     *
     * @param type   its type ({@link MessageTypes}).
     * @param sender the sender's incarnation.
     * @return false if the type is not a transaction message (nothing was read).
     */
    boolean onMessage(int type, long sender);

    /** @return the work done by timers: timeouts, resends, recovery questions. */
    int duty();

    /** @return whether no transaction is in flight here, as coordinator or participant. */
    boolean isIdle();

    /** @return a one-line state for diagnostics. */
    String describe();

    /**
     * This member stops or leaves: undecided transactions of its own abort with {@code error}, decided ones end
     * with their commit status unknown.
     *
     * @param clearParticipants whether participant state is dropped too (the copies go).
     */
    void abandon(GridException error, boolean clearParticipants);

    /**
     * This member rejoins keeping its copies (an in-memory member whose cluster dissolves into another): its own
     * transactions end as {@link #abandon} says, and of its participant state only the prepares are kept, held as a
     * restart would recover them from the WAL ({@link #replayPrepare}), so that its transactions' other participants
     * and this copy end them alike.
     *
     * @param error what the member's own undecided transactions abort with.
     */
    void abandonKeepingPrepares(GridException error);

    // ---------------------------------------------------------------------------------------------------------
    // Membership and the exchange.
    // ---------------------------------------------------------------------------------------------------------

    /**
     * A new topology was adopted: undecided transactions of this coordinator abort (with the cache's name when a cache
     * they touch is gone).
     *
     * @param inNewTopology whether a cache id is in the new topology.
     * @param nameBefore    a cache's name in the previous topology, or null if it had none of that id.
     */
    void onTopologyChanged(IntPredicate inNewTopology, IntFunction<String> nameBefore);

    /** A member left: what it had asked of this member as participant is forgotten. */
    void forgetMember(long incarnation);

    /** @return whether a prepared part waits for a backup's acknowledgement (the exchange report waits for it). */
    boolean hasUnacknowledgedPrepares();

    /** @return per copy ({@link PartitionCopy#pack}), the (coordinator, seq) pairs of prepares held, sorted. */
    Map<Long, long[]> preparesByCopy();

    /** A new partition map is installed. */
    void onInstalled();

    /**
     * A map settled (every member of its topology installed it), or quorum is held again: "committed" answers held
     * for a settled map go, while this member holds quorum.
     */
    void onMapSettled();

    // ---------------------------------------------------------------------------------------------------------
    // Replication.
    // ---------------------------------------------------------------------------------------------------------

    /** @return whether a transaction holds the key's lock here. */
    boolean isLocked(int cacheId, byte[] key);

    /** Run {@code retry} once the key's lock is free (a single-key update waits for it). */
    void block(int cacheId, byte[] key, Runnable retry);

    /** @return whether a transaction part commits or rolls back on this partition here as its primary. */
    boolean isApplyingOn(int cacheId, int partition);

    // ---------------------------------------------------------------------------------------------------------
    // WAL replay and checkpoints.
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Replay a prepare record (or a checkpoint manifest's prepared part): held like a backup's prepare until the
     * partition's primary recovers it.
     *
     * @param key          the part.
     * @param priority     its transaction's wait-die priority.
     * @param participants every primary of the transaction, as the prepare listed them.
     * @param keys         its writes' keys.
     * @param values       its writes' values, index for index (null: a remove).
     */
    void replayPrepare(TxPartKey key, long priority, long[] participants, byte[][] keys, byte[][] values);

    /** Replay the end of a prepared part. */
    void replayEnd(TxPartKey key, boolean committed);

    /** Replay the void of a prepare held as a backup. */
    void replayVoid(TxPartKey key);

    /** Replay a transaction's write: its part is remembered as committed. */
    void replayCommitted(long coordinator, long seq, int cacheId, int partition);

    /** Forget prepares of a copy dropped (partition -1: of the whole cache; cache id -1: of every copy). */
    void forgetPrepared(int cacheId, int partition);

    /** Forget the commits remembered for a copy that is gone. */
    void forgetCommitted(int cacheId, int partition);

    /** Replay reached the drop of a copy older than the checkpoint's image: keep only the manifest's commits. */
    void forgetCommittedBeforeImage(int cacheId, int partition);

    /** Write the parts prepared and not finished, for a checkpoint's manifest. */
    void encodePrepared(MessageWriter writer);

    /** Write the parts remembered as committed or committing, then as rolled back or rolling back, for a manifest. */
    void encodeCommitted(MessageWriter writer);

    /** Load what {@link #encodePrepared} and {@link #encodeCommitted} wrote. */
    void decodePrepared(MessageReader reader);

    // ---------------------------------------------------------------------------------------------------------
    // Rebalance.
    // ---------------------------------------------------------------------------------------------------------

    /** A copy is being rebuilt: log its prepares again after the dropped-copy record. */
    void relogPrepared(int cacheId, int partition);

    /** Remember a part finished elsewhere (rebalance, or its replay). */
    void rememberFinished(long coordinator, long seq, int cacheId, int partition, boolean committed);

    /** @return the parts of a partition prepared here and still open. */
    List<TxPartKey> openOn(int cacheId, int partition);

    /** A rebalance finished: prepares recovered from the WAL that the supplier does not hold open are void. */
    void voidReplayedNotOpen(int cacheId, int partition, Set<TxPartKey> supplierOpen);

    /** @return {coordinator, seq, committed ? 1 : 0} of each part remembered as finished on the partition. */
    List<long[]> finishedOn(int cacheId, int partition);
}
