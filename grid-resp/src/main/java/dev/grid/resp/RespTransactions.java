package dev.grid.resp;

import dev.grid.core.Cache;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static dev.grid.resp.Commands.option;
import static dev.grid.resp.Commands.reply;

/**
 * MULTI, EXEC, DISCARD, WATCH, UNWATCH, MSET and MSETNX as Grid transactions (pessimistic, repeatable read): EXEC runs
 * the queued commands in one transaction, all or nothing, so no other client sees some of its writes without the
 * others; WATCH remembers the values of keys, and EXEC, holding their locks, aborts (a null reply) if any changed.
 * A command that fails inside EXEC (INCR of a non-integer) answers its error and the others still apply, as in
 * Redis. Inside MULTI the string commands without expiry options are allowed; a write there clears the key's expiry
 * time (Redis's INCR and APPEND keep it). WATCH compares values, so a key changed and changed back is not noticed.
 * Stateless.
 */
final class RespTransactions
{
    /** The commands MULTI may queue. */
    static final Set<String> QUEUEABLE = Set.of("get", "set", "setnx", "getset", "getdel", "mget", "mset", "msetnx",
        "del", "unlink", "exists", "incr", "decr", "incrby", "decrby", "incrbyfloat", "append", "strlen", "type",
        "ping", "echo");

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final int DEADLOCK_RETRIES = 100;

    private RespTransactions()
    {
    }

    static void register()
    {
        Commands.register("multi", 1, false, (c, args) ->
        {
            if (c.multi != null)
            {
                return reply(Reply.error("ERR MULTI calls can not be nested"));
            }
            c.multi = new ArrayList<>();
            c.multiRefused = false;
            return reply(Reply.OK);
        });
        Commands.register("discard", 1, false, (c, args) ->
        {
            if (c.multi == null)
            {
                return reply(Reply.error("ERR DISCARD without MULTI"));
            }
            c.multi = null;
            c.watched = null;
            return reply(Reply.OK);
        });
        Commands.register("exec", 1, false, RespTransactions::exec);
        Commands.register("watch", -2, false, RespTransactions::watch);
        Commands.register("unwatch", 1, false, (c, args) ->
        {
            c.watched = null;
            return reply(Reply.OK);
        });
        Commands.register("mset", -3, true, (c, args) -> args.length % 2 == 0 ? reply(Commands.wrongArity("mset")) :
            inTransaction(c, c.cache(), List.<byte[][]>of(args), null).thenApply(r -> Reply.OK));
        Commands.register("msetnx", -3, true, (c, args) -> args.length % 2 == 0 ?
            reply(Commands.wrongArity("msetnx")) : inTransaction(c, c.cache(), List.<byte[][]>of(args), null)
            .thenApply(r -> ((List<Reply>)r).get(0)));
    }

    private static CompletableFuture<Reply> watch(final RespConnection c, final byte[][] args)
    {
        if (c.multi != null)
        {
            return reply(Reply.error("ERR WATCH inside MULTI is not allowed"));
        }
        if (c.watched != null && c.watchedDatabase != c.database)
        {
            return reply(Reply.error("ERR Grid watches keys of one database at a time: UNWATCH first"));
        }
        final Cache<byte[], byte[]> cache = c.cache();
        final Map<RespKey, CompletableFuture<byte[]>> reads = new HashMap<>();
        for (final byte[] key : Commands.distinctKeys(args, 1))
        {
            reads.put(new RespKey(key), cache.getAsync(key));
        }
        final CompletableFuture<Reply> watched = CompletableFuture.allOf(reads.values()
            .toArray(new CompletableFuture[0])).thenApply(done ->
            {
                if (c.watched == null)
                {
                    c.watched = new HashMap<>();
                    c.watchedDatabase = c.database;
                }
                reads.forEach((key, value) -> c.watched.putIfAbsent(key, value.join()));
                return Reply.OK;
            });
        c.barrier(watched);
        return watched;
    }

