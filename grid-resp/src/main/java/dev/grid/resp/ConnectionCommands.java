package dev.grid.resp;

import dev.grid.core.MemberConfiguration;
import dev.grid.core.MemberMetrics;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static dev.grid.resp.Commands.option;
import static dev.grid.resp.Commands.reply;

/**
 * The connection and server commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, CLIENT, COMMAND and INFO. Stateless.
 */
final class ConnectionCommands
{
    /** The Redis version Grid answers as: the command set it follows. */
    static final String REDIS_VERSION = "7.2.0";

    private ConnectionCommands()
    {
    }

    static void register()
    {
        Commands.register("ping", -1, true, (c, args) -> args.length > 2 ? reply(Commands.wrongArity("ping")) :
            reply(args.length == 2 ? Reply.bulk(args[1]) : Reply.simple("PONG")));
        Commands.register("echo", 2, true, (c, args) -> reply(Reply.bulk(args[1])));
        Commands.register("quit", -1, false, (c, args) ->
        {
            final CompletableFuture<Reply> ok = reply(Reply.OK);
            c.closeAfter(ok);
            return ok;
        });
        Commands.register("select", 2, false, ConnectionCommands::select);
        Commands.register("auth", -2, false, (c, args) -> args.length > 3 ? reply(Commands.wrongArity("auth")) :
            auth(c, args.length == 3 ? args[1] : null, args[args.length - 1], Reply.OK));
        Commands.register("hello", -1, false, ConnectionCommands::hello);
        Commands.register("client", -2, false, ConnectionCommands::client);
        Commands.register("command", -1, false, ConnectionCommands::command);
        Commands.register("info", -1, false, (c, args) -> CompletableFuture.supplyAsync(() ->
            Reply.bulk(info(c, args.length > 1 ? option(args[1]) : "default")), c.service.blocking));
    }

    private static CompletableFuture<Reply> select(final RespConnection c, final byte[][] args)
    {
        final long index = Commands.integer(args[1]);
        if (index < 0 || index >= c.service.settings.databases())
        {
            return reply(Reply.error("ERR DB index is out of range"));
        }
        // The database's cache may have to be created first: later commands wait for it.
        final CompletableFuture<Reply> selected = CompletableFuture.supplyAsync(() ->
        {
            c.service.database((int)index);
            c.database = (int)index;
            return Reply.OK;
        }, c.service.blocking);
        c.barrier(selected);
        return selected;
    }

    /** Check a password against the member's users (a barrier: the commands after it wait). */
    private static CompletableFuture<Reply> auth(final RespConnection c, final byte[] user, final byte[] password,
        final Reply onSuccess)
    {
        if (!Commands.usersConfigured(c))
        {
            return reply(Reply.error("ERR AUTH <password> called without any password configured for the default " +
                "user. Are you sure your configuration is correct?"));
        }
        final String name = user == null ? "default" : new String(user, StandardCharsets.UTF_8);
        final String secret = new String(password, StandardCharsets.UTF_8);
        final CompletableFuture<Reply> checked = CompletableFuture.supplyAsync(() ->
        {
            final MemberConfiguration.ClientRole role = c.service.member.authenticate(name, secret);
            if (role == null)
            {
                return Reply.error("WRONGPASS invalid username-password pair or user is disabled.");
            }
            c.user = name;
            c.authenticated = true;
            return onSuccess;
        }, c.service.authentication);
        c.barrier(checked);
        return checked;
    }

    private static CompletableFuture<Reply> hello(final RespConnection c, final byte[][] args)
    {
        int version = c.protocol;
        int i = 1;
        if (args.length > 1)
        {
            final long asked = Commands.integer(args[1], "ERR Protocol version is not an integer or out of range");
            if (asked != 2 && asked != 3)
            {
                return reply(Reply.error("NOPROTO unsupported protocol version"));
            }
            version = (int)asked;
            i = 2;
        }
        byte[] user = null;
        byte[] password = null;
        String name = null;
        for (; i < args.length; i++)
        {
            final String option = option(args[i]);
            if (option.equals("auth") && i + 2 < args.length)
            {
                user = args[++i];
                password = args[++i];
            }
            else if (option.equals("setname") && i + 1 < args.length)
            {
                name = new String(args[++i], StandardCharsets.UTF_8);
            }
            else
            {
                return reply(Reply.error("ERR Syntax error in HELLO option '" + Commands.printable(args[i]) + "'"));
            }
        }
        if (password == null && !c.authenticated)
        {
            return reply(Reply.error("NOAUTH HELLO must be called with the client already authenticated, otherwise " +
                "the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select " +
                "the RESP protocol version at the same time"));
        }
        final int chosen = version;
        final String newName = name;
        final CompletableFuture<Reply> authenticated = password == null ? reply(Reply.OK) :
            auth(c, user, password, Reply.OK);
        return authenticated.thenApply(result ->
        {
            if (result.isError())
            {
                return result;
            }
            c.protocol = chosen;
            if (newName != null)
            {
                c.name = newName;
            }
            return Reply.map(List.of(Reply.bulk("server"), Reply.bulk("redis"), Reply.bulk("version"),
                Reply.bulk(REDIS_VERSION), Reply.bulk("proto"), Reply.integer(chosen), Reply.bulk("id"),
                Reply.integer(c.id), Reply.bulk("mode"), Reply.bulk("standalone"), Reply.bulk("role"),
                Reply.bulk("master"), Reply.bulk("modules"), Reply.array(List.of())));
        });
    }

