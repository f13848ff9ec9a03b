package dev.grid.resp;

import dev.grid.core.Cache;
import dev.grid.core.MemberConfiguration;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * The Redis commands a member serves, each mapped to Grid operations on the connection's database cache: reads and
 * plain writes as single-key operations, read-modify-writes as the {@link StringProcessor} on the key's primary,
 * MSET, MSETNX and MULTI/EXEC as Grid transactions ({@link RespTransactions}). Commands check their arguments first
 * and answer Redis's own errors. Stateless; runs on connections' event loops.
 */
final class Commands
{
    /** A command's implementation. */
    @FunctionalInterface
    interface Handler
    {
        CompletableFuture<Reply> run(RespConnection connection, byte[][] args);
    }

    /**
     * A command: its name, its arity as Redis states it (negative: at least that many), whether MULTI may queue it.
     */
    record Command(String name, int arity, boolean inTransaction, Handler handler)
    {
        boolean arityMatches(final int count)
        {
            return arity >= 0 ? count == arity : count >= -arity;
        }
    }

    static final Map<String, Command> COMMANDS = new TreeMap<>();

    static
    {
        ConnectionCommands.register();
        StringCommands.register();
        KeyCommands.register();
        RespTransactions.register();
    }

    /** Commands that name no key (COMMAND's key positions). */
    static final Set<String> KEYLESS = Set.of("ping", "echo", "quit", "select", "auth", "hello", "client", "command",
        "info", "dbsize", "flushdb", "flushall", "scan", "multi", "exec", "discard", "unwatch");

    /** The most commands one MULTI queues. */
    static final int MULTI_MAX = 10_000;

    private static final Set<String> WITHOUT_AUTH = Set.of("auth", "hello", "quit");
    private static final Set<String> NOT_QUEUED = Set.of("exec", "discard", "multi", "watch", "unwatch", "quit");

    private Commands()
    {
    }

    static void register(final String name, final int arity, final boolean inTransaction, final Handler handler)
    {
        COMMANDS.put(name, new Command(name, arity, inTransaction, handler));
    }

    /**
     * @param connection the command came on.
     * @param args       the command's name and arguments.
     * @return its reply, when it is ready.
     */
    static CompletableFuture<Reply> execute(final RespConnection connection, final byte[][] args)
    {
        final String name = new String(args[0], StandardCharsets.UTF_8).toLowerCase(Locale.ROOT);
        final Command command = COMMANDS.get(name);
        if (!connection.authenticated && !WITHOUT_AUTH.contains(name))
        {
            return reply(Reply.error("NOAUTH Authentication required."));
        }
        if (command == null)
        {
            connection.multiRefused |= connection.multi != null;
            return reply(Reply.error("ERR unknown command '" + printable(args[0]) + "', with args beginning with: " +
                argsPreview(args)));
        }
        if (!command.arityMatches(args.length))
        {
            connection.multiRefused |= connection.multi != null;
            return reply(wrongArity(name));
        }
        if (connection.multi != null && !NOT_QUEUED.contains(name))
        {
            if (connection.multi.size() >= MULTI_MAX)
            {
                connection.multiRefused = true;
                return reply(Reply.error("ERR a MULTI holds at most " + MULTI_MAX + " commands"));
            }
            if (!RespTransactions.QUEUEABLE.contains(name))
            {
                connection.multiRefused = true;
                return reply(Reply.error("ERR " + name.toUpperCase(Locale.ROOT) + " is not supported inside MULTI " +
                    "on Grid"));
            }
            connection.multi.add(args);
            return reply(Reply.simple("QUEUED"));
        }
        try
        {
            return command.handler().run(connection, args);
        }
        catch (final RespException ex)
        {
            return reply(Reply.error(ex.getMessage()));
        }
    }

    /** @return whether the command is HELLO (its reply is in the protocol it chooses). */
    static boolean isHello(final byte[][] args)
    {
        return args[0].length == 5 && option(args[0]).equals("hello");
    }