    @SuppressWarnings("unchecked")
    private static CompletableFuture<Reply> exec(final RespConnection c, final byte[][] args)
    {
        if (c.multi == null)
        {
            return reply(Reply.error("ERR EXEC without MULTI"));
        }
        final List<byte[][]> queued = c.multi;
        final boolean refused = c.multiRefused;
        final Map<RespKey, byte[]> watched = c.watched;
        c.multi = null;
        c.multiRefused = false;
        c.watched = null;
        if (refused)
        {
            return reply(Reply.error("EXECABORT Transaction discarded because of previous errors."));
        }
        final Cache<byte[], byte[]> watchedCache = watched == null ? null : c.service.database(c.watchedDatabase);
        return inTransaction(c, c.cache(), queued, watched == null ? null : tx ->
        {
            for (final Map.Entry<RespKey, byte[]> key : watched.entrySet())
            {
                if (!Arrays.equals(tx.get(watchedCache, key.getKey().bytes()), key.getValue()))
                {
                    return false;
                }
            }
            return true;
        }).thenApply(replies -> replies == null ? Reply.NIL_ARRAY : Reply.array((List<Reply>)replies));
    }

    /** A check run first inside the transaction; false aborts it. */
    @FunctionalInterface
    private interface Precondition
    {
        boolean holds(Transaction tx);
    }

