package dev.grid.node;

import dev.grid.core.Grid;
import dev.grid.core.GridException;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Runs one member as a process: {@code Main <config.properties> [--commands]}. It starts, prints
 * {@code READY <driver directory>...} (one per shard: a file with {@code shards = N} runs a {@link ShardedMember}), and
 * runs until SIGINT/SIGTERM (or {@code quit}), then stops cleanly.
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
        final MemberConfigurationFile.Shards config;
        try
        {
            config = MemberConfigurationFile.loadShards(Path.of(args[0]), System.getenv());
        }
        catch (final GridException ex)
        {
            System.err.println(ex.getMessage());
            System.exit(2);
            return;
        }
        final Grid member;
        final List<GridMember> shards = new ArrayList<>();
        try
        {
            if (config.count() == 1)
            {
                final GridMember single = GridMember.start(config.shard().apply(0));
                shards.add(single);
                member = single;
            }
            else
            {
                final ShardedMember sharded = ShardedMember.start(config.memberId(), config.count(), config.shard());
                for (int i = 0; i < sharded.shardCount(); i++)
                {
                    shards.add(sharded.shard(i));
                }
                member = sharded;
            }
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
        // Every shard's driver directory, the first shard's first.
        System.out.println("READY " + shards.stream().map(GridMember::driverDirectory)
            .collect(Collectors.joining(" ")));
        System.out.flush();
        final boolean commands = args.length > 1 && "--commands".equals(args[1]);
        if (commands)
        {
            MemberCommands.run(member, shards);
            member.close();
        }
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

}