    private static CompletableFuture<Reply> client(final RespConnection c, final byte[][] args)
    {
        final String sub = option(args[1]);
        return reply(switch (sub)
        {
            case "setname" ->
            {
                if (args.length != 3)
                {
                    yield Commands.wrongArity("client|setname");
                }
                final String name = new String(args[2], StandardCharsets.UTF_8);
                if (name.chars().anyMatch(ch -> ch <= ' ' || ch > '~'))
                {
                    yield Reply.error("ERR Client names cannot contain spaces, newlines or special characters.");
                }
                c.name = name.isEmpty() ? null : name;
                yield Reply.OK;
            }
            case "getname" -> c.name == null ? Reply.NIL : Reply.bulk(c.name);
            case "id" -> Reply.integer(c.id);
            case "setinfo" -> Reply.OK;
            case "info" -> Reply.bulk("id=" + c.id + " name=" + (c.name == null ? "" : c.name) + " db=" +
                c.database + " user=" + c.user + " resp=" + c.protocol + "\n");
            default -> Reply.error("ERR unknown subcommand '" + Commands.printable(args[1]) + "'. Try CLIENT HELP.");
        });
    }

    private static CompletableFuture<Reply> command(final RespConnection c, final byte[][] args)
    {
        final String sub = args.length > 1 ? option(args[1]) : "";
        return reply(switch (sub)
        {
            case "" ->
            {
                final List<Reply> all = new ArrayList<>();
                Commands.COMMANDS.values().forEach(command -> all.add(describe(command)));
                yield Reply.array(all);
            }
            case "count" -> Reply.integer(Commands.COMMANDS.size());
            case "docs" -> Reply.map(List.of());
            case "info" ->
            {
                final List<Reply> described = new ArrayList<>();
                for (int i = 2; i < args.length; i++)
                {
                    final Commands.Command command = Commands.COMMANDS.get(option(args[i]));
                    described.add(command == null ? Reply.NIL_ARRAY : describe(command));
                }
                yield Reply.array(described);
            }
            default -> Reply.error("ERR unknown subcommand '" + Commands.printable(args[1]) +
                "'. Try COMMAND HELP.");
        });
    }

    /** @return a command as COMMAND describes it: name, arity, flags, first key, last key, step. */
    private static Reply describe(final Commands.Command command)
    {
        final boolean keyed = !Commands.KEYLESS.contains(command.name());
        return Reply.array(List.of(Reply.bulk(command.name()), Reply.integer(command.arity()),
            Reply.array(List.of()), Reply.integer(keyed ? 1 : 0), Reply.integer(keyed ? 1 : 0),
            Reply.integer(keyed ? 1 : 0)));
    }

    /** @return INFO's text for a section (default and all: every section). */
    private static String info(final RespConnection c, final String section)
    {
        final RespService service = c.service;
        final MemberMetrics metrics = service.member.metrics();
        final StringBuilder text = new StringBuilder();
        final boolean all = section.equals("default") || section.equals("all") || section.equals("everything");
        final Runtime runtime = Runtime.getRuntime();
        if (all || section.equals("server"))
        {
            text.append("# Server\r\nredis_version:").append(REDIS_VERSION).append("\r\nredis_mode:standalone\r\n")
                .append("grid_member:").append(service.member.configuration().memberId()).append("\r\n")
                .append("os:").append(System.getProperty("os.name")).append("\r\narch_bits:64\r\nprocess_id:")
                .append(ProcessHandle.current().pid()).append("\r\ntcp_port:").append(service.port())
                .append("\r\nuptime_in_seconds:").append((System.currentTimeMillis() - service.startedMs) / 1000)
                .append("\r\n\r\n");
        }
        if (all || section.equals("clients"))
        {
            text.append("# Clients\r\nconnected_clients:").append(service.connections.get())
                .append("\r\nmaxclients:").append(service.settings.maxConnections()).append("\r\n\r\n");
        }
        if (all || section.equals("memory"))
        {
            text.append("# Memory\r\nused_memory:").append(runtime.totalMemory() - runtime.freeMemory())
                .append("\r\nmaxmemory:").append(service.member.configuration().cacheMemoryMaxBytes())
                .append("\r\njvm_max_heap:").append(runtime.maxMemory()).append("\r\n\r\n");
        }
        if (all || section.equals("stats"))
        {
            text.append("# Stats\r\ntotal_connections_received:").append(service.connectionsReceived.get())
                .append("\r\ntotal_commands_processed:").append(service.commandsProcessed.get())
                .append("\r\ngrid_remaps:").append(metrics.remaps()).append("\r\ngrid_timeouts:")
                .append(metrics.timeouts()).append("\r\ngrid_tx_commits:").append(metrics.transactions().commits())
                .append("\r\n\r\n");
        }
        if (all || section.equals("replication"))
        {
            text.append("# Replication\r\nrole:master\r\nconnected_slaves:0\r\ngrid_members:")
                .append(metrics.members()).append("\r\ngrid_backups:").append(service.settings.backups())
                .append("\r\ngrid_topology_version:").append(metrics.topologyVersion()).append("\r\n\r\n");
        }
        if (all || section.equals("keyspace"))
        {
            text.append("# Keyspace\r\n");
            for (int db = 0; db < service.settings.databases(); db++)
            {
                final long keys = service.databaseIfServed(db) == null ? 0 : service.databaseIfServed(db).size();
                if (keys > 0)
                {
                    text.append("db").append(db).append(":keys=").append(keys).append(",expires=0,avg_ttl=0\r\n");
                }
            }
        }
        return text.toString();
    }
}
