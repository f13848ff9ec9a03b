package dev.grid.resp;

import dev.grid.core.Cache;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.grid.resp.Commands.option;
import static dev.grid.resp.Commands.process;
import static dev.grid.resp.Commands.reply;
import static dev.grid.resp.StringProcessor.Expiry;
import static dev.grid.resp.StringProcessor.Op;

/**
 * The string commands: GET, SET and its options, SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX, MGET, INCR, INCRBY,
 * DECR, DECRBY, INCRBYFLOAT, APPEND, STRLEN. Stateless.
 */
final class StringCommands
{
    private static final byte[] EMPTY = new byte[0];

    private StringCommands()
    {
    }

    static void register()
    {
        Commands.register("get", 2, true, (c, args) -> c.cache().getAsync(args[1]).thenApply(Reply::bulk));
        Commands.register("set", -3, true, StringCommands::set);
        Commands.register("setnx", 3, true, (c, args) -> set(c, args[1], args[2], StringProcessor.NX, Expiry.NONE,
            0).thenApply(r -> Reply.integer(r == Reply.OK ? 1 : 0)));
        Commands.register("setex", 4, true, (c, args) -> setWithTtl(c, args, TimeUnit.SECONDS, "setex"));
        Commands.register("psetex", 4, true, (c, args) -> setWithTtl(c, args, TimeUnit.MILLISECONDS, "psetex"));
        Commands.register("getset", 3, true, (c, args) -> set(c, args[1], args[2], StringProcessor.GET, Expiry.NONE,
            0));
        Commands.register("getdel", 2, true, (c, args) -> process(c.cache(), args[1],
            Op.GETDEL.argument(0, Expiry.KEEP, 0, EMPTY)).thenApply(Commands::toReply));
        Commands.register("getex", -2, true, StringCommands::getex);
        Commands.register("mget", -2, true, StringCommands::mget);
        Commands.register("incr", 2, true, (c, args) -> incrementBy(c, args[1], 1));
        Commands.register("decr", 2, true, (c, args) -> incrementBy(c, args[1], -1));
        Commands.register("incrby", 3, true, (c, args) -> incrementBy(c, args[1], Commands.integer(args[2])));
        Commands.register("decrby", 3, true, (c, args) ->
        {
            final long delta = Commands.integer(args[2]);
            if (delta == Long.MIN_VALUE)
            {
                return reply(Reply.error("ERR decrement would overflow"));
            }
            return incrementBy(c, args[1], -delta);
        });
        Commands.register("incrbyfloat", 3, true, (c, args) ->
        {
            try
            {
                StringProcessor.parseDouble(new String(args[2], StandardCharsets.US_ASCII));
            }
            catch (final NumberFormatException ex)
            {
                return reply(Reply.error("ERR value is not a valid float"));
            }
            return process(c.cache(), args[1], Op.INCRBYFLOAT.argument(0, Expiry.KEEP, 0, args[2]))
                .thenApply(Commands::toReply);
        });
        Commands.register("append", 3, true, (c, args) -> process(c.cache(), args[1],
            Op.APPEND.argument(0, Expiry.KEEP, 0, args[2])).thenApply(Commands::toReply));
        Commands.register("strlen", 2, true, (c, args) -> c.cache().getAsync(args[1])
            .thenApply(v -> Reply.integer(v == null ? 0 : v.length)));
    }

    private static CompletableFuture<Reply> incrementBy(final RespConnection c, final byte[] key, final long delta)
    {
        return process(c.cache(), key, Op.INCRBY.argument(0, Expiry.KEEP, delta, EMPTY)).thenApply(Commands::toReply);
    }

