package dev.grid.core.internal.cluster;

import dev.grid.core.ErrorCode;
import dev.grid.core.JoinFailedException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.JoinPendingDecoder;
import dev.grid.core.codec.messages.JoinRejectedDecoder;
import dev.grid.core.codec.messages.JoinRequestDecoder;
import dev.grid.core.codec.messages.JoinRequestEncoder;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.Topology;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The join protocol: a starting (or rejoining) member asks seeds and the coordinator to be admitted; a seed that
 * hears of no running cluster bootstraps one, but only together with a quorum of the seeds; the coordinator admits a
 * joiner into a new topology version, or holds it while it lacks quorum (see {@link #admitWithoutQuorum}), and
 * rejects one of another cluster. A joiner joins through one active member at a time so that only its side of a split
 * counts it toward a quorum.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class Joining
{
    private final MemberEngine engine;
    private final JoinRequestEncoder joinRequestOut = new JoinRequestEncoder();
    private final JoinRequestDecoder joinRequestIn = new JoinRequestDecoder();
    final long bootstrapDelayNs;

    final List<String> seedAddresses = new ArrayList<>();
    final boolean isSeed;

    // Joining.
    long joinStartedNs;

    long joinDeadlineNs;
    long nextJoinSendNs;

    /**
     * When a member of a running cluster last told this joiner the cluster exists; {@link Long#MIN_VALUE} if never.
     * It counts for a failure-detection timeout only: that cluster may stop before it admits the joiner (a seed that
     * remembered it forever never started the cluster again: the simulator found a member failing to join so).
     */
    long heardActiveClusterNs = Long.MIN_VALUE;

    /**
     * The active member this joiner joins through (the first that answered "a cluster exists"), and when it last
     * answered: while it answers, join requests go to it alone and name it, so that only its side of a split counts
     * this joiner toward a quorum (see admitWithoutQuorum()).
     */
    String joinVia;

    long joinViaHeardNs = Long.MIN_VALUE;
    final Map<String, Long> joiningSeedsHeardNs = new HashMap<>();

    /** Members (by id) heard starting too, while this one joins, and when: a seed bootstraps only with a quorum. */
    final Map<String, Long> joiningMembersHeardNs = new HashMap<>();

    /** Joiners a member without quorum holds, by address (see admitWithoutQuorum). */
    final Map<String, WaitingJoiner> waitingJoiners = new TreeMap<>();

    Joining(final MemberEngine engine, final MemberConfiguration config, final String localAddress)
    {
        this.engine = engine;
        this.bootstrapDelayNs = 5 * config.heartbeatIntervalNs();
        boolean seed = false;
        for (final String address : config.seeds())
        {
            if (address.equals(localAddress))
            {
                seed = true;
            }
            else
            {
                seedAddresses.add(address);
            }
        }
        this.isSeed = seed || seedAddresses.isEmpty();
    }

    int joinDuty()
    {
        final boolean heardActiveCluster = heardActiveClusterNs != Long.MIN_VALUE &&
            engine.nowNs - heardActiveClusterNs <= engine.config.failureDetectionTimeoutNs();
        if (engine.nowNs >= joinDeadlineNs && !(isSeed && !heardActiveCluster))
        {
            engine.failure = new JoinFailedException(ErrorCode.JOIN_FAILED, "member " +
                engine.config.memberId() + " reached no " +
                "seed of " + engine.config.seeds() + " within " +
                TimeUnit.NANOSECONDS.toMillis(engine.config.joinTimeoutNs()) +
                " ms (cluster '" + engine.config.clusterName() + "')");
            engine.changeState(MemberState.FAILED, engine.failure.detail());
            return 1;
        }
        int work = 0;
        if (engine.nowNs >= nextJoinSendNs)
        {
            nextJoinSendNs = engine.nowNs + engine.config.heartbeatIntervalNs();
            if (joinVia != null && engine.nowNs - joinViaHeardNs <= engine.config.failureDetectionTimeoutNs())
            {
                sendJoinRequest(engine.transport.endpointOf(joinVia));
            }
            else
            {
                joinVia = null;
                for (final String seed : seedAddresses)
                {
                    sendJoinRequest(engine.transport.endpointOf(seed));
                }
            }
            work++;
        }
        // A member that recovered data was part of a cluster that may still run (it restarted alone): it gives that
        // cluster a failure-detection timeout to answer before starting its own, since two clusters do not merge.
        final long delayNs = engine.walCaches.isEmpty() ? bootstrapDelayNs :
            Math.max(bootstrapDelayNs, engine.config.failureDetectionTimeoutNs());
        final long waitingSinceNs = heardActiveClusterNs == Long.MIN_VALUE ? joinStartedNs :
            Math.max(joinStartedNs, heardActiveClusterNs);
        if (isSeed && !heardActiveCluster && engine.nowNs - waitingSinceNs >= delayNs && isSmallestJoiningSeed() &&
            joiningQuorum())
        {
            bootstrap();
            work++;
        }
        return work;
    }

    /**
     * A seed starts a cluster only when it hears a quorum of members starting (itself included): a majority of the
     * baseline its data directory recorded, or {@code cluster.min.members}. A seed that reaches too few others (a slow
     * start, a network split) waits instead of starting a cluster of its own that could not merge.
     */
    private boolean joiningQuorum()
    {
        final Baseline baseline = engine.walBaseline;
        int have = !baseline.isSet() || baseline.contains(engine.config.memberId()) ? 1 : 0;
        for (final Map.Entry<String, Long> e : joiningMembersHeardNs.entrySet())
        {
            if (engine.nowNs - e.getValue() <= bootstrapDelayNs && !e.getKey().equals(engine.config.memberId()) &&
                (!baseline.isSet() || baseline.contains(e.getKey())))
            {
                have++;
            }
        }
        return have >= engine.membership.quorumNeed(baseline);
    }

    private boolean isSmallestJoiningSeed()
    {
        for (final Map.Entry<String, Long> e : joiningSeedsHeardNs.entrySet())
        {
            if (engine.nowNs - e.getValue() <= bootstrapDelayNs && e.getKey().compareTo(engine.localAddress) < 0)
            {
                return false;
            }
        }
        return true;
    }

    private void bootstrap()
    {
        engine.listener.onEvent("member " + engine.self + " found no running cluster and starts one");
        engine.changeState(MemberState.ACTIVE, "bootstrapped a new cluster");
        // The caches recovered from the WAL are the new cluster's caches: their copies here hold their data.
        final List<CacheDescriptor> recovered = new ArrayList<>(engine.walCaches.values());
        recovered.sort((a, b) -> Integer.compare(a.cacheId(), b.cacheId()));
        final int nextCacheId = recovered.isEmpty() ? 1 : recovered.get(recovered.size() - 1).cacheId() + 1;
        engine.membership.adoptTopology(new Topology(1, List.of(engine.self), List.copyOf(recovered),
            nextCacheId, engine.walBaseline));
    }

    private void sendJoinRequest(final int endpoint)
    {
        // What this member's data directory holds: a cluster that started afresh while it was away adopts it.
        new JoinRequest(engine.config.clusterName(), engine.self, engine.ownership.stamp(),
            new ArrayList<>(engine.walCaches.values()), joinVia).encode(engine.messages, engine.incarnation,
            joinRequestOut);
        engine.transport.send(endpoint, engine.writer.buffer(), 0, engine.writer.length());
    }

    void onJoinRequest()
    {
        final JoinRequest request = JoinRequest.decode(engine.messages, joinRequestIn);
        final MemberRecord joiner = request.joiner();
        final int joinerEndpoint = engine.transport.endpointOf(joiner.address());
        if (engine.state == MemberState.JOINING)
        {
            heardWhileJoining(request, joinerEndpoint);
            return;
        }
        if (engine.state != MemberState.ACTIVE)
        {
            return;
        }
        if (!Objects.equals(request.clusterName(), engine.config.clusterName()))
        {
            rejectJoin(joinerEndpoint, joiner.incarnation(), "cluster name '" + request.clusterName() +
                "' differs from '" + engine.config.clusterName() + "'");
            return;
        }
        // Tell the joiner a cluster exists, so that a joining seed never starts a second one.
        sendJoinPending(joinerEndpoint, joiner.incarnation(), true);
        final MemberRecord admitter = engine.membership.actingCoordinator();
        if (admitter.incarnation() != engine.incarnation)
        {
            // Forward the request to the coordinator, which answers the joiner directly.
            request.encode(engine.messages, engine.incarnation, joinRequestOut);
            engine.send(admitter, engine.writer);
            return;
        }
        if (engine.topology.indexOf(joiner.incarnation()) >= 0)
        {
            engine.membership.sendTopology(joiner);
            return;
        }
        admit(request, joinerEndpoint);
    }

    /** A joining member heard another joiner: a seed tells it no cluster runs here yet. */
    private void heardWhileJoining(final JoinRequest request, final int joinerEndpoint)
    {
        final MemberRecord joiner = request.joiner();
        if (engine.config.seeds().contains(joiner.address()))
        {
            joiningSeedsHeardNs.put(joiner.address(), engine.nowNs);
        }
        if (Objects.equals(request.clusterName(), engine.config.clusterName()))
        {
            joiningMembersHeardNs.put(joiner.memberId(), engine.nowNs);
        }
        if (isSeed)
        {
            sendJoinPending(joinerEndpoint, joiner.incarnation(), false);
        }
    }

    private void sendJoinPending(final int joinerEndpoint, final long joinerIncarnation, final boolean active)
    {
        final byte[] address = MemberMessages.utf8(engine.localAddress);
        engine.messages.finish(engine.messages.encode(engine.wire.joinPendingOut, engine.incarnation,
            joinerIncarnation).active((short)(active ? 1 : 0)).hasAddress(MemberMessages.has(address))
            .putAddress(address, 0, address.length));
        engine.transport.send(joinerEndpoint, engine.writer.buffer(), 0, engine.writer.length());
    }

    /**
     * The coordinator admits a joiner into a new topology version (a restarted member's old life ends there), or
     * holds it while it lacks quorum; a joiner whose member id a live member uses is rejected.
     */
    private void admit(final JoinRequest request, final int joinerEndpoint)
    {
        final MemberRecord joiner = request.joiner();
        final List<MemberRecord> members = new ArrayList<>(engine.topology.members());
        for (final MemberRecord existing : engine.topology.members())
        {
            if (existing.address().equals(joiner.address()))
            {
                // The same address with a new incarnation: the member restarted; its old life is over.
                members.remove(existing);
            }
            else if (existing.memberId().equals(joiner.memberId()))
            {
                rejectJoin(joinerEndpoint, joiner.incarnation(), "member id '" + joiner.memberId() +
                    "' is used by live member " + existing);
                return;
            }
        }
        if (engine.membership.isCoordinator() && engine.membership.hasQuorum())
        {
            members.add(joiner);
            engine.listener.onEvent("coordinator " + engine.config.memberId() + " admits " + joiner);
            engine.membership.publishTopology(adoptRecoveredCaches(engine.topology, joiner, request.ownershipStamp(),
                request.caches()).withMembers(members));
            return;
        }
        admitWithoutQuorum(new WaitingJoiner(joiner, request.ownershipStamp(), request.caches(), engine.nowNs,
            request.via()));
    }

    /**
     * Admission by a member without quorum: a cluster forming, or survivors that could not remove a crashed
     * coordinator. Joiners are added, listed members replaced by their restarts (an address runs one incarnation at a
     * time) and failed members removed only once a quorum is complete without the failed ones, counting this member,
     * the members that echoed it lately and name it their coordinator, and the joiners that join through this side:
     * none of them can count on another side of a split. Joiners wait here until enough of them are heard (the members
     * of a cluster that crashed restart one by one).
     */
    private void admitWithoutQuorum(final WaitingJoiner arrived)
    {
        if (arrived.stamp > engine.ownership.stamp() && engine.installedMap != null && engine.installedMap.isActive())
        {
            // The joiner recovered an ownership table newer than the one this active member serves by: the cluster went
            // on without this one (it was cut off or paused and removed), and its view is stale. It must not rebuild a
            // cluster around that view (whole-cluster seed 0xa93937e: a member removed while deaf admitted a restarted
            // member and served from its stale copies, losing an acknowledged put); it joins again, and whoever holds
            // the cluster's newest state admits both. (A cluster not active yet, starting after a whole-cluster stop,
            // adopts a newer table at its exchange instead.)
            engine.rejoin("joiner " + arrived.record +
                " knows a newer state of the cluster (ownership " + arrived.stamp +
                " > " + engine.ownership.stamp() + ") than this member without quorum");
            return;
        }
        final boolean isNew = waitingJoiners.put(arrived.record.address(), arrived) == null;
        waitingJoiners.values().removeIf(w -> engine.nowNs - w.heardNs > engine.config.failureDetectionTimeoutNs());
        final Baseline baseline = engine.topology.baseline();
        final List<MemberRecord> next = new ArrayList<>();
        final List<MemberRecord> failed = new ArrayList<>();
        int have = 0;
        for (final MemberRecord member : engine.topology.members())
        {
            if (waitingJoiners.containsKey(member.address()))
            {
                continue;
            }
            if (member.incarnation() != engine.incarnation && !engine.membership.heardWithin(member,
                engine.config.failureDetectionTimeoutNs()))
            {
                failed.add(member);
                continue;
            }
            next.add(member);
            // A member counts only if it names this one its coordinator: a member that hears two would-be
            // coordinators (each cut off from the other) names one of them, so only one side can admit with it.
            if ((!baseline.isSet() || baseline.contains(member.memberId())) &&
                (member.incarnation() == engine.incarnation ||
                engine.membership.heardEchoWithin(member) &&
                engine.membership.coordinatorVotes.get(member.incarnation()) == engine.incarnation))
            {
                have++;
            }
        }
        Topology admitted = engine.topology;
        for (final WaitingJoiner waiting : waitingJoiners.values())
        {
            next.add(waiting.record);
            if ((!baseline.isSet() || baseline.contains(waiting.record.memberId())) && joinsThroughHere(waiting))
            {
                have++;
            }
            admitted = adoptRecoveredCaches(admitted, waiting.record, waiting.stamp, waiting.caches);
        }
        if (have < engine.membership.quorumNeed())
        {
            // Not even to add members: a member without quorum that published a topology could fork the cluster (the
            // majority, elsewhere, publishing the same version without it). Joiners wait until enough of them arrive.
            if (isNew)
            {
                engine.listener.onEvent("member " + engine.config.memberId() + " cannot admit " +
                    arrived.record + " yet: without " +
                    "quorum it admits members" + (failed.isEmpty() ? "" : " and removes failed members " + failed) +
                    " only once joiners complete one (" + have + " of " + engine.membership.quorumNeed() + ")");
            }
            return;
        }
        engine.listener.onEvent("member " + engine.config.memberId() + " admits " + waitingJoiners.values().stream()
            .map(w -> w.record.toString()).toList() + " without quorum" + (failed.isEmpty() ? "" :
            ", removing failed members " + failed + ": they complete one (" + have + " of " +
            engine.membership.quorumNeed() + ")"));
        waitingJoiners.clear();
        engine.membership.publishTopology(admitted.withMembers(next));
    }

    /**
     * Whether a waiting joiner joins through this member or a member of its topology: only then does it count toward
     * the quorum an admission without quorum needs. Joiners first ask every seed, so both sides of a split hear them;
     * counted by both, they let two sides without quorum each complete one (whole-cluster seed 0xa939413 lost an
     * acknowledged write so). A joiner names the member it joins through once one answered, and asks it alone.
     */
    private boolean joinsThroughHere(final WaitingJoiner waiting)
    {
        if (waiting.via == null)
        {
            return false;
        }
        if (waiting.via.equals(engine.localAddress))
        {
            return true;
        }
        for (final MemberRecord member : engine.topology.members())
        {
            if (member.address().equals(waiting.via))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * A joiner whose ownership table is newer than this cluster's knows a newer state of the data than the cluster
     * does: the cluster started afresh (or from older data directories) while it was away. Its caches the cluster
     * lacks join the topology with their ids, so that its copies are kept, and the exchange then waits for the
     * members of the newest table before serving them. A joiner with an older table missed the cluster's later
     * changes, cache destructions included: its unknown caches are dropped.
     */
    private Topology adoptRecoveredCaches(final Topology current, final MemberRecord joiner, final long joinerStamp,
        final List<CacheDescriptor> joinerCaches)
    {
        // A table of the same stamp as this coordinator's is newer than the cluster's too while the cluster waits: the
        // coordinator may have adopted that table from another member's report without the caches it names (seed
        // 0xa845031: the caches were never adopted, and the activated cluster had none).
        final boolean waiting = engine.installedMap == null || !engine.installedMap.isActive();
        if (joinerStamp < engine.ownership.stamp() || (joinerStamp == engine.ownership.stamp() && !waiting) ||
            joinerCaches.isEmpty())
        {
            return current;
        }
        final List<CacheDescriptor> adopted = new ArrayList<>();
        for (final CacheDescriptor cache : joinerCaches)
        {
            if (current.cache(cache.name()) != null || current.cache(cache.cacheId()) != null)
            {
                engine.listener.onEvent("coordinator " + engine.config.memberId() +
                    " cannot adopt cache " + cache.name() +
                    " (id " + cache.cacheId() + ") that " + joiner.memberId() + " recovered: the cluster has a " +
                    "cache with that name or id");
                continue;
            }
            adopted.add(cache);
        }
        if (adopted.isEmpty())
        {
            return current;
        }
        engine.listener.onEvent("coordinator " + engine.config.memberId() + " adopts caches " +
            adopted.stream().map(CacheDescriptor::name).toList() + " that " + joiner.memberId() +
            " recovered: its ownership table (stamp " + joinerStamp + ") is newer than the cluster's (" +
            engine.ownership.stamp() + ")");
        return current.withRecoveredCaches(adopted);
    }

    private void rejectJoin(final int endpoint, final long joinerIncarnation, final String why)
    {
        final byte[] reason = MemberMessages.utf8(why);
        engine.messages.finish(engine.messages.encode(engine.wire.joinRejectedOut, engine.incarnation,
            joinerIncarnation).putReason(reason, 0, reason.length));
        engine.transport.send(endpoint, engine.writer.buffer(), 0, engine.writer.length());
    }

    void onJoinPending()
    {
        final JoinPendingDecoder in = engine.messages.decode(engine.wire.joinPendingIn);
        final boolean active = in.active() != 0;
        final short hasAddress = in.hasAddress();
        final byte[] bytes = MemberMessages.bytes(in, in.addressLength(), "address");
        in.getAddress(bytes, 0, bytes.length);
        final String address = hasAddress == 0 ? null : MemberMessages.text(bytes);
        if (engine.state != MemberState.JOINING)
        {
            return;
        }
        if (active)
        {
            heardActiveClusterNs = engine.nowNs;
            if (address != null && (joinVia == null ||
                engine.nowNs - joinViaHeardNs > engine.config.failureDetectionTimeoutNs()))
            {
                joinVia = address;
            }
            if (address != null && address.equals(joinVia))
            {
                joinViaHeardNs = engine.nowNs;
            }
        }
        else if (address != null)
        {
            joiningSeedsHeardNs.put(address, engine.nowNs);
        }
    }

    void onJoinRejected(final long destinationIncarnation)
    {
        final JoinRejectedDecoder in = engine.messages.decode(engine.wire.joinRejectedIn);
        final byte[] reason = MemberMessages.bytes(in, in.reasonLength(), "reason");
        in.getReason(reason, 0, reason.length);
        final String why = MemberMessages.text(reason);
        if (engine.state != MemberState.JOINING || destinationIncarnation != engine.incarnation)
        {
            return;
        }
        engine.failure = new JoinFailedException(ErrorCode.JOIN_REJECTED, "member " + engine.config.memberId() +
            " was refused by the cluster: " + why);
        engine.changeState(MemberState.FAILED, engine.failure.detail());
    }

    /** A join request a member without quorum holds until enough joiners complete one. */
    private record WaitingJoiner(MemberRecord record, long stamp, List<CacheDescriptor> caches, long heardNs,
        String via)
    {
    }
}
