package dev.grid.node;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.ErrorCode;
import dev.grid.core.EvictionPolicy;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.GridException;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.QuorumReadPolicy;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.CopyView;
import dev.grid.core.engine.PartitionContents;
import dev.grid.core.engine.PartitionState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One member's side of cluster-wide snapshots, in {@code <data directory>/snapshots/<name>/}: a file per partition
 * this member was primary of ({@code <cache>/<partition>.part}: the copy's live entries at one moment, a consistent
 * cut of the partition at its recorded LWM and applied ranges) and a manifest ({@code manifest-<member>.properties})
 * with every cache's configuration and each file's SHA-256, entries and counters. The admin tool asks every member
 * and checks that together they hold every partition once ({@code ClientAdmin.createSnapshot}).
 * <p>
 * Restore loads files through the member's own cache API into caches recreated from the manifest, so partitions go
 * wherever the restoring cluster's affinity puts them: a snapshot restores into a cluster of any size, once its
 * directories are copied (merged) under any of the new members' data directories.
 * <p>
 * <b>Threading:</b> every method hands its work to this member's snapshot thread and returns a future; the engine's
 * thread only copies each partition out (one pass over its entries), so writes go on while a snapshot is taken.
 */
public final class MemberSnapshots implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(MemberSnapshots.class);
    private static final int FILE_MAGIC = 0x47534E31;
    private static final String DIRECTORY = "snapshots";
    private static final String PART = ".part";
    private static final int RESTORE_BATCH = 500;

    private final GridMember member;
    private final ExecutorService worker;

    /**
     * What a member wrote for a snapshot.
     *
     * @param name       of the snapshot.
     * @param memberId   the member.
     * @param partitions the partitions written, as {@code cache/partition}.
     * @param entries    entries written.
     * @param bytes      bytes of the files.
     */
    public record Created(String name, String memberId, List<String> partitions, long entries, long bytes)
    {
    }

    /**
     * A snapshot as one member holds it.
     *
     * @param name       of the snapshot.
     * @param memberId   the member asked (manifests may come from other members, copied here).
     * @param createdMs  when the first manifest here was written (wall clock).
     * @param caches     each cache of the snapshot with its partition count.
     * @param partitions the partitions whose files are here, as {@code cache/partition}.
     * @param entries    entries in those files.
     */
    public record Listed(String name, String memberId, long createdMs, SortedMap<String, Integer> caches,
        List<String> partitions, long entries)
    {
    }

    /**
     * A snapshot's files on one member checked against their manifests.
     *
     * @param name     of the snapshot.
     * @param memberId the member.
     * @param files    files checked.
     * @param problems each file that is missing, unlisted, malformed or fails its hash, named.
     */
    public record Checked(String name, String memberId, int files, List<String> problems)
    {
    }

    MemberSnapshots(final GridMember member)
    {
        this.member = member;
        // A plain pool, not Executors.newSingleThreadExecutor: that wrapper has a finalizer, so everything it reaches
        // (through this factory, the member and every entry it held) outlived the member's close by one more
        // collection, and a restart in the same JVM replayed its WAL beside the old member's data.
        this.worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), runnable ->
        {
            final Thread thread = new Thread(runnable, "grid-snapshot-" + member.configuration().memberId());
            thread.setDaemon(true);
            return thread;
        });
    }

    @Override
    public void close()
    {
        worker.shutdownNow();
    }

    private <T> CompletableFuture<T> submit(final java.util.function.Supplier<T> work)
    {
        return CompletableFuture.supplyAsync(work, worker);
    }

    private Path root()
    {
        if (member.dataDirectory == null)
        {
            throw new GridException(ErrorCode.SNAPSHOT_UNAVAILABLE, "member " + member.configuration().memberId() +
                " keeps no data directory (an in-memory member): it holds no snapshots");
        }
        return member.dataDirectory.root().resolve(DIRECTORY);
    }

    private Path directory(final String name)
    {
        if (name == null || !CacheConfiguration.NAME_PATTERN.matcher(name).matches() || name.matches("\\.+"))
        {
            throw new GridException(ErrorCode.CONFIGURATION_INVALID, "'" + name + "' is not a snapshot name: " +
                CacheConfiguration.NAME_PATTERN.pattern());
        }
        return root().resolve(name);
    }

    /**
     * Write this member's part of a snapshot: every partition it is the OWNING primary of (or exactly the partitions
     * named), each copied out at one moment while writes go on.
     *
     * @param name  of the snapshot.
     * @param only  partitions to write whatever this member's role ({@code cache/partition}; they may be added to a
     *              snapshot this member has), or null for its primaries in a new snapshot.
     * @return what was written; fails with {@link ErrorCode#SNAPSHOT_EXISTS} if the name is taken here (only null).
     */
    public CompletableFuture<Created> create(final String name, final Collection<String> only)
    {
        return submit(() -> write(name, only));
    }

    private Created write(final String name, final Collection<String> only)
    {
        final Path dir = directory(name);
        if (only == null && Files.exists(dir))
        {
            throw new GridException(ErrorCode.SNAPSHOT_EXISTS, "snapshot " + name + " exists on member " +
                member.configuration().memberId());
        }
        final Path manifestFile = dir.resolve("manifest-" + member.configuration().memberId() + ".properties");
        final Properties manifest = Files.exists(manifestFile) ? load(manifestFile) : new Properties();
        manifest.setProperty("snapshot", name);
        manifest.setProperty("member", member.configuration().memberId());
        manifest.putIfAbsent("created.ms", Long.toString(System.currentTimeMillis()));
        final List<String> written = new ArrayList<>();
        long entries = 0;
        long bytes = 0;
        for (final String cacheName : member.caches())
        {
            if (cacheName.matches("\\.+"))
            {
                // Checked before anything is written: its files would land outside the snapshot's directory.
                throw new GridException(ErrorCode.CONFIGURATION_INVALID, "cache '" + cacheName + "' cannot be " +
                    "snapshotted: its name is a directory of its own");
            }
        }
        for (final String cacheName : new TreeSet<>(member.caches()))
        {
            final CacheDescriptor cache;
            try
            {
                cache = member.descriptor(cacheName);
            }
            catch (final GridException destroyed)
            {
                continue;
            }
            describe(manifest, cache);
            final SortedMap<Integer, CopyView> copies = member.localCopies(cacheName);
            for (final Map.Entry<Integer, CopyView> copy : copies.entrySet())
            {
                final String id = cacheName + "/" + copy.getKey();
                final boolean wanted = copy.getValue().state() == PartitionState.OWNING &&
                    (only == null ? copy.getValue().primary() : only.contains(id));
                if (!wanted)
                {
                    continue;
                }
                final int partition = copy.getKey();
                final PartitionContents contents = Futures.await(member.query(() ->
                    member.engine().status().contents(cache.cacheId(), partition)));
                // Decided again at the moment of copying: a primary that moved since the listing must not give a
                // second file of the partition (two cuts of it, from different moments).
                if (contents == null || contents.state() != PartitionState.OWNING ||
                    (only == null && !contents.primary()))
                {
                    continue;
                }
                final Path file = dir.resolve(cacheName).resolve(partition + PART);
                final String sha256 = writePartition(file, cacheName, partition, contents);
                manifest.setProperty("file." + id, sha256 + "," + contents.keys().length + "," + contents.lwm() + "," +
                    contents.hwm() + "," + contents.gaps());
                written.add(id);
                entries += contents.keys().length;
                bytes += size(file);
            }
        }
        store(manifest, manifestFile);
        LOG.info("member {}: snapshot {}: wrote {} partitions, {} entries, {} bytes", member.configuration().memberId(),
            name, written.size(), entries, bytes);
        return new Created(name, member.configuration().memberId(), written, entries, bytes);
    }

    private static void describe(final Properties manifest, final CacheDescriptor cache)
    {
        final String prefix = "cache." + cache.name() + ".";
        manifest.setProperty(prefix + "partitions", Integer.toString(cache.partitions()));
        manifest.setProperty(prefix + "backups", Integer.toString(cache.backups()));
        manifest.setProperty(prefix + "keyCodec", cache.keyCodec());
        manifest.setProperty(prefix + "valueCodec", cache.valueCodec());
        manifest.setProperty(prefix + "operationTimeoutNs", Long.toString(cache.operationTimeoutNs()));
        manifest.setProperty(prefix + "lossPolicy", cache.lossPolicy().name());
        manifest.setProperty(prefix + "readsWithoutQuorum", cache.readsWithoutQuorum().name());
        manifest.setProperty(prefix + "journal", Integer.toString(cache.journalCapacity()));
        if (cache.backupFilterAttribute() != null)
        {
            manifest.setProperty(prefix + "backupFilter", cache.backupFilterAttribute());
        }
        if (cache.mergeOperator() != null)
        {
            manifest.setProperty(prefix + "mergeOperator", cache.mergeOperator());
        }
        if (cache.expiry() != null)
        {
            manifest.setProperty(prefix + "expiry", cache.expiry().kind().name() + ":" + cache.expiry().durationMs());
        }
        if (cache.eviction() != null)
        {
            manifest.setProperty(prefix + "eviction", cache.eviction().kind().name() + ":" +
                cache.eviction().maxEntries() + ":" + cache.eviction().maxBytes());
        }
    }

    private CacheConfiguration<Object, Object> configuration(final Properties manifest, final String name)
    {
        final String prefix = "cache." + name + ".";
        try
        {
            final CacheConfiguration<Object, Object> config = new CacheConfiguration<>(name,
                member.codecs.codecNamed(manifest.getProperty(prefix + "keyCodec"), name),
                member.codecs.codecNamed(manifest.getProperty(prefix + "valueCodec"), name))
                .partitions(Integer.parseInt(manifest.getProperty(prefix + "partitions")))
                .backups(Integer.parseInt(manifest.getProperty(prefix + "backups")))
                .partitionLossPolicy(PartitionLossPolicy.valueOf(manifest.getProperty(prefix + "lossPolicy")))
                .readsWithoutQuorum(QuorumReadPolicy.valueOf(manifest.getProperty(prefix + "readsWithoutQuorum")))
                .eventJournal(Integer.parseInt(manifest.getProperty(prefix + "journal")))
                .backupFilterAttribute(manifest.getProperty(prefix + "backupFilter"));
            final long timeoutNs = Long.parseLong(manifest.getProperty(prefix + "operationTimeoutNs"));
            if (timeoutNs > 0)
            {
                config.operationTimeoutNs(timeoutNs);
            }
            final String merge = manifest.getProperty(prefix + "mergeOperator");
            if (merge != null)
            {
                config.mergeOperator(merge, member.codecs.mergeOperatorNamed(merge));
            }
            final String expiry = manifest.getProperty(prefix + "expiry");
            if (expiry != null)
            {
                final String[] parts = expiry.split(":");
                config.expiry(new ExpiryPolicy(ExpiryPolicy.Kind.valueOf(parts[0]), Long.parseLong(parts[1])));
            }
            final String eviction = manifest.getProperty(prefix + "eviction");
            if (eviction != null)
            {
                final String[] parts = eviction.split(":");
                config.eviction(new EvictionPolicy(EvictionPolicy.Kind.valueOf(parts[0]), Long.parseLong(parts[1]),
                    Long.parseLong(parts[2])));
            }
            return config;
        }
        catch (final RuntimeException ex)
        {
            if (ex instanceof GridException grid && grid.errorCode() != ErrorCode.CONFIGURATION_INVALID)
            {
                throw grid;
            }
            throw new GridException(ErrorCode.SNAPSHOT_CORRUPT, "the manifest's configuration of cache " + name +
                " is unusable: " + ex.getMessage(), ex);
        }
    }

    private static String writePartition(final Path file, final String cache, final int partition,
        final PartitionContents contents)
    {
        final MessageDigest digest = sha256();
        final Path partial = file.resolveSibling(file.getFileName() + ".partial");
        try
        {
            Files.createDirectories(file.getParent());
            try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(new DigestOutputStream(
                Files.newOutputStream(partial), digest), 1 << 16)))
            {
                out.writeInt(FILE_MAGIC);
                out.writeUTF(cache);
                out.writeInt(partition);
                out.writeLong(contents.lwm());
                out.writeLong(contents.hwm());
                out.writeInt(contents.keys().length);
                for (int i = 0; i < contents.keys().length; i++)
                {
                    out.writeInt(contents.keys()[i].length);
                    out.write(contents.keys()[i]);
                    out.writeInt(contents.values()[i].length);
                    out.write(contents.values()[i]);
                    out.writeLong(contents.expireAtMs()[i]);
                    out.writeLong(contents.counters()[i]);
                }
            }
            Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        catch (final IOException ex)
        {
            throw new GridException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot write snapshot file " + file + ": " + ex,
                ex);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** A partition file read back. */
    private record PartitionFile(String cache, int partition, long lwm, List<byte[]> keys, List<byte[]> values,
        List<Long> expireAtMs)
    {
    }

    private static PartitionFile readPartition(final Path file, final MessageDigest digest)
    {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(new DigestInputStream(
            Files.newInputStream(file), digest), 1 << 16)))
        {
            if (in.readInt() != FILE_MAGIC)
            {
                throw new GridException(ErrorCode.SNAPSHOT_CORRUPT, "snapshot file " + file + " is not one");
            }
            final String cache = in.readUTF();
            final int partition = in.readInt();
            final long lwm = in.readLong();
            in.readLong();
            final int count = in.readInt();
            if (count < 0)
            {
                throw new GridException(ErrorCode.SNAPSHOT_CORRUPT, "snapshot file " + file + " is malformed");
            }
            final List<byte[]> keys = new ArrayList<>(Math.min(count, 1 << 16));
            final List<byte[]> values = new ArrayList<>(Math.min(count, 1 << 16));
            final List<Long> expiries = new ArrayList<>(Math.min(count, 1 << 16));
            for (int i = 0; i < count; i++)
            {
                keys.add(readBytes(in, file));
                values.add(readBytes(in, file));
                expiries.add(in.readLong());
                in.readLong();
            }
            if (in.read() != -1)
            {
                throw new GridException(ErrorCode.SNAPSHOT_CORRUPT, "snapshot file " + file + " has trailing bytes");
            }
            return new PartitionFile(cache, partition, lwm, keys, values, expiries);
        }
        catch (final EOFException ex)
        {
            throw new GridException(ErrorCode.SNAPSHOT_CORRUPT, "snapshot file " + file + " is truncated", ex);
        }
        catch (final IOException ex)
        {
            throw new GridException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot read snapshot file " + file + ": " + ex,
                ex);
        }
    }

    private static byte[] readBytes(final DataInputStream in, final Path file) throws IOException
    {
        final int length = in.readInt();
        if (length < 0 || length > 1 << 30)
        {
            throw new GridException(ErrorCode.SNAPSHOT_CORRUPT, "snapshot file " + file + " is malformed (length " +
                length + ")");
        }
        final byte[] bytes = new byte[length];
        in.readFully(bytes);
        return bytes;
    }

    /** @return every snapshot on this member, by name. */
    public CompletableFuture<List<Listed>> list()
    {
        return submit(() ->
        {
            final List<Listed> listed = new ArrayList<>();
            final Path root = root();
            if (!Files.isDirectory(root))
            {
                return listed;
            }
            try (Stream<Path> dirs = Files.list(root))
            {
                for (final Path dir : dirs.filter(Files::isDirectory).sorted().toList())
                {
                    listed.add(listed(dir.getFileName().toString(), manifests(dir)));
                }
            }
            catch (final IOException ex)
            {
                throw new GridException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot list " + root + ": " + ex, ex);
            }
            return listed;
        });
    }

    private Listed listed(final String name, final List<Properties> manifests)
    {
        final SortedMap<String, Integer> caches = new TreeMap<>();
        final Set<String> partitions = new TreeSet<>();
        long created = Long.MAX_VALUE;
        long entries = 0;
        for (final Properties manifest : manifests)
        {
            created = Math.min(created, Long.parseLong(manifest.getProperty("created.ms", "0")));
            for (final String key : manifest.stringPropertyNames())
            {
                if (key.startsWith("cache.") && key.endsWith(".partitions"))
                {
                    caches.put(key.substring("cache.".length(), key.length() - ".partitions".length()),
                        Integer.parseInt(manifest.getProperty(key)));
                }
                else if (key.startsWith("file.") && partitions.add(key.substring("file.".length())))
                {
                    entries += Long.parseLong(manifest.getProperty(key).split(",")[1]);
                }
            }
        }
        return new Listed(name, member.configuration().memberId(), created == Long.MAX_VALUE ? 0 : created, caches,
            List.copyOf(partitions), entries);
    }

    private List<Properties> manifests(final Path dir)
    {
        try (Stream<Path> files = Files.list(dir))
        {
            final List<Properties> manifests = new ArrayList<>();
            for (final Path file : files.filter(f -> f.getFileName().toString().startsWith("manifest-")).sorted()
                .toList())
            {
                manifests.add(load(file));
            }
            return manifests;
        }
        catch (final IOException ex)
        {
            throw new GridException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot list " + dir + ": " + ex, ex);
        }
    }

    /**
     * @param name of a snapshot.
     * @return its files here checked against the manifests' hashes; fails with {@link ErrorCode#SNAPSHOT_NOT_FOUND}
     *     if this member holds none of that name.
     */
    public CompletableFuture<Checked> check(final String name)
    {
        return submit(() -> checkNow(name));
    }

    private Checked checkNow(final String name)
    {
        final Path dir = existing(name);
        final Map<String, String> hashes = new HashMap<>();
        final List<String> problems = new ArrayList<>();
        for (final Properties manifest : manifests(dir))
        {
            for (final String key : manifest.stringPropertyNames())
            {
                if (key.startsWith("file.") && hashes.put(key.substring("file.".length()),
                    manifest.getProperty(key).split(",")[0]) != null)
                {
                    problems.add(key.substring("file.".length()) + ": listed in two manifests (directories of two " +
                        "members merged here held the same partition)");
                }
            }
        }
        final Set<String> seen = new TreeSet<>();
        for (final Path file : partFiles(dir))
        {
            final String relative = dir.relativize(file).toString().replace('\\', '/');
            final String id = relative.substring(0, relative.length() - PART.length());
            seen.add(id);
            final String expected = hashes.get(id);
            if (expected == null)
            {
                problems.add(id + ": in no manifest");
                continue;
            }
            final MessageDigest digest = sha256();
            try
            {
                readPartition(file, digest);
                final String actual = HexFormat.of().formatHex(digest.digest());
                if (!actual.equals(expected))
                {
                    problems.add(id + ": SHA-256 " + actual + ", the manifest says " + expected);
                }
            }
            catch (final GridException ex)
            {
                problems.add(id + ": " + ex.getMessage());
            }
        }
        hashes.keySet().stream().filter(id -> !seen.contains(id)).sorted()
            .forEach(id -> problems.add(id + ": listed in a manifest, no file"));
        return new Checked(name, member.configuration().memberId(), seen.size(), problems);
    }

    /**
     * Load this member's files of a snapshot into the cluster through its cache API. With {@code prepare}, first
     * destroy every cache of the snapshot that exists and create it again from the manifest (one member does this
     * before the others load).
     *
     * @param name    of the snapshot.
     * @param prepare whether to recreate the caches first.
     * @return entries loaded (expired ones skipped).
     */
    public CompletableFuture<Long> restore(final String name, final boolean prepare)
    {
        return submit(() -> load(name, prepare));
    }

    private long load(final String name, final boolean prepare)
    {
        final Path dir = existing(name);
        final List<Properties> manifests = manifests(dir);
        if (manifests.isEmpty())
        {
            throw new GridException(ErrorCode.SNAPSHOT_CORRUPT, "snapshot " + name + " on member " +
                member.configuration().memberId() + " has no manifest");
        }
        final Properties merged = new Properties();
        manifests.forEach(merged::putAll);
        final Checked checked = checkNow(name);
        if (!checked.problems().isEmpty())
        {
            throw new GridException(ErrorCode.SNAPSHOT_CORRUPT, "snapshot " + name + " on member " +
                member.configuration().memberId() + " fails its check: " + checked.problems());
        }
        // Before anything is destroyed: a deactivated cluster would refuse the loading after the caches were emptied.
        member.activation.requireActive();
        if (prepare)
        {
            // Every configuration first (a codec or merge operator this member lacks fails here), then the caches.
            final List<CacheConfiguration<Object, Object>> configurations = new ArrayList<>();
            for (final String cache : listed(name, manifests).caches().keySet())
            {
                configurations.add(configuration(merged, cache));
            }
            for (final CacheConfiguration<Object, Object> config : configurations)
            {
                if (member.caches().contains(config.name()))
                {
                    member.destroyCache(config.name());
                }
                member.createCache(config);
            }
        }
        long loaded = 0;
        final long nowMs = System.currentTimeMillis();
        for (final Path file : partFiles(dir))
        {
            final PartitionFile part = readPartition(file, sha256());
            final Cache<byte[], byte[]> cache = member.rawCache(part.cache());
            final Map<byte[], byte[]> batch = new java.util.IdentityHashMap<>();
            for (int i = 0; i < part.keys().size(); i++)
            {
                final long expireAtMs = part.expireAtMs().get(i);
                if (expireAtMs != 0 && expireAtMs <= nowMs)
                {
                    continue;
                }
                batch.put(part.keys().get(i), part.values().get(i));
                if (batch.size() == RESTORE_BATCH)
                {
                    cache.putAll(batch);
                    loaded += batch.size();
                    batch.clear();
                }
            }
            cache.putAll(batch);
            loaded += batch.size();
        }
        LOG.info("member {}: restored snapshot {}: {} entries", member.configuration().memberId(), name, loaded);
        return loaded;
    }

    private Path existing(final String name)
    {
        final Path dir = directory(name);
        if (!Files.isDirectory(dir))
        {
            throw new GridException(ErrorCode.SNAPSHOT_NOT_FOUND, "member " + member.configuration().memberId() +
                " holds no snapshot " + name);
        }
        return dir;
    }

    private static List<Path> partFiles(final Path dir)
    {
        try (Stream<Path> files = Files.walk(dir, 2))
        {
            return files.filter(f -> f.getFileName().toString().endsWith(PART)).sorted().toList();
        }
        catch (final IOException ex)
        {
            throw new GridException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot list " + dir + ": " + ex, ex);
        }
    }

    private static Properties load(final Path file)
    {
        final Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8))
        {
            properties.load(reader);
        }
        catch (final IOException | IllegalArgumentException ex)
        {
            throw new GridException(ErrorCode.SNAPSHOT_CORRUPT, "cannot read snapshot manifest " + file + ": " + ex,
                ex);
        }
        return properties;
    }

    private static void store(final Properties manifest, final Path file)
    {
        final Path partial = file.resolveSibling(file.getFileName() + ".partial");
        try
        {
            Files.createDirectories(file.getParent());
            try (Writer writer = Files.newBufferedWriter(partial, StandardCharsets.UTF_8))
            {
                manifest.store(writer, "Grid snapshot manifest");
            }
            Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        catch (final IOException ex)
        {
            throw new GridException(ErrorCode.PERSISTENCE_IO_FAILED, "cannot write " + file + ": " + ex, ex);
        }
    }

    private static long size(final Path file)
    {
        try
        {
            return Files.size(file);
        }
        catch (final IOException ex)
        {
            return 0;
        }
    }

    private static MessageDigest sha256()
    {
        try
        {
            return MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException("the JDK has no SHA-256", ex);
        }
    }
}
