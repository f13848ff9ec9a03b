package dev.grid.admin;

import dev.grid.client.ClientAdmin;
import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.BaselineTopology;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.QuorumStatus;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code grid-admin}: the operator's tool. It connects to any member over the client protocol and shows or changes
 * the cluster: members, baseline, caches, partition primaries, rebalance progress, the consistency check, lost
 * partitions, metrics, transactions, and the copies a member kept when a merge dropped them. Tables for people,
 * {@code --json} for scripts.
 * <p>
 * Exit codes: 0 done; 1 the cluster refused or failed the request (the message says why); 2 bad usage; 3 the
 * consistency check found conflicts; 4 no member could be reached; 5 authentication failed or the user lacks the
 * admin role; 6 {@code --wait} gave up.
 */
@Command(name = "grid-admin", mixinStandardHelpOptions = true, version = "grid-admin 0.1",
    description = "Show and change a Grid cluster through any of its members.",
    subcommands = {GridAdmin.State.class, GridAdmin.Baseline.class, GridAdmin.Caches.class,
        GridAdmin.Partitions.class, GridAdmin.CacheStats.class, GridAdmin.Rebalance.class, GridAdmin.Verify.class,
        GridAdmin.Lost.class,
        GridAdmin.ResetLost.class, GridAdmin.Activate.class, GridAdmin.Metrics.class, GridAdmin.Tx.class,
        KeptCommand.class, SnapshotCommand.class, ClusterCommands.Members.class, ClusterCommands.Cache.class,
        ClusterCommands.Config.class, ClusterCommands.Completion.class, ClusterCommands.Deactivate.class},
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:done", "1:the cluster refused or failed the request", "2:bad usage",
        "3:the consistency check found conflicts", "4:no member could be reached",
        "5:authentication failed or the admin role is missing", "6:--wait gave up"})
public final class GridAdmin
{
    static final int OK = 0;
    static final int FAILED = 1;
    static final int CONFLICTS = 3;
    static final int UNREACHABLE = 4;
    static final int DENIED = 5;
    static final int GAVE_UP = 6;

    @Option(names = {"-H", "--host"}, description = "A member's client address, host:port (repeatable; default " +
        "127.0.0.1:10800).", scope = CommandLine.ScopeType.INHERIT)
    List<String> hosts = new ArrayList<>();

    @Option(names = {"-u", "--user"}, description = "User name, if the members require one.",
        scope = CommandLine.ScopeType.INHERIT)
    String user;

    @Option(names = {"-p", "--password"}, description = "Password (default: the GRID_PASSWORD environment variable).",
        scope = CommandLine.ScopeType.INHERIT)
    String password;

    @Option(names = "--json", description = "Print JSON instead of tables.", scope = CommandLine.ScopeType.INHERIT)
    boolean json;

    @Option(names = "--tls", description = "Connect over TLS.", scope = CommandLine.ScopeType.INHERIT)
    boolean tls;

    @Option(names = "--truststore", description = "PKCS12 file of the certificates to trust (with --tls; default: " +
        "the JDK's).", scope = CommandLine.ScopeType.INHERIT)
    Path trustStore;

    @Option(names = "--truststore-password", description = "Its password (default: GRID_TRUSTSTORE_PASSWORD).",
        scope = CommandLine.ScopeType.INHERIT)
    String trustStorePassword;

    @Option(names = "--answer-timeout-s", description = "Give up an admin or snapshot request a member has not " +
        "answered within this many seconds, as when it is paused (default ${DEFAULT-VALUE}: a consistency check or " +
        "a snapshot of a large cache takes long).", scope = CommandLine.ScopeType.INHERIT)
    long answerTimeoutS = TimeUnit.NANOSECONDS.toSeconds(ClientConfiguration.OPERATOR_TIMEOUT_DEFAULT_NS);

