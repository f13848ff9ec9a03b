package dev.grid.node;

import dev.grid.core.BaselineTopology;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.Grid;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.MemberMetrics;
import dev.grid.core.RebalanceListener;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.Transactions;
import dev.grid.core.engine.Topology;
import dev.grid.core.internal.affinity.ShardedAffinity;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;

/**
 * A cluster member that runs several shards in one process, as DESIGN.md's execution model has it: each shard is an
 * engine of its own on its own thread (its own transport endpoint, WAL, stores, counters, lock tables and client
 * port), owning the partitions {@code partition mod shards} of the member's share, and talking to the other shards
 * only by messages: through in-memory queues ({@link ShardLinks}), and to other members through Aeron. To the cluster
 * each shard is a node with its own id, {@code <member>.s<index>}; the affinity function ({@link ShardedAffinity})
 * groups the shards of a member by their attributes, so that no two copies of a partition are in one process.
 * <p>
 * The application's handle: a key's operation goes straight to the shard that owns its partition here
 * ({@link MemberCache#routedOver}); everything else (caches' creation, transactions, the baseline, the consistency
 * check) goes through the first shard, as it would through any member. Thin clients route by the partition map to
 * each shard's own client port.
 * <p>
 * <b>Threading:</b> thread-safe, as {@link GridMember}. <b>Invariant:</b> the shards start together and stop
 * together: a shard that fails to start stops the others, a shard that stops on its own stops the others, and
 * {@link #close()} stops every shard.
 */
public final class ShardedMember implements Grid
{
    /** The most shards a member runs (a core each; the links between them are allocated up front). */
    public static final int MAX_SHARDS = 64;

    private final String memberId;
    private final GridMember[] shards;
    /** Set once this member closes: a shard's stop is then expected, not a reason to stop the others. */
    private final AtomicBoolean closing = new AtomicBoolean();

    private ShardedMember(final String memberId, final GridMember[] shards)
    {
        this.memberId = memberId;
        this.shards = shards;
        final List<GridMember> all = List.of(shards);
        for (final GridMember shard : shards)
        {
            shard.shardsOfMember = all;
            // A shard that stops on its own (a failure of its engine, or a close of the shard alone) stops the others:
            // a member runs with all its shards or not at all, as a process that crashed would. On a thread of its
            // own, since the shard's agent completes this and the others' close waits for their agents.
            shard.stopped.thenRun(() ->
            {
                if (!closing.get())
                {
                    GridMember.LOG.warn("shard {} of member {} stopped; the member stops its other shards",
                        shard.configuration().memberId(), memberId);
                    new Thread(this::close, "grid-close-" + memberId).start();
                }
            });
        }
    }

    /**
     * @param memberId the member's id.
     * @param shard    a shard's index.
     * @return the shard's id in the cluster: {@code <memberId>.s<shard>}.
     */
    public static String shardId(final String memberId, final int shard)
    {
        return memberId + ".s" + shard;
    }

