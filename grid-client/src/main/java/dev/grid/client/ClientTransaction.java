package dev.grid.client;

import dev.grid.core.Cache;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.OperationTimeoutException;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.client.FrameWriter;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * An interactive transaction through the thin client. It lives on the member its connection reaches, which
 * coordinates it exactly as for an embedded user; if the connection breaks, that member rolls it back, and a commit
 * that was in flight ends with {@link ErrorCode#TX_COMMIT_STATUS_UNKNOWN}. Not thread-safe (one user thread at a
 * time, as for the embedded API).
 * <p>
 * <b>Begun by its first step.</b> Its TX_BEGIN goes out with its first step, on the connection to the primary of that
 * step's key ({@link GridClient#transactionConnection}), so that the coordinating member holds that key's partition:
 * a transaction of keys of one partition (by affinity) then locks, prepares and commits with no message between
 * members, and one of two partitions with half as many. The member's clock for the transaction starts then, at its
 * first step, as for an embedded user's. The begin is not waited for: the steps follow it on the connection, and if
 * the member refused it, each step fails with the begin's error (nothing began, so a rollback succeeds). A transaction
 * with no step sends nothing: its commit and rollback succeed at once, and a step after them fails as on a member.
 * With a member of protocol version 1, which numbers only the begins it accepts, the begin goes out at
 * {@code beginTransaction} on the connection chosen then, and is waited for.
 * <p>
 * <b>Writes not waited for.</b> With a member of protocol version 3, a blocking write whose answer cannot fail but
 * for a fault (any write under OPTIMISTIC, which only buffers it; under PESSIMISTIC a write of a key this transaction
 * holds locked already, by a read or an earlier write) is sent and not waited for: the next step or the commit goes
 * right behind it, at most {@link #MAX_UNANSWERED_WRITES} of them outstanding. Such a write, and any asynchronous
 * write (its caller may not look at the answer before committing), is flagged "unanswered":
 * if it fails after all (the member refused it, the cache is gone), the member rolls the transaction back at its
 * commit, and the commit fails with the write's own error (its code, a message saying nothing was applied): a commit
 * never applies the transaction without one of its writes, and a fault that would fail every attempt is not reported
 * as an abort that retry loops take up.
 */
final class ClientTransaction implements Transaction
{
    private final GridClient client;
    /** The connection chosen at the begin: the transaction's when its first step's primary is not usable. */
    private final ClientConnection fallback;
    /** The transaction's connection, chosen by its first step (user thread); null before it. */
    private volatile ClientConnection connection;
    /** The id the member gives the transaction; set with {@link #connection}. */
    private long txId;
    /** The member's answer to the TX_BEGIN, not waited for; null before the first step. */
    private volatile CompletableFuture<ClientConnection.Answer> begun;
    private final TransactionConcurrency concurrency;
    private final TransactionIsolation isolation;
    private final long timeoutMs;
    private final Deadline deadline;
    /** Writes sent and not waited for, beyond which the next such write waits for the oldest. */
    static final int MAX_UNANSWERED_WRITES = 16;

    /** Writes sent and not waited for (user thread only), oldest first: the commit reports their failure. */
    private final ArrayDeque<CompletableFuture<Void>> unanswered = new ArrayDeque<>();
    /**
     * Writes not waited for that failed, taken off {@link #unanswered} before the commit, and asynchronous writes
     * (user thread only): the commit reports the first failure among them.
     */
    private final List<CompletableFuture<Void>> writesToReport = new ArrayList<>();
    /** Set when the commit failed because a write not waited for failed: nothing was applied. */
    private volatile boolean rolledBackByWrite;
    /** Keys this transaction holds locked (PESSIMISTIC, answered reads and writes); added on the reader's thread. */
    private final Set<LockedKey> locked = ConcurrentHashMap.newKeySet();
    /** The commit's outcome once commit was called: every later commit answers with it. */
    private CompletableFuture<Void> commit;
    private boolean rolledBack;

    /**
     * How long each of the transaction's requests may go unanswered: the transaction's timeout (a step may wait for a
     * lock as long as the transaction lives) and the client's request timeout, from the request's sending; never, for
     * a timeout beyond about 70 years.
     *
     * @param timeoutNs the time from a request's sending to its deadline, or 0 for none.
     * @param timeoutMs the same in milliseconds, for the error's message.
     */
    record Deadline(long timeoutNs, long timeoutMs)
    {
        private static final long LONGEST_NS = Long.MAX_VALUE / 4;

        static Deadline of(final Duration timeout, final long requestTimeoutNs)
        {
            if (timeout.compareTo(Duration.ofNanos(LONGEST_NS)) > 0 || requestTimeoutNs > LONGEST_NS)
            {
                return new Deadline(0, 0);
            }
            final long timeoutNs = Math.max(1, timeout.toNanos()) + requestTimeoutNs;
            return new Deadline(timeoutNs, TimeUnit.NANOSECONDS.toMillis(timeoutNs));
        }

        /** @return the deadline of a request sent now ({@link System#nanoTime}), or ClientConnection.NO_DEADLINE. */
        long atNs()
        {
            return timeoutNs == 0 ? ClientConnection.NO_DEADLINE : System.nanoTime() + timeoutNs;
        }
    }

    private ClientTransaction(final GridClient client, final ClientConnection fallback,
        final TransactionConcurrency concurrency, final TransactionIsolation isolation, final long timeoutMs,
        final Deadline deadline)
    {
        this.client = client;
        this.fallback = fallback;
        this.concurrency = concurrency;
        this.isolation = isolation;
        this.timeoutMs = timeoutMs;
        this.deadline = deadline;
    }

    /**
     * Begin a transaction: nothing is sent before its first step, unless the connection's member numbers only the
     * begins it accepts (protocol version 1): then the begin is sent now and its answer waited for.
     *
     * @param fallback  an open connection, the transaction's unless its first step's primary is usable.
     * @param timeoutMs the transaction's timeout, at least 1.
     */
    static ClientTransaction begin(final GridClient client, final ClientConnection fallback,
        final TransactionConcurrency concurrency, final TransactionIsolation isolation, final long timeoutMs,
        final Deadline deadline)
    {
        final ClientTransaction tx = new ClientTransaction(client, fallback, concurrency, isolation, timeoutMs,
            deadline);
        if (!fallback.pipelinesTransactionBegin())
        {
            tx.bind(fallback);
        }
        return tx;
    }

    /**
     * @param cache the cache of the step about to be sent.
     * @param key   its encoded key.
     * @return the transaction's connection, its TX_BEGIN sent on it first if this is its first step.
     * @throws GridException if the transaction ended before its first step (as a member's refuses such a step), or
     *                       its begin could not be sent.
     */
    private ClientConnection connectionFor(final String cache, final byte[] key)
    {
        if (connection == null)
        {
            if (commit != null)
            {
                throw new GridException(ErrorCode.CONFIGURATION_INVALID, "the transaction is already committed");
            }
            if (rolledBack)
            {
                throw new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK, "the transaction was rolled back");
            }
            bind(client.transactionConnection(cache, key, fallback));
        }
        return connection;
    }

    /** Send the TX_BEGIN on this connection (or, if it closed, any open one), which becomes the transaction's. */
    private void bind(final ClientConnection preferred)
    {
        final ClientConnection chosen = preferred.isOpen() ? preferred : client.anyConnection(null);
        final FrameWriter w = new FrameWriter();
        w.writeByte(concurrency.ordinal()).writeByte(isolation.ordinal()).writeLong(timeoutMs);
        if (!chosen.pipelinesTransactionBegin())
        {
            // A member of protocol version 1 numbers only the TX_BEGINs it accepts: its answer gives the id.
            final ClientConnection.Answer answer = GridClient.await(chosen.request(ClientProtocol.TX_BEGIN, w.array(),
                w.length(), deadline.atNs(), deadline.timeoutMs()));
            txId = answer.payload().readLong("txId");
            begun = CompletableFuture.completedFuture(answer);
            connection = chosen;
            return;
        }
        // Not waited for: the step goes right behind it (one round trip fewer), and reports its failure.
        final ClientConnection.Begun sent = chosen.begin(w, deadline.atNs(), deadline.timeoutMs());
        if (sent.answer().isCompletedExceptionally())
        {
            // Not even sent (the connection closed meanwhile): nothing began, which retry loops may take up.
            throw new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK, "the connection to member " +
                chosen.memberId() + " broke before the transaction began; nothing was applied");
        }
        sent.answer().thenAccept(answer ->
        {
            if (answer.payload().readLong("txId") != sent.txId())
            {
                // The member numbered it otherwise: the steps sent would reach another transaction. Closing the
                // connection rolls back every transaction on it before a commit can follow.
                chosen.close();
            }
        });
        txId = sent.txId();
        begun = sent.answer();
        connection = chosen;
    }

    /** A key by cache name and encoded bytes (by content). */
    private record LockedKey(String cache, ByteBuffer key)
    {
        LockedKey(final String cache, final byte[] key)
        {
            this(cache, ByteBuffer.wrap(key));
        }
    }

    public TransactionConcurrency concurrency()
    {
        return concurrency;
    }

    public TransactionIsolation isolation()
    {
        return isolation;
    }

    private CompletableFuture<ClientConnection.Answer> send(final int op, final FrameWriter payload)
    {
        final CompletableFuture<ClientConnection.Answer> sent = connection.request(op, payload.array(),
            payload.length(), deadline.atNs(), deadline.timeoutMs());
        return sent.handle((answer, failure) ->
        {
            if (failure == null)
            {
                return answer;
            }
            final Throwable refusal = beginRefusal();
            if (refusal != null)
            {
                if (op == ClientProtocol.TX_ROLLBACK)
                {
                    // Nothing began, so nothing is left to roll back.
                    return null;
                }
                if (op == ClientProtocol.TX_COMMIT)
                {
                    // Nothing was applied: an abort, which retry loops take up, as for any refused transaction.
                    throw new CompletionException(new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
                        "nothing was applied: the member refused the transaction's begin: " + refusal.getMessage()));
                }
                // The member refused the TX_BEGIN (answered before this step): that, not TRANSACTION_NOT_FOUND.
                throw new CompletionException(refusal);
            }
            final Throwable cause = failure instanceof CompletionException && failure.getCause() != null ?
                failure.getCause() : failure;
            if (cause instanceof OperationTimeoutException && op == ClientProtocol.TX_COMMIT)
            {
                // The commit may have gone through, or not: the documented "unknown" outcome, not a plain timeout.
                throw new CompletionException(GridException.of(ErrorCode.TX_COMMIT_STATUS_UNKNOWN, "member " +
                    connection.memberId() + " did not answer the commit: " + cause.getMessage() + "; read the data " +
                    "to learn the outcome"));
            }
            if (cause instanceof ClientConnection.ConnectionLostException)
            {
                // The documented exception types (TransactionCommitStatusUnknownException, TransactionAborted...).
                throw new CompletionException(op == ClientProtocol.TX_COMMIT ?
                    GridException.of(ErrorCode.TX_COMMIT_STATUS_UNKNOWN, "the connection to member " +
                        connection.memberId() + " broke while the commit was in flight: read the data to learn " +
                        "the outcome") :
                    GridException.of(ErrorCode.TX_ROLLED_BACK, "the connection to member " + connection.memberId() +
                        " broke; the member rolls the transaction back"));
            }
            throw cause instanceof RuntimeException runtime ? new CompletionException(runtime) :
                new CompletionException(cause);
        });
    }

    /** @return the member's refusal of the TX_BEGIN, or null if it began (or its answer is still to come). */
    private Throwable beginRefusal()
    {
        final CompletableFuture<ClientConnection.Answer> begun = this.begun;
        if (begun == null || !begun.isCompletedExceptionally())
        {
            return null;
        }
        try
        {
            begun.join();
            return null;
        }
        catch (final CompletionException failed)
        {
            final Throwable cause = failed.getCause() != null ? failed.getCause() : failed;
            // A broken connection or a begin given up unanswered is not a refusal: the step's own failure says what
            // that means for it.
            return cause instanceof ClientConnection.ConnectionLostException ||
                cause instanceof OperationTimeoutException ? null : cause;
        }
    }

    public <K, V> V get(final Cache<K, V> cache, final K key)
    {
        return GridClient.await(getAsync(cache, key));
    }

    public <K, V> CompletableFuture<V> getAsync(final Cache<K, V> cache, final K key)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        final FrameWriter w = new FrameWriter();
        final byte[] encoded = c.encodeKey(key);
        try
        {
            connectionFor(c.name(), encoded);
        }
        catch (final GridException notBegun)
        {
            return CompletableFuture.failedFuture(notBegun);
        }
        w.writeLong(txId).writeString(c.name()).writeBytes(encoded);
        final boolean locks = concurrency == TransactionConcurrency.PESSIMISTIC &&
            isolation != TransactionIsolation.READ_COMMITTED;
        return send(ClientProtocol.TX_GET, w).thenApply(a ->
        {
            if (locks)
            {
                locked.add(new LockedKey(c.name(), encoded));
            }
            return c.decodeValue(a.payload().readBytes("value"));
        });
    }

    public <K, V> Map<K, V> getAll(final Cache<K, V> cache, final Collection<? extends K> keys)
    {
        return GridClient.await(getAllAsync(cache, keys));
    }

    public <K, V> CompletableFuture<Map<K, V>> getAllAsync(final Cache<K, V> cache, final Collection<? extends K> keys)
    {
        final List<K> ordered = new ArrayList<>(keys);
        final List<CompletableFuture<V>> reads = new ArrayList<>();
        for (final K key : ordered)
        {
            reads.add(getAsync(cache, key));
        }
        return CompletableFuture.allOf(reads.toArray(new CompletableFuture[0])).thenApply(v ->
        {
            final Map<K, V> found = new HashMap<>();
            for (int i = 0; i < ordered.size(); i++)
            {
                final V value = reads.get(i).join();
                if (value != null)
                {
                    found.put(ordered.get(i), value);
                }
            }
            return found;
        });
    }

    public <K, V> void put(final Cache<K, V> cache, final K key, final V value)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        write(ClientProtocol.TX_PUT, c.name(), c.encodeKey(key), c.encodeValue(value, "value"), false);
    }

    public <K, V> CompletableFuture<Void> putAsync(final Cache<K, V> cache, final K key, final V value)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        return write(ClientProtocol.TX_PUT, c.name(), c.encodeKey(key), c.encodeValue(value, "value"), true);
    }

    public <K, V> void remove(final Cache<K, V> cache, final K key)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        write(ClientProtocol.TX_REMOVE, c.name(), c.encodeKey(key), null, false);
    }

    public <K, V> CompletableFuture<Void> removeAsync(final Cache<K, V> cache, final K key)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        return write(ClientProtocol.TX_REMOVE, c.name(), c.encodeKey(key), null, true);
    }

    public <K, V> void merge(final Cache<K, V> cache, final K key, final V operand)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        write(ClientProtocol.TX_MERGE, c.name(), c.encodeKey(key), c.encodeValue(operand, "operand"), false);
    }

    public <K, V> CompletableFuture<Void> mergeAsync(final Cache<K, V> cache, final K key, final V operand)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        return write(ClientProtocol.TX_MERGE, c.name(), c.encodeKey(key), c.encodeValue(operand, "operand"), true);
    }

    /**
     * Send a write step; a blocking one ({@code async} false) waits for its answer unless the answer cannot fail but
     * for a fault (see the class comment).
     *
     * @param value the value or operand, or null for a remove.
     * @return the write's answer (completed at once for a blocking write not waited for).
     */
    private CompletableFuture<Void> write(final int op, final String cacheName, final byte[] key, final byte[] value,
        final boolean async)
    {
        final LockedKey lockedKey = new LockedKey(cacheName, key);
        final ClientConnection connection;
        try
        {
            connection = connectionFor(cacheName, key);
        }
        catch (final GridException notBegun)
        {
            if (async)
            {
                return CompletableFuture.failedFuture(notBegun);
            }
            throw notBegun;
        }
        final boolean pessimistic = concurrency == TransactionConcurrency.PESSIMISTIC;
        final boolean flags = connection.pipelinesTransactionWrites();
        final boolean waitless = !async && flags && (!pessimistic || locked.contains(lockedKey));
        if (waitless)
        {
            // Never waits on the connection's reader thread (a write from an answer's callback), which alone could
            // bring the answer waited for.
            final boolean mayWait = !connection.isReaderThread();
            while (!unanswered.isEmpty() && (unanswered.peekFirst().isDone() ||
                mayWait && unanswered.size() >= MAX_UNANSWERED_WRITES))
            {
                keepFailed(unanswered.pollFirst());
            }
        }
        final FrameWriter w = new FrameWriter();
        w.writeLong(txId).writeString(cacheName).writeBytes(key);
        if (value != null)
        {
            w.writeBytes(value);
        }
        if (flags)
        {
            // An asynchronous write is flagged too: this client does not wait for it, and cannot know whether its
            // caller will before committing, so its failure dooms the commit as well (a commit never applies the
            // transaction without a write whose failure may have gone unseen).
            w.writeByte(waitless || async ? 1 : 0);
        }
        final CompletableFuture<Void> answered = send(op, w).thenApply(a ->
        {
            if (pessimistic)
            {
                locked.add(lockedKey);
            }
            return null;
        });
        if (waitless)
        {
            // Its failure, if any, is the commit's (the member rolls the transaction back).
            unanswered.addLast(answered);
            return CompletableFuture.completedFuture(null);
        }
        if (async && flags)
        {
            // Flagged too: the commit reports its failure as it does a blocking one's (not capped: never waited for).
            writesToReport.add(answered);
        }
        // A copy for the caller: what it does to its future (cancel, orTimeout) must not hide the failure the commit
        // reports.
        return async ? answered.copy() : CompletableFuture.completedFuture(GridClient.await(answered));
    }

    /**
     * A write not waited for, leaving the queue of unanswered ones (done, or waited for now as the queue is full): a
     * failed one stays for the commit to report.
     */
    private void keepFailed(final CompletableFuture<Void> write)
    {
        write.exceptionally(failure -> null).join();
        if (write.isCompletedExceptionally())
        {
            writesToReport.add(write);
        }
    }

    public void commit()
    {
        GridClient.await(commitAsync());
    }

    /**
     * Commit; called again, the first commit's outcome. After a rollback it fails as the member's own transactions do:
     * nothing was applied.
     */
    public CompletableFuture<Void> commitAsync()
    {
        if (rolledBack)
        {
            return CompletableFuture.failedFuture(new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
                "the transaction was rolled back"));
        }
        if (commit == null)
        {
            // No step, no begin sent: nothing to apply.
            commit = connection == null ? CompletableFuture.completedFuture(null) :
                behindWrites(finish(ClientProtocol.TX_COMMIT));
        }
        // A copy: what a caller does to its future (orTimeout, cancel, complete) must not change the outcome kept.
        return commit.copy();
    }

    public void rollback()
    {
        GridClient.await(rollbackAsync());
    }

    /**
     * Roll back (idempotent). After a commit: it fails if the commit succeeded (as a member's transaction does),
     * succeeds if the commit was aborted (nothing was applied), and otherwise fails with the commit's own error, where
     * a member's transaction returns normally: after a commit whose outcome is unknown, a rollback cannot say that
     * nothing was applied.
     */
    public CompletableFuture<Void> rollbackAsync()
    {
        if (commit != null)
        {
            return commit.handle((committed, failure) ->
            {
                final Throwable cause = failure instanceof CompletionException && failure.getCause() != null ?
                    failure.getCause() : failure;
                if (cause == null)
                {
                    throw new CompletionException(new GridException(ErrorCode.CONFIGURATION_INVALID,
                        "the transaction is already committed"));
                }
                if (!(cause instanceof TransactionAbortedException) && !rolledBackByWrite)
                {
                    throw new CompletionException(cause);
                }
                return null;
            });
        }
        if (rolledBack || connection == null || beginRefusal() != null)
        {
            // Nothing began on the member (no step was sent, or it refused the begin), or it is rolled back already.
            rolledBack = true;
            return CompletableFuture.completedFuture(null);
        }
        rolledBack = true;
        return finish(ClientProtocol.TX_ROLLBACK);
    }

    /**
     * The commit's outcome once the writes not waited for are answered too: if one failed, the member rolled the
     * transaction back, and the commit fails with that write's error (unless the connection broke with the commit
     * in flight: then its outcome is unknown, which that error says).
     */
    private CompletableFuture<Void> behindWrites(final CompletableFuture<Void> sent)
    {
        final List<CompletableFuture<Void>> writes = new ArrayList<>(writesToReport);
        writes.addAll(unanswered);
        unanswered.clear();
        writesToReport.clear();
        if (writes.isEmpty())
        {
            return sent;
        }
        final List<CompletableFuture<?>> all = new ArrayList<>(writes);
        all.add(sent);
        return CompletableFuture.allOf(all.toArray(new CompletableFuture[0])).handle((v, ignored) ->
        {
            final Throwable committing = failureOf(sent);
            if (committing == null)
            {
                return null;
            }
            // The commit's own error when its outcome is unknown, or when the begin was refused (an abort, which
            // the writes' failures only repeat).
            if (!(committing instanceof GridException unknown &&
                unknown.errorCode() == ErrorCode.TX_COMMIT_STATUS_UNKNOWN) && beginRefusal() == null)
            {
                for (final CompletableFuture<Void> write : writes)
                {
                    if (failureOf(write) instanceof GridException failed)
                    {
                        rolledBackByWrite = true;
                        // The write's own code, not an abort: retry loops take up aborts, and a fault (no merge
                        // operator), or a transaction that overloads its connection by itself (TOO_MANY_REQUESTS),
                        // would fail every attempt the same way.
                        throw new CompletionException(GridException.of(failed.errorCode(), "nothing was applied: " +
                            "the transaction was rolled back, as a write it did not wait for failed: " +
                            failed.getMessage()));
                    }
                }
            }
            throw new CompletionException(committing);
        });
    }

    /** @return the failure a completed future ended with, unwrapped, or null if it succeeded. */
    private static Throwable failureOf(final CompletableFuture<?> future)
    {
        try
        {
            future.join();
            return null;
        }
        catch (final CompletionException | CancellationException failed)
        {
            return failed.getCause() != null ? failed.getCause() : failed;
        }
    }

    private CompletableFuture<Void> finish(final int op)
    {
        final FrameWriter w = new FrameWriter();
        w.writeLong(txId);
        return send(op, w).thenApply(a -> null);
    }

    public void close()
    {
        if (commit == null && !rolledBack)
        {
            try
            {
                rollback();
            }
            catch (final GridException ignored)
            {
                // The connection is gone: the member rolled it back.
            }
        }
    }
}
