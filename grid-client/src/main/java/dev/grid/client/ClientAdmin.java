package dev.grid.client;

import dev.grid.core.BaselineTopology;
import dev.grid.core.CacheMetrics;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.QuorumStatus;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.client.FrameReader;
import dev.grid.core.client.FrameWriter;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Admin requests through the thin client: cluster state, baseline, lost partitions, the consistency check, rebalance
 * status and metrics. Requests that change the cluster need a user with the admin role
 * ({@link ErrorCode#PERMISSION_DENIED} otherwise). Per-member figures (rebalance, metrics) come from the member the
 * request reaches: {@link #onMember} picks it. A request its member has not answered within the client's operator
 * timeout ({@link ClientConfiguration#operatorTimeoutNs}) fails with an
 * {@link dev.grid.core.OperationTimeoutException}. Thread-safe.
 */
public final class ClientAdmin
{
    private final GridClient client;
    private final String memberAddress;

    ClientAdmin(final GridClient client, final String memberAddress)
    {
        this.client = client;
        this.memberAddress = memberAddress;
    }

    /**
     * One member as the cluster lists it.
     *
     * @param memberId      its id.
     * @param address       its member-to-member address.
     * @param clientAddress its client address, or null if it serves no clients.
     * @param version       its Grid version, or null if it did not say (an older member).
     * @param startedAtMs   when it started (wall clock), 0 if it did not say.
     */
    public record Member(String memberId, String address, String clientAddress, String version, long startedAtMs)
    {
    }

    /**
     * The cluster's membership.
     *
     * @param topologyVersion the current version.
     * @param coordinator     the coordinator's member id.
     * @param members         oldest first.
     * @param quorum          the answering member's view of the quorum (members heard and needed, whether it holds
     *                        it, writes it refused without it, and when it lost or regained it lately).
     */
    public record ClusterState(long topologyVersion, String coordinator, List<Member> members, QuorumStatus quorum)
    {
    }

    /**
     * A consistency check's outcome, as the admin tool prints it.
     *
     * @param partitionsChecked partitions whose copies were compared.
     * @param copiesMoving      copies still catching up (not compared).
     * @param conflicts         partitions whose copies disagree.
     */
    public record ConsistencyResult(int partitionsChecked, int copiesMoving, List<Conflict> conflicts)
    {
        /** @return whether no partition's copies disagree. */
        public boolean isClean()
        {
            return conflicts.isEmpty();
        }
    }

    /**
     * @param partition the partition.
     * @param kind      COUNTERS or DATA.
     * @param detail    every copy's state.
     */
    public record Conflict(int partition, String kind, String detail)
    {
    }

    /**
     * One member's rebalance.
     *
     * @param topologyVersion   the map the figures belong to.
     * @param partitionsPlanned MOVING copies of the member.
     * @param partitionsDone    of those, caught up.
     * @param historicalPlanned of those planned, historical.
     * @param records           records and entries applied.
     * @param bytes             bytes applied.
     * @param elapsedNs         since the map's rebalance began.
     * @param etaNs             estimated time left, -1 unknown.
     * @param totalHistorical   partitions caught up historically since the member started.
     * @param totalFull         partitions caught up fully since the member started.
     */
    public record Rebalance(long topologyVersion, int partitionsPlanned, int partitionsDone, int historicalPlanned,
        long records, long bytes, long elapsedNs, long etaNs, long totalHistorical, long totalFull)
    {
        /** @return whether copies are still catching up. */
        public boolean active()
        {
            return partitionsDone < partitionsPlanned;
        }
    }

    /**
     * @param memberId a member of the cluster.
     * @return admin requests answered by that member.
     * @throws GridException with {@link ErrorCode#CLUSTER_UNREACHABLE} if it has no client address.
     */
    public ClientAdmin onMember(final String memberId)
    {
        for (final Member member : clusterState().members())
        {
            if (member.memberId().equals(memberId))
            {
                if (member.clientAddress() == null)
                {
                    throw new GridException(ErrorCode.CLUSTER_UNREACHABLE, "member " + memberId +
                        " serves no clients");
                }
                return new ClientAdmin(client, member.clientAddress());
            }
        }
        throw new GridException(ErrorCode.CLUSTER_UNREACHABLE, "no member " + memberId + " in the cluster");
    }

    /**
     * One operator request, given up with an {@link dev.grid.core.OperationTimeoutException} if its member has not
     * answered within the client's operator timeout (a member paused or wedged keeps its connection open and would
     * otherwise hold the operator, and the admin tool, for good).
     */
    FrameReader call(final int op, final Consumer<FrameWriter> fill)
    {
        final FrameWriter payload = new FrameWriter();
        fill.accept(payload);
        final long timeoutNs = client.operatorTimeoutNs();
        return GridClient.await(client.anyConnection(memberAddress).request(op, payload.array(), payload.length(),
            System.nanoTime() + timeoutNs, TimeUnit.NANOSECONDS.toMillis(timeoutNs))).payload();
    }

    /** @return the members and the coordinator. */
    public ClusterState clusterState()
    {
        final FrameReader r = call(ClientProtocol.CLUSTER_STATE, w -> { });
        final long version = r.readLong("topologyVersion");
        final String coordinator = r.readString("coordinator");
        final int count = r.readInt("members", 0, 65_535);
        final List<String[]> listed = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            listed.add(new String[] {r.readString("memberId"), r.readString("address"), r.readString("clientAddress")});
        }
        final int have = r.readInt("quorumHave", 0, 65_535);
        final int need = r.readInt("quorumNeed", 0, 65_535);
        final boolean held = r.readBoolean("quorumHeld");
        final long refused = r.readLong("writesRefusedForQuorum");
        final int events = r.readInt("quorumHistory", 0, 1_024);
        final List<String> history = new ArrayList<>(events);
        for (int i = 0; i < events; i++)
        {
            history.add(r.readString("quorumEvent"));
        }
        // Added last: a member that does not send it served none.
        final long servedWithout = r.remaining() == 0 ? 0 : r.readLong("readsWithoutQuorum");
        final List<Member> members = new ArrayList<>(count);
        for (final String[] member : listed)
        {
            final boolean more = r.remaining() > 0;
            members.add(new Member(member[0], member[1], member[2], more ? r.readString("version") : null,
                more ? r.readLong("startedAtMs") : 0));
        }
        return new ClusterState(version, coordinator, members,
            new QuorumStatus(have, need, held, refused, servedWithout, history));
    }

    /**
     * @param cache a cache.
     * @return each partition's primary member id (null if it has none), by partition.
     */
    public Map<Integer, String> primaries(final String cache)
    {
        final FrameReader r = call(ClientProtocol.PARTITION_MAP, w -> w.writeString(cache));
        r.readLong("topologyVersion");
        final int partitions = r.readInt("partitions", 1, 65_536);
        final int count = r.readInt("members", 0, 65_535);
        final String[] ids = new String[count];
        for (int i = 0; i < count; i++)
        {
            ids[i] = r.readString("memberId");
            r.readString("clientAddress");
        }
        final Map<Integer, String> primaries = new LinkedHashMap<>();
        for (int p = 0; p < partitions; p++)
        {
            final int index = r.readUnsignedShort("primary");
            primaries.put(p, index < count ? ids[index] : null);
        }
        return primaries;
    }

    /**
     * One copy of a partition as the member holding it reports it.
     *
     * @param partition the partition.
     * @param memberId  the member holding the copy.
     * @param state     MOVING, OWNING, LOST, ...
     * @param primary   whether the member is the partition's primary.
     * @param lwm       low watermark.
     * @param hwm       high watermark.
     * @param gaps      ranges applied above the LWM.
     * @param size      live entries.
     */
    public record Copy(int partition, String memberId, String state, boolean primary, long lwm, long hwm, String gaps,
        int size)
    {
    }

    /**
     * @param cache a cache.
     * @return every copy of its partitions on every member, by partition then primary first.
     */
    public List<Copy> copies(final String cache)
    {
        final List<Copy> copies = new ArrayList<>();
        for (final Member member : clusterState().members())
        {
            final FrameReader r = onMember(member.memberId()).call(ClientProtocol.LOCAL_COPIES,
                w -> w.writeString(cache));
            final int count = r.readInt("copies", 0, 65_536);
            for (int i = 0; i < count; i++)
            {
                copies.add(new Copy(r.readInt("partition"), member.memberId(), r.readString("state"),
                    r.readBoolean("primary"), r.readLong("lwm"), r.readLong("hwm"), r.readString("gaps"),
                    r.readInt("size")));
            }
        }
        copies.sort((a, b) -> a.partition() != b.partition() ? Integer.compare(a.partition(), b.partition()) :
            Boolean.compare(b.primary(), a.primary()));
        return copies;
    }

    /**
     * @param cache a cache.
     * @return its data on every member (entries, accounted bytes, evictions, expirations), by member id.
     */
    public Map<String, CacheMetrics> cacheMetrics(final String cache)
    {
        final Map<String, CacheMetrics> metrics = new TreeMap<>();
        for (final Member member : clusterState().members())
        {
            final FrameReader r = onMember(member.memberId()).call(ClientProtocol.CACHE_METRICS,
                w -> w.writeString(cache));
            metrics.put(member.memberId(), new CacheMetrics(cache, r.readLong("entries"), r.readLong("primaryEntries"),
                r.readLong("bytes"), r.readLong("memberBytes"), r.readLong("memberBoundBytes"), r.readLong("evictions"),
                r.readLong("expirations")));
        }
        return metrics;
    }

    /** @return the baseline. */
    public BaselineTopology baseline()
    {
        final FrameReader r = call(ClientProtocol.BASELINE_SHOW, w -> { });
        final long version = r.readLong("topologyVersion");
        final long autoAdjust = r.readLong("autoAdjustTimeoutNs");
        return new BaselineTopology(strings(r), strings(r), autoAdjust, version);
    }

    /**
     * Change the baseline. Admin role.
     *
     * @param change    1 set, 2 add, 3 remove, 4 auto-adjust.
     * @param memberIds the members the change names.
     * @param timeoutNs the auto-adjust timeout (change 4); negative turns it off.
     */
    public void changeBaseline(final int change, final List<String> memberIds, final long timeoutNs)
    {
        call(ClientProtocol.BASELINE_CHANGE, w ->
        {
            w.writeByte(change).writeInt(memberIds.size());
            memberIds.forEach(w::writeString);
            w.writeLong(timeoutNs);
        });
    }

    /**
     * @param cache a cache.
     * @return its lost partitions.
     */
    public List<Integer> lostPartitions(final String cache)
    {
        final FrameReader r = call(ClientProtocol.LOST_PARTITIONS, w -> w.writeString(cache));
        final int count = r.readInt("lost", 0, 65_536);
        final List<Integer> lost = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            lost.add(r.readInt("partition"));
        }
        return lost;
    }

    /**
     * Serve again: every member that serves clients lifts a {@link #deactivate deactivation}, then the cluster is
     * activated if it waits, after a whole-cluster stop, for members that will never return (see
     * {@code Grid.activate}; their partitions become lost). Admin role.
     */
    public void activate()
    {
        // Each member lifts a deactivation (see deactivate) for itself, as many as can be reached; then the
        // cluster-wide activation, once; then what could not be done is reported.
        final List<String> failed = new ArrayList<>();
        for (final Member member : clusterState().members())
        {
            try
            {
                onMember(member.memberId()).call(ClientProtocol.DEACTIVATE, w -> w.writeByte(0));
            }
            catch (final GridException ex)
            {
                failed.add(member.memberId() + ": " + ex.getMessage());
            }
        }
        call(ClientProtocol.ACTIVATE, w -> { });
        if (!failed.isEmpty())
        {
            throw new GridException(ErrorCode.CLUSTER_UNREACHABLE, "the cluster is activated, but these members " +
                "could not be told to serve again (activate them once they are reachable, or restart them): " + failed);
        }
    }

    /**
     * Deactivate the cluster to stop it as a whole without a recovery at the next start: every member refuses cache
     * operations and transactions that begin from now on ({@code CLUSTER_INACTIVE}); once no member has anything in
     * flight, each checkpoints so that its WAL holds nothing the checkpoint does not cover. Then the members can be
     * stopped in any order, and restarted (they start active); {@link #activate} undoes it without a restart. Admin
     * role.
     *
     * @param timeoutNs how long to wait for every member to have nothing in flight.
     * @return each member's covering checkpoint id (0 for an in-memory member), by member id.
     * @throws GridException with {@link ErrorCode#OPERATION_TIMEOUT} if operations stayed in flight that long, or a
     *     member did not answer one of the steps within the client's operator timeout (a paused member; each step's
     *     request has its own): the members told so far stay deactivated, {@link #activate} serves again;
     *     {@link ErrorCode#CLUSTER_UNREACHABLE}, before anything changed, if a member serves no clients.
     */
    public Map<String, Long> deactivate(final long timeoutNs)
    {
        final List<Member> members = clusterState().members();
        final List<String> unreachable = members.stream().filter(m -> m.clientAddress() == null)
            .map(Member::memberId).toList();
        if (!unreachable.isEmpty())
        {
            // Checked before any member is deactivated: a member that cannot be asked would go on writing.
            throw new GridException(ErrorCode.CLUSTER_UNREACHABLE, "members " + unreachable + " serve no clients " +
                "(no client.port): they cannot be deactivated; stop their applications instead");
        }
        for (final Member member : members)
        {
            onMember(member.memberId()).call(ClientProtocol.DEACTIVATE, w -> w.writeByte(1));
        }
        final long deadlineNs = System.nanoTime() + timeoutNs;
        // Two passes in a row in which every member had nothing in flight: members are asked one after another, and
        // an update one of them sent may still reach another between its answers.
        int quietPasses = 0;
        while (quietPasses < 2)
        {
            boolean quiescent = true;
            for (final Member member : members)
            {
                quiescent &= onMember(member.memberId()).call(ClientProtocol.DEACTIVATE, w -> w.writeByte(2))
                    .readBoolean("quiescent");
            }
            quietPasses = quiescent ? quietPasses + 1 : 0;
            if (!quiescent)
            {
                if (System.nanoTime() > deadlineNs)
                {
                    throw new GridException(ErrorCode.OPERATION_TIMEOUT, "operations still in flight after " +
                        TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " ms; the members stay deactivated");
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            }
        }
        final Map<String, Long> checkpoints = new TreeMap<>();
        for (final Member member : members)
        {
            checkpoints.put(member.memberId(), onMember(member.memberId()).call(ClientProtocol.DEACTIVATE,
                w -> w.writeByte(3)).readLong("checkpointId"));
        }
        return checkpoints;
    }

    /**
     * Reset a cache's lost partitions. Admin role.
     *
     * @param cache the cache.
     */
    public void resetLostPartitions(final String cache)
    {
        call(ClientProtocol.RESET_LOST, w -> w.writeString(cache));
    }

    /**
     * @param cache a cache.
     * @return the consistency check of its copies.
     */
    public ConsistencyResult checkConsistency(final String cache)
    {
        final FrameReader r = call(ClientProtocol.CHECK_CONSISTENCY, w -> w.writeString(cache));
        final int checked = r.readInt("checked");
        final int moving = r.readInt("moving");
        final int count = r.readInt("conflicts", 0, 65_536);
        final List<Conflict> conflicts = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            conflicts.add(new Conflict(r.readInt("partition"), r.readString("kind"), r.readString("detail")));
        }
        return new ConsistencyResult(checked, moving, conflicts);
    }

    /** @return the rebalance of the member the request reaches. */
    public Rebalance rebalanceStatus()
    {
        final FrameReader r = call(ClientProtocol.REBALANCE_STATUS, w -> { });
        return new Rebalance(r.readLong("topologyVersion"), r.readInt("planned"), r.readInt("done"),
            r.readInt("historicalPlanned"), r.readLong("records"), r.readLong("bytes"), r.readLong("elapsedNs"),
            r.readLong("etaNs"), r.readLong("totalHistorical"), r.readLong("totalFull"));
    }

    /**
     * A transaction a member coordinates.
     *
     * @param memberId   the coordinating member.
     * @param id         its id there.
     * @param state      ACTIVE, PREPARING, COMMITTING, ROLLING_BACK or DONE.
     * @param ageMs      since it began.
     * @param partitions partitions it touched.
     * @param lockedKeys keys it holds locks on.
     */
    public record TransactionInfo(String memberId, long id, String state, long ageMs, int partitions, int lockedKeys)
    {
    }

    /** @return the transactions every member coordinates now, by member then age. */
    public List<TransactionInfo> transactions()
    {
        final List<TransactionInfo> all = new ArrayList<>();
        for (final Member member : clusterState().members())
        {
            final FrameReader r = onMember(member.memberId()).call(ClientProtocol.TX_LIST, w -> { });
            final int count = r.readInt("transactions", 0, 1 << 20);
            for (int i = 0; i < count; i++)
            {
                all.add(new TransactionInfo(member.memberId(), r.readLong("id"), r.readString("state"),
                    r.readLong("ageMs"), r.readInt("partitions"), r.readInt("lockedKeys")));
            }
        }
        return all;
    }

    /**
     * Roll back a transaction. Admin role.
     *
     * @param memberId the member that coordinates it.
     * @param id       its id there ({@link #transactions()}).
     */
    public void killTransaction(final String memberId, final long id)
    {
        onMember(memberId).call(ClientProtocol.TX_KILL, w -> w.writeLong(id));
    }

    /**
     * @return the configuration of the member the request reaches, as the keys of its file format (passwords and
     *     password hashes masked), sorted.
     */
    public SortedMap<String, String> configuration()
    {
        final FrameReader r = call(ClientProtocol.CONFIG, w -> { });
        final int count = r.readInt("keys", 0, 1 << 16);
        final SortedMap<String, String> keys = new TreeMap<>();
        for (int i = 0; i < count; i++)
        {
            keys.put(r.readString("key"), r.readString("value"));
        }
        return keys;
    }

    /** @return cluster-wide snapshots: create, list, check and restore through every member. */
    public ClientSnapshots snapshots()
    {
        return new ClientSnapshots(this);
    }

    /** @return the metrics of the member the request reaches, by name. */
    public Map<String, Long> metrics()
    {
        final FrameReader r = call(ClientProtocol.METRICS, w -> { });
        final int count = r.readInt("metrics", 0, 1 << 16);
        final Map<String, Long> metrics = new LinkedHashMap<>();
        for (int i = 0; i < count; i++)
        {
            metrics.put(r.readString("name"), r.readLong("value"));
        }
        return metrics;
    }

    private static List<String> strings(final FrameReader r)
    {
        final int count = r.readInt("strings", 0, 65_535);
        final List<String> values = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            values.add(r.readString("string"));
        }
        return values;
    }
}
