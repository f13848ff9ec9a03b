package dev.grid.sim.cluster;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.engine.Engine;
import dev.grid.core.engine.OpCallback;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.core.engine.TxCallback;
import dev.grid.tx.TxSession;
import dev.grid.core.spi.RandomSource;
import dev.grid.sim.Simulation;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The bank: accounts whose values carry a balance and the ids of the transfers applied to them, moved by concurrent
 * transfer transactions through random members (pessimistic, optimistic with validation at commit, and predicate
 * transactions that retry on abort), with consistent reads of every account that must sum to the initial total.
 * <p>
 * At the end, from the settled cluster: the balances sum to the total; every transfer appears in both of its accounts
 * or in neither (atomicity), at most once (exactly once); every acknowledged commit appears, every abort does not; and
 * each balance is its initial amount plus the transfers it lists. Transfers whose outcome the workload never learned
 * (the coordinator crashed, or commit status unknown) may go either way, but still all or nothing.
 */
final class BankWorkload
{
    static final int INITIAL_BALANCE = 1_000;
    private static final long TX_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(5);
    /** The bank writes whole accounts: no merges. */
    private static final TxSession.Merges NO_MERGES = (cacheId, key, current, operand) ->
    {
        throw new IllegalStateException("the bank does not merge");
    };

    private final Simulation sim;
    private final RandomSource random;
    private final Supplier<List<Engine>> ready;
    private final int cacheId;
    private final int accounts;
    private final Map<String, Transfer> transfers = new HashMap<>();
    private long nextTransfer = 1;
    long committed;
    long aborted;
    long unknown;
    long predicateFailures;
    long consistentReads;

    BankWorkload(final Simulation sim, final RandomSource random, final Supplier<List<Engine>> ready,
        final int cacheId, final int accounts)
    {
        this.sim = sim;
        this.random = random;
        this.ready = ready;
        this.cacheId = cacheId;
        this.accounts = accounts;
    }

    static String account(final int i)
    {
        return "acct" + i;
    }

