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
import java.util.Collections;
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
    private final MemberContext context;
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

    /** The ownership stamps joining seeds' join requests carried, by address (see isSmallestJoiningSeed). */
    private final Map<String, Long> joiningSeedStamps = new HashMap<>();

    /** Members (by id) heard starting too, while this one joins, and when: a seed bootstraps only with a quorum. */
    final Map<String, Long> joiningMembersHeardNs = new HashMap<>();

    /** Joiners a member without quorum holds, by address (see admitWithoutQuorum). */
    final Map<String, WaitingJoiner> waitingJoiners = new TreeMap<>();

    Joining(final MemberContext context, final MemberConfiguration config, final String localAddress)
    {
        this.context = context;
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

    /** Let go of the joiners this member held while it lacked quorum (they ask again). */
    void forgetWaitingJoiners()
    {
        waitingJoiners.clear();
    }

    /** @return the seeds' addresses, as configured. */
    List<String> seedAddresses()
    {
        return Collections.unmodifiableList(seedAddresses);
    }

    /** Start a join attempt now: its deadline, its first request at once, and nothing heard yet. */
    void restart()
    {
        joinStartedNs = context.nowNs();
        joinDeadlineNs = context.nowNs() + context.config().joinTimeoutNs();
        nextJoinSendNs = context.nowNs();
        heardActiveClusterNs = Long.MIN_VALUE;
        joiningSeedsHeardNs.clear();
        joiningSeedStamps.clear();
        joinVia = null;
        joinViaHeardNs = Long.MIN_VALUE;
        joiningMembersHeardNs.clear();
    }

    int joinDuty()
    {
        final boolean heardActiveCluster = heardActiveClusterNs != Long.MIN_VALUE &&
            context.nowNs() - heardActiveClusterNs <= context.config().failureDetectionTimeoutNs();
        if (context.nowNs() >= joinDeadlineNs && !(isSeed && !heardActiveCluster))
        {
            context.failWith(new JoinFailedException(ErrorCode.JOIN_FAILED, "member " +
                context.config().memberId() + " reached no " +
                "seed of " + context.config().seeds() + " within " +
                TimeUnit.NANOSECONDS.toMillis(context.config().joinTimeoutNs()) +
                " ms (cluster '" + context.config().clusterName() + "')"));
            return 1;
        }
        int work = 0;
        if (context.nowNs() >= nextJoinSendNs)
        {
            nextJoinSendNs = context.nowNs() + context.config().heartbeatIntervalNs();
            if (joinVia != null && context.nowNs() - joinViaHeardNs <= context.config().failureDetectionTimeoutNs())
            {
                sendJoinRequest(context.transport().endpointOf(joinVia));
            }
            else
            {
                joinVia = null;
                for (final String seed : seedAddresses)
                {
                    sendJoinRequest(context.transport().endpointOf(seed));
                }
            }
            work++;
        }
        // A member that recovered data was part of a cluster that may still run (it restarted alone): it gives that
        // cluster a failure-detection timeout to answer before starting its own, since two clusters do not merge.
        final long delayNs = context.walCaches().isEmpty() ? bootstrapDelayNs :
            Math.max(bootstrapDelayNs, context.config().failureDetectionTimeoutNs());
        final long waitingSinceNs = heardActiveClusterNs == Long.MIN_VALUE ? joinStartedNs :
            Math.max(joinStartedNs, heardActiveClusterNs);
        if (isSeed && !heardActiveCluster && context.nowNs() - waitingSinceNs >= delayNs && isSmallestJoiningSeed() &&
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
        final Baseline baseline = context.walBaseline();
        int have = !baseline.isSet() || baseline.contains(context.config().memberId()) ? 1 : 0;
        for (final Map.Entry<String, Long> e : joiningMembersHeardNs.entrySet())
        {
            if (context.nowNs() - e.getValue() <= bootstrapDelayNs && !e.getKey().equals(context.config().memberId()) &&
                (!baseline.isSet() || baseline.contains(e.getKey())))
            {
                have++;
            }
        }
        return have >= context.membership().quorumNeed(baseline);
    }

    /**
     * Whether this seed goes first among the joining seeds heard lately: the one whose data directory holds the
     * newest ownership table, then the smallest address. A seed with an older table (a fresh one) that started a
     * cluster first would not adopt the newer table's caches once its own stamps, raised by each of its starts, caught
     * up: the members holding the data then dropped their copies on joining it (sharded whole-cluster seed 0xb07d863,
     * where a fresh process's shard had the smallest address). A seed's stamp is known from its join requests, which
     * it sends only to the seeds it lists, so seeds that list each other (every member should list every seed) order
     * each other alike. A seed heard only in its answers to this one's requests (it does not list this one) is ordered
     * by address: with such uneven seed lists and data directories of different ages, the two orders can make seeds
     * wait for each other in a circle, and no cluster starts until the lists are made even.
     */
    private boolean isSmallestJoiningSeed()
    {
        final long stamp = context.ownership().stamp();
        for (final Map.Entry<String, Long> e : joiningSeedsHeardNs.entrySet())
        {
            if (context.nowNs() - e.getValue() > bootstrapDelayNs)
            {
                continue;
            }
            final Long other = joiningSeedStamps.get(e.getKey());
            final boolean smallerAddress = e.getKey().compareTo(context.localAddress()) < 0;
            if (other == null ? smallerAddress : other > stamp || other == stamp && smallerAddress)
            {
                return false;
            }
        }
        return true;
    }

    private void bootstrap()
    {
        context.listener().onEvent("member " + context.self() + " found no running cluster and starts one");
        context.changeState(MemberState.ACTIVE, "bootstrapped a new cluster");
        // The caches recovered from the WAL are the new cluster's caches: their copies here hold their data.
        final List<CacheDescriptor> recovered = new ArrayList<>(context.walCaches().values());
        recovered.sort((a, b) -> Integer.compare(a.cacheId(), b.cacheId()));
        final int nextCacheId = recovered.isEmpty() ? 1 : recovered.get(recovered.size() - 1).cacheId() + 1;
        context.membership().adoptTopology(new Topology(1, List.of(context.self()), List.copyOf(recovered),
            nextCacheId, context.walBaseline()));
    }

    private void sendJoinRequest(final int endpoint)
    {
        // What this member's data directory holds: a cluster that started afresh while it was away adopts it.
        new JoinRequest(context.config().clusterName(), context.self(), context.ownership().stamp(),
            new ArrayList<>(context.walCaches().values()), joinVia).encode(context.messages(), context.incarnation(),
            joinRequestOut);
        context.transport().send(endpoint, context.writer().buffer(), 0, context.writer().length());
    }

    void onJoinRequest()
    {
        final JoinRequest request = JoinRequest.decode(context.messages(), joinRequestIn);
        final MemberRecord joiner = request.joiner();
        final int joinerEndpoint = context.transport().endpointOf(joiner.address());
        if (context.state() == MemberState.JOINING)
        {
            heardWhileJoining(request, joinerEndpoint);
            return;
        }
        if (context.state() != MemberState.ACTIVE)
        {
            return;
        }
        if (!Objects.equals(request.clusterName(), context.config().clusterName()))
        {
            rejectJoin(joinerEndpoint, joiner.incarnation(), "cluster name '" + request.clusterName() +
                "' differs from '" + context.config().clusterName() + "'");
            return;
        }
        // Tell the joiner a cluster exists, so that a joining seed never starts a second one.
        sendJoinPending(joinerEndpoint, joiner.incarnation(), true);
        final MemberRecord admitter = context.membership().actingCoordinator();
        if (admitter.incarnation() != context.incarnation())
        {
            // Forward the request to the coordinator, which answers the joiner directly.
            request.encode(context.messages(), context.incarnation(), joinRequestOut);
            context.send(admitter, context.writer());
            return;
        }
        if (context.topology().indexOf(joiner.incarnation()) >= 0)
        {
            context.membership().sendTopology(joiner);
            return;
        }
        admit(request, joinerEndpoint);
    }

    /** A joining member heard another joiner: a seed tells it no cluster runs here yet. */
    private void heardWhileJoining(final JoinRequest request, final int joinerEndpoint)
    {
        final MemberRecord joiner = request.joiner();
        if (context.config().seeds().contains(joiner.address()))
        {
            joiningSeedsHeardNs.put(joiner.address(), context.nowNs());
            joiningSeedStamps.put(joiner.address(), request.ownershipStamp());
        }
        if (Objects.equals(request.clusterName(), context.config().clusterName()))
        {
            joiningMembersHeardNs.put(joiner.memberId(), context.nowNs());
        }
        if (isSeed)
        {
            sendJoinPending(joinerEndpoint, joiner.incarnation(), false);
        }
    }

    private void sendJoinPending(final int joinerEndpoint, final long joinerIncarnation, final boolean active)
    {
        final byte[] address = MemberMessages.utf8(context.localAddress());
        context.messages().finish(context.messages().encode(context.wire().joinPendingOut, context.incarnation(),
            joinerIncarnation).active((short)(active ? 1 : 0)).hasAddress(MemberMessages.has(address))
            .putAddress(address, 0, address.length));
        context.transport().send(joinerEndpoint, context.writer().buffer(), 0, context.writer().length());
    }

    /**
     * The coordinator admits a joiner into a new topology version (a restarted member's old life ends there), or
     * holds it while it lacks quorum; a joiner whose member id a live member uses is rejected.
     */
    private void admit(final JoinRequest request, final int joinerEndpoint)
    {
        final MemberRecord joiner = request.joiner();
        final List<MemberRecord> members = new ArrayList<>(context.topology().members());
        for (final MemberRecord existing : context.topology().members())
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
        if (context.membership().isCoordinator() && context.membership().hasQuorum())
        {
            members.add(joiner);
            context.listener().onEvent("coordinator " + context.config().memberId() + " admits " + joiner);
            context.membership().publishTopology(adoptRecoveredCaches(context.topology(), joiner,
                request.ownershipStamp(), request.caches()).withMembers(members));
            return;
        }
        admitWithoutQuorum(new WaitingJoiner(joiner, request.ownershipStamp(), request.caches(), context.nowNs(),
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
        if (arrived.stamp > context.ownership().stamp() && context.installedMap() != null &&
            context.installedMap().isActive())
        {
            // The joiner recovered an ownership table newer than the one this active member serves by: the cluster went
            // on without this one (it was cut off or paused and removed), and its view is stale. It must not rebuild a
            // cluster around that view (whole-cluster seed 0xa93937e: a member removed while deaf admitted a restarted
            // member and served from its stale copies, losing an acknowledged put); it joins again, and whoever holds
            // the cluster's newest state admits both. (A cluster not active yet, starting after a whole-cluster stop,
            // adopts a newer table at its exchange instead.)
            context.rejoin("joiner " + arrived.record +
                " knows a newer state of the cluster (ownership " + arrived.stamp +
                " > " + context.ownership().stamp() + ") than this member without quorum");
            return;
        }
        final boolean isNew = waitingJoiners.put(arrived.record.address(), arrived) == null;
        final long timeoutNs = context.config().failureDetectionTimeoutNs();
        waitingJoiners.values().removeIf(w -> context.nowNs() - w.heardNs > timeoutNs);
        final Baseline baseline = context.topology().baseline();
        final List<MemberRecord> next = new ArrayList<>();
        final List<MemberRecord> failed = new ArrayList<>();
        int have = 0;
        // Only joiners that join through this side are admitted, not only counted: a joiner that asked every seed and
        // named none may be running, or joining, elsewhere (a seed that bootstrapped a cluster of its own after its
        // last join request; a joiner another member admits meanwhile). Admitted here too, it ended up listed in two
        // topologies of the same version, accepted one whose cluster then dissolved, and stayed in it for good, never
        // installing a map, while the other's exchange waited on it. Those not admitted keep asking, and name a side
        // within a heartbeat (every active member answers a join request with its address).
        final List<WaitingJoiner> admissible = waitingJoiners.values().stream().filter(this::joinsThroughHere)
            .toList();
        for (final MemberRecord member : context.topology().members())
        {
            if (waitingJoiners.containsKey(member.address()))
            {
                // Restarted (a new incarnation asks to join): the old one counts for no side.
                continue;
            }
            if (member.incarnation() != context.incarnation() && !context.membership().heardWithin(member,
                context.config().failureDetectionTimeoutNs()))
            {
                failed.add(member);
                continue;
            }
            next.add(member);
            // A member counts only if it names this one its coordinator: a member that hears two would-be
            // coordinators (each cut off from the other) names one of them, so only one side can admit with it.
            if ((!baseline.isSet() || baseline.contains(member.memberId())) &&
                (member.incarnation() == context.incarnation() ||
                context.membership().heardEchoWithin(member) &&
                context.membership().votesForThisMember(member)))
            {
                have++;
            }
        }
        Topology admitted = context.topology();
        for (final WaitingJoiner waiting : admissible)
        {
            next.add(waiting.record);
            if (!baseline.isSet() || baseline.contains(waiting.record.memberId()))
            {
                have++;
            }
            admitted = adoptRecoveredCaches(admitted, waiting.record, waiting.stamp, waiting.caches);
        }
        if (have < context.membership().quorumNeed())
        {
            // Not even to add members: a member without quorum that published a topology could fork the cluster (the
            // majority, elsewhere, publishing the same version without it). Joiners wait until enough of them arrive.
            if (isNew)
            {
                context.listener().onEvent("member " + context.config().memberId() + " cannot admit " +
                    arrived.record + " yet: without " +
                    "quorum it admits members" + (failed.isEmpty() ? "" : " and removes failed members " + failed) +
                    " only once joiners complete one (" + have + " of " + context.membership().quorumNeed() + ")");
            }
            return;
        }
        if (waitsForSettledBaseline(arrived, isNew, admissible))
        {
            return;
        }
        if (admissible.isEmpty() && failed.isEmpty())
        {
            // Nothing to change yet: the joiners that named no side keep waiting.
            return;
        }
        context.listener().onEvent("member " + context.config().memberId() + " admits " +
            admissible.stream().map(w -> w.record.toString()).toList() + " without quorum" + (failed.isEmpty() ? "" :
            ", removing failed members " + failed + ": they complete one (" + have + " of " +
            context.membership().quorumNeed() + ")"));
        waitingJoiners.clear();
        context.membership().publishTopology(admitted.withMembers(next));
    }

    /**
     * A quorum of the new baseline is not enough while its change has not settled: the old majority may be serving
     * elsewhere (see {@code Membership.holdsSettledBaselineQuorum}).
     *
     * @return whether the admission must wait for it.
     */
    private boolean waitsForSettledBaseline(final WaitingJoiner arrived, final boolean isNew,
        final List<WaitingJoiner> admissible)
    {
        if (context.membership().holdsSettledBaselineQuorumWith(admissible.stream().map(w -> w.record).toList()))
        {
            return false;
        }
        if (isNew)
        {
            context.listener().onEvent("member " + context.config().memberId() + " cannot admit " + arrived.record +
                " yet: the baseline change has not settled, and too few members of the baseline before it are here");
        }
        return true;
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
        if (waiting.via.equals(context.localAddress()))
        {
            return true;
        }
        for (final MemberRecord member : context.topology().members())
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
        final boolean waiting = context.installedMap() == null || !context.installedMap().isActive();
        if (joinerStamp < context.ownership().stamp() || (joinerStamp == context.ownership().stamp() && !waiting) ||
            joinerCaches.isEmpty())
        {
            return current;
        }
        final List<CacheDescriptor> adopted = new ArrayList<>();
        for (final CacheDescriptor cache : joinerCaches)
        {
            if (current.cache(cache.name()) != null || current.cache(cache.cacheId()) != null)
            {
                context.listener().onEvent("coordinator " + context.config().memberId() +
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
        context.listener().onEvent("coordinator " + context.config().memberId() + " adopts caches " +
            adopted.stream().map(CacheDescriptor::name).toList() + " that " + joiner.memberId() +
            " recovered: its ownership table (stamp " + joinerStamp + ") is newer than the cluster's (" +
            context.ownership().stamp() + ")");
        return current.withRecoveredCaches(adopted);
    }

    private void rejectJoin(final int endpoint, final long joinerIncarnation, final String why)
    {
        final byte[] reason = MemberMessages.utf8(why);
        context.messages().finish(context.messages().encode(context.wire().joinRejectedOut, context.incarnation(),
            joinerIncarnation).putReason(reason, 0, reason.length));
        context.transport().send(endpoint, context.writer().buffer(), 0, context.writer().length());
    }

    void onJoinPending()
    {
        final JoinPendingDecoder in = context.messages().decode(context.wire().joinPendingIn);
        final boolean active = in.active() != 0;
        final short hasAddress = in.hasAddress();
        final byte[] bytes = MemberMessages.bytes(in, in.addressLength(), "address");
        in.getAddress(bytes, 0, bytes.length);
        final String address = hasAddress == 0 ? null : MemberMessages.text(bytes);
        if (context.state() != MemberState.JOINING)
        {
            return;
        }
        if (active)
        {
            heardActiveClusterNs = context.nowNs();
            if (address != null && (joinVia == null ||
                context.nowNs() - joinViaHeardNs > context.config().failureDetectionTimeoutNs()))
            {
                joinVia = address;
            }
            if (address != null && address.equals(joinVia))
            {
                joinViaHeardNs = context.nowNs();
            }
        }
        else if (address != null)
        {
            joiningSeedsHeardNs.put(address, context.nowNs());
        }
    }

    void onJoinRejected(final long destinationIncarnation)
    {
        final JoinRejectedDecoder in = context.messages().decode(context.wire().joinRejectedIn);
        final byte[] reason = MemberMessages.bytes(in, in.reasonLength(), "reason");
        in.getReason(reason, 0, reason.length);
        final String why = MemberMessages.text(reason);
        if (context.state() != MemberState.JOINING || destinationIncarnation != context.incarnation())
        {
            return;
        }
        context.failWith(new JoinFailedException(ErrorCode.JOIN_REJECTED, "member " + context.config().memberId() +
            " was refused by the cluster: " + why));
    }

    /** A join request a member without quorum holds until enough joiners complete one. */
    private record WaitingJoiner(MemberRecord record, long stamp, List<CacheDescriptor> caches, long heardNs,
        String via)
    {
    }
}
