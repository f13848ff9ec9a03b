package dev.grid.node;

import dev.grid.core.BaselineTopology;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.Grid;
import dev.grid.core.PartitionLostException;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.engine.CopyView;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.Topology;
import dev.grid.node.workload.Bank;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The command channel of a member process started with {@code --commands} (the process tests drive members through
 * it): one command per line on standard input, one answer per line on standard output, {@code ERROR ...} for a
 * command that failed or does not exist. Commands act on data (ranges of keys, big values), on the cluster
 * (counters, rebalance, baseline, lost partitions, recovery, topology) and run the bank workload.
 * <p>
 * <b>Threading:</b> the process's main thread.
 */
final class MemberCommands
{
    private MemberCommands()
    {
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

    /**
     * Read commands from standard input until {@code quit} or its end, answering each on standard output.
     *
     * @param member the member they act on.
     * @param shards its shards (the member itself when it has one), for the commands on local copies and status.
     * @throws Exception if reading standard input fails.
     */
    static void run(final Grid member, final List<GridMember> shards) throws Exception
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
                if (words[0].equals("quit"))
                {
                    System.out.println("BYE");
                    System.out.flush();
                    return;
                }
                if (!writes(member, words) && !reads(member, words) && !cluster(member, shards, words) &&
                    !baseline(member, words) && !bank(member, words))
                {
                    System.out.println("ERROR unknown command '" + words[0] + "'");
                }
            }
            catch (final RuntimeException ex)
            {
                System.out.println("ERROR " + ex.getMessage());
            }
            System.out.flush();
        }
    }

    /**
     * Commands that write: create a cache, put ranges of keys and big values, load.
     *
     * @return false if the command is not one of them.
     */
    private static boolean writes(final Grid member, final String[] words) throws Exception
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
            default ->
            {
                return false;
            }
        }
        return true;
    }

    /**
     * Commands that read and check: ranges of keys, big values.
     *
     * @return false if the command is not one of them.
     */
    private static boolean reads(final Grid member, final String[] words) throws Exception
    {
        switch (words[0])
        {
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
            default ->
            {
                return false;
            }
        }
        return true;
    }

    /**
     * Cluster commands: counters, rebalance, checks, recovery, topology.
     *
     * @return false if the command is not one of them.
     */
    private static boolean cluster(final Grid member, final List<GridMember> shards, final String[] words)
        throws Exception
    {
        switch (words[0])
        {
            case "counters" ->
            {
                // One word per local copy: partition:lwm:hwm:gaps:size:historyFrom.
                final StringBuilder answer = new StringBuilder("COUNTERS");
                final SortedMap<Integer, CopyView> copies = new TreeMap<>();
                shards.forEach(shard -> copies.putAll(shard.localCopies(words[1])));
                copies.forEach((partition, copy) -> answer.append(' ').append(partition)
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
            case "quiescent" -> System.out.println("QUIESCENT " + shards.stream().allMatch(GridMember::isQuiescent));
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
            case "recovery" -> System.out.println("RECOVERY checkpoint " + shards.get(0).committedCheckpointId() +
                " records " + shards.stream().mapToLong(GridMember::recoveredRecords).sum());
            case "topology" ->
            {
                final Topology topology = shards.get(0).topology();
                System.out.println("TOPOLOGY " + topology.version() + " " + topology.members().size() + " " +
                    topology.members().stream().map(MemberRecord::memberId).sorted()
                        .collect(Collectors.joining(",")));
            }
            default ->
            {
                return false;
            }
        }
        return true;
    }

    /**
     * Baseline, activation and lost-partition commands.
     *
     * @return false if the command is not one of them.
     */
    private static boolean baseline(final Grid member, final String[] words) throws Exception
    {
        switch (words[0])
        {
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
            default ->
            {
                return false;
            }
        }
        return true;
    }

    /**
     * The bank workload: open accounts, run transfers, audit.
     *
     * @return false if the command is not one of them.
     */
    private static boolean bank(final Grid member, final String[] words) throws Exception
    {
        switch (words[0])
        {
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
            default ->
            {
                return false;
            }
        }
        return true;
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
}
