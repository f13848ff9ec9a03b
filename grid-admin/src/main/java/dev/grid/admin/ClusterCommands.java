package dev.grid.admin;

import dev.grid.client.ClientAdmin;
import dev.grid.client.GridClient;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codec;
import dev.grid.core.Codecs;
import dev.grid.core.EvictionPolicy;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.QuorumReadPolicy;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.grid.admin.GridAdmin.map;

/**
 * The admin tool's commands for members, caches, configuration and shell completion: {@code members} (versions and
 * uptime), {@code cache create NAME [options]} and {@code cache destroy NAME --yes}, {@code config [--member M]} (a
 * member's configuration, secrets masked) and {@code completion} (a bash completion script).
 */
final class ClusterCommands
{
    private ClusterCommands()
    {
    }

    @Command(name = "members", description = "Every member: addresses, Grid version and uptime.")
    static final class Members extends GridAdmin.Sub
    {
        @Override
        int run(final GridClient client)
        {
            final ClientAdmin.ClusterState state = client.admin().clusterState();
            final long nowMs = System.currentTimeMillis();
            final List<Object> json = new ArrayList<>();
            final StringBuilder table = new StringBuilder(String.format("%-16s %-22s %-22s %-16s %s%n", "MEMBER",
                "ADDRESS", "CLIENT ADDRESS", "VERSION", "UPTIME"));
            for (final ClientAdmin.Member member : state.members())
            {
                final long uptimeMs = member.startedAtMs() == 0 ? -1 : Math.max(0, nowMs - member.startedAtMs());
                json.add(map("memberId", member.memberId(), "address", member.address(), "clientAddress",
                    member.clientAddress(), "version", member.version(), "startedAtMs", member.startedAtMs(),
                    "uptimeMs", uptimeMs));
                table.append(String.format("%-16s %-22s %-22s %-16s %s%n", member.memberId(), member.address(),
                    member.clientAddress() == null ? "-" : member.clientAddress(),
                    member.version() == null ? "?" : member.version(), uptimeMs < 0 ? "?" : uptime(uptimeMs)));
            }
            print(map("coordinator", state.coordinator(), "members", json), table.toString().trim());
            return GridAdmin.OK;
        }

        private static String uptime(final long ms)
        {
            final long days = TimeUnit.MILLISECONDS.toDays(ms);
            final long hours = TimeUnit.MILLISECONDS.toHours(ms) % 24;
            final long minutes = TimeUnit.MILLISECONDS.toMinutes(ms) % 60;
            final long seconds = TimeUnit.MILLISECONDS.toSeconds(ms) % 60;
            return (days > 0 ? days + "d " : "") + String.format("%02d:%02d:%02d", hours, minutes, seconds);
        }
    }

    @Command(name = "cache", description = "Create a cache with options (admin role), or destroy one and its data " +
        "(admin role, --yes).")
    static final class Cache extends GridAdmin.Sub
    {
        @Parameters(index = "0", description = "create or destroy.")
        String action;

        @Parameters(index = "1", description = "The cache's name.")
        String name;

        @Option(names = "--partitions", description = "Partitions (default ${DEFAULT-VALUE}).", defaultValue = "1024")
        int partitions;

        @Option(names = "--backups", description = "Synchronous backups of each partition (default ${DEFAULT-VALUE}).",
            defaultValue = "1")
        int backups;

        @Option(names = "--key-codec", description = "Key codec by name (default ${DEFAULT-VALUE}).",
            defaultValue = "string")
        String keyCodec;

        @Option(names = "--value-codec", description = "Value codec by name (default ${DEFAULT-VALUE}).",
            defaultValue = "string")
        String valueCodec;

        @Option(names = "--loss-policy", description = "READ_WRITE_SAFE or READ_ONLY_SAFE (default: the cache's).")
        PartitionLossPolicy lossPolicy;

        @Option(names = "--reads-without-quorum", description = "REFUSE or SERVE_LOCAL (default: the cache's).")
        QuorumReadPolicy readsWithoutQuorum;

        @Option(names = "--expiry", description = "KIND:DURATION, KIND one of created, modified, accessed, touched; " +
            "DURATION like 30s, 5m, 2h, 500ms.")
        String expiry;

        @Option(names = "--eviction", description = "KIND:MAX_ENTRIES, KIND lru or lfu.")
        String eviction;

        @Option(names = "--timeout-ms", description = "Operation timeout in ms (default: the cache's).")
        Long timeoutMs;

        @Option(names = "--event-journal", description = "Events each partition journals for listeners (0: none).",
            defaultValue = "0")
        int eventJournal;

        @Option(names = "--backup-filter", description = "Place backups only on members whose attribute of this name " +
            "differs from the primary's (a rack, a zone).")
        String backupFilter;

        @Option(names = "--yes", description = "Confirm that destroy removes the cache and all its data.")
        boolean yes;

        @Override
        int run(final GridClient client)
        {
            switch (action)
            {
                case "create" ->
                {
                    client.createCache(configuration());
                    print(map("created", name, "partitions", partitions, "backups", backups), "created cache " + name +
                        " (" + partitions + " partitions, " + backups + " backups)");
                    return GridAdmin.OK;
                }
                case "destroy" ->
                {
                    if (!yes)
                    {
                        throw new CommandLine.ParameterException(spec.commandLine(), "cache destroy removes " + name +
                            " and all its data: confirm with --yes");
                    }
                    client.destroyCache(name);
                    print(map("destroyed", name), "destroyed cache " + name);
                    return GridAdmin.OK;
                }
                default -> throw new CommandLine.ParameterException(spec.commandLine(), "unknown cache action '" +
                    action + "': create or destroy");
            }
        }