    /** Open every account with the initial balance (plain puts, before any fault). */
    void open()
    {
        final int[] done = new int[1];
        for (int i = 0; i < accounts; i++)
        {
            final List<Engine> members = ready.get();
            members.get(i % members.size()).submit(cacheId, OpType.PUT, bytes(account(i)),
                bytes(INITIAL_BALANCE + "|"), null, TX_TIMEOUT_NS, new OpCallback()
                {
                    public void onSuccess(final OpOutcome outcome)
                    {
                        done[0]++;
                    }

                    public void onFailure(final GridException error)
                    {
                        throw new AssertionError("opening an account failed: " + error.getMessage());
                    }
                });
        }
        if (!sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(30), () -> done[0] == accounts))
        {
            throw sim.fail("the bank's accounts did not open");
        }
    }

    /** Start one transfer or consistent read through a random ready member. */
    void issue()
    {
        final List<Engine> members = ready.get();
        if (members.isEmpty())
        {
            return;
        }
        final Engine member = members.get(random.nextInt(members.size()));
        if (member.cache("bank") == null)
        {
            return;
        }
        final int dice = random.nextInt(100);
        if (dice < 2)
        {
            consistentRead(member, 0, 0);
            return;
        }
        final int from = random.nextInt(accounts);
        int to = random.nextInt(accounts - 1);
        if (to >= from)
        {
            to++;
        }
        final Transfer transfer = new Transfer("t" + nextTransfer++, from, to, 1 + random.nextInt(300),
            dice < 40 ? Kind.PESSIMISTIC : dice < 70 ? Kind.OPTIMISTIC : Kind.PREDICATE);
        transfers.put(transfer.id, transfer);
        attempt(member, transfer, 0);
    }

    private void attempt(final Engine member, final Transfer transfer, final long priority)
    {
        // The isolation rules users run (grid-tx's TxSession): an optimistic transfer reads without locks and is
        // validated at commit (a changed balance aborts it with TX_CONFLICT), the others lock what they read.
        final boolean optimistic = transfer.kind == Kind.OPTIMISTIC;
        final TxSession tx = new TxSession(member.transactions(), optimistic ? TransactionConcurrency.OPTIMISTIC :
            TransactionConcurrency.PESSIMISTIC, optimistic ? TransactionIsolation.SERIALIZABLE :
            TransactionIsolation.REPEATABLE_READ, TX_TIMEOUT_NS, priority, NO_MERGES);
        final byte[][] keys = {bytes(account(transfer.from)), bytes(account(transfer.to))};
        tx.read(cacheId, keys, values(member, tx, transfer, read -> write(member, tx, transfer, keys, read)));
        transfer.lastTx = "transaction " + tx.id() + " of " + member.configuration().memberId();
    }

    private void write(final Engine member, final TxSession tx, final Transfer transfer, final byte[][] keys,
        final byte[][] values)
    {
        final Account from = Account.parse(values[0]);
        final Account to = Account.parse(values[1]);
        if (from.balance < transfer.amount)
        {
            // The predicate "balance >= amount" is false: nothing changes.
            predicateFailures++;
            tx.rollback(ignore());
            finish(transfer, Outcome.ABORTED);
            return;
        }
        final long priority = tx.assignedPriority();
        tx.put(cacheId, keys[0], from.with(-transfer.amount, transfer.id).encode(), values(member, tx, transfer,
            x -> tx.put(cacheId, keys[1], to.with(transfer.amount, transfer.id).encode(), values(member, tx, transfer,
            y -> commit(member, tx, transfer, priority)))));
    }

    private void commit(final Engine member, final TxSession tx, final Transfer transfer, final long priority)
    {
        tx.commit(new TxCallback()
        {
            public void onSuccess(final byte[][] ignored)
            {
                finish(transfer, Outcome.COMMITTED);
            }

            public void onFailure(final GridException error)
            {
                failed(member, transfer, error, priority);
            }
        });
    }

    private TxCallback values(final Engine member, final TxSession tx, final Transfer transfer,
        final java.util.function.Consumer<byte[][]> next)
    {
        return new TxCallback()
        {
            public void onSuccess(final byte[][] values)
            {
                next.accept(values);
            }

            public void onFailure(final GridException error)
            {
                // The session rolled the transaction back.
                failed(member, transfer, error, tx.assignedPriority());
            }
        };
    }

    private void failed(final Engine member, final Transfer transfer, final GridException error,
        final long priority)
    {
        final ErrorCode code = error.errorCode();
        transfer.lastError = error.getMessage();
        if (code == ErrorCode.TX_COMMIT_STATUS_UNKNOWN)
        {
            finish(transfer, Outcome.UNKNOWN);
            return;
        }
        // PARTITION_LOST: a cluster restarted whole serves nothing until its last members are back; refused at the
        // lock, nothing of the transfer was applied.
        if (code.group() != ErrorCode.Group.TRANSACTION && code != ErrorCode.NODE_STOPPING &&
            code != ErrorCode.MEMBER_REJOINING && code != ErrorCode.PARTITION_LOST && code != ErrorCode.NO_QUORUM)
        {
            throw new AssertionError("transfer " + transfer.id + " failed unexpectedly: " + error.getMessage());
        }
        if (transfer.kind == Kind.PREDICATE && code != ErrorCode.TX_ROLLED_BACK && code != ErrorCode.NODE_STOPPING &&
            code != ErrorCode.MEMBER_REJOINING && ++transfer.attempts < 20)
        {
            // retryOnAbort: again, as old as the first attempt, so wait-die lets it through eventually.
            final long retryPriority = priority;
            sim.schedule(random.nextLong(1, 20) * 1_000_000L, "retry " + transfer.id, () ->
            {
                if (member.state() == dev.grid.core.engine.MemberState.ACTIVE)
                {
                    attempt(member, transfer, retryPriority);
                }
                else
                {
                    finish(transfer, Outcome.ABORTED);
                }
            });
            return;
        }
        finish(transfer, Outcome.ABORTED);
    }

    private void consistentRead(final Engine member, final long priority, final int attempt)
    {
        final TxSession tx = new TxSession(member.transactions(), TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, TX_TIMEOUT_NS, priority, NO_MERGES);
        final byte[][] keys = new byte[accounts][];
        for (int i = 0; i < accounts; i++)
        {
            keys[i] = bytes(account(i));
        }
        tx.read(cacheId, keys, new TxCallback()
        {
            public void onSuccess(final byte[][] values)
            {
                long sum = 0;
                // How often each transfer appears: a torn one, in one account only, is what a wrong sum comes from.
                final Map<String, List<Integer>> seen = new HashMap<>();
                for (int i = 0; i < values.length; i++)
                {
                    if (values[i] == null)
                    {
                        throw new AssertionError("a consistent read through " + member.localAddress() +
                            " found no account " + account(i));
                    }
                    final Account account = Account.parse(values[i]);
                    sum += account.balance;
                    for (final String id : account.transfers)
                    {
                        seen.computeIfAbsent(id, k -> new ArrayList<>()).add(i);
                    }
                }
                consistentReads++;
                if (sum != (long)accounts * INITIAL_BALANCE)
                {
                    final StringBuilder torn = new StringBuilder();
                    seen.forEach((id, where) ->
                    {
                        if (where.size() != 2)
                        {
                            final Transfer transfer = transfers.get(id);
                            torn.append(' ').append(id).append(" in accounts ").append(where)
                                .append(transfer == null ? "" : " (" + transfer.kind + " " + transfer.from + "->" +
                                transfer.to + ", " + transfer.outcome + ")");
                        }
                    });
                    throw new AssertionError("a consistent read of every account sums to " + sum + ", not " +
                        (long)accounts * INITIAL_BALANCE + "; transfers not in exactly two accounts:" + torn);
                }
                tx.commit(ignore());
            }

            public void onFailure(final GridException error)
            {
                // Locking every account loses to any older transfer: retry, as old as the first attempt.
                final long first = tx.assignedPriority();
                if (attempt < 50 && error.errorCode() == ErrorCode.TX_DEADLOCK_PREVENTION)
                {
                    sim.schedule(random.nextLong(1, 10) * 1_000_000L, "retry read", () ->
                    {
                        if (member.state() == dev.grid.core.engine.MemberState.ACTIVE)
                        {
                            consistentRead(member, first, attempt + 1);
                        }
                    });
                }
            }
        });
    }

    private void finish(final Transfer transfer, final Outcome outcome)
    {
        if (transfer.outcome != null)
        {
            throw new AssertionError("transfer " + transfer.id + " finished twice: " + transfer.outcome + " then " +
                outcome);
        }
        transfer.outcome = outcome;
        if (Boolean.getBoolean("grid.sim.trace"))
        {
            System.out.println(sim.nowNs() + " transfer " + transfer.id + " (" + transfer.lastTx + ") " +
                transfer.kind + " " + outcome +
                (transfer.lastError == null ? "" : " after " + transfer.lastError));
        }
        switch (outcome)
        {
            case COMMITTED -> committed++;
            case ABORTED -> aborted++;
            default -> unknown++;
        }
    }

    /**
     * Check the final state.
     *
     * @param readFinal reads an account's value from its primary in the settled cluster.
     * @return the number of transfers found applied.
     */
    int check(final Function<String, byte[]> readFinal)
    {
        final Map<String, Integer> appearances = new HashMap<>();
        long total = 0;
        for (int i = 0; i < accounts; i++)
        {
            final Account account = Account.parse(readFinal.apply(account(i)));
            total += account.balance;
            long expected = INITIAL_BALANCE;
            final Set<String> seen = new HashSet<>();
            for (final String id : account.transfers)
            {
                if (!seen.add(id))
                {
                    throw sim.fail("transfer " + id + " applied twice to " + account(i));
                }
                final Transfer transfer = transfers.get(id);
                if (transfer == null || (transfer.from != i && transfer.to != i))
                {
                    throw sim.fail("account " + account(i) + " lists unknown transfer " + id);
                }
                expected += transfer.from == i ? -transfer.amount : transfer.amount;
                appearances.merge(id, 1, Integer::sum);
            }
            if (expected != account.balance)
            {
                throw sim.fail("account " + account(i) + " has balance " + account.balance + " but its transfers " +
                    "make " + expected);
            }
        }
        // Each transfer first (it names what went wrong), then the total.
        for (final Transfer transfer : transfers.values())
        {
            final int count = appearances.getOrDefault(transfer.id, 0);
            if (count == 1)
            {
                throw sim.fail("transfer " + transfer.id + " (" + transfer.kind + ", " + transfer.outcome + ", " +
                    transfer.lastError + ", last attempt " + transfer.lastTx + ", accounts " + transfer.from + " and " +
                    transfer.to + ") applied to one account only");
            }
            if (transfer.outcome == Outcome.COMMITTED && count == 0)
            {
                throw sim.fail("committed transfer " + transfer.id + " is lost");
            }
            if (transfer.outcome == Outcome.ABORTED && count != 0)
            {
                throw sim.fail("aborted transfer " + transfer.id + " (" + transfer.kind + ", " + transfer.lastError +
                    ", last attempt " + transfer.lastTx + ", accounts " + transfer.from + " and " + transfer.to +
                    ") was applied");
            }
        }
        if (total != (long)accounts * INITIAL_BALANCE)
        {
            throw sim.fail("the balances sum to " + total + ", not " + (long)accounts * INITIAL_BALANCE);
        }
        return appearances.size();
    }

    private static TxCallback ignore()
    {
        return new TxCallback()
        {
            public void onSuccess(final byte[][] values)
            {
            }

            public void onFailure(final GridException error)
            {
            }
        };
    }

    private static byte[] bytes(final String value)
    {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    private enum Kind
    {
        PESSIMISTIC,
        OPTIMISTIC,
        PREDICATE
    }

    private enum Outcome
    {
        COMMITTED,
        ABORTED,
        UNKNOWN
    }

    private static final class Transfer
    {
        final String id;
        final int from;
        final int to;
        final int amount;
        final Kind kind;
        int attempts;
        /** The transaction of its last attempt and its coordinator, for traces. */
        String lastTx;
        Outcome outcome;
        String lastError;

        Transfer(final String id, final int from, final int to, final int amount, final Kind kind)
        {
            this.id = id;
            this.from = from;
            this.to = to;
            this.amount = amount;
            this.kind = kind;
        }
    }

    /** An account's value: {@code balance|id,id,...}. */
    private record Account(long balance, List<String> transfers)
    {
        static Account parse(final byte[] value)
        {
            if (value == null)
            {
                throw new AssertionError("an account is missing");
            }
            final String text = new String(value, StandardCharsets.UTF_8);
            final int bar = text.indexOf('|');
            final List<String> ids = new ArrayList<>();
            for (final String id : text.substring(bar + 1).split(","))
            {
                if (!id.isEmpty())
                {
                    ids.add(id);
                }
            }
            return new Account(Long.parseLong(text.substring(0, bar)), ids);
        }

        Account with(final long delta, final String id)
        {
            final List<String> ids = new ArrayList<>(transfers);
            ids.add(id);
            return new Account(balance + delta, ids);
        }

        byte[] encode()
        {
            return bytes(balance + "|" + String.join(",", transfers));
        }
    }
}
