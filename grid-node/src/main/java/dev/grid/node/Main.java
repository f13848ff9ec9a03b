package dev.grid.node;

import dev.grid.core.BaselineTopology;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.GridException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.PartitionLostException;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.internal.cluster.MemberRecord;
import dev.grid.core.internal.cluster.Topology;
import dev.grid.node.workload.Bank;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs one member as a process: {@code Main <config.properties> [--commands]}. It starts, prints
 * {@code READY <driver directory>}, and runs until SIGINT/SIGTERM (or {@code quit}), then stops cleanly.
 * <p>
 * With {@code --commands} it also reads one command per line from standard input and answers one line on standard
 * output, for scripts and multi-process tests (this is not a client protocol; the thin client is):
 * <pre>
 * create CACHE BACKUPS            -> OK
 * put-range CACHE FROM TO         -> OK          (keys "kN", values "vN", strings)
 * check-range CACHE FROM TO       -> CHECKED n MISSING m WRONG w
 * probe-range CACHE FROM TO       -> PROBED n PRESENT p MISSING m WRONG w LOST l   (lost: refused PARTITION_LOST)
 * try-put-range CACHE FROM TO V   -> PUT acked a lost l   (keys "kN", values "V-N"; refused ones are not written)
 * topology                        -> TOPOLOGY version count memberIds(sorted, comma-separated)
 * rebalance                       -> REBALANCE active b planned n done n historical n full n records n entries n
 *                                    fallbacks n [cache NAME done/planned ...]   (current map, then totals)
 * quiescent                       -> QUIESCENT true|false
 * verify CACHE                    -> VERIFY checked n conflicts n moving n [partition p:KIND ...]
 * baseline                        -> BASELINE members a,b offline b outside c auto-adjust-ms n|-1
 * baseline-set A,B,...            -> OK          (also baseline-add A, baseline-remove A)
 * baseline-auto-adjust MS|-1      -> OK
 * lost CACHE                      -> LOST [p, ...]
 * reset-lost CACHE                -> OK
 * quit                            -> BYE, then the member stops
 * </pre>
 * A failed command answers {@code ERROR message}.
 */
public final class Main
{
    private Main()
    {
    }

    /**
     * @param args configuration file, then optionally {@code --commands}.
     */
    public static void main(final String[] args) throws Exception
    {
        if (args.length < 1)
        {
            System.err.println("usage: Main <member.properties> [--commands]");
            System.exit(2);
        }
        final MemberConfiguration config;
        try
        {
            config = MemberConfigurationFile.load(Path.of(args[0]));
        }
        catch (final GridException ex)
        {
            System.err.println(ex.getMessage());
            System.exit(2);
            return;
        }
        final GridMember member;
        try
        {
            member = GridMember.start(config);
        }
        catch (final GridException ex)
        {
            System.err.println(ex.getMessage());
            System.exit(1);
            return;
        }
        // SIGTERM or SIGINT: the JVM runs this hook and waits for it, so the member leaves the cluster and removes its
        // driver directory before the process ends. The member's own thread keeps the JVM alive until then. Registered
        // before READY, so a signal sent as soon as READY is read still finds it.
        Runtime.getRuntime().addShutdownHook(new Thread(member::close, "grid-shutdown-" + config.memberId()));
        System.out.println("READY " + member.driverDirectory());
        System.out.flush();
        final boolean commands = args.length > 1 && "--commands".equals(args[1]);
        if (commands)
        {
            runCommands(member);
            member.close();
        }
    }

    /** A long value made of its key, so that a check knows what it must be: {@code key:key:key...}, chars long. */
    private static String bigValue(final String key, final int chars)
    {
        final StringBuilder value = new StringBuilder(chars);
        while (value.length() < chars)
        {
            value.append(key).append(':');
        }
        value.setLength(chars);
        return value.toString();
    }

    /**
     * The command line that runs a member as a child of this JVM, with this JVM's module flags, system properties and
     * heap settings and its runtime class path (how tests and the benchmark start member processes): this JVM's class
     * path without test output and test frameworks, so a member runs on what a deployment has.
     *
     * @param config   the member's configuration file.
     * @param extra    arguments after the file, e.g. {@code --commands}.
     * @return the command.
     */
    public static List<String> childCommand(final Path config, final String... extra)
    {
        final List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        for (final String arg : ManagementFactory.getRuntimeMXBean().getInputArguments())
        {
            if (arg.startsWith("--") || arg.startsWith("-D") || arg.startsWith("-Xm"))
            {
                command.add(arg);
            }
        }
        command.add("-cp");
        command.add(runtimeClassPath(System.getProperty("java.class.path")));
        command.add(Main.class.getName());
        command.add(config.toString());
        command.addAll(List.of(extra));
        return command;
    }