        @SuppressWarnings("unchecked")
        private CacheConfiguration<Object, Object> configuration()
        {
            final CacheConfiguration<Object, Object> config;
            try
            {
                config = new CacheConfiguration<>(name, (Codec<Object>)Codecs.byName(keyCodec),
                    (Codec<Object>)Codecs.byName(valueCodec)).partitions(partitions).backups(backups)
                    .eventJournal(eventJournal).backupFilterAttribute(backupFilter);
            }
            catch (final dev.grid.core.InvalidConfigurationException ex)
            {
                throw new CommandLine.ParameterException(spec.commandLine(), ex.getMessage());
            }
            if (lossPolicy != null)
            {
                config.partitionLossPolicy(lossPolicy);
            }
            if (readsWithoutQuorum != null)
            {
                config.readsWithoutQuorum(readsWithoutQuorum);
            }
            if (timeoutMs != null)
            {
                config.operationTimeoutNs(TimeUnit.MILLISECONDS.toNanos(timeoutMs));
            }
            if (expiry != null)
            {
                final String[] parts = split(expiry, "--expiry");
                final ExpiryPolicy.Kind kind = kind(ExpiryPolicy.Kind.class, parts[0], "--expiry");
                config.expiry(new ExpiryPolicy(kind, duration(parts[1]).toMillis()));
            }
            if (eviction != null)
            {
                final String[] parts = split(eviction, "--eviction");
                final EvictionPolicy.Kind kind = kind(EvictionPolicy.Kind.class, parts[0], "--eviction");
                config.eviction(new EvictionPolicy(kind, number(parts[1], "--eviction"), 0));
            }
            return config;
        }

        private String[] split(final String value, final String option)
        {
            final String[] parts = value.split(":", 2);
            if (parts.length != 2)
            {
                throw new CommandLine.ParameterException(spec.commandLine(), option + " '" + value +
                    "' is not KIND:VALUE");
            }
            return parts;
        }

        private <E extends Enum<E>> E kind(final Class<E> type, final String value, final String option)
        {
            try
            {
                return Enum.valueOf(type, value.toUpperCase(Locale.ROOT));
            }
            catch (final IllegalArgumentException ex)
            {
                throw new CommandLine.ParameterException(spec.commandLine(), option + " kind '" + value +
                    "' is not one of " + List.of(type.getEnumConstants()).toString().toLowerCase(Locale.ROOT));
            }
        }

        private long number(final String value, final String option)
        {
            try
            {
                return Long.parseLong(value);
            }
            catch (final NumberFormatException ex)
            {
                throw new CommandLine.ParameterException(spec.commandLine(), option + " '" + value +
                    "' is not a number");
            }
        }

        private Duration duration(final String value)
        {
            final java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m|h|d)").matcher(value);
            if (!m.matches())
            {
                throw new CommandLine.ParameterException(spec.commandLine(), "duration '" + value +
                    "' is not like 500ms, 30s, 5m, 2h or 1d");
            }
            final long amount = Long.parseLong(m.group(1));
            return switch (m.group(2))
            {
                case "ms" -> Duration.ofMillis(amount);
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "h" -> Duration.ofHours(amount);
                default -> Duration.ofDays(amount);
            };
        }
    }

    @Command(name = "config", description = "A member's configuration as the keys of its file, defaults included " +
        "(passwords and password hashes masked).")
    static final class Config extends GridAdmin.Sub
    {
        @Option(names = "--member", description = "The member (default: the one connected to).")
        String member;

        @Override
        int run(final GridClient client)
        {
            final ClientAdmin admin = member == null ? client.admin() : client.admin().onMember(member);
            final Map<String, String> keys = admin.configuration();
            final StringBuilder table = new StringBuilder();
            keys.forEach((key, value) -> table.append(key).append(" = ").append(value).append('\n'));
            print(keys, table.toString().trim());
            return GridAdmin.OK;
        }
    }

    @Command(name = "deactivate", description = "Deactivate the cluster to stop it as a whole: members refuse " +
        "cache operations (CLUSTER_INACTIVE), finish those in flight and checkpoint, so the members can then be " +
        "stopped in any order and restart replaying none of the writes (with a baseline set). 'activate' undoes " +
        "it. Admin role.")
    static final class Deactivate extends GridAdmin.Sub
    {
        @Option(names = "--timeout-ms", description = "How long to wait for operations in flight (default " +
            "${DEFAULT-VALUE}).", defaultValue = "60000")
        long timeoutMs;

        @Override
        int run(final GridClient client)
        {
            final boolean baseline = client.admin().baseline().isSet();
            final Map<String, Long> checkpoints = client.admin().deactivate(TimeUnit.MILLISECONDS.toNanos(timeoutMs));
            final StringBuilder table = new StringBuilder("the cluster is deactivated: stop its members in any order " +
                "(they restart active), or run 'activate'\n");
            if (!baseline)
            {
                table.append("warning: no baseline is set, so members still running take over the partitions of " +
                    "those stopped first (a rebalance they log and replay at start); set one with 'baseline set'\n");
            }
            checkpoints.forEach((member, id) -> table.append(String.format("  %-16s checkpoint %d%n", member, id)));
            print(map("deactivated", true, "baseline", baseline, "checkpoints", checkpoints), table.toString().trim());
            return GridAdmin.OK;
        }
    }

    @Command(name = "completion", description = "Print a bash completion script: source <(grid-admin completion).")
    static final class Completion implements java.util.concurrent.Callable<Integer>
    {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call()
        {
            spec.commandLine().getOut().print(AutoComplete.bash("grid-admin", spec.root().commandLine()));
            spec.commandLine().getOut().flush();
            return GridAdmin.OK;
        }
    }
}