    /**
     * Run commands in one transaction on the blocking pool. A transaction that wait-die aborted because an older one
     * held a key it needed is run again (a while later), as nothing of it applied: contended keys delay MSET and
     * EXEC rather than fail them.
     *
     * @return their replies, or null if the precondition failed (nothing applied).
     */
    private static CompletableFuture<Object> inTransaction(final RespConnection c, final Cache<byte[], byte[]> cache,
        final List<byte[][]> commands, final Precondition precondition)
    {
        return CompletableFuture.supplyAsync(() ->
        {
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    return attempt(c, cache, commands, precondition);
                }
                catch (final GridException ex)
                {
                    if (ex.errorCode() != ErrorCode.TX_DEADLOCK_PREVENTION || attempt >= DEADLOCK_RETRIES)
                    {
                        throw new RespException("EXECABORT Transaction aborted, nothing applied: " + ex.getMessage());
                    }
                    LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(
                        ThreadLocalRandom.current().nextLong(100, 200L * Math.min(attempt, 20))));
                }
            }
        }, c.service.blocking);
    }

    private static List<Reply> attempt(final RespConnection c, final Cache<byte[], byte[]> cache,
        final List<byte[][]> commands, final Precondition precondition)
    {
        try (Transaction tx = c.service.member.transactions().begin(TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, TIMEOUT))
        {
            if (precondition != null && !precondition.holds(tx))
            {
                tx.rollback();
                return null;
            }
            final List<Reply> replies = new ArrayList<>(commands.size());
            for (final byte[][] command : commands)
            {
                try
                {
                    replies.add(run(tx, cache, command));
                }
                catch (final RespException ex)
                {
                    replies.add(Reply.error(ex.getMessage()));
                }
            }
            tx.commit();
            return replies;
        }
    }

    /** One command inside a transaction. */
    private static Reply run(final Transaction tx, final Cache<byte[], byte[]> cache, final byte[][] args)
    {
        final String name = option(args[0]);
        return switch (name)
        {
            case "get" -> Reply.bulk(tx.get(cache, args[1]));
            case "set" -> set(tx, cache, args);
            case "setnx" -> Reply.integer(set(tx, cache, new byte[][] {args[0], args[1], args[2],
                "nx".getBytes(StandardCharsets.US_ASCII)}) == Reply.OK ? 1 : 0);
            case "getset" -> set(tx, cache, new byte[][] {args[0], args[1], args[2],
                "get".getBytes(StandardCharsets.US_ASCII)});
            case "getdel" ->
            {
                final byte[] old = tx.get(cache, args[1]);
                if (old != null)
                {
                    tx.remove(cache, args[1]);
                }
                yield Reply.bulk(old);
            }
            case "mget" ->
            {
                final List<Reply> values = new ArrayList<>();
                for (int i = 1; i < args.length; i++)
                {
                    values.add(Reply.bulk(tx.get(cache, args[i])));
                }
                yield Reply.array(values);
            }
            case "mset", "msetnx" -> mset(tx, cache, args, name.equals("msetnx"));
            case "del", "unlink", "exists" -> count(tx, cache, args, !name.equals("exists"));
            case "incr", "decr", "incrby", "decrby" -> incrementBy(tx, cache, args[1], switch (name)
            {
                case "incr" -> 1;
                case "decr" -> -1;
                case "incrby" -> Commands.integer(args[2]);
                default ->
                {
                    final long delta = Commands.integer(args[2]);
                    if (delta == Long.MIN_VALUE)
                    {
                        throw new RespException("ERR decrement would overflow");
                    }
                    yield -delta;
                }
            });
            case "incrbyfloat" -> incrementByFloat(tx, cache, args);
            case "append" -> append(tx, cache, args);
            case "strlen" ->
            {
                final byte[] value = tx.get(cache, args[1]);
                yield Reply.integer(value == null ? 0 : value.length);
            }
            case "type" -> Reply.simple(tx.get(cache, args[1]) == null ? "none" : "string");
            case "ping" -> args.length > 1 ? Reply.bulk(args[1]) : Reply.simple("PONG");
            case "echo" -> Reply.bulk(args[1]);
            default -> Reply.error("ERR " + name + " is not supported inside MULTI on Grid");
        };
    }

    private static Reply set(final Transaction tx, final Cache<byte[], byte[]> cache, final byte[][] args)
    {
        boolean nx = false;
        boolean xx = false;
        boolean get = false;
        for (int i = 3; i < args.length; i++)
        {
            switch (option(args[i]))
            {
            case "nx" -> nx = true;
            case "xx" -> xx = true;
            case "get" -> get = true;
            default -> throw new RespException("ERR SET with an expiry is not supported inside MULTI on Grid");
            }
        }
        final byte[] old = tx.get(cache, args[1]);
        if (nx && old != null || xx && old == null)
        {
            return get ? Reply.bulk(old) : Reply.NIL;
        }
        tx.put(cache, args[1], args[2]);
        return get ? Reply.bulk(old) : Reply.OK;
    }

    private static Reply mset(final Transaction tx, final Cache<byte[], byte[]> cache, final byte[][] args,
        final boolean onlyIfNoneExists)
    {
        if (onlyIfNoneExists)
        {
            for (int i = 1; i < args.length; i += 2)
            {
                if (tx.get(cache, args[i]) != null)
                {
                    return Reply.integer(0);
                }
            }
        }
        for (int i = 1; i < args.length; i += 2)
        {
            tx.put(cache, args[i], args[i + 1]);
        }
        return onlyIfNoneExists ? Reply.integer(1) : Reply.OK;
    }

    private static Reply count(final Transaction tx, final Cache<byte[], byte[]> cache, final byte[][] args,
        final boolean remove)
    {
        long count = 0;
        final List<byte[]> keys = remove ? Commands.distinctKeys(args, 1) : Arrays.asList(Commands.tail(args, 1));
        for (final byte[] key : keys)
        {
            if (tx.get(cache, key) != null)
            {
                count++;
                if (remove)
                {
                    tx.remove(cache, key);
                }
            }
        }
        return Reply.integer(count);
    }

    private static Reply incrementBy(final Transaction tx, final Cache<byte[], byte[]> cache, final byte[] key,
        final long delta)
    {
        final byte[] current = tx.get(cache, key);
        final long value = current == null ? 0 : Commands.integer(current);
        final long sum;
        try
        {
            sum = Math.addExact(value, delta);
        }
        catch (final ArithmeticException ex)
        {
            throw new RespException("ERR increment or decrement would overflow");
        }
        tx.put(cache, key, Long.toString(sum).getBytes(StandardCharsets.US_ASCII));
        return Reply.integer(sum);
    }

    private static Reply incrementByFloat(final Transaction tx, final Cache<byte[], byte[]> cache,
        final byte[][] args)
    {
        final byte[] current = tx.get(cache, args[1]);
        final double sum;
        try
        {
            sum = (current == null ? 0 : StringProcessor.parseDouble(new String(current, StandardCharsets.US_ASCII)))
                + StringProcessor.parseDouble(new String(args[2], StandardCharsets.US_ASCII));
        }
        catch (final NumberFormatException ex)
        {
            throw new RespException("ERR value is not a valid float");
        }
        if (Double.isNaN(sum) || Double.isInfinite(sum))
        {
            throw new RespException("ERR increment would produce NaN or Infinity");
        }
        final byte[] bytes = StringProcessor.formatDouble(sum).getBytes(StandardCharsets.US_ASCII);
        tx.put(cache, args[1], bytes);
        return Reply.bulk(bytes);
    }

    private static Reply append(final Transaction tx, final Cache<byte[], byte[]> cache, final byte[][] args)
    {
        final byte[] current = tx.get(cache, args[1]);
        final byte[] joined = current == null ? args[2] : Arrays.copyOf(current, current.length + args[2].length);
        if (current != null)
        {
            System.arraycopy(args[2], 0, joined, current.length, args[2].length);
        }
        tx.put(cache, args[1], joined);
        return Reply.integer(joined.length);
    }
}