    /** File names of test frameworks, which a member's class path leaves out (see {@link #runtimeClassPath}). */
    private static final List<String> TEST_ONLY_JARS = List.of("junit-", "opentest4j-", "apiguardian-", "archunit-",
        "checkstyle-", "jmh-");

    /**
     * @param classPath a class path, as {@code java.class.path} gives it.
     * @return the class path without test output directories, test jars and test frameworks' jars.
     */
    static String runtimeClassPath(final String classPath)
    {
        final List<String> kept = new ArrayList<>();
        for (final String entry : classPath.split(File.pathSeparator))
        {
            final String name = Path.of(entry).getFileName() == null ? entry : Path.of(entry).getFileName().toString();
            final boolean testOnly = name.equals("test-classes") || name.endsWith("-tests.jar") ||
                TEST_ONLY_JARS.stream().anyMatch(name::startsWith);
            if (!entry.isEmpty() && !testOnly)
            {
                kept.add(entry);
            }
        }
        return String.join(File.pathSeparator, kept);
    }

    /** The command channel's commands and their arguments; a line with another word count is refused with this. */
    private static final Map<String, String> USAGE = Map.ofEntries(
        Map.entry("create", "create <cache> <backups>"),
        Map.entry("put-range", "put-range <cache> <from> <to>"),
        Map.entry("put-big", "put-big <cache> <key> <chars>"),
        Map.entry("check-big", "check-big <cache> <key> <chars>"),
        Map.entry("check-range", "check-range <cache> <from> <to>"),
        Map.entry("probe-range", "probe-range <cache> <from> <to>"),
        Map.entry("try-put-range", "try-put-range <cache> <from> <to> <value-prefix>"),
        Map.entry("load", "load <cache> <from>"),
        Map.entry("counters", "counters <cache>"),
        Map.entry("recovery", "recovery"),
        Map.entry("topology", "topology"),
        Map.entry("rebalance", "rebalance"),
        Map.entry("quiescent", "quiescent"),
        Map.entry("verify", "verify <cache>"),
        Map.entry("baseline", "baseline"),
        Map.entry("baseline-set", "baseline-set <member,member,...>"),
        Map.entry("baseline-add", "baseline-add <member>"),
        Map.entry("baseline-remove", "baseline-remove <member>"),
        Map.entry("baseline-auto-adjust", "baseline-auto-adjust <ms|-1>"),
        Map.entry("lost", "lost <cache>"),
        Map.entry("reset-lost", "reset-lost <cache>"),
        Map.entry("bank-open", "bank-open <cache> <accounts>"),
        Map.entry("bank-run", "bank-run <cache> <accounts> <threads> <ms> <modes> [committed-log]"),
        Map.entry("bank-audit", "bank-audit <cache> <accounts>"),
        Map.entry("quit", "quit"));