    /**
     * Start a member of several shards, each joining the cluster, and return once every shard has joined.
     *
     * @param memberId           the member's id; shard {@code i} is the node {@link #shardId shardId(memberId, i)}.
     * @param shards             how many shards, at least one.
     * @param shardConfiguration shard {@code i}'s configuration, not concluded yet, with that id, the UDP port of the
     *                           first shard plus {@code i}, and its own client port and data directory; its seeds
     *                           name the first shard of each member ({@code host:port}). Every member of the cluster
     *                           must run as many shards, on consecutive ports. This call changes the configurations:
     *                           it adds the attributes that group the shards; it lists every shard of every seed
     *                           member as a seed ({@code host:port + j}), so that the seed members' shards are seeds
     *                           that list each other and the default quorum is a majority of all of them; and it
     *                           counts an explicit {@code minMembers}, given in members, in shards
     *                           ({@code minMembers * shards}).
     * @return the running member.
     * @throws InvalidConfigurationException if the count, an id, a port, a seed or a data directory is wrong.
     * @throws dev.grid.core.JoinFailedException if a shard could not join; no shard is left running.
     */
    public static ShardedMember start(final String memberId, final int shards,
        final IntFunction<MemberConfiguration> shardConfiguration)
    {
        if (shards < 1 || shards > MAX_SHARDS)
        {
            throw new InvalidConfigurationException("shards=" + shards + " of member " + memberId +
                " must be in [1, " + MAX_SHARDS + "]");
        }
        final MemberConfiguration[] configs = new MemberConfiguration[shards];
        final Set<String> addresses = new HashSet<>();
        final Set<Path> dataDirectories = new HashSet<>();
        for (int i = 0; i < shards; i++)
        {
            configs[i] = shardConfiguration.apply(i);
            if (configs[i] == null || !shardId(memberId, i).equals(configs[i].memberId()))
            {
                throw new InvalidConfigurationException("shard " + i + " of member " + memberId + " must have the id " +
                    shardId(memberId, i) + ", not " + (configs[i] == null ? null : configs[i].memberId()));
            }
            if (configs[i].port() != configs[0].port() + i || !addresses.add(configs[i].bindAddress() + ":" +
                configs[i].port()))
            {
                throw new InvalidConfigurationException("shard " + i + " of member " + memberId + " has the port " +
                    configs[i].port() + ": the shards of a member use consecutive ports, from the first shard's " +
                    configs[0].port());
            }
            if (configs[i].dataDirectory() != null && !dataDirectories.add(configs[i].dataDirectory()))
            {
                throw new InvalidConfigurationException("shard " + i + " of member " + memberId + " has the data " +
                    "directory " + configs[i].dataDirectory() + " of another shard");
            }
        }
        final List<String> shardAddresses = new ArrayList<>();
        for (final MemberConfiguration config : configs)
        {
            shardAddresses.add(config.bindAddress() + ":" + config.port());
        }
        final List<String> seeds = shardSeeds(memberId, configs[0].seeds(), shards, shardAddresses);
        for (int i = 0; i < shards; i++)
        {
            final MemberConfiguration config = configs[i];
            config.attribute(ShardedAffinity.MEMBER_ATTRIBUTE, memberId);
            config.attribute(ShardedAffinity.SHARD_ATTRIBUTE, Integer.toString(i));
            seeds.forEach(seed -> addSeedOnce(config, seed));
            if (config.minMembers() > 0)
            {
                config.minMembers(config.minMembers() * shards);
            }
            config.conclude();
        }
        return new ShardedMember(memberId, startAll(configs, new ShardLinks(shardAddresses)));
    }

    /**
     * Every shard of every seed member: {@code host:port + j} for each seed {@code host:port} and each shard {@code j}
     * (this member's shards alone when no seed is configured). Seeds that every shard lists alike order each other
     * alike when a cluster starts (which of them goes first, Joining), and their majority is a majority of all the
     * seed members' shards. A member not among the seeds runs shards that are not seeds either, as a member of one
     * shard would be.
     */
    private static List<String> shardSeeds(final String memberId, final List<String> configured, final int shards,
        final List<String> own)
    {
        final List<String> seeds = new ArrayList<>();
        for (final String seed : configured)
        {
            final int colon = seed.lastIndexOf(':');
            if (colon <= 0 || !seed.substring(colon + 1).matches("[0-9]{1,5}"))
            {
                throw new InvalidConfigurationException("seed '" + seed + "' of member " + memberId +
                    " must be host:port");
            }
            final int port = Integer.parseInt(seed.substring(colon + 1));
            if (port + shards - 1 > 65535)
            {
                throw new InvalidConfigurationException("seed " + seed + " of member " + memberId + " leaves no " +
                    "room for the ports of its " + shards + " shards");
            }
            for (int shard = 0; shard < shards; shard++)
            {
                seeds.add(seed.substring(0, colon + 1) + (port + shard));
            }
        }
        if (configured.isEmpty())
        {
            // A member alone: its shards are the seeds (the quorum, a majority of them, starts it).
            seeds.addAll(own);
        }
        return seeds;
    }

    private static void addSeedOnce(final MemberConfiguration config, final String address)
    {
        if (!config.seeds().contains(address))
        {
            config.addSeed(address);
        }
    }

    /** Start the shards together (a cluster may need several of them to reach its quorum), or none. */
    private static GridMember[] startAll(final MemberConfiguration[] configs, final ShardLinks links)
    {
        final List<CompletableFuture<GridMember>> starting = new ArrayList<>(configs.length);
        for (int i = 0; i < configs.length; i++)
        {
            final MemberConfiguration config = configs[i];
            final int shard = i;
            final CompletableFuture<GridMember> started = new CompletableFuture<>();
            final Thread starter = new Thread(() ->
            {
                try
                {
                    started.complete(GridMember.start(config, endpoint -> links.wrap(shard, endpoint)));
                }
                catch (final RuntimeException | Error ex)
                {
                    started.completeExceptionally(ex);
                }
            }, "grid-start-" + config.memberId());
            starter.start();
            starting.add(started);
        }
        final GridMember[] members = new GridMember[configs.length];
        RuntimeException failure = null;
        for (int i = 0; i < configs.length; i++)
        {
            try
            {
                members[i] = Futures.await(starting.get(i));
            }
            catch (final RuntimeException ex)
            {
                failure = failure == null ? ex : failure;
            }
        }
        if (failure != null)
        {
            closeAll(members);
            throw failure;
        }
        return members;
    }

