package dev.grid.admin;

import dev.grid.client.ClientSnapshots;
import dev.grid.client.GridClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static dev.grid.admin.GridAdmin.map;

/**
 * {@code grid-admin snapshot create|list|check|restore [NAME]}: cluster-wide snapshots of every cache through
 * {@link ClientSnapshots}. {@code check} exits 3 when a file fails its hash or a partition is held by no member.
 */
@Command(name = "snapshot", description = "Cluster-wide snapshots of every cache, in each member's " +
    "<data>/snapshots/NAME: create NAME (while writes go on; admin role), list, check NAME (SHA-256 of every file, " +
    "every partition held once; exit 3 if not), restore NAME --yes (recreate the caches and load the files the " +
    "members hold, into a cluster of any size; admin role).")
final class SnapshotCommand extends GridAdmin.Sub
{
    @Parameters(index = "0", description = "create, list, check or restore.")
    String action;

    @Parameters(index = "1", arity = "0..1", description = "The snapshot's name (letters, digits, . _ -).")
    String name;

    @picocli.CommandLine.Option(names = "--yes", description = "Confirm that restore destroys the snapshot's caches " +
        "and their current data first.")
    boolean yes;

    @Override
    int run(final GridClient client)
    {
        final ClientSnapshots snapshots = client.admin().snapshots();
        if (!action.equals("list") && name == null)
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "snapshot " + action + " needs a name");
        }
        switch (action)
        {
            case "create" ->
            {
                final ClientSnapshots.Created created = snapshots.create(name);
                final StringBuilder table = new StringBuilder("snapshot " + name + ": " + created.entries() +
                    " entries, " + created.bytes() + " bytes\n");
                created.byMember().forEach((member, partitions) -> table.append(String.format("  %-16s %d partitions%n",
                    member, partitions.size())));
                print(map("name", name, "entries", created.entries(), "bytes", created.bytes(), "byMember",
                    created.byMember()), table.toString().trim());
                return GridAdmin.OK;
            }
            case "list" ->
            {
                final List<Object> json = new ArrayList<>();
                final StringBuilder table = new StringBuilder(String.format("%-24s %-24s %10s %10s %s%n", "NAME",
                    "CREATED", "ENTRIES", "MEMBERS", "COMPLETE"));
                for (final ClientSnapshots.Listed listed : snapshots.list())
                {
                    json.add(map("name", listed.name(), "createdMs", listed.createdMs(), "caches", listed.caches(),
                        "members", listed.byMember().keySet(), "entries", listed.entries(), "missing",
                        listed.missing().size(), "duplicated", listed.duplicated().size()));
                    table.append(String.format("%-24s %-24s %10d %10d %s%n", listed.name(),
                        Instant.ofEpochMilli(listed.createdMs()), listed.entries(), listed.byMember().size(),
                        listed.complete() ? "yes" : "NO: " + listed.missing().size() + " partitions missing, " +
                        listed.duplicated().size() + " held twice"));
                }
                print(map("snapshots", json), json.isEmpty() ? "no snapshots" : table.toString().trim());
                return GridAdmin.OK;
            }
            case "check" ->
            {
                final ClientSnapshots.Checked checked = snapshots.check(name);
                print(map("name", name, "files", checked.files(), "problems", checked.problems()),
                    checked.isClean() ? "snapshot " + name + ": " + checked.files() + " files, every hash matches, " +
                    "every partition held" : "snapshot " + name + ": " + checked.problems().size() + " problems\n  " +
                    String.join("\n  ", checked.problems()));
                return checked.isClean() ? GridAdmin.OK : GridAdmin.CONFLICTS;
            }
            case "restore" ->
            {
                if (!yes)
                {
                    throw new CommandLine.ParameterException(spec.commandLine(), "snapshot restore destroys the " +
                        "snapshot's caches and their data first: confirm with --yes");
                }
                final long loaded = snapshots.restore(name);
                print(map("name", name, "entries", loaded), "snapshot " + name + " restored: " + loaded + " entries");
                return GridAdmin.OK;
            }
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "unknown snapshot action '" +
                action + "': create, list, check or restore");
        }
    }
}