    /** One byte per acknowledged transfer, written through to the OS at once (see "bank-run"). */
    private static void appendCommitted(final java.io.FileOutputStream log)
    {
        try
        {
            synchronized (log)
            {
                log.write('C');
            }
        }
        catch (final IOException ex)
        {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    private static void runCommands(final GridMember member) throws Exception
    {
        final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null)
        {
            final String[] words = line.trim().split("\\s+");
            final String usage = USAGE.get(words[0]);
            // Words in brackets are optional, and only at the end.
            final String[] usageWords = usage == null ? new String[0] : usage.split(" ");
            final long required = java.util.Arrays.stream(usageWords).filter(w -> !w.startsWith("[")).count();
            if (usage != null && (words.length < required || words.length > usageWords.length))
            {
                System.out.println("ERROR usage: " + usage);
                System.out.flush();
                continue;
            }
            try
            {
                switch (words[0])
                {
                    case "create" ->
                    {
                        member.createCache(new CacheConfiguration<>(words[1], Codecs.STRING, Codecs.STRING)
                            .backups(Integer.parseInt(words[2])));
                        System.out.println("OK");
                    }
                    case "put-range" ->
                    {
                        final Cache<String, String> cache = member.cache(words[1]);
                        final int from = Integer.parseInt(words[2]);
                        final int to = Integer.parseInt(words[3]);
                        final Map<String, String> batch = new HashMap<>();
                        for (int i = from; i < to; i++)
                        {
                            batch.put("k" + i, "v" + i);
                            if (batch.size() == 256 || i == to - 1)
                            {
                                cache.putAll(batch);
                                batch.clear();
                            }
                        }
                        System.out.println("OK");
                    }
                    case "put-big" ->
                    {
                        member.<String, String>cache(words[1]).put(words[2], bigValue(words[2],
                            Integer.parseInt(words[3])));
                        System.out.println("OK");
                    }
                    case "check-big" ->
                    {
                        final String value = member.<String, String>cache(words[1]).get(words[2]);
                        System.out.println(value == null ? "BIG MISSING" : value.equals(bigValue(words[2],
                            Integer.parseInt(words[3]))) ? "BIG OK" : "BIG WRONG " + value.length());
                    }
                    case "check-range" ->
                    {
                        final Cache<String, String> cache = member.cache(words[1]);
                        int checked = 0;
                        int missing = 0;
                        int wrong = 0;
                        for (int i = Integer.parseInt(words[2]); i < Integer.parseInt(words[3]); i++)
                        {
                            final String value = cache.get("k" + i);
                            checked++;
                            if (value == null)
                            {
                                missing++;
                            }
                            else if (!value.equals("v" + i))
                            {
                                wrong++;
                            }
                        }
                        System.out.println("CHECKED " + checked + " MISSING " + missing + " WRONG " + wrong);
                    }
                    case "probe-range" ->
                    {
                        // Like check-range, for a cluster where some partitions may be refused as lost.
                        final Cache<String, String> cache = member.cache(words[1]);
                        final int[] counts = new int[5];
                        for (int i = Integer.parseInt(words[2]); i < Integer.parseInt(words[3]); i++)
                        {
                            counts[0]++;
                            try
                            {
                                final String value = cache.get("k" + i);
                                counts[value == null ? 2 : value.equals("v" + i) || value.endsWith("-" + i) ? 1 : 3]++;
                            }
                            catch (final PartitionLostException ex)
                            {
                                counts[4]++;
                            }
                        }
                        System.out.println("PROBED " + counts[0] + " PRESENT " + counts[1] + " MISSING " + counts[2] +
                            " WRONG " + counts[3] + " LOST " + counts[4]);
                    }
                    case "try-put-range" ->
                    {
                        final Cache<String, String> cache = member.cache(words[1]);
                        int acked = 0;
                        int lost = 0;
                        for (int i = Integer.parseInt(words[2]); i < Integer.parseInt(words[3]); i++)
                        {
                            try
                            {
                                cache.put("k" + i, words[4] + "-" + i);
                                acked++;
                            }
                            catch (final PartitionLostException ex)
                            {
                                lost++;
                            }
                        }
                        System.out.println("PUT acked " + acked + " lost " + lost);
                    }
                    case "load" ->
                    {
                        // Writes k<from>, k<from+1>, ... one at a time until the process ends, reporting every 100th
                        // acknowledgement: "ACKED n" means every key below n was acknowledged.
                        final Cache<String, String> cache = member.cache(words[1]);
                        final int from = Integer.parseInt(words[2]);
                        final Thread load = new Thread(() ->
                        {
                            for (int i = from; ; i++)
                            {
                                cache.put("k" + i, "v" + i);
                                if ((i + 1 - from) % 100 == 0)
                                {
                                    System.out.println("ACKED " + (i + 1));
                                    System.out.flush();
                                }
                            }
                        }, "load");
                        load.setDaemon(true);
                        load.start();
                        System.out.println("OK");
                    }
                    case "counters" ->
                    {
                        // One word per local copy: partition:lwm:hwm:gaps:size:historyFrom.
                        final StringBuilder answer = new StringBuilder("COUNTERS");
                        member.localCopies(words[1]).forEach((partition, copy) -> answer.append(' ').append(partition)
                            .append(':').append(copy.lwm()).append(':').append(copy.hwm()).append(':')
                            .append(copy.gaps().size()).append(':').append(copy.size()).append(':')
                            .append(copy.historyFrom()));
                        System.out.println(answer);
                    }
                    case "rebalance" ->
                    {
                        final RebalanceStatus status = member.rebalanceStatus();
                        System.out.println("REBALANCE active " + status.active() + " planned " +
                            status.partitionsPlanned() + " done " + status.partitionsDone() + " historical " +
                            status.totalHistorical() + " full " + status.totalFull() + " records " +
                            status.totalHistoryRecords() + " entries " + status.totalFullEntries() + " fallbacks " +
                            status.totalFallbacks() + status.caches().entrySet().stream().map(e -> " cache " +
                            e.getKey() + " " + e.getValue().partitionsDone() + "/" + e.getValue().partitionsPlanned())
                            .collect(Collectors.joining()));
                    }
                    case "quiescent" -> System.out.println("QUIESCENT " + member.isQuiescent());
                    case "verify" ->
                    {
                        final ConsistencyReport report = member.checkConsistency(words[1]);
                        final StringBuilder answer = new StringBuilder("VERIFY checked " +
                            report.partitionsChecked() + " conflicts " + report.conflicts().size() + " moving " +
                            report.copiesMoving());
                        report.conflicts().forEach(conflict -> answer.append(" partition ")
                            .append(conflict.partition()).append(':').append(conflict.kind()));
                        System.out.println(answer);
                    }
                    case "baseline" ->
                    {
                        final BaselineTopology baseline = member.baseline();
                        System.out.println("BASELINE members " + String.join(",", baseline.members()) +
                            " offline " + String.join(",", baseline.offline()) + " outside " +
                            String.join(",", baseline.outside()) + " auto-adjust-ms " +
                            (baseline.autoAdjustTimeoutNs() < 0 ? -1 :
                            TimeUnit.NANOSECONDS.toMillis(baseline.autoAdjustTimeoutNs())));
                    }
                    case "baseline-set" ->
                    {
                        member.setBaseline(List.of(words[1].split(",")));
                        System.out.println("OK");
                    }
                    case "baseline-add" ->
                    {
                        member.addToBaseline(words[1]);
                        System.out.println("OK");
                    }
                    case "baseline-remove" ->
                    {
                        member.removeFromBaseline(words[1]);
                        System.out.println("OK");
                    }
                    case "baseline-auto-adjust" ->
                    {
                        final long ms = Long.parseLong(words[1]);
                        member.baselineAutoAdjust(ms < 0 ? -1 : TimeUnit.MILLISECONDS.toNanos(ms));
                        System.out.println("OK");
                    }
                    case "lost" -> System.out.println("LOST " + member.lostPartitions(words[1]));
                    case "activate" ->
                    {
                        member.activate();
                        System.out.println("OK");
                    }
                    case "reset-lost" ->
                    {
                        member.resetLostPartitions(words[1]);
                        System.out.println("OK");
                    }
                    case "recovery" -> System.out.println("RECOVERY checkpoint " + member.committedCheckpointId() +
                        " records " + member.recoveredRecords());
                    case "topology" ->
                    {
                        final Topology topology = member.topology();
                        System.out.println("TOPOLOGY " + topology.version() + " " + topology.members().size() + " " +
                            topology.members().stream().map(MemberRecord::memberId).sorted()
                                .collect(Collectors.joining(",")));
                    }
                    case "bank-open" ->
                    {
                        Bank.open(member.cache(words[1]), Integer.parseInt(words[2]));
                        System.out.println("OK");
                    }
                    case "bank-run" ->
                    {
                        // Transfers for <ms> milliseconds; <modes> is a comma list of PESSIMISTIC, OPTIMISTIC,
                        // PREDICATE.
                        final List<Bank.Mode> modes = new java.util.ArrayList<>();
                        for (final String mode : words[5].split(","))
                        {
                            modes.add(Bank.Mode.valueOf(mode.toUpperCase()));
                        }
                        // With a sixth word, each acknowledged commit appends one byte to that file at once
                        // (written through to the OS, so a SIGKILL loses none), for a test that kills members mid-run.
                        final java.io.FileOutputStream committedLog = words.length > 6 ?
                            new java.io.FileOutputStream(words[6], true) : null;
                        final Bank.Result result;
                        try
                        {
                            result = Bank.run(member, member.cache(words[1]), Integer.parseInt(words[2]),
                                Integer.parseInt(words[3]), TimeUnit.MILLISECONDS.toNanos(Long.parseLong(words[4])),
                                modes, committedLog == null ? () -> { } : () -> appendCommitted(committedLog));
                        }
                        finally
                        {
                            if (committedLog != null)
                            {
                                committedLog.close();
                            }
                        }
                        System.out.println("TRANSFERS committed " + result.committed() + " aborted " +
                            result.aborted() + " unknown " + result.unknown() + " insufficient " +
                            result.insufficient() + " p50us " + result.latency().getValueAtPercentile(50) +
                            " p99us " + result.latency().getValueAtPercentile(99) + " aborts " + result.aborts());
                    }
                    case "bank-audit" ->
                    {
                        final long[] audit = Bank.audit(member, member.cache(words[1]), Integer.parseInt(words[2]));
                        System.out.println("AUDIT sum " + audit[0] + " transfers " + audit[1]);
                    }
                    case "quit" ->
                    {
                        System.out.println("BYE");
                        System.out.flush();
                        return;
                    }
                    default -> System.out.println("ERROR unknown command '" + words[0] + "'");
                }
            }
            catch (final RuntimeException ex)
            {
                System.out.println("ERROR " + ex.getMessage());
            }
            System.out.flush();
        }
    }
}