    /** @return the member's id (its shards' ids are {@link #shardId}s of it). */
    public String memberId()
    {
        return memberId;
    }

    /** @return how many shards this member runs. */
    public int shardCount()
    {
        return shards.length;
    }

    /**
     * @param index of a shard.
     * @return that shard, for its own metrics, client port and status.
     */
    public GridMember shard(final int index)
    {
        return shards[index];
    }

    public Transactions transactions()
    {
        return shards[0].transactions();
    }

    /**
     * @return the whole member's metrics: every shard's latency histograms merged and counts summed (each shard's own
     * through {@link #shard}), with the topology as the first shard sees it (where every shard is a member).
     */
    public MemberMetrics metrics()
    {
        final List<Metrics> each = new ArrayList<>(shards.length);
        for (final GridMember shard : shards)
        {
            each.add(shard.metrics);
        }
        final Topology current = shards[0].topology;
        return Metrics.combined(each, current == null ? 0 : current.version(), current == null ? 0 :
            current.members().size());
    }

    @SuppressWarnings("unchecked")
    public <K, V> Cache<K, V> createCache(final CacheConfiguration<K, V> configuration)
    {
        final MemberCache<K, V> created = (MemberCache<K, V>)shards[0].createCache(configuration);
        return created.routedOver(shards);
    }

    @SuppressWarnings("unchecked")
    public <K, V> Cache<K, V> cache(final String name)
    {
        return ((MemberCache<K, V>)shards[0].<K, V>cache(name)).routedOver(shards);
    }

    public void destroyCache(final String name)
    {
        shards[0].destroyCache(name);
    }

    public Collection<String> caches()
    {
        return shards[0].caches();
    }

    public RebalanceStatus rebalanceStatus()
    {
        return shards[0].rebalanceStatus();
    }

    public void addRebalanceListener(final RebalanceListener listener)
    {
        shards[0].addRebalanceListener(listener);
    }

    public ConsistencyReport checkConsistency(final String cacheName)
    {
        return shards[0].checkConsistency(cacheName);
    }

    public BaselineTopology baseline()
    {
        return shards[0].baseline();
    }

    public void setBaseline(final Collection<String> memberIds)
    {
        shards[0].setBaseline(memberIds);
    }

    public void addToBaseline(final String... memberIds)
    {
        shards[0].addToBaseline(memberIds);
    }

    public void removeFromBaseline(final String... memberIds)
    {
        shards[0].removeFromBaseline(memberIds);
    }

    public void baselineAutoAdjust(final long timeoutNs)
    {
        shards[0].baselineAutoAdjust(timeoutNs);
    }

    public List<Integer> lostPartitions(final String cacheName)
    {
        return shards[0].lostPartitions(cacheName);
    }

    public void resetLostPartitions(final String... cacheNames)
    {
        shards[0].resetLostPartitions(cacheNames);
    }

    public void activate()
    {
        shards[0].activate();
    }

    /**
     * Stop every shard, all at once: each leaves the cluster cleanly. One by one, the shards still running would take
     * over the partitions of those gone (a member's copy goes to a shard it has) only to leave them a moment later.
     * Returns once every shard is closed. Idempotent.
     *
     * @throws RuntimeException the first a shard's close threw, once every shard is closed.
     */
    public void close()
    {
        closing.set(true);
        closeAll(shards);
    }

    /** Close the shards that started (null for those that did not), all at once; the first failure is thrown. */
    private static void closeAll(final GridMember[] members)
    {
        final List<CompletableFuture<Void>> closes = new ArrayList<>(members.length);
        for (final GridMember shard : members)
        {
            if (shard == null)
            {
                continue;
            }
            final CompletableFuture<Void> closed = new CompletableFuture<>();
            final Thread closer = new Thread(() ->
            {
                try
                {
                    shard.close();
                    closed.complete(null);
                }
                catch (final RuntimeException | Error ex)
                {
                    closed.completeExceptionally(ex);
                }
            }, "grid-close-" + shard.configuration().memberId());
            closer.start();
            closes.add(closed);
        }
        RuntimeException failure = null;
        for (final CompletableFuture<Void> closed : closes)
        {
            try
            {
                Futures.await(closed);
            }
            catch (final RuntimeException ex)
            {
                failure = failure == null ? ex : failure;
            }
        }
        if (failure != null)
        {
            throw failure;
        }
    }
}
