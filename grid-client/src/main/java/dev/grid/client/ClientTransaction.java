package dev.grid.client;

import dev.grid.core.Cache;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.client.FrameWriter;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An interactive transaction through the thin client. It lives on the member its connection reaches, which
 * coordinates it exactly as for an embedded user; if the connection breaks, that member rolls it back, and a commit
 * that was in flight ends with {@link ErrorCode#TX_COMMIT_STATUS_UNKNOWN}. Not thread-safe (one user thread at a
 * time, as for the embedded API).
 * <p>
 * In a pessimistic transaction, a write (put, remove, merge) of a key the transaction already locked (read under
 * REPEATABLE_READ or SERIALIZABLE, or written before) is sent without waiting for its answer, up to
 * 32 at once: the member only records it, as an embedded transaction does without any network
 * work, and answers with nothing. {@link #commit} waits for those answers first; if one of those writes failed, the
 * transaction is rolled back and the commit fails with that write's error. A transfer (read two keys, write both,
 * commit) waits for one round trip for both writes instead of one each.
 */
final class ClientTransaction implements Transaction
{
    private final GridClient client;
    private final ClientConnection connection;
    private final long txId;
    private final TransactionConcurrency concurrency;
    private final TransactionIsolation isolation;
    private boolean finished;
    /** Keys this transaction holds locks on, as far as its answers told (pessimistic only); completions add to it. */
    private final Set<LockedKey> locked = ConcurrentHashMap.newKeySet();
    /** Writes sent without waiting for their answers; commit checks them first. The user's thread only. */
    private final List<CompletableFuture<Void>> unconfirmed = new ArrayList<>();

    /** A cache's key, compared by content. */
    private record LockedKey(String cache, ByteBuffer key)
    {
    }

    /** The most writes not waited for at once; more are waited for. */
    private static final int MAX_UNCONFIRMED = 32;

    ClientTransaction(final GridClient client, final ClientConnection connection, final long txId,
        final TransactionConcurrency concurrency, final TransactionIsolation isolation)
    {
        this.client = client;
        this.connection = connection;
        this.txId = txId;
        this.concurrency = concurrency;
        this.isolation = isolation;
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
        return connection.request(op, payload).handle((answer, failure) ->
        {
            if (failure == null)
            {
                return answer;
            }
            final Throwable cause = failure instanceof CompletionException && failure.getCause() != null ?
                failure.getCause() : failure;
            if (cause instanceof ClientConnection.ConnectionLostException)
            {
                throw new CompletionException(op == ClientProtocol.TX_COMMIT ?
                    new GridException(ErrorCode.TX_COMMIT_STATUS_UNKNOWN, "the connection to member " +
                        connection.memberId() + " broke while the commit was in flight: read the data to learn " +
                        "the outcome") :
                    new GridException(ErrorCode.TX_ROLLED_BACK, "the connection to member " + connection.memberId() +
                        " broke; the member rolls the transaction back"));
            }
            throw cause instanceof RuntimeException runtime ? new CompletionException(runtime) :
                new CompletionException(cause);
        });
    }

    public <K, V> V get(final Cache<K, V> cache, final K key)
    {
        return GridClient.await(getAsync(cache, key));
    }

    public <K, V> CompletableFuture<V> getAsync(final Cache<K, V> cache, final K key)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        final byte[] encodedKey = c.encodeKey(key);
        final FrameWriter w = new FrameWriter();
        w.writeLong(txId).writeString(c.name()).writeBytes(encodedKey);
        final boolean locks = concurrency == TransactionConcurrency.PESSIMISTIC &&
            isolation != TransactionIsolation.READ_COMMITTED;
        return send(ClientProtocol.TX_GET, w).thenApply(a ->
        {
            if (locks)
            {
                locked.add(new LockedKey(c.name(), ByteBuffer.wrap(encodedKey)));
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
        GridClient.await(putAsync(cache, key, value));
    }

    public <K, V> CompletableFuture<Void> putAsync(final Cache<K, V> cache, final K key, final V value)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        final byte[] encodedKey = c.encodeKey(key);
        final FrameWriter w = new FrameWriter();
        w.writeLong(txId).writeString(c.name()).writeBytes(encodedKey).writeBytes(c.encodeValue(value, "value"));
        return write(ClientProtocol.TX_PUT, c.name(), encodedKey, w);
    }

    public <K, V> void remove(final Cache<K, V> cache, final K key)
    {
        GridClient.await(removeAsync(cache, key));
    }

    public <K, V> CompletableFuture<Void> removeAsync(final Cache<K, V> cache, final K key)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        final byte[] encodedKey = c.encodeKey(key);
        final FrameWriter w = new FrameWriter();
        w.writeLong(txId).writeString(c.name()).writeBytes(encodedKey);
        return write(ClientProtocol.TX_REMOVE, c.name(), encodedKey, w);
    }

