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
 * The keyspace commands: DEL, UNLINK, EXISTS, TYPE, EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, PERSIST, SCAN,
 * DBSIZE, FLUSHDB, FLUSHALL. Stateless.
 */
final class KeyCommands
{
    private static final byte[] EMPTY = new byte[0];

    private KeyCommands()
    {
    }

    static void register()
    {
        Commands.register("del", -2, true, KeyCommands::delete);
        Commands.register("unlink", -2, true, KeyCommands::delete);
        Commands.register("exists", -2, true, KeyCommands::exists);
        Commands.register("type", 2, true, (c, args) -> c.cache().containsKeyAsync(args[1])
            .thenApply(present -> Reply.simple(present ? "string" : "none")));
        Commands.register("expire", -3, true, (c, args) -> expire(c, args, TimeUnit.SECONDS, Expiry.RELATIVE_MS));
        Commands.register("pexpire", -3, true, (c, args) -> expire(c, args, TimeUnit.MILLISECONDS,
            Expiry.RELATIVE_MS));
        Commands.register("expireat", -3, true, (c, args) -> expire(c, args, TimeUnit.SECONDS, Expiry.ABSOLUTE_MS));
        Commands.register("pexpireat", -3, true, (c, args) -> expire(c, args, TimeUnit.MILLISECONDS,
            Expiry.ABSOLUTE_MS));
        Commands.register("ttl", 2, true, (c, args) -> ttl(c, args[1], true));
        Commands.register("pttl", 2, true, (c, args) -> ttl(c, args[1], false));
        Commands.register("persist", 2, true, (c, args) -> process(c.cache(), args[1],
            Op.PERSIST.argument(0, Expiry.NONE, 0, EMPTY)).thenApply(Commands::toReply));
        Commands.register("scan", -2, false, KeyCommands::scan);
        Commands.register("dbsize", 1, true, (c, args) -> c.cache().sizeAsync().thenApply(Reply::integer));
        Commands.register("flushdb", -1, false, (c, args) -> c.cache().clearAsync().thenApply(n -> Reply.OK));
        Commands.register("flushall", -1, false, KeyCommands::flushAll);
    }

    private static CompletableFuture<Reply> delete(final RespConnection c, final byte[][] args)
    {
        return c.cache().removeAllAsync(Commands.distinctKeys(args, 1)).thenApply(Reply::integer);
    }

    private static CompletableFuture<Reply> exists(final RespConnection c, final byte[][] args)
    {
        final Cache<byte[], byte[]> cache = c.cache();
        final List<CompletableFuture<Boolean>> found = new ArrayList<>(args.length - 1);
        for (int i = 1; i < args.length; i++)
        {
            found.add(cache.containsKeyAsync(args[i]));
        }
        return CompletableFuture.allOf(found.toArray(new CompletableFuture[0]))
            .thenApply(done -> Reply.integer(found.stream().filter(CompletableFuture::join).count()));
    }

    /** EXPIRE key amount [NX | XX | GT | LT], and its kin. */
    private static CompletableFuture<Reply> expire(final RespConnection c, final byte[][] args, final TimeUnit unit,
        final Expiry expiry)
    {
        final String name = option(args[0]);
        final long amount = Commands.expiryMs(Commands.integer(args[2]), unit == TimeUnit.SECONDS, name);
        int flags = 0;
        for (int i = 3; i < args.length; i++)
        {
            flags |= switch (option(args[i]))
            {
                case "nx" -> StringProcessor.EXPIRE_NX;
                case "xx" -> StringProcessor.EXPIRE_XX;
                case "gt" -> StringProcessor.EXPIRE_GT;
                case "lt" -> StringProcessor.EXPIRE_LT;
                default -> throw new RespException("ERR Unsupported option " + Commands.printable(args[i]));
            };
        }
        if (Integer.bitCount(flags & (StringProcessor.EXPIRE_GT | StringProcessor.EXPIRE_LT)) > 1)
        {
            return reply(Reply.error("ERR GT and LT options at the same time are not compatible"));
        }
        if (Integer.bitCount(flags & (StringProcessor.EXPIRE_NX | StringProcessor.EXPIRE_XX)) > 1 ||
            (flags & StringProcessor.EXPIRE_NX) != 0 && (flags & (StringProcessor.EXPIRE_GT |
            StringProcessor.EXPIRE_LT)) != 0)
        {
            return reply(Reply.error("ERR NX and XX, GT or LT options at the same time are not compatible"));
        }
        return process(c.cache(), args[1], Op.EXPIRE.argument(flags, expiry, amount, EMPTY))
            .thenApply(Commands::toReply);
    }

    private static CompletableFuture<Reply> ttl(final RespConnection c, final byte[] key, final boolean seconds)
    {
        return process(c.cache(), key, Op.TTL.argument(0, Expiry.KEEP, 0, EMPTY)).thenApply(result ->
        {
            final long ms = result.integer();
            return Reply.integer(ms < 0 || !seconds ? ms : (ms + 500) / 1000);
        });
    }

    /** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. */
    private static CompletableFuture<Reply> scan(final RespConnection c, final byte[][] args)
    {
        final long cursor;
        try
        {
            cursor = Long.parseUnsignedLong(new String(args[1], StandardCharsets.US_ASCII));
        }
        catch (final NumberFormatException ex)
        {
            return reply(Reply.error("ERR invalid cursor"));
        }
        byte[] match = null;
        long count = 10;
        boolean onlyStrings = true;
        for (int i = 2; i < args.length; i += 2)
        {
            if (i + 1 >= args.length)
            {
                return reply(Reply.error("ERR syntax error"));
            }
            switch (option(args[i]))
            {
            case "match" -> match = args[i + 1];
            case "count" -> count = Commands.integer(args[i + 1]);
            case "type" -> onlyStrings = option(args[i + 1]).equals("string");
            default -> { return reply(Reply.error("ERR syntax error")); }
            }
        }
        if (count < 1)
        {
            return reply(Reply.error("ERR syntax error"));
        }
        final int database = c.database;
        final Cache<byte[], byte[]> cache = c.cache();
        final byte[] pattern = match;
        final int examine = (int)Math.min(count, 100_000);
        if (!onlyStrings)
        {
            return reply(Reply.array(List.of(Reply.bulk("0"), Reply.array(List.of()))));
        }
        return CompletableFuture.supplyAsync(() ->
        {
            final ScanCursors.Page page;
            try
            {
                page = c.service.scans.next(cursor, database, cache, examine, pattern);
            }
            catch (final IllegalArgumentException ex)
            {
                return Reply.error("ERR invalid cursor");
            }
            final List<Reply> keys = new ArrayList<>(page.keys().size());
            page.keys().forEach(k -> keys.add(Reply.bulk(k)));
            return Reply.array(List.of(Reply.bulk(Long.toUnsignedString(page.next())), Reply.array(keys)));
        }, c.service.blocking);
    }

    /** Clear every database's cache that exists in the cluster, whether this member served it yet or not. */
    private static CompletableFuture<Reply> flushAll(final RespConnection c, final byte[][] args)
    {
        return CompletableFuture.supplyAsync(() ->
        {
            for (int db = 0; db < c.service.settings.databases(); db++)
            {
                final Cache<byte[], byte[]> cache = c.service.existingDatabase(db);
                if (cache != null)
                {
                    cache.clear();
                }
            }
            return Reply.OK;
        }, c.service.blocking);
    }
}
