package dev.grid.node;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;
import dev.grid.net.ClientEndpoint;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static dev.grid.node.RequestFields.enumOf;
import static dev.grid.node.RequestFields.requireBytes;
import static dev.grid.node.RequestFields.requireString;

/**
 * The steps of the thin client's interactive transactions ({@link ClientProtocol#TX_BEGIN} to
 * {@link ClientProtocol#TX_ROLLBACK}), each bound to the connection that began its transaction. Reads the request,
 * hands the step to the member's {@link MemberTransaction} and answers through {@link ClientService}.
 * <p>
 * <b>Writes sent without waiting</b> (protocol version 3): a client may send a transaction's TX_PUT, TX_MERGE or
 * TX_REMOVE, flagged "unanswered", and then its TX_COMMIT without waiting for the write's answer. So that such a commit
 * never commits without a write that failed, any failure of a flagged write (refused for too many requests, malformed,
 * an unknown cache, or failed in the transaction) makes the transaction's commit roll back
 * ({@link MemberTransaction#refuseCommit}). The mark is made before the connection's next frame is read (or, for a
 * failure in the transaction, before the member's agent takes its next step), so the commit always sees it. A write
 * the client waits for is not flagged: its failure leaves the transaction as it was, as on a member.
 * <p>
 * <b>Threading:</b> called on the thread serving the client endpoint (the member thread, or a TLS connection's
 * reader); answers are written when the member's futures complete.
 */
final class ClientTransactionSteps
{
    /** The protocol version from which a failed write step makes its transaction's commit roll back. */
    static final int WRITES_DOOM_COMMIT_VERSION = 3;

    private final GridMember member;
    private final ClientService service;

    ClientTransactionSteps(final GridMember member, final ClientService service)
    {
        this.member = member;
        this.service = service;
    }

    private static boolean isWrite(final int op)
    {
        return op == ClientProtocol.TX_PUT || op == ClientProtocol.TX_MERGE || op == ClientProtocol.TX_REMOVE;
    }

    /** @return whether a refusal of a request of {@code op} changes its transaction ({@link #refused}). */
    static boolean changedByRefusal(final int op)
    {
        return isWrite(op) || op == ClientProtocol.TX_COMMIT || op == ClientProtocol.TX_ROLLBACK;
    }

    void dispatch(final ClientEndpoint.Connection connection, final ClientService.Session session, final int op,
        final long requestId, final MessageReader reader, final long beginTxId)
    {
        switch (op)
        {
            case ClientProtocol.TX_BEGIN ->
            {
                final TransactionConcurrency concurrency = enumOf(TransactionConcurrency.values(),
                    reader.readByte("concurrency"), "concurrency");
                final TransactionIsolation isolation = enumOf(TransactionIsolation.values(),
                    reader.readByte("isolation"), "isolation");
                final long timeoutMs = reader.readLong("timeoutMs");
                if (timeoutMs <= 0)
                {
                    throw new MalformedMessageException("timeoutMs " + timeoutMs + " must be positive");
                }
                final MemberTransaction tx = ((MemberTransactions)member.transactions()).begin(concurrency,
                    isolation, Duration.ofMillis(timeoutMs));
                if (!session.keep(beginTxId, tx))
                {
                    rollBackQuietly(tx);
                }
                service.complete(connection, session, requestId, CompletableFuture.completedFuture(beginTxId),
                    (w, id) -> w.writeLong(id));
            }
            case ClientProtocol.TX_GET ->
            {
                final MemberTransaction tx = transaction(session, reader);
                final MemberCache<byte[], byte[]> cache = member.rawCache(requireString(reader, "cache"));
                // The ...Raw steps complete on the member thread: the answer is encoded there, with no hop.
                service.complete(connection, session, requestId, tx.getRaw(cache, requireBytes(reader, "key")),
                    (w, value) -> w.writeBytes(value));
            }
            case ClientProtocol.TX_PUT, ClientProtocol.TX_MERGE, ClientProtocol.TX_REMOVE ->
                write(connection, session, op, requestId, reader);
            case ClientProtocol.TX_COMMIT, ClientProtocol.TX_ROLLBACK ->
            {
                final long txId = reader.readLong("txId");
                final MemberTransaction tx = session.transactions.remove(txId);
                if (tx == null)
                {
                    throw new GridException(ErrorCode.TRANSACTION_NOT_FOUND, "transaction " + txId +
                        " is not open on this connection");
                }
                service.complete(connection, session, requestId, op == ClientProtocol.TX_COMMIT ? tx.commitRaw() :
                    tx.rollbackRaw(), (w, v) -> { });
            }
            default -> throw new GridException(ErrorCode.UNKNOWN_OPERATION, "unknown op code " + op);
        }
    }