    /** SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]. */
    private static CompletableFuture<Reply> set(final RespConnection c, final byte[][] args)
    {
        int flags = 0;
        Expiry expiry = Expiry.NONE;
        long ms = 0;
        for (int i = 3; i < args.length; i++)
        {
            final String option = option(args[i]);
            switch (option)
            {
            case "nx" -> flags |= StringProcessor.NX;
            case "xx" -> flags |= StringProcessor.XX;
            case "get" -> flags |= StringProcessor.GET;
            case "keepttl" ->
            {
                requireNoExpiry(expiry);
                expiry = Expiry.KEEP;
            }
            case "ex", "px", "exat", "pxat" ->
            {
                requireNoExpiry(expiry);
                if (i + 1 >= args.length)
                {
                    throw new RespException("ERR syntax error");
                }
                final long amount = Commands.integer(args[++i]);
                ms = Commands.expiryMs(amount, option.equals("ex") || option.equals("exat"), "set");
                if (amount <= 0)
                {
                    throw new RespException("ERR invalid expire time in 'set' command");
                }
                expiry = option.startsWith("p") && option.endsWith("at") || option.equals("exat") ?
                    Expiry.ABSOLUTE_MS : Expiry.RELATIVE_MS;
            }
            default -> throw new RespException("ERR syntax error");
            }
        }
        if ((flags & StringProcessor.NX) != 0 && (flags & StringProcessor.XX) != 0)
        {
            throw new RespException("ERR syntax error");
        }
        if (flags == 0 && expiry == Expiry.NONE)
        {
            // A plain SET: one write, which clears any expiry time as the database's eternal policy says.
            return c.cache().putAsync(args[1], args[2]).thenApply(v -> Reply.OK);
        }
        return set(c, args[1], args[2], flags, expiry, ms);
    }

    private static void requireNoExpiry(final Expiry expiry)
    {
        if (expiry != Expiry.NONE)
        {
            throw new RespException("ERR syntax error");
        }
    }

    private static CompletableFuture<Reply> set(final RespConnection c, final byte[] key, final byte[] value,
        final int flags, final Expiry expiry, final long ms)
    {
        return process(c.cache(), key, Op.SET.argument(flags, expiry, ms, value)).thenApply(Commands::toReply);
    }

    private static CompletableFuture<Reply> setWithTtl(final RespConnection c, final byte[][] args,
        final TimeUnit unit, final String name)
    {
        final long amount = Commands.integer(args[2]);
        if (amount <= 0 || amount > unit.convert(Long.MAX_VALUE / 2, TimeUnit.MILLISECONDS))
        {
            return reply(Reply.error("ERR invalid expire time in '" + name + "' command"));
        }
        return set(c, args[1], args[3], 0, Expiry.RELATIVE_MS, unit.toMillis(amount));
    }

    /** GETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST]. */
    private static CompletableFuture<Reply> getex(final RespConnection c, final byte[][] args)
    {
        Expiry expiry = Expiry.KEEP;
        long ms = 0;
        if (args.length == 3 && option(args[2]).equals("persist"))
        {
            expiry = Expiry.NONE;
        }
        else if (args.length == 4)
        {
            final String option = option(args[2]);
            final long amount = Commands.integer(args[3]);
            if (amount <= 0)
            {
                return reply(Reply.error("ERR invalid expire time in 'getex' command"));
            }
            switch (option)
            {
            case "ex", "px", "exat", "pxat" ->
            {
                expiry = option.endsWith("at") ? Expiry.ABSOLUTE_MS : Expiry.RELATIVE_MS;
                ms = Commands.expiryMs(amount, option.startsWith("e"), "getex");
            }
            default -> throw new RespException("ERR syntax error");
            }
        }
        else if (args.length != 2)
        {
            throw new RespException("ERR syntax error");
        }
        return process(c.cache(), args[1], Op.GETEX.argument(0, expiry, ms, EMPTY)).thenApply(Commands::toReply);
    }

    private static CompletableFuture<Reply> mget(final RespConnection c, final byte[][] args)
    {
        final Cache<byte[], byte[]> cache = c.cache();
        final List<CompletableFuture<byte[]>> values = new ArrayList<>(args.length - 1);
        for (int i = 1; i < args.length; i++)
        {
            values.add(cache.getAsync(args[i]));
        }
        return CompletableFuture.allOf(values.toArray(new CompletableFuture[0])).thenApply(done ->
        {
            final List<Reply> replies = new ArrayList<>(values.size());
            values.forEach(v -> replies.add(Reply.bulk(v.join())));
            return Reply.array(replies);
        });
    }
}
