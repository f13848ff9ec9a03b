package dev.grid.node.workload;

import dev.grid.core.Cache;
import dev.grid.core.ErrorCode;
import dev.grid.core.Grid;
import dev.grid.core.GridException;
import dev.grid.core.PredicateResult;
import dev.grid.core.TransactionCommitStatusUnknownException;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * The bank on a real cluster: accounts {@code a0..a(n-1)} whose values are {@code balance:transfers} (the number of
 * transfers applied to the account), moved by transfer transactions in three modes. Used by the real-process bank test
 * (through {@link dev.grid.node.Main}'s command channel) and by grid-bench's {@code TransferBenchmark}.
 * <p>
 * Invariants a correct grid keeps: the balances sum to {@code n * INITIAL}; the transfer counts sum to twice the
 * number of transfers applied, which lies between those acknowledged committed and those plus the unknown ones.
 * <p>
 * <b>Threading:</b> {@link #run} starts its own threads; the other methods run on the caller's.
 */
public final class Bank
{
    /** Every account's opening balance. */
    public static final long INITIAL = 1_000;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    /** How a transfer is made. */
    public enum Mode
    {
        /** Lock both accounts on read, check the balance, write both. */
        PESSIMISTIC,
        /** Read without locks, write both; commit validates the reads (optimistic serializable). */
        OPTIMISTIC,
        /** Read, then a predicate transaction: both values unchanged and the balance enough, set both. */
        PREDICATE
    }

    /**
     * What a run did.
     *
     * @param committed    transfers acknowledged committed.
     * @param aborted      transfers aborted (after their retries); nothing applied.
     * @param unknown      transfers whose outcome is unknown.
     * @param insufficient transfers refused for want of funds.
     * @param elapsedNs    the run's duration.
     * @param latency      of committed transfers, microseconds.
     * @param aborts       aborted attempts by error code name.
     */
    public record Result(long committed, long aborted, long unknown, long insufficient, long elapsedNs,
        Histogram latency, Map<String, Long> aborts)
    {
        /**
         * @return committed transfers per second.
         */
        public double perSecond()
        {
            return committed / (elapsedNs / 1e9);
        }
    }

    private Bank()
    {
    }

    /**
     * @param i an account number.
     * @return its key.
     */
    public static String account(final int i)
    {
        return "a" + i;
    }

    /**
     * Open accounts {@code 0..accounts-1} with {@link #INITIAL} each (plain puts).
     *
     * @param cache    the bank's cache.
     * @param accounts how many.
     */
    public static void open(final Cache<String, String> cache, final int accounts)
    {
        final Map<String, String> batch = new HashMap<>();
        for (int i = 0; i < accounts; i++)
        {
            batch.put(account(i), INITIAL + ":0");
            if (batch.size() == 256 || i == accounts - 1)
            {
                cache.putAll(batch);
                batch.clear();
            }
        }
    }

    /**
     * Read every account in one transaction (a consistent read): a predicate transaction whose predicates record the
     * locked values and hold, with no writes; it retries on abort keeping its age, so wait-die lets it through even
     * under a stream of younger transfers.
     *
     * @param grid     the member.
     * @param cache    the bank's cache.
     * @param accounts how many.
     * @return {sum of balances, sum of transfer counts}.
     */
    public static long[] audit(final Grid grid, final Cache<String, String> cache, final int accounts)
    {
        final Map<String, String> values = new java.util.concurrent.ConcurrentHashMap<>();
        final dev.grid.core.PredicateTransaction read = grid.transactions().predicate(Duration.ofSeconds(30))
            .retryOnAbort(true);
        for (int i = 0; i < accounts; i++)
        {
            read.predicate(cache, account(i), (key, value) ->
            {
                if (value == null)
                {
                    throw new IllegalStateException("account " + key + " is missing");
                }
                values.put(key, value);
                return true;
            });
        }
        final PredicateResult result = read.execute();
        if (!(result instanceof PredicateResult.Committed))
        {
            throw new IllegalStateException("could not read every account in one transaction: " + result);
        }
        long sum = 0;
        long transfers = 0;
        for (final String value : values.values())
        {
            sum += balance(value);
            transfers += count(value);
        }
        return new long[] {sum, transfers};
    }

    /**
     * Run transfers between random accounts from {@code threads} threads for {@code durationNs}.
     *
     * @param grid       the member coordinating them.
     * @param cache      the bank's cache.
     * @param accounts   how many accounts.
     * @param threads    concurrent transfer threads.
     * @param durationNs how long.
     * @param modes      modes to use, round robin per thread.
     * @return what happened.
     */
    public static Result run(final Grid grid, final Cache<String, String> cache, final int accounts,
        final int threads, final long durationNs, final List<Mode> modes) throws InterruptedException
    {
        return run(grid, cache, accounts, threads, durationNs, modes, () -> { });
    }

    /**
     * {@link #run}, telling {@code onCommitted} of each transfer as soon as its commit is acknowledged (a test that
     * kills the process mid-run counts them from outside).
     *
     * @param grid        the member coordinating them.
     * @param cache       the bank's cache.
     * @param accounts    how many accounts.
     * @param threads     concurrent transfer threads.
     * @param durationNs  how long.
     * @param modes       modes to use, round robin per thread.
     * @param onCommitted called on the transfer's thread after each acknowledged commit; must be thread-safe.
     * @return what happened.
     * @throws InterruptedException if interrupted while waiting for the workers.
     */
    public static Result run(final Grid grid, final Cache<String, String> cache, final int accounts,
        final int threads, final long durationNs, final List<Mode> modes, final Runnable onCommitted)
        throws InterruptedException
    {
        final LongAdder committed = new LongAdder();
        final LongAdder aborted = new LongAdder();
        final LongAdder unknown = new LongAdder();
        final LongAdder insufficient = new LongAdder();
        final Map<String, LongAdder> aborts = new java.util.concurrent.ConcurrentHashMap<>();
        final Recorder recorder = new Recorder(TimeUnit.SECONDS.toMicros(60), 3);
        final AtomicBoolean stop = new AtomicBoolean();
        final List<Thread> workers = new ArrayList<>();
        final long startNs = System.nanoTime();
        for (int t = 0; t < threads; t++)
        {
            final int thread = t;
            final Thread worker = new Thread(() ->
            {
                final ThreadLocalRandom random = ThreadLocalRandom.current();
                long n = 0;
                while (!stop.get())
                {
                    final Mode mode = modes.get((int)((thread + n++) % modes.size()));
                    final int from = random.nextInt(accounts);
                    int to = random.nextInt(accounts - 1);
                    if (to >= from)
                    {
                        to++;
                    }
                    final long amount = 1 + random.nextInt(100);
                    final long begin = System.nanoTime();
                    try
                    {
                        final boolean done = transfer(grid, cache, mode, from, to, amount, aborts);
                        if (done)
                        {
                            onCommitted.run();
                            committed.increment();
                            recorder.recordValue(Math.min(TimeUnit.SECONDS.toMicros(60),
                                (System.nanoTime() - begin) / 1000));
                        }
                        else
                        {
                            insufficient.increment();
                        }
                    }
                    catch (final TransactionCommitStatusUnknownException ex)
                    {
                        unknown.increment();
                    }
                    catch (final GridException ex)
                    {
                        aborted.increment();
                        aborts.computeIfAbsent(ex.errorCode().name(), k -> new LongAdder()).increment();
                    }
                }
            }, "bank-" + t);
            worker.start();
            workers.add(worker);
        }
        // The run's own pacing, not synchronisation: the caller idles while the workers run.
        while (System.nanoTime() - startNs < durationNs)
        {
            TimeUnit.MILLISECONDS.sleep(Math.max(1, Math.min(100, (durationNs - (System.nanoTime() - startNs)) /
                1_000_000)));
        }
        stop.set(true);
        for (final Thread worker : workers)
        {
            worker.join();
        }
        final Map<String, Long> abortCounts = new java.util.TreeMap<>();
        aborts.forEach((k, v) -> abortCounts.put(k, v.sum()));
        return new Result(committed.sum(), aborted.sum(), unknown.sum(), insufficient.sum(),
            System.nanoTime() - startNs, recorder.getIntervalHistogram(), abortCounts);
    }

    /**
     * One transfer, retried while it aborts for a retryable reason (up to 50 attempts).
     *
     * @return true if committed, false if the balance was insufficient.
     * @throws GridException if it could not commit.
     */
    static boolean transfer(final Grid grid, final Cache<String, String> cache, final Mode mode, final int from,
        final int to, final long amount, final Map<String, LongAdder> aborts)
    {
        final String a = account(from);
        final String b = account(to);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return switch (mode)
                {
                    case PESSIMISTIC, OPTIMISTIC -> transferInTransaction(grid, cache, mode, a, b, amount);
                    case PREDICATE -> transferByPredicate(grid, cache, a, b, amount);
                };
            }
            catch (final dev.grid.core.TransactionAbortedException ex)
            {
                aborts.computeIfAbsent(ex.errorCode().name() + " (retried)", k -> new LongAdder()).increment();
                if (!ex.isRetryable() || attempt >= 50)
                {
                    throw ex;
                }
            }
        }
    }

    private static boolean transferInTransaction(final Grid grid, final Cache<String, String> cache, final Mode mode,
        final String a, final String b, final long amount)
    {
        // run() retries an aborted attempt with the first attempt's age, so no transfer starves under wait-die.
        return grid.transactions().run(mode == Mode.PESSIMISTIC ? TransactionConcurrency.PESSIMISTIC :
            TransactionConcurrency.OPTIMISTIC, mode == Mode.PESSIMISTIC ? TransactionIsolation.REPEATABLE_READ :
            TransactionIsolation.SERIALIZABLE, TIMEOUT, tx ->
        {
            final Map<String, String> values = tx.getAll(cache, List.of(a, b));
            final String va = values.get(a);
            final String vb = values.get(b);
            if (balance(va) < amount)
            {
                tx.rollback();
                return false;
            }
            tx.put(cache, a, (balance(va) - amount) + ":" + (count(va) + 1));
            tx.put(cache, b, (balance(vb) + amount) + ":" + (count(vb) + 1));
            return true;
        });
    }

    private static boolean transferByPredicate(final Grid grid, final Cache<String, String> cache, final String a,
        final String b, final long amount)
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            final Map<String, String> read = cache.getAll(List.of(a, b));
            final String va = read.get(a);
            final String vb = read.get(b);
            if (balance(va) < amount)
            {
                return false;
            }
            final PredicateResult result = grid.transactions().predicate(TIMEOUT)
                .predicate(cache, a, (k, v) -> va.equals(v))
                .predicate(cache, b, (k, v) -> vb.equals(v))
                .set(cache, a, (balance(va) - amount) + ":" + (count(va) + 1))
                .set(cache, b, (balance(vb) + amount) + ":" + (count(vb) + 1))
                .retryOnAbort(true)
                .execute();
            if (result instanceof PredicateResult.Committed)
            {
                return true;
            }
            if (result instanceof PredicateResult.Aborted aborted)
            {
                throw GridException.of(aborted.reason(), aborted.message());
            }
            // A predicate failed: another transfer changed an account since the read; read again.
        }
        throw new dev.grid.core.TransactionAbortedException(ErrorCode.TX_CONFLICT,
            "the accounts kept changing under 50 predicate transactions");
    }

    static long balance(final String value)
    {
        return Long.parseLong(value.substring(0, value.indexOf(':')));
    }

    static long count(final String value)
    {
        return Long.parseLong(value.substring(value.indexOf(':') + 1));
    }
}