    public <K, V> void merge(final Cache<K, V> cache, final K key, final V operand)
    {
        GridClient.await(mergeAsync(cache, key, operand));
    }

    public <K, V> CompletableFuture<Void> mergeAsync(final Cache<K, V> cache, final K key, final V operand)
    {
        final ClientCache<K, V> c = ClientCache.of(cache);
        final byte[] encodedKey = c.encodeKey(key);
        final FrameWriter w = new FrameWriter();
        w.writeLong(txId).writeString(c.name()).writeBytes(encodedKey).writeBytes(c.encodeValue(operand, "operand"));
        return write(ClientProtocol.TX_MERGE, c.name(), encodedKey, w);
    }

    /**
     * Send a write. One of a key this pessimistic transaction has locked is not waited for (see the class comment);
     * any other is, and a pessimistic one's success means its key is locked from then on.
     */
    private CompletableFuture<Void> write(final int op, final String cacheName, final byte[] encodedKey,
        final FrameWriter payload)
    {
        if (concurrency != TransactionConcurrency.PESSIMISTIC)
        {
            return send(op, payload).thenApply(a -> null);
        }
        final LockedKey key = new LockedKey(cacheName, ByteBuffer.wrap(encodedKey));
        if (locked.contains(key))
        {
            unconfirmed.removeIf(w -> w.isDone() && !w.isCompletedExceptionally());
            if (unconfirmed.size() < MAX_UNCONFIRMED)
            {
                unconfirmed.add(send(op, payload).thenApply(a -> null));
                return CompletableFuture.completedFuture(null);
            }
            // Enough of them in flight: this one is waited for (a member serves at most so many requests of a
            // connection at once, and every thread of the client shares the connection).
        }
        return send(op, payload).thenApply(a ->
        {
            locked.add(key);
            return null;
        });
    }

    public void commit()
    {
        if (!finished && !unconfirmed.isEmpty())
        {
            // The writes not waited for are awaited on this thread, so the commit is sent from it too (see
            // commitAsync); their failures are commitAsync's to report.
            CompletableFuture.allOf(unconfirmed.toArray(new CompletableFuture<?>[0])).handle((v, failure) -> null)
                .join();
        }
        GridClient.await(commitAsync());
    }

    public CompletableFuture<Void> commitAsync()
    {
        if (finished || unconfirmed.isEmpty())
        {
            return finish(ClientProtocol.TX_COMMIT);
        }
        finished = true;
        final CompletableFuture<?>[] writes = unconfirmed.toArray(new CompletableFuture<?>[0]);
        unconfirmed.clear();
        final CompletableFuture<Throwable> outcome = CompletableFuture.allOf(writes).handle((v, failure) -> failure);
        // Not on the connection's reader thread, which completes the writes' answers: a send may block on a full
        // socket while the member waits for that thread to read.
        return outcome.isDone() ? commitAfter(outcome.join()) : outcome.thenComposeAsync(this::commitAfter);
    }

    /** Commit once every write not waited for was answered, or roll back and fail with the first refused one. */
    private CompletableFuture<Void> commitAfter(final Throwable failure)
    {
        if (failure == null)
        {
            return end(ClientProtocol.TX_COMMIT);
        }
        // A write the member refused: committing would leave it out.
        final Throwable cause = failure instanceof CompletionException && failure.getCause() != null ?
            failure.getCause() : failure;
        final RuntimeException error = cause instanceof GridException refused ? GridException.of(refused.errorCode(),
            refused.detail() + "; the transaction was rolled back") : cause instanceof RuntimeException runtime ?
            runtime : new CompletionException(cause);
        return end(ClientProtocol.TX_ROLLBACK).handle((a, rollbackFailure) ->
        {
            throw error instanceof CompletionException ? (CompletionException)error : new CompletionException(error);
        });
    }

    public void rollback()
    {
        GridClient.await(rollbackAsync());
    }

    public CompletableFuture<Void> rollbackAsync()
    {
        return finish(ClientProtocol.TX_ROLLBACK);
    }

    private CompletableFuture<Void> finish(final int op)
    {
        if (finished)
        {
            return CompletableFuture.completedFuture(null);
        }
        finished = true;
        return end(op);
    }

    private CompletableFuture<Void> end(final int op)
    {
        final FrameWriter w = new FrameWriter();
        w.writeLong(txId);
        return send(op, w).thenApply(a -> null);
    }

    public void close()
    {
        if (!finished)
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
