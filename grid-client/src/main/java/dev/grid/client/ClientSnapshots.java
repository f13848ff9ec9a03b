package dev.grid.client;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.client.FrameReader;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Cluster-wide snapshots of every cache, driven from a client through every member ({@link ClientAdmin#snapshots()}).
 * <ul>
 *   <li>{@link #create}: each member writes the partitions it is the primary of, each copied out at one moment
 *   (consistent per partition: every write acknowledged before the call began is in it, later ones may be) while
 *   writes go on; partitions whose primary moved meanwhile are then asked of the members that hold them, so the
 *   snapshot holds every partition of every cache once. Transactions spanning partitions are not cut at one moment
 *   across them.</li>
 *   <li>{@link #list}, {@link #check}: what each member holds, its files' hashes against the manifests, and whether
 *   together they cover every partition.</li>
 *   <li>{@link #restore}: the caches are destroyed and created again from the snapshot's configuration, then every
 *   member loads the files it holds through the cache API, so data lands wherever the restoring cluster's affinity
 *   puts it, whatever its size.</li>
 * </ul>
 * Not thread-safe; one per operation is cheap.
 */
public final class ClientSnapshots
{
    private final ClientAdmin admin;

    ClientSnapshots(final ClientAdmin admin)
    {
        this.admin = admin;
    }

    /**
     * A snapshot taken.
     *
     * @param name       of the snapshot.
     * @param byMember   partitions ({@code cache/partition}) each member wrote.
     * @param entries    entries written.
     * @param bytes      bytes of the files.
     */
    public record Created(String name, Map<String, List<String>> byMember, long entries, long bytes)
    {
    }

    /**
     * A snapshot as the cluster holds it.
     *
     * @param name      of the snapshot.
     * @param createdMs when it was taken (wall clock of the earliest member).
     * @param caches    each cache with its partition count.
     * @param byMember  partitions ({@code cache/partition}) each member holds.
     * @param missing   partitions no member holds: a snapshot with any is incomplete.
     * @param duplicated partitions more than one member holds (files of different moments): a snapshot with any is
     *                  not restored.
     * @param entries   entries in all files.
     */
    public record Listed(String name, long createdMs, SortedMap<String, Integer> caches,
        Map<String, List<String>> byMember, List<String> missing, List<String> duplicated, long entries)
    {
        /** @return whether every partition of every cache is held by exactly one member. */
        public boolean complete()
        {
            return missing.isEmpty() && duplicated.isEmpty();
        }
    }

    /**
     * A snapshot checked.
     *
     * @param name     of the snapshot.
     * @param files    files checked on all members.
     * @param problems what is wrong, each naming the member and file (or the partitions no member holds).
     */
    public record Checked(String name, int files, List<String> problems)
    {
        /** @return whether every file matches its hash and every partition is held. */
        public boolean isClean()
        {
            return problems.isEmpty();
        }
    }

    /**
     * Take a snapshot of every cache. Admin role.
     *
     * @param name of the snapshot (letters, digits, {@code . _ -}).
     * @return what each member wrote.
     * @throws GridException with {@link ErrorCode#SNAPSHOT_EXISTS} if a member has one of that name,
     *     {@link ErrorCode#SNAPSHOT_CORRUPT} if some partitions could be written by no member, or by two (their
     *     primary moved between the two members' turns).
     */
    public Created create(final String name)
    {
        final Map<String, List<String>> byMember = new LinkedHashMap<>();
        long entries = 0;
        long bytes = 0;
        final List<String> members = members();
        for (final String member : members)
        {
            final FrameReader r = admin.onMember(member).call(ClientProtocol.SNAPSHOT_CREATE,
                w -> w.writeString(name).writeInt(-1));
            r.readString("memberId");
            byMember.computeIfAbsent(member, m -> new ArrayList<>()).addAll(strings(r));
            entries += r.readLong("entries");
            bytes += r.readLong("bytes");
        }
        // Partitions whose primary changed while members wrote: ask each member in turn for those it owns.
        SortedSet<String> missing = new TreeSet<>(list(name).missing());
        for (final String member : members)
        {
            if (missing.isEmpty())
            {
                break;
            }
            final List<String> asked = List.copyOf(missing);
            final FrameReader r = admin.onMember(member).call(ClientProtocol.SNAPSHOT_CREATE, w ->
            {
                w.writeString(name).writeInt(asked.size());
                asked.forEach(w::writeString);
            });
            r.readString("memberId");
            final List<String> written = strings(r);
            byMember.computeIfAbsent(member, m -> new ArrayList<>()).addAll(written);
            written.forEach(missing::remove);
            entries += r.readLong("entries");
            bytes += r.readLong("bytes");
        }
        if (!missing.isEmpty())
        {
            throw new GridException(ErrorCode.SNAPSHOT_CORRUPT, "snapshot " + name + " is incomplete: no member " +
                "owns " + missing.size() + " partitions: " + abbreviate(missing));
        }
        // A primary that moved between two members' turns: both wrote the partition, at different moments.
        final List<String> duplicated = list(name).duplicated();
        if (!duplicated.isEmpty())
        {
            throw new GridException(ErrorCode.SNAPSHOT_CORRUPT, "snapshot " + name + " holds " + duplicated.size() +
                " partitions twice (their primaries moved while it was taken; take it again under another name): " +
                abbreviate(duplicated));
        }
        return new Created(name, byMember, entries, bytes);
    }

    /** @return every snapshot any member holds, by name. */
    public List<Listed> list()
    {
        final Map<String, List<Part>> parts = new TreeMap<>();
        for (final String member : members())
        {
            final FrameReader r = admin.onMember(member).call(ClientProtocol.SNAPSHOT_LIST, w -> { });
            final int count = r.readInt("snapshots", 0, 1 << 16);
            for (int i = 0; i < count; i++)
            {
                final String name = r.readString("name");
                final long createdMs = r.readLong("createdMs");
                final int caches = r.readInt("caches", 0, 1 << 16);
                final SortedMap<String, Integer> partitions = new TreeMap<>();
                for (int c = 0; c < caches; c++)
                {
                    partitions.put(r.readString("cache"), r.readInt("partitions"));
                }
                parts.computeIfAbsent(name, n -> new ArrayList<>()).add(new Part(member, createdMs, partitions,
                    strings(r), r.readLong("entries")));
            }
        }
        final List<Listed> listed = new ArrayList<>();
        parts.forEach((name, held) -> listed.add(merge(name, held)));
        return listed;
    }

    /**
     * @param name of a snapshot.
     * @return it as the cluster holds it.
     * @throws GridException with {@link ErrorCode#SNAPSHOT_NOT_FOUND} if no member holds it.
     */
    public Listed list(final String name)
    {
        return list().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow(() ->
            new GridException(ErrorCode.SNAPSHOT_NOT_FOUND, "no member holds a snapshot " + name));
    }

    /**
     * @param name of a snapshot.
     * @return its files on every member checked against their hashes, and its coverage.
     */
    public Checked check(final String name)
    {
        final Listed listed = list(name);
        final List<String> problems = new ArrayList<>();
        int files = 0;
        for (final String member : listed.byMember().keySet())
        {
            final FrameReader r = admin.onMember(member).call(ClientProtocol.SNAPSHOT_CHECK, w -> w.writeString(name));
            files += r.readInt("files");
            final int count = r.readInt("problems", 0, 1 << 20);
            for (int i = 0; i < count; i++)
            {
                problems.add(member + ": " + r.readString("problem"));
            }
        }
        if (!listed.missing().isEmpty())
        {
            problems.add("no member holds " + listed.missing().size() + " partitions: " +
                abbreviate(listed.missing()));
        }
        if (!listed.duplicated().isEmpty())
        {
            problems.add("more than one member holds " + listed.duplicated().size() + " partitions (copies of " +
                "different moments; keep one file of each): " + abbreviate(listed.duplicated()));
        }
        return new Checked(name, files, problems);
    }

    /**
     * Restore a snapshot into the running cluster: its caches are destroyed and created again from the snapshot, then
     * each member holding files of it loads them. Admin role.
     *
     * @param name of a snapshot whose files are under the members' data directories.
     * @return entries loaded.
     * @throws GridException with {@link ErrorCode#SNAPSHOT_CORRUPT} if it is incomplete or a file fails its check.
     */
    public long restore(final String name)
    {
        final Checked checked = check(name);
        if (!checked.isClean())
        {
            throw new GridException(ErrorCode.SNAPSHOT_CORRUPT, "snapshot " + name + " fails its check: " +
                checked.problems());
        }
        final List<String> holders = new ArrayList<>(list(name).byMember().keySet());
        long loaded = 0;
        for (int i = 0; i < holders.size(); i++)
        {
            final boolean prepare = i == 0;
            loaded += admin.onMember(holders.get(i)).call(ClientProtocol.SNAPSHOT_RESTORE,
                w -> w.writeString(name).writeByte(prepare ? 1 : 0)).readLong("entries");
        }
        return loaded;
    }

    private record Part(String member, long createdMs, SortedMap<String, Integer> caches, List<String> partitions,
        long entries)
    {
    }

    private static Listed merge(final String name, final List<Part> held)
    {
        final SortedMap<String, Integer> caches = new TreeMap<>();
        final Map<String, List<String>> byMember = new LinkedHashMap<>();
        final SortedSet<String> covered = new TreeSet<>();
        final SortedSet<String> duplicated = new TreeSet<>();
        long created = Long.MAX_VALUE;
        long entries = 0;
        for (final Part part : held)
        {
            caches.putAll(part.caches());
            byMember.put(part.member(), part.partitions());
            part.partitions().stream().filter(p -> !covered.add(p)).forEach(duplicated::add);
            created = Math.min(created, part.createdMs());
            entries += part.entries();
        }
        final List<String> missing = new ArrayList<>();
        caches.forEach((cache, partitions) ->
        {
            for (int p = 0; p < partitions; p++)
            {
                if (!covered.contains(cache + "/" + p))
                {
                    missing.add(cache + "/" + p);
                }
            }
        });
        return new Listed(name, created, caches, byMember, missing, List.copyOf(duplicated), entries);
    }

    private List<String> members()
    {
        final List<String> members = new ArrayList<>();
        admin.clusterState().members().forEach(m -> members.add(m.memberId()));
        return members;
    }

    private static List<String> strings(final FrameReader r)
    {
        final int count = r.readInt("partitions", 0, 1 << 26);
        final List<String> values = new ArrayList<>(Math.min(count, 1 << 16));
        for (int i = 0; i < count; i++)
        {
            values.add(r.readString("partition"));
        }
        return values;
    }

    private static String abbreviate(final java.util.Collection<String> partitions)
    {
        final List<String> first = partitions.stream().limit(10).toList();
        return first + (partitions.size() > first.size() ? " and " + (partitions.size() - first.size()) + " more" :
            "");
    }
}