    /**
     * Run the tool.
     *
     * @param args the command line.
     */
    public static void main(final String[] args)
    {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * Run the tool with the given output streams (for tests).
     *
     * @param args the command line.
     * @param out  standard output.
     * @param err  error output.
     * @return the exit code.
     */
    public static int run(final String[] args, final PrintWriter out, final PrintWriter err)
    {
        final CommandLine line = new CommandLine(new GridAdmin());
        line.setOut(out);
        line.setErr(err);
        line.setExecutionExceptionHandler((ex, cmd, parsed) ->
        {
            final int code;
            if (ex instanceof GridException grid)
            {
                code = switch (grid.errorCode())
                {
                    case CLUSTER_UNREACHABLE -> UNREACHABLE;
                    case AUTHENTICATION_FAILED, PERMISSION_DENIED -> DENIED;
                    default -> FAILED;
                };
                err.println("error " + grid.errorCode().code() + " " + grid.errorCode() + ": " + grid.getMessage());
            }
            else
            {
                code = FAILED;
                err.println("error: " + ex);
            }
            return code;
        });
        return line.execute(args);
    }

    GridClient connect()
    {
        final ClientConfiguration config = new ClientConfiguration().clientName("grid-admin").partitionAware(false)
            .requestTimeoutNs(TimeUnit.MINUTES.toNanos(5)).operatorTimeoutNs(TimeUnit.SECONDS.toNanos(answerTimeoutS));
        (hosts.isEmpty() ? List.of("127.0.0.1:10800") : hosts).forEach(config::address);
        if (tls || trustStore != null)
        {
            config.tls(trustStore, trustStorePassword != null ? trustStorePassword :
                System.getenv("GRID_TRUSTSTORE_PASSWORD"));
        }
        final String secret = password != null ? password : System.getenv("GRID_PASSWORD");
        if (user != null)
        {
            if (secret == null)
            {
                throw new GridException(ErrorCode.AUTHENTICATION_FAILED, "--user needs --password or GRID_PASSWORD");
            }
            config.credentials(user, secret);
        }
        return GridClient.connect(config);
    }

    /** Base of the subcommands: the parent's options and output. */
    abstract static class Sub implements Callable<Integer>
    {
        @CommandLine.ParentCommand
        GridAdmin parent;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        PrintWriter out()
        {
            return spec.commandLine().getOut();
        }

        void print(final Object json, final String table)
        {
            out().println(parent.json ? Json.write(json) : table);
        }

        @Override
        public Integer call()
        {
            if (parent.answerTimeoutS <= 0)
            {
                throw new CommandLine.ParameterException(spec.commandLine(),
                    "--answer-timeout-s must be positive, not " + parent.answerTimeoutS);
            }
            try (GridClient client = parent.connect())
            {
                return run(client);
            }
        }

        abstract int run(GridClient client);
    }

    @Command(name = "state", description = "Members, coordinator, topology version, and the answering member's " +
        "quorum (members heard and needed, writes refused without it, recent losses and returns).")
    static final class State extends Sub
    {
        int run(final GridClient client)
        {
            final ClientAdmin.ClusterState state = client.admin().clusterState();
            final List<Map<String, Object>> members = new ArrayList<>();
            final StringBuilder table = new StringBuilder("topology " + state.topologyVersion() + ", coordinator " +
                state.coordinator() + ", " + state.members().size() + " members\n");
            table.append(String.format("%-16s %-22s %-22s%n", "MEMBER", "ADDRESS", "CLIENT ADDRESS"));
            for (final ClientAdmin.Member member : state.members())
            {
                members.add(map("memberId", member.memberId(), "address", member.address(), "clientAddress",
                    member.clientAddress()));
                table.append(String.format("%-16s %-22s %-22s%n", member.memberId(), member.address(),
                    member.clientAddress()));
            }
            final QuorumStatus quorum = state.quorum();
            table.append(String.format("quorum: %s (%d members heard, %d needed); %d writes refused for want of it, " +
                "%d reads served without it%n", quorum.held() ? "held" : "NOT HELD (writes refused with NO_QUORUM)",
                quorum.have(), quorum.need(), quorum.writesRefused(), quorum.readsWithoutQuorum()));
            if (!quorum.history().isEmpty())
            {
                table.append("recent quorum changes (oldest first):\n");
                quorum.history().forEach(event -> table.append("  ").append(event).append('\n'));
            }
            print(map("topologyVersion", state.topologyVersion(), "coordinator", state.coordinator(), "members",
                members, "quorum", map("have", quorum.have(), "need", quorum.need(), "held", quorum.held(),
                "writesRefused", quorum.writesRefused(), "readsWithoutQuorum", quorum.readsWithoutQuorum(), "history",
                quorum.history())), table.toString().trim());
            return OK;
        }
    }

    @Command(name = "baseline", description = "Show the baseline, or change it: set, add, remove, auto-adjust.")
    static final class Baseline extends Sub
    {
        @Parameters(index = "0", arity = "0..1", description = "show (default), set, add, remove or auto-adjust.")
        String action = "show";

        @Parameters(index = "1..*", arity = "0..*", description = "Member ids (set, add, remove), or the " +
            "auto-adjust timeout in ms, or off.")
        List<String> args = new ArrayList<>();

        int run(final GridClient client)
        {
            final ClientAdmin admin = client.admin();
            switch (action)
            {
                case "show" ->
                {
                }
                case "set", "add", "remove" ->
                {
                    if (args.isEmpty())
                    {
                        throw new CommandLine.ParameterException(spec.commandLine(), "baseline " + action +
                            " needs member ids");
                    }
                    admin.changeBaseline(action.equals("set") ? 1 : action.equals("add") ? 2 : 3, args, -1);
                }
                case "auto-adjust" ->
                {
                    if (args.size() != 1)
                    {
                        throw new CommandLine.ParameterException(spec.commandLine(), "baseline auto-adjust needs " +
                            "a timeout in ms, or off");
                    }
                    final long timeoutNs;
                    try
                    {
                        timeoutNs = args.get(0).equals("off") ? -1 :
                            TimeUnit.MILLISECONDS.toNanos(Long.parseLong(args.get(0)));
                    }
                    catch (final NumberFormatException ex)
                    {
                        throw new CommandLine.ParameterException(spec.commandLine(), "'" + args.get(0) +
                            "' is neither a number of ms nor off");
                    }
                    admin.changeBaseline(4, List.of(), timeoutNs);
                }
                default -> throw new CommandLine.ParameterException(spec.commandLine(), "unknown baseline action '" +
                    action + "': show, set, add, remove or auto-adjust");
            }
            final BaselineTopology baseline = admin.baseline();
            final String autoAdjust = baseline.autoAdjustTimeoutNs() < 0 ? "off" :
                TimeUnit.NANOSECONDS.toMillis(baseline.autoAdjustTimeoutNs()) + " ms";
            final StringBuilder table = new StringBuilder("topology " + baseline.topologyVersion() + ", auto-adjust " +
                autoAdjust + (baseline.isSet() ? "" : ", no baseline set: every running member owns data") + "\n");
            table.append(String.format("%-16s %s%n", "MEMBER", "STATE"));
            for (final String member : baseline.members())
            {
                table.append(String.format("%-16s %s%n", member, baseline.running().contains(member) ? "ONLINE" :
                    "OFFLINE"));
            }
            for (final String member : baseline.outside())
            {
                table.append(String.format("%-16s %s%n", member, "ONLINE, outside the baseline"));
            }
            print(map("topologyVersion", baseline.topologyVersion(), "set", baseline.isSet(), "members",
                baseline.members(), "offline", baseline.offline(), "outside", baseline.outside(), "running",
                baseline.running(), "autoAdjustMs", baseline.autoAdjustTimeoutNs() < 0 ? -1 :
                TimeUnit.NANOSECONDS.toMillis(baseline.autoAdjustTimeoutNs())), table.toString().trim());
            return OK;
        }
    }

    @Command(name = "caches", description = "The caches.")
    static final class Caches extends Sub
    {
        int run(final GridClient client)
        {
            final List<String> names = client.caches();
            print(map("caches", names), names.isEmpty() ? "no caches" : String.join("\n", names));
            return OK;
        }
    }

    @Command(name = "cache-stats", description = "A cache's data on each member: entries (all copies, primaries), " +
        "accounted bytes, the member's cache data against its bound, evictions and expirations.")
    static final class CacheStats extends Sub
    {
        @Parameters(index = "0", description = "The cache.")
        String cache;

        int run(final GridClient client)
        {
            final StringBuilder table = new StringBuilder(String.format("%-16s %10s %10s %14s %14s %14s %10s %11s%n",
                "MEMBER", "ENTRIES", "PRIMARY", "BYTES", "MEMBER_BYTES", "MEMBER_BOUND", "EVICTIONS", "EXPIRATIONS"));
            final List<Map<String, Object>> rows = new ArrayList<>();
            client.admin().cacheMetrics(cache).forEach((member, m) ->
            {
                table.append(String.format("%-16s %10d %10d %14d %14d %14d %10d %11d%n", member, m.entries(),
                    m.primaryEntries(), m.bytes(), m.memberBytes(), m.memberBoundBytes(), m.evictions(),
                    m.expirations()));
                rows.add(map("memberId", member, "entries", m.entries(), "primaryEntries", m.primaryEntries(),
                    "bytes", m.bytes(), "memberBytes", m.memberBytes(), "memberBoundBytes", m.memberBoundBytes(),
                    "evictions", m.evictions(), "expirations", m.expirations()));
            });
            print(map("cache", cache, "members", rows), table.toString().stripTrailing());
            return OK;
        }
    }

    @Command(name = "partitions", description = "Every copy of each partition: member, primary or backup, state, " +
        "LWM, HWM, gaps, size.")
    static final class Partitions extends Sub
    {
        @Parameters(index = "0", description = "The cache.")
        String cache;

        int run(final GridClient client)
        {
            final List<ClientAdmin.Copy> copies = client.admin().copies(cache);
            final StringBuilder table = new StringBuilder(String.format("%-10s %-16s %-8s %-8s %10s %10s %-16s %8s%n",
                "PARTITION", "MEMBER", "ROLE", "STATE", "LWM", "HWM", "GAPS", "SIZE"));
            final List<Map<String, Object>> rows = new ArrayList<>();
            final Map<String, Integer> primaries = new LinkedHashMap<>();
            for (final ClientAdmin.Copy copy : copies)
            {
                table.append(String.format("%-10d %-16s %-8s %-8s %10d %10d %-16s %8d%n", copy.partition(),
                    copy.memberId(), copy.primary() ? "primary" : "backup", copy.state(), copy.lwm(), copy.hwm(),
                    copy.gaps(), copy.size()));
                rows.add(map("partition", copy.partition(), "memberId", copy.memberId(), "primary", copy.primary(),
                    "state", copy.state(), "lwm", copy.lwm(), "hwm", copy.hwm(), "gaps", copy.gaps(), "size",
                    copy.size()));
                if (copy.primary())
                {
                    primaries.merge(copy.memberId(), 1, Integer::sum);
                }
            }
            table.append("primaries per member: ").append(primaries);
            print(map("cache", cache, "copies", rows), table.toString());
            return OK;
        }
    }

    @Command(name = "rebalance", description = "Rebalance progress of every member; --wait until it is done.")
    static final class Rebalance extends Sub
    {
        @Option(names = "--wait", description = "Wait until no member is catching up, with a progress bar.")
        boolean await;

        @Option(names = "--timeout-s", description = "Give up waiting after this many seconds (default 600).")
        long timeoutS = 600;

        int run(final GridClient client)
        {
            final long deadlineNs = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
            while (true)
            {
                final Map<String, ClientAdmin.Rebalance> statuses = new LinkedHashMap<>();
                for (final ClientAdmin.Member member : client.admin().clusterState().members())
                {
                    statuses.put(member.memberId(), client.admin().onMember(member.memberId()).rebalanceStatus());
                }
                int planned = 0;
                int done = 0;
                long etaNs = 0;
                for (final ClientAdmin.Rebalance status : statuses.values())
                {
                    planned += status.partitionsPlanned();
                    done += status.partitionsDone();
                    etaNs = Math.max(etaNs, status.etaNs());
                }
                final boolean active = done < planned;
                if (!await || !active)
                {
                    report(statuses, active);
                    return OK;
                }
                if (!parent.json)
                {
                    final int width = 40;
                    final int filled = planned == 0 ? width : width * done / planned;
                    out().print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + done + "/" + planned +
                        " partitions" + (etaNs > 0 ? ", ETA " + TimeUnit.NANOSECONDS.toSeconds(etaNs) + " s" : "") +
                        "   ");
                    out().flush();
                }
                if (System.nanoTime() > deadlineNs)
                {
                    out().println();
                    report(statuses, true);
                    return GAVE_UP;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
            }
        }

        private void report(final Map<String, ClientAdmin.Rebalance> statuses, final boolean active)
        {
            final List<Map<String, Object>> members = new ArrayList<>();
            final StringBuilder table = new StringBuilder((await ? "\n" : "") + (active ? "rebalancing" : "idle") +
                "\n" + String.format("%-16s %9s %7s %11s %10s %8s %12s %10s%n", "MEMBER", "PLANNED", "DONE",
                "HISTORICAL", "RECORDS", "ETA S", "TOTAL HIST", "TOTAL FULL"));
            statuses.forEach((id, s) ->
            {
                members.add(map("memberId", id, "topologyVersion", s.topologyVersion(), "planned",
                    s.partitionsPlanned(), "done", s.partitionsDone(), "historicalPlanned", s.historicalPlanned(),
                    "records", s.records(), "bytes", s.bytes(), "etaMs", s.etaNs() < 0 ? -1 :
                    TimeUnit.NANOSECONDS.toMillis(s.etaNs()), "totalHistorical", s.totalHistorical(), "totalFull",
                    s.totalFull()));
                table.append(String.format("%-16s %9d %7d %11d %10d %8s %12d %10d%n", id, s.partitionsPlanned(),
                    s.partitionsDone(), s.historicalPlanned(), s.records(), s.etaNs() < 0 ? "?" :
                    String.valueOf(TimeUnit.NANOSECONDS.toSeconds(s.etaNs())), s.totalHistorical(), s.totalFull()));
            });
            print(map("active", active, "members", members), table.toString().trim());
        }
    }

    @Command(name = "verify", description = "Compare every copy of each partition of a cache (exit 3 on conflicts).")
    static final class Verify extends Sub
    {
        @Parameters(index = "0", description = "The cache.")
        String cache;

        int run(final GridClient client)
        {
            final ClientAdmin.ConsistencyResult result = client.admin().checkConsistency(cache);
            final List<Map<String, Object>> conflicts = new ArrayList<>();
            final StringBuilder table = new StringBuilder(cache + ": " + result.partitionsChecked() +
                " partitions checked, " + result.copiesMoving() + " copies still moving, " +
                (result.isClean() ? "no conflict" : result.conflicts().size() + " conflicts") + "\n");
            for (final ClientAdmin.Conflict conflict : result.conflicts())
            {
                conflicts.add(map("partition", conflict.partition(), "kind", conflict.kind(), "detail",
                    conflict.detail()));
                table.append("partition ").append(conflict.partition()).append(' ').append(conflict.kind())
                    .append(": ").append(conflict.detail()).append('\n');
            }
            print(map("cache", cache, "partitionsChecked", result.partitionsChecked(), "copiesMoving",
                result.copiesMoving(), "clean", result.isClean(), "conflicts", conflicts), table.toString().trim());
            return result.isClean() ? OK : CONFLICTS;
        }
    }

    @Command(name = "lost", description = "A cache's lost partitions.")
    static final class Lost extends Sub
    {
        @Parameters(index = "0", description = "The cache.")
        String cache;

        int run(final GridClient client)
        {
            final List<Integer> lost = client.admin().lostPartitions(cache);
            print(map("cache", cache, "lost", lost), lost.isEmpty() ? cache + ": no lost partition" :
                cache + ": " + lost.size() + " lost partitions " + lost);
            return OK;
        }
    }

    @Command(name = "reset-lost", description = "Serve a cache's lost partitions again (bring their owners back " +
        "first). Admin role.")
    static final class ResetLost extends Sub
    {
        @Parameters(index = "0", description = "The cache.")
        String cache;

        int run(final GridClient client)
        {
            final List<Integer> lost = client.admin().lostPartitions(cache);
            client.admin().resetLostPartitions(cache);
            print(map("cache", cache, "reset", lost), cache + ": reset " + lost.size() + " lost partitions " + lost);
            return OK;
        }
    }

    @Command(name = "activate", description = "Serve again a cluster an operator deactivated, or one that, " +
        "restarted after a whole-cluster stop, waits for members that will never return: partitions whose last " +
        "owners are all away become lost. Admin role.")
    static final class Activate extends Sub
    {
        int run(final GridClient client)
        {
            client.admin().activate();
            print(map("activated", true), "the cluster is active");
            return OK;
        }
    }

    @Command(name = "metrics", description = "A member's metrics: latency percentiles and counters.")
    static final class Metrics extends Sub
    {
        @Option(names = "--member", description = "The member (default: the one connected to).")
        String member;

        int run(final GridClient client)
        {
            final ClientAdmin admin = member == null ? client.admin() : client.admin().onMember(member);
            final Map<String, Long> metrics = admin.metrics();
            final StringBuilder table = new StringBuilder();
            metrics.forEach((name, value) -> table.append(String.format("%-28s %d%n", name, value)));
            print(metrics, table.toString().trim());
            return OK;
        }
    }

    @Command(name = "tx", description = "Transactions: list (every member's), or kill MEMBER ID (admin role).")
    static final class Tx extends Sub
    {
        @Parameters(index = "0", arity = "0..1", description = "list (default) or kill.")
        String action = "list";

        @Parameters(index = "1..*", arity = "0..*", description = "kill: the coordinating member and the id.")
        List<String> args = new ArrayList<>();

        int run(final GridClient client)
        {
            if (action.equals("kill"))
            {
                final long id;
                try
                {
                    id = args.size() == 2 ? Long.parseLong(args.get(1)) : -1;
                }
                catch (final NumberFormatException ex)
                {
                    throw new CommandLine.ParameterException(spec.commandLine(), "'" + args.get(1) +
                        "' is not a transaction id");
                }
                if (id < 0)
                {
                    throw new CommandLine.ParameterException(spec.commandLine(), "tx kill needs MEMBER ID");
                }
                client.admin().killTransaction(args.get(0), id);
                print(map("killed", map("memberId", args.get(0), "id", id)), "rolled back transaction " + id +
                    " of " + args.get(0));
                return OK;
            }
            if (!action.equals("list"))
            {
                throw new CommandLine.ParameterException(spec.commandLine(), "unknown tx action '" + action +
                    "': list or kill");
            }
            final List<ClientAdmin.TransactionInfo> txs = client.admin().transactions();
            final List<Map<String, Object>> rows = new ArrayList<>();
            final StringBuilder table = new StringBuilder(String.format("%-16s %12s %-13s %9s %10s %11s%n",
                "MEMBER", "ID", "STATE", "AGE MS", "PARTITIONS", "LOCKED KEYS"));
            for (final ClientAdmin.TransactionInfo tx : txs)
            {
                rows.add(map("memberId", tx.memberId(), "id", tx.id(), "state", tx.state(), "ageMs", tx.ageMs(),
                    "partitions", tx.partitions(), "lockedKeys", tx.lockedKeys()));
                table.append(String.format("%-16s %12d %-13s %9d %10d %11d%n", tx.memberId(), tx.id(), tx.state(),
                    tx.ageMs(), tx.partitions(), tx.lockedKeys()));
            }
            print(map("transactions", rows), txs.isEmpty() ? "no transaction in flight" : table.toString().trim());
            return OK;
        }
    }

    static Map<String, Object> map(final Object... pairs)
    {
        final Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2)
        {
            map.put((String)pairs[i], pairs[i + 1]);
        }
        return map;
    }
}