    static CompletableFuture<Reply> reply(final Reply reply)
    {
        return CompletableFuture.completedFuture(reply);
    }

    static Reply wrongArity(final String name)
    {
        return Reply.error("ERR wrong number of arguments for '" + name + "' command");
    }

    /** @return the argument as text, lower case, for option names. */
    static String option(final byte[] arg)
    {
        return new String(arg, StandardCharsets.UTF_8).toLowerCase(Locale.ROOT);
    }

    /**
     * @param arg  an integer argument.
     * @param what the error if it is not one.
     * @return its value.
     * @throws RespException {@code ERR value is not an integer or out of range} by default.
     */
    static long integer(final byte[] arg, final String what)
    {
        try
        {
            return StringProcessor.parseLong(arg);
        }
        catch (final NumberFormatException ex)
        {
            throw new RespException(what == null ? "ERR value is not an integer or out of range" : what);
        }
    }

    static long integer(final byte[] arg)
    {
        return integer(arg, null);
    }

    /**
     * @param amount  an expiry argument.
     * @param seconds whether it counts seconds (else milliseconds).
     * @param command named in the error.
     * @return it in milliseconds.
     * @throws RespException {@code ERR invalid expire time in '<command>' command} if that overflows.
     */
    static long expiryMs(final long amount, final boolean seconds, final String command)
    {
        try
        {
            return seconds ? Math.multiplyExact(amount, 1000L) : amount;
        }
        catch (final ArithmeticException ex)
        {
            throw new RespException("ERR invalid expire time in '" + command + "' command");
        }
    }

    /** @return the distinct keys among {@code args[from..]}, by content, in their first order. */
    static List<byte[]> distinctKeys(final byte[][] args, final int from)
    {
        final Set<RespKey> keys = new LinkedHashSet<>();
        for (int i = from; i < args.length; i++)
        {
            keys.add(new RespKey(args[i]));
        }
        final List<byte[]> list = new ArrayList<>(keys.size());
        keys.forEach(k -> list.add(k.bytes()));
        return list;
    }

    /**
     * @param cache     the database's cache.
     * @param key       the key.
     * @param argument  the processor's argument ({@link StringProcessor.Op#argument}).
     * @return the processor's result, decoded.
     */
    static CompletableFuture<StringProcessor.Result> process(final Cache<byte[], byte[]> cache, final byte[] key,
        final byte[] argument)
    {
        return cache.invokeAsync(key, StringProcessor.NAME, argument).thenApply(StringProcessor::decodeResult);
    }

    /** @return the processor's result as a reply. */
    static Reply toReply(final StringProcessor.Result result)
    {
        return switch (result.kind())
        {
            case 'n' -> Reply.NIL;
            case 'o' -> Reply.OK;
            case 'i' -> Reply.integer(result.integer());
            case 'b' -> Reply.bulk(result.bytes());
            default -> Reply.error(new String(result.bytes(), StandardCharsets.UTF_8));
        };
    }

    /** @return whether the member asks for passwords (AUTH has users to check). */
    static boolean usersConfigured(final RespConnection connection)
    {
        final Map<String, MemberConfiguration.ClientUser> users = connection.service.member.configuration()
            .clientUsers();
        return !users.isEmpty();
    }

    static String printable(final byte[] arg)
    {
        final String text = new String(arg, StandardCharsets.UTF_8);
        return text.length() > 128 ? text.substring(0, 128) + "..." : text;
    }

    private static String argsPreview(final byte[][] args)
    {
        final StringBuilder preview = new StringBuilder();
        for (int i = 1; i < args.length && preview.length() < 128; i++)
        {
            preview.append('\'').append(printable(args[i])).append("' ");
        }
        return preview.toString();
    }

    /** @return a copy of the arguments from an index on. */
    static byte[][] tail(final byte[][] args, final int from)
    {
        return Arrays.copyOfRange(args, from, args.length);
    }
}
