package dev.grid.tx;

import dev.grid.core.ErrorCode;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static dev.grid.tx.FakeCluster.CACHE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The isolation rules ({@link TxSession}) over grid-tx's own transactions on fake members ({@link FakeCluster}): what
 * each concurrency and isolation locks, what a read sees, and what commit validates and writes.
 */
class TxSessionWithFakesTest
{
    private static final long TIMEOUT_NS = 5_000_000_000L;

    private final FakeCluster cluster = new FakeCluster(3);
    private final FakeCluster.Member coordinator = cluster.member(0);
    private final byte[] a = FakeCluster.keyIn(1, "a");
    private final byte[] b = FakeCluster.keyIn(2, "b");

    /** Merges append the operand to the current value (absent: the operand alone). */
    private static final TxSession.Merges APPEND = (cacheId, key, current, operand) ->
        current == null ? operand : (text(current) + text(operand)).getBytes(StandardCharsets.UTF_8);

    private static byte[] bytes(final String text)
    {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(final byte[] bytes)
    {
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    private TxSession session(final TransactionConcurrency concurrency, final TransactionIsolation isolation)
    {
        return new TxSession(coordinator.tx, concurrency, isolation, TIMEOUT_NS, 0, APPEND);
    }

    private FakeCluster.Outcome step(final java.util.function.Consumer<FakeCluster.Outcome> step)
    {
        final FakeCluster.Outcome outcome = new FakeCluster.Outcome();
        step.accept(outcome);
        cluster.deliver();
        return outcome;
    }

    private void commitDirectly(final byte[] key, final String value)
    {
        final TxSession other = session(TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ);
        assertTrue(step(o -> other.put(CACHE, key, bytes(value), o)).succeeded());
        assertTrue(step(other::commit).succeeded(), "the other transaction commits");
    }

    @Test
    void aReadSeesTheTransactionsOwnWritesAndMergesAndCommitWritesThem()
    {
        commitDirectly(a, "base");
        final TxSession tx = session(TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ);
        assertTrue(step(o -> tx.merge(CACHE, a, bytes("+1"), o)).succeeded());
        assertEquals("base+1", text(step(o -> tx.read(CACHE, new byte[][] {a}, o)).values[0]),
            "a pending merge applies to the value read");
        assertTrue(step(o -> tx.put(CACHE, b, bytes("new"), o)).succeeded());
        assertTrue(step(o -> tx.merge(CACHE, b, bytes("!"), o)).succeeded());
        assertEquals("new!", text(step(o -> tx.read(CACHE, new byte[][] {b}, o)).values[0]),
            "a merge after a write applies to the write");
        assertTrue(step(tx::commit).succeeded());
        assertEquals("base+1", cluster.member(1).copyOf(1).value(a));
        assertEquals("new!", cluster.member(2).copyOf(2).value(b));
        assertTrue(step(tx::commit).succeeded(), "committing twice succeeds");
        assertTrue(step(tx::rollback).failedWith(ErrorCode.CONFIGURATION_INVALID), "a rollback after commit is refused");
    }

    @Test
    void optimisticSerializableAbortsWhenAValueItReadChangedAndWritesNothing()
    {
        commitDirectly(a, "1");
        final TxSession tx = session(TransactionConcurrency.OPTIMISTIC, TransactionIsolation.SERIALIZABLE);
        assertEquals("1", text(step(o -> tx.read(CACHE, new byte[][] {a}, o)).values[0]));
        // Read without a lock: another transaction changes the value meanwhile.
        commitDirectly(a, "2");
        assertTrue(step(o -> tx.put(CACHE, b, bytes("derived from 1"), o)).succeeded());
        assertTrue(step(tx::commit).failedWith(ErrorCode.TX_CONFLICT));
        assertNull(cluster.member(2).copyOf(2).value(b), "nothing was applied");
        assertTrue(step(o -> tx.read(CACHE, new byte[][] {a}, o)).failedWith(ErrorCode.TX_CONFLICT),
            "the transaction stays rolled back, for the reason it was");
        assertTrue(coordinator.tx.isIdle(), coordinator.tx.describe());
    }

    @Test
    void optimisticRepeatableReadCommitsOverAChangedValueButReadsTheFirstOneAgain()
    {
        commitDirectly(a, "1");
        final TxSession tx = session(TransactionConcurrency.OPTIMISTIC, TransactionIsolation.REPEATABLE_READ);
        assertEquals("1", text(step(o -> tx.read(CACHE, new byte[][] {a}, o)).values[0]));
        commitDirectly(a, "2");
        assertEquals("1", text(step(o -> tx.read(CACHE, new byte[][] {a}, o)).values[0]), "repeatable");
        assertTrue(step(o -> tx.put(CACHE, b, bytes("x"), o)).succeeded());
        assertTrue(step(tx::commit).succeeded(), "no validation below serializable");
        assertEquals("x", cluster.member(2).copyOf(2).value(b));
    }

    @Test
    void pessimisticReadCommittedReadsWithoutLocksAndSeesEachNewCommit()
    {
        commitDirectly(a, "1");
        final TxSession tx = session(TransactionConcurrency.PESSIMISTIC, TransactionIsolation.READ_COMMITTED);
        assertEquals("1", text(step(o -> tx.read(CACHE, new byte[][] {a}, o)).values[0]));
        // Not locked: another transaction locks and changes it at once.
        commitDirectly(a, "2");
        assertEquals("2", text(step(o -> tx.read(CACHE, new byte[][] {a}, o)).values[0]), "the latest committed");
        assertTrue(step(tx::rollback).succeeded());
        assertTrue(coordinator.tx.isIdle(), coordinator.tx.describe());
    }

    @Test
    void pessimisticRepeatableReadLocksWhatItReads()
    {
        commitDirectly(a, "1");
        final TxSession tx = session(TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ);
        assertEquals("1", text(step(o -> tx.read(CACHE, new byte[][] {a}, o)).values[0]));
        final TxSession younger = session(TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ);
        assertTrue(step(o -> younger.put(CACHE, a, bytes("2"), o)).failedWith(ErrorCode.TX_DEADLOCK_PREVENTION),
            "a younger transaction dies on the lock the read took (wait-die)");
        assertTrue(step(tx::commit).succeeded());
        assertEquals("1", cluster.member(1).copyOf(1).value(a));
    }
}