    private void write(final ClientEndpoint.Connection connection, final ClientService.Session session, final int op,
        final long requestId, final MessageReader reader)
    {
        final MemberTransaction tx = transaction(session, reader);
        final boolean version3 = session.version >= WRITES_DOOM_COMMIT_VERSION;
        CompletableFuture<Void> written;
        // Until the flag is read, a version-3 write counts as unanswered: a frame too short to say dooms the commit.
        boolean unanswered = version3;
        try
        {
            final String cacheName = requireString(reader, "cache");
            final byte[] key = requireBytes(reader, "key");
            final byte[] value = op == ClientProtocol.TX_REMOVE ? null :
                requireBytes(reader, op == ClientProtocol.TX_PUT ? "value" : "operand");
            // Version 3's last field: whether the client goes on without waiting for this answer.
            unanswered = version3 && reader.readByte("unanswered") != 0;
            final MemberCache<byte[], byte[]> cache = member.rawCache(cacheName);
            written = switch (op)
            {
                case ClientProtocol.TX_PUT -> tx.putRaw(cache, key, value);
                case ClientProtocol.TX_MERGE -> tx.mergeRaw(cache, key, value);
                default -> tx.removeRaw(cache, key);
            };
        }
        catch (final RuntimeException ex)
        {
            // Unless the client said it waits (then it sees the failure and the transaction stays as it was).
            if (unanswered)
            {
                tx.refuseCommit(asGridException(op, ex));
            }
            throw ex;
        }
        if (unanswered)
        {
            // The answer is chained behind the mark: whatever sending it does (on TLS, a full queue closes the
            // connection on this thread), the transaction is marked first.
            written = written.whenComplete((v, failure) ->
            {
                if (failure != null)
                {
                    tx.refuseCommit(asGridException(op, failure));
                }
            });
        }
        service.complete(connection, session, requestId, written, (w, v) -> { });
    }

    /**
     * A request the member refused before serving it (too many outstanding). A write step of an open transaction,
     * flagged unanswered: that transaction's commit rolls back. A TX_COMMIT: the transaction is rolled back now (its
     * client cannot commit it again, and would otherwise leave its locks held until its timeout), and the answer says
     * so. A TX_ROLLBACK: the transaction is rolled back all the same, and answered as served. Either is answered once
     * the rollback ran.
     *
     * @param reader the request, positioned after its request id (its transaction id comes next).
     * @return the error to answer, or null if the request is answered here.
     */
    GridException refused(final ClientEndpoint.Connection connection, final ClientService.Session session,
        final int op, final long requestId, final MessageReader reader, final GridException refusal)
    {
        if (reader.remaining() < Long.BYTES)
        {
            return refusal;
        }
        if (op == ClientProtocol.TX_COMMIT || op == ClientProtocol.TX_ROLLBACK)
        {
            final MemberTransaction tx = session.transactions.remove(reader.readLong("txId"));
            if (tx == null)
            {
                return refusal;
            }
            // Answered once the rollback ran (so the client's next transaction finds the locks free), counted as
            // pending until then like a request served.
            final CompletableFuture<Void> rolledBack;
            try
            {
                rolledBack = tx.rollbackRaw();
            }
            catch (final RuntimeException ex)
            {
                // The member stops: its transactions end with it; the refusal is the answer.
                return refusal;
            }
            session.pending.incrementAndGet();
            service.complete(connection, session, requestId, op == ClientProtocol.TX_ROLLBACK ? rolledBack :
                rolledBack.handle((v, failure) ->
                {
                    throw new CompletionException(new TransactionAbortedException(ErrorCode.TX_ROLLED_BACK,
                        "nothing was applied: the transaction was rolled back, its commit refused: " +
                        refusal.getMessage()));
                }), (w, v) -> { });
            return null;
        }
        if (isWrite(op) && session.version >= WRITES_DOOM_COMMIT_VERSION)
        {
            final MemberTransaction tx = session.transactions.get(reader.readLong("txId"));
            if (tx != null && flaggedUnanswered(op, reader))
            {
                tx.refuseCommit(refusal);
            }
        }
        return refusal;
    }

    /** @return whether a write's frame, read past its transaction id, is flagged unanswered (or too short to say). */
    private static boolean flaggedUnanswered(final int op, final MessageReader reader)
    {
        try
        {
            reader.readString("cache");
            reader.readBytes("key");
            if (op != ClientProtocol.TX_REMOVE)
            {
                reader.readBytes("value");
            }
            return reader.readByte("unanswered") != 0;
        }
        catch (final MalformedMessageException ex)
        {
            return true;
        }
    }

    private static GridException asGridException(final int op, final Throwable failure)
    {
        final Throwable cause = failure instanceof CompletionException && failure.getCause() != null ?
            failure.getCause() : failure;
        return cause instanceof GridException grid ? grid : new GridException(ErrorCode.MALFORMED_REQUEST,
            ClientProtocol.name(op) + ": " + cause.getMessage());
    }

    private static MemberTransaction transaction(final ClientService.Session session, final MessageReader reader)
    {
        final long txId = reader.readLong("txId");
        final MemberTransaction tx = session.transactions.get(txId);
        if (tx == null)
        {
            throw new GridException(ErrorCode.TRANSACTION_NOT_FOUND, "transaction " + txId +
                " is not open on this connection");
        }
        return tx;
    }

    static void rollBackQuietly(final Transaction tx)
    {
        try
        {
            tx.rollbackAsync();
        }
        catch (final RuntimeException ignored)
        {
            // Already finished.
        }
    }
}
