package dev.grid.sim.cluster;

import dev.grid.tx.TxManager;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.KeptCopy;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.QuorumReadPolicy;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.Engine;
import dev.grid.core.member.Members;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.MessageTypes;
import dev.grid.core.engine.PartitionMap;
import dev.grid.core.engine.Topology;
import dev.grid.core.engine.TxCallback;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.core.spi.VolatileWal;
import dev.grid.sim.SimCheckpointStore;
import dev.grid.sim.SimNetwork;
import dev.grid.sim.SimWal;
import dev.grid.sim.Simulation;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 16's five findings as named simulator scenarios: three persistent members (every address a seed, so a
 * quorum is two), failure detection 500 ms. Each is one deterministic run; the nemesis of {@link ClusterScenario}
 * covers the same shapes by seed.
 */
class MembershipSafetyScenarioTest
{
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long FAILURE_DETECTION_NS = 500 * MS;
    /** Endpoints of the network: the most members a scenario starts. */
    private static final int MAX_SLOTS = 5;
    private static final int KEYS = 200;

    private final Simulation sim = new Simulation(16);
    private final SimNetwork network = new SimNetwork(sim, sim.fork(), MAX_SLOTS).latency(100_000, 300_000);
    private final Engine[] members = new Engine[MAX_SLOTS];
    private final SimWal[] wals = new SimWal[MAX_SLOTS];
    private final SimCheckpointStore[] stores = new SimCheckpointStore[MAX_SLOTS];
    private final long[] pausedUntilNs = new long[MAX_SLOTS];
    private final int[] expulsions = new int[MAX_SLOTS];
    /** Each slot's WAL position when it last installed a map: what the installation appended ends at or below it. */
    private final long[] installedAppendedAt = new long[MAX_SLOTS];
    /** How many members the scenario runs (slots 0 to slots - 1), every one a seed. */
    private int slots = 3;
    /** How many of them (the first) startCluster puts in the baseline (0: all). */
    private int baselineSlots;
    /** Every write acknowledged, by key: each must be there at the end. */
    private final Map<String, String> acknowledged = new HashMap<>();
    /** Copies any member kept for the operator before dropping them. */
    private final List<KeptCopy> kept = new ArrayList<>();
    /** Partitions of {@link #cacheId} any member reported lost. */
    private final Set<Integer> lost = new HashSet<>();
    private int cacheId;
    /** The cache a scenario creates while members are cut off, and a key of it the majority writes. */
    private int newCacheId;
    private String sibling;
    /** Whether members started from now on keep nothing on (simulated) disk. */
    private boolean inMemory;
    /** {@code cluster.min.members} of members started from now on (0: the default, a majority of the seeds). */
    private int minMembers;

    /** Item 1: a pause longer than failure detection. The paused member is removed, learns it, and rejoins. */
    @Test
    void aMemberPausedLongerThanFailureDetectionRejoinsTheOneClusterOnItsOwnData()
    {
        startCluster(1);
        writeAll(0, "before");
        final long pausedIncarnation = members[2].incarnation();
        pause(2, 4 * FAILURE_DETECTION_NS);
        writeAll(0, "during");
        awaitOneCluster();
        assertNotEquals(pausedIncarnation, members[2].incarnation(), "the paused member was never removed");
        assertEquals(1, expulsions[2], "the paused member did not start again on its own data");
        assertTrue(members[2].status().rebalanceStatus().totalHistorical() > 0, "it did not catch up historically");
        assertEverythingThere();
    }

    /**
     * A member says it installed a map (MapInstalled: once every member did, the map settles and primaries answer
     * updates under it) only once its WAL holds what the installation appended durably. Before, it said so at once,
     * and a majority crashing in that moment came back with the maps before one it had acknowledged writes under.
     * Every MapInstalled on the network is checked against its sender's disk as it is sent, through a crash, a
     * restart and the exchanges they bring.
     */
    @Test
    void aMemberSaysItInstalledAMapOnlyOnceItsWalHoldsTheInstallation()
    {
        final List<String> early = new ArrayList<>();
        final int[] said = new int[1];
        network.dropWhere((from, to, message) ->
        {
            if (SimNetwork.typeOf(message) == MessageTypes.MAP_INSTALLED)
            {
                said[0]++;
                if (wals[from].durablePosition() < installedAppendedAt[from])
                {
                    early.add("m" + from + ": durable " + wals[from].durablePosition() + " < installed at " +
                        installedAppendedAt[from]);
                }
            }
            return false;
        });
        startCluster(1);
        writeAll(0, "before");
        crash(2);
        writeAll(0, "during");
        run(3 * FAILURE_DETECTION_NS);
        start(2);
        awaitOneCluster();
        assertTrue(said[0] >= 6, "only " + said[0] + " MapInstalled sent: the scenario exchanged too little");
        assertEquals(List.of(), early, "MapInstalled sent before the installation was durable");
        assertEverythingThere();
    }

    /**
     * Item 2: a member cut off (both ways) for longer than failure detection. It refuses writes and reads with
     * NO_QUORUM and acknowledges nothing; the majority goes on; after the heal it is a member again.
     */
    @Test
    void aMemberCutOffRefusesWithNoQuorumWhileTheMajorityServes()
    {
        startCluster(1);
        writeAll(0, "before");
        network.partition(Set.of(2));
        run(3 * FAILURE_DETECTION_NS);
        assertFalse(members[2].status().quorum().held(), "the cut-off member still claims quorum");
        assertRefusedForQuorum(members[2], "k-minority", "the minority");
        writeAll(0, "majority");
        network.heal();
        awaitOneCluster();
        assertEverythingThere();
        assertEquals(null, read(members[0], "k-minority"), "a write the minority refused was applied");
    }

    /**
     * A member cut off in the middle of an exchange (it adopted a topology, its coordinator never finishes the exchange
     * for it) still refuses writes and reads with NO_QUORUM once it knows it holds no quorum, rather than holding them
     * for a map that cannot come and answering OPERATION_TIMEOUT. CI found the timeout in the process test of a lone
     * member: the two others were stopped just as a change of the cluster was under way.
     */
    @Test
    void aMemberCutOffInTheMiddleOfAnExchangeRefusesWithNoQuorum()
    {
        startCluster(1);
        writeAll(0, "before");
        final OpOutcome[] created = new OpOutcome[1];
        members[0].admin().createCache(new CacheDescriptor(0, "d", 16, 1, "string", "string", null, 2_000 * MS, null,
            0, 0), Answers.capture(created, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () ->
            members[0].topology().version() != members[0].installedMap().version()), "m0 never began an exchange");
        network.partition(Set.of(0));
        run(3 * FAILURE_DETECTION_NS);
        assertFalse(members[0].status().quorum().held(), "the cut-off member still claims quorum");
        assertNotEquals(members[0].topology().version(), members[0].installedMap().version(),
            "the exchange finished without the coordinator: the scenario did not cut m0 off in the middle of it");
        assertRefusedForQuorum(members[0], "k-cut", "the member cut off in an exchange");
        network.heal();
        awaitOneCluster();
        assertEverythingThere();
        assertEquals(null, read(members[0], "k-cut"), "a write the member cut off refused was applied");
    }

    /**
     * A consistency check running on a member when it is removed from the cluster fails with MEMBER_REJOINING once
     * the member learns it. Before, the member's checks were dropped unanswered and the caller waited for ever (found
     * by baseline seed 0x176628e1e: the final check began on a member just before it was removed).
     */
    @Test
    void aConsistencyCheckOfAMemberRemovedFromTheClusterFailsInsteadOfWaitingForEver()
    {
        startCluster(1);
        writeAll(0, "before");
        network.partition(Set.of(2));
        final ConsistencyReport[] report = new ConsistencyReport[1];
        final GridException[] failure = new GridException[1];
        members[2].status().checkConsistency("c", (result, error) ->
        {
            report[0] = result;
            failure[0] = error;
        });
        run(3 * FAILURE_DETECTION_NS);
        assertTrue(report[0] == null && failure[0] == null, "cut off, the check can neither finish nor fail yet");
        network.heal();
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(30), () -> report[0] != null ||
            failure[0] != null), "the check of the removed member was never answered");
        assertTrue(failure[0] != null && failure[0].errorCode() == ErrorCode.MEMBER_REJOINING,
            () -> "the check answered " + report[0] + " / " + failure[0]);
        awaitOneCluster();
        assertEverythingThere();
    }

    /**
     * The per-cache read policy: a cut-off member refuses reads of a {@link QuorumReadPolicy#REFUSE} cache, and
     * answers reads of a {@link QuorumReadPolicy#SERVE_LOCAL} one from its own copies, flagged, with the values of
     * before the split (the majority has changed them since), refusing keys it holds no copy of. It still refuses every
     * write. Once healed, it answers current values unflagged.
     */
    @Test
    void aCutOffMemberServesReadsFromItsOwnCopiesFlaggedOnlyWhereTheCacheSaysSo()
    {
        startCluster(1);
        final OpOutcome[] created = new OpOutcome[1];
        members[0].admin().createCache(new CacheDescriptor(0, "local", 16, 1, "string",
            "string", null, 2_000 * MS, null,
            0, 0, PartitionLossPolicy.READ_WRITE_SAFE, 0, QuorumReadPolicy.SERVE_LOCAL),
            Answers.capture(created, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> created[0] != null));
        final int local = members[0].cache("local").cacheId();
        awaitOneCluster();
        writeAll(0, "before");
        for (int i = 0; i < KEYS; i++)
        {
            assertTrue(answer(members[0], local, OpType.PUT, "k" + i, "before" + i) instanceof OpOutcome);
        }
        network.partition(Set.of(2));
        run(3 * FAILURE_DETECTION_NS);
        for (int i = 0; i < KEYS; i++)
        {
            assertTrue(answer(members[0], local, OpType.PUT, "k" + i, "majority" + i) instanceof OpOutcome);
        }
        final Object refused = answer(members[2], OpType.GET, "k0", null);
        assertTrue(refused instanceof GridException e && e.errorCode() == ErrorCode.NO_QUORUM,
            () -> "a REFUSE cache served a read without quorum: " + refused);
        final Object write = answer(members[2], local, OpType.PUT, "k0", "minority");
        assertTrue(write instanceof GridException e && e.errorCode() == ErrorCode.NO_QUORUM,
            () -> "a SERVE_LOCAL cache took a write without quorum: " + write);
        int served = 0;
        int noCopy = 0;
        for (int i = 0; i < KEYS; i++)
        {
            final String key = "k" + i;
            final Object read = answer(members[2], local, OpType.GET, key, null);
            if (read instanceof OpOutcome outcome)
            {
                assertTrue(outcome.withoutQuorum(), key + " answered without quorum, unflagged");
                assertEquals("before" + i, new String(outcome.value(), StandardCharsets.UTF_8), key);
                served++;
            }
            else
            {
                assertTrue(read instanceof GridException e && e.errorCode() == ErrorCode.NO_QUORUM, () -> key + ": " +
                    read);
                noCopy++;
            }
        }
        assertTrue(served > 0 && noCopy > 0, "served " + served + ", refused " + noCopy + " (m2 holds 2 in 3 copies)");
        assertEquals(served, members[2].status().quorum().readsWithoutQuorum());
        final OpOutcome majority = (OpOutcome)answer(members[0], local, OpType.GET, "k0", null);
        assertFalse(majority.withoutQuorum(), "the majority flagged its read");
        assertEquals("majority0", new String(majority.value(), StandardCharsets.UTF_8));
        network.heal();
        awaitOneCluster();
        for (int i = 0; i < KEYS; i++)
        {
            final OpOutcome healed = (OpOutcome)answer(members[2], local, OpType.GET, "k" + i, null);
            assertFalse(healed.withoutQuorum(), "a read after the heal was flagged");
            assertEquals("majority" + i, new String(healed.value(), StandardCharsets.UTF_8));
        }
    }

    /**
     * Item 3: a cache without backups and a pause of six times failure detection. The paused member's copies are the
     * only ones; it keeps them through the expulsion and brings them back.
     */
    @Test
    void aPausedMemberKeepsTheOnlyCopiesItHolds()
    {
        startCluster(0);
        writeAll(0, "only");
        pause(2, 6 * FAILURE_DETECTION_NS);
        run(7 * FAILURE_DETECTION_NS);
        awaitOneCluster();
        assertEquals(1, expulsions[2], "the paused member was not expelled and started again");
        assertEverythingThere();
    }

    /**
     * Five members: a new cache's map reaches only the coordinator m0 and m1, and a cut isolates the two from the other
     * three at once. Within its quorum lease m0 could acknowledge a write to a partition it and m1 own in that map, but
     * the majority never installed the map, decides the next one without it and writes the partition in a lineage of
     * its own: when the two come back, their copies are rebuilt from it and the write is gone (it was, before; soak seed
     * 0x181c50033 lost acknowledged merges so). A primary now answers only once every member installed the map (the map
     * settled): m0 holds the write unacknowledged, and whatever was acknowledged is there after the heal.
     */
    @Test
    void aMapOnlyMembersCutOffAtOnceInstalledAcknowledgesNoWrite()
    {
        final String key = cutOffWithAMapOnlyTheyInstalled();
        final GridException[] error = new GridException[1];
        final OpOutcome[] outcome = writeHeldByTheCutOffPrimary(key, error, FAILURE_DETECTION_NS / 4);
        majorityWritesTheSamePartitionThenHeal(key);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () -> outcome[0] != null ||
            error[0] != null), "the write held for the map was never answered");
        assertEverythingThereAfterTheHeal(key, outcome[0] != null);
    }

    /**
     * The same shape: m0 holds a write to the partition unacknowledged, and a read of its key through m0 (its primary,
     * within its quorum lease) must not show the held value, which the majority's lineage rebuilds away at the heal.
     * Reads wait for the map to settle; this one is refused once m0 knows it lost quorum (or, answered after the heal,
     * finds what the cluster kept).
     */
    @Test
    void aReadUnderAMapOnlyMembersCutOffAtOnceInstalledShowsNoHeldWrite()
    {
        final String key = cutOffWithAMapOnlyTheyInstalled();
        final OpOutcome[] written = writeHeldByTheCutOffPrimary(key, new GridException[1], FAILURE_DETECTION_NS / 8);
        assertSame(Engine.NOT_READ_NOW, members[0].readNow(newCacheId, OpType.GET, bytes(key)),
            "m0 answered a read at once under a map that never settled");
        final OpOutcome[] read = new OpOutcome[1];
        final GridException[] readError = new GridException[1];
        members[0].submit(newCacheId, OpType.GET, bytes(key), null, null, TimeUnit.SECONDS.toNanos(20),
            Answers.capture(read, readError));
        run(FAILURE_DETECTION_NS / 8);
        assertEquals(null, read[0], "m0 answered a read under a map that never settled");
        majorityWritesTheSamePartitionThenHeal(key);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(15), () -> read[0] != null ||
            readError[0] != null), "the read held for the map was never answered");
        awaitOneCluster();
        if (readError[0] != null)
        {
            assertEquals(ErrorCode.NO_QUORUM, readError[0].errorCode(), readError[0].getMessage());
        }
        else
        {
            assertEquals(read(members[2], newCacheId, key), read[0].value() == null ? null :
                new String(read[0].value(), StandardCharsets.UTF_8), "the read showed what the cluster did not keep");
        }
        assertEverythingThereAfterTheHeal(key, written[0] != null);
    }

    /**
     * The same shape, with a conditional write instead of a read: a putIfAbsent of the key through m0 that found the
     * held value and answered false at once would show a value the majority's lineage rebuilds away at the heal.
     * A conditional write waits for the map to settle as a read does (then it is refused once m0 knows it lost quorum
     * or was removed, or, run after the heal, finds what the cluster kept).
     */
    @Test
    void aConditionalWriteUnderAMapOnlyMembersCutOffAtOnceInstalledDoesNotAnswerFromAHeldWrite()
    {
        final String key = cutOffWithAMapOnlyTheyInstalled();
        final OpOutcome[] written = writeHeldByTheCutOffPrimary(key, new GridException[1], FAILURE_DETECTION_NS / 8);
        final OpOutcome[] answered = new OpOutcome[1];
        final GridException[] refused = new GridException[1];
        members[0].submit(newCacheId, OpType.PUT_IF_ABSENT, bytes(key), bytes("other"), null,
            TimeUnit.SECONDS.toNanos(20), Answers.capture(answered, refused));
        run(FAILURE_DETECTION_NS / 8);
        assertEquals(null, answered[0], "m0 answered a putIfAbsent under a map that never settled");
        assertEquals(null, refused[0], "m0 refused the putIfAbsent before it could hold it");
        majorityWritesTheSamePartitionThenHeal(key);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(15), () -> answered[0] != null ||
            refused[0] != null), "the putIfAbsent held for the map was never answered");
        awaitOneCluster();
        if (refused[0] != null)
        {
            assertTrue(refused[0].errorCode() == ErrorCode.NO_QUORUM ||
                refused[0].errorCode() == ErrorCode.MEMBER_REJOINING, refused[0].getMessage());
        }
        else
        {
            assertEquals(answered[0].flag() ? "other" : "cut", read(members[2], newCacheId, key),
                "the putIfAbsent answered " + answered[0].flag() + " against what the cluster kept");
        }
        assertEverythingThereAfterTheHeal(key, written[0] != null);
    }

    /**
     * Five members, a baseline of three (m0, m1, m2). A cut isolates m1 and m2, and the coordinator m0, still within
     * its quorum lease, sets the baseline to all five at once. A quorum of the new baseline (m0 and the two new
     * members) and one of the old (m1 and m2) would not overlap: both sides held quorum and acknowledged writes, and
     * one side's were lost at the heal (soak seed 0x181c5050b). Until the change's map settles, a quorum must be one of
     * the old baseline too: m0 loses it, also when a member restarts on its side, the old majority serves, and after the
     * heal every acknowledged write is there.
     */
    @Test
    void aBaselineChangeWhileTheOldMajorityIsCutOffForksNoQuorum()
    {
        slots = 5;
        baselineSlots = 3;
        startCluster(1);
        writeAll(0, "before");
        network.partition(Set.of(1, 2));
        members[0].admin().changeBaseline(Baseline.SET, List.of("m0", "m1", "m2", "m3", "m4"), 0,
            Answers.capture(new OpOutcome[1], new GridException[1]));
        run(3 * FAILURE_DETECTION_NS);
        assertEquals(List.of("m0", "m1", "m2", "m3", "m4"), members[0].topology().baseline().memberIds(),
            "m0 did not take the new baseline: the scenario did not change it while cut off");
        assertRefusedForQuorum(members[0], "k-new-baseline", "the coordinator of the baseline change");
        assertFalse(members[3].status().quorum().held(), "a new baseline member holds quorum beside the old majority");
        // A joiner on the coordinator's side completes no quorum of the new baseline with which to remove the old
        // majority (an admission without quorum did, and forked again).
        crash(4);
        start(4);
        run(3 * FAILURE_DETECTION_NS);
        assertRefusedForQuorum(members[0], "k-new-baseline", "the coordinator once m4 restarted on its side");
        assertTrue(members[0].topology().member(members[1].incarnation()) != null,
            () -> "m0 removed the old majority: " + members[0].topology());
        writeAll(1, "old-majority");
        network.heal();
        awaitOneCluster();
        assertEverythingThere();
        assertEquals(null, read(members[1], "k-new-baseline"), "a write the coordinator refused was applied");
    }

    /**
     * The same shape, with a transaction m0 coordinates: its lock on the key m0 holds a write of is granted, but the
     * answer (the value) waits for the map to settle, and is refused once m0 knows it lost quorum (or was removed).
     * After the heal, a new transaction reads what the cluster kept (commits: UnsettledMapAnswersWithFakesTest).
     */
    @Test
    void aTransactionUnderAMapOnlyMembersCutOffAtOnceInstalledReadsNoHeldWrite()
    {
        final String key = cutOffWithAMapOnlyTheyInstalled();
        final OpOutcome[] written = writeHeldByTheCutOffPrimary(key, new GridException[1], FAILURE_DETECTION_NS / 8);
        final byte[][][] locked = new byte[1][][];
        final GridException[] error = new GridException[1];
        lockThroughM0(key, locked, error);
        run(FAILURE_DETECTION_NS / 8);
        assertEquals(null, locked[0], "m0 answered a transaction's lock under a map that never settled");
        majorityWritesTheSamePartitionThenHeal(key);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(15), () -> error[0] != null),
            () -> "the held lock was not refused: " + (locked[0] == null ? "unanswered" : "answered"));
        assertTrue(error[0].errorCode() == ErrorCode.NO_QUORUM || error[0].errorCode() == ErrorCode.MEMBER_REJOINING,
            error[0].getMessage());
        assertEverythingThereAfterTheHeal(key, written[0] != null);
        final byte[][][] after = new byte[1][][];
        lockThroughM0(key, after, error);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(15), () -> after[0] != null),
            "a transaction after the heal got no lock");
        assertEquals(read(members[2], newCacheId, key), after[0][0] == null ? null :
            new String(after[0][0], StandardCharsets.UTF_8), "the transaction read what the cluster did not keep");
    }

    private void lockThroughM0(final String key, final byte[][][] locked, final GridException[] error)
    {
        final long tx = members[0].transactions().begin(TimeUnit.SECONDS.toNanos(20), 0);
        members[0].transactions().enlist(tx, newCacheId, new byte[][] {bytes(key)}, true, callback(locked, error));
    }

    /**
     * Item 4: a split, writes on the majority, then every member crashes and the cluster restarts. The minority's
     * copies are older: they must not come back as current.
     */
    @Test
    void aWholeClusterRestartAfterASplitKeepsTheMajoritysWrites()
    {
        startCluster(1);
        writeAll(0, "before");
        network.partition(Set.of(2));
        run(3 * FAILURE_DETECTION_NS);
        writeAll(1, "majority");
        network.heal();
        for (int slot = 0; slot < slots; slot++)
        {
            crash(slot);
        }
        for (final int slot : new int[] {2, 0, 1})
        {
            start(slot);
            run(50 * MS);
        }
        awaitOneCluster();
        assertEverythingThere();
    }

    /**
     * Item 5: seeds started seconds apart. The first hears no quorum of seeds and starts nothing alone; the second
     * completes one with it; the third joins.
     */
    @Test
    void seedsStartedSecondsApartFormOneCluster()
    {
        start(0);
        run(TimeUnit.SECONDS.toNanos(3));
        assertEquals(MemberState.JOINING, members[0].state(), "a seed started a cluster alone");
        start(1);
        run(TimeUnit.SECONDS.toNanos(3));
        start(2);
        awaitOneCluster();
    }

    /**
     * Two clusters that formed apart (allowed here by {@code cluster.min.members = 1}: m0 cut off from the others as
     * all three started) merge once the network heals: the coordinators probe the seeds they do not list, and the
     * smaller cluster dissolves into the larger, whose acknowledged writes all stay. Each side created its own cache
     * "c" and wrote every key: a true conflict. The survivor's values stand, and every entry m0 acknowledged alone is
     * kept for the operator (handed to {@code onCopyKept} before m0 drops the copies), none silently dropped.
     */
    @Test
    void twoClustersThatFormedApartMergeIntoTheLargerOne()
    {
        mergeTwoClustersThatFormedApart();
    }

    /**
     * {@link #twoClustersThatFormedApartMergeIntoTheLargerOne} with in-memory members: m0 rejoins without its copies,
     * and reports every entry they held to {@code onCopyKept} (a host has nowhere durable to keep them) before it
     * drops them.
     */
    @Test
    void anInMemoryClusterThatDissolvesReportsWhatItHeld()
    {
        inMemory = true;
        mergeTwoClustersThatFormedApart();
    }

    /**
     * An in-memory member holding the only copies left: m1 is cut off while m0 and m2 crash, and the restarted m2 forms
     * a new cluster with m3 and m4, all three empty. At the heal m1, without quorum, dissolves into it: it joins with
     * its copies, and the new cluster adopts its cache (m1's ownership table is newer), serving nothing until m0, the
     * member of that table still away, is back (it might have been cut off holding updates m1 lacks); once it is (it
     * restarts, empty), every key of a partition m1 held reads its acknowledged value and the partitions only m0 and
     * m2 held are reported lost. m1 dropped its copies at the dissolve before, and the cache with them (in-memory soak
     * seed 0x181c815b7).
     */
    @Test
    void anInMemoryMemberWithTheOnlyCopiesLeftKeepsThemWhenItsClusterDissolves()
    {
        inMemory = true;
        slots = 5;
        for (int slot = 0; slot < 3; slot++)
        {
            start(slot);
        }
        awaitCluster(0, 1, 2);
        final OpOutcome[] created = new OpOutcome[1];
        members[0].admin().createCache(new CacheDescriptor(0, "c", 16, 1, "string", "string", null, 2_000 * MS, null,
            0, 0), Answers.capture(created, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> created[0] != null));
        cacheId = members[0].cache("c").cacheId();
        writeAll(0, "v");
        awaitCluster(0, 1, 2);
        final PartitionMap before = members[1].installedMap();
        final int m1 = before.topology().indexOf(members[1].incarnation());
        final Set<Integer> heldByM1 = new HashSet<>();
        for (int p = 0; p < 16; p++)
        {
            for (final int owner : before.owners(cacheId, p))
            {
                if (owner == m1)
                {
                    heldByM1.add(p);
                }
            }
        }
        assertTrue(heldByM1.size() > 0 && heldByM1.size() < 16, "m1 owns " + heldByM1);
        network.partition(Set.of(1));
        crash(0);
        crash(2);
        run(3 * FAILURE_DETECTION_NS);
        for (int slot = 2; slot < 5; slot++)
        {
            start(slot);
        }
        awaitCluster(2, 3, 4);
        network.heal();
        // m0, a member of m1's newer ownership table, may be cut off with updates m1 lacks: nothing is served yet.
        final String heldKey = acknowledged.keySet().stream().filter(k ->
            heldByM1.contains(KeyPartitioner.partition(bytes(k), 16))).findFirst().orElseThrow();
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () -> members[3].cache("c") != null),
            () -> "m1's cache was not adopted: " + describe());
        final Object waiting = answer(members[3], OpType.GET, heldKey, null);
        assertTrue(waiting instanceof GridException refused && refused.errorCode() == ErrorCode.PARTITION_LOST,
            () -> "a read while the cluster waits for m0 was answered with " + waiting);
        // m0 comes back (empty: an in-memory member that crashed): every last owner is here.
        start(0);
        awaitCluster(0, 1, 2, 3, 4);
        assertTrue(kept.isEmpty(), "m1 handed copies to the operator instead of bringing them: " + kept.size());
        int checked = 0;
        for (final Map.Entry<String, String> write : acknowledged.entrySet())
        {
            if (heldByM1.contains(KeyPartitioner.partition(bytes(write.getKey()), 16)))
            {
                assertEquals(write.getValue(), read(members[3], write.getKey()), write.getKey());
                checked++;
            }
        }
        assertTrue(checked > 0, "no key of m1's partitions was written");
        final Set<Integer> expectedLost = new HashSet<>();
        for (int p = 0; p < 16; p++)
        {
            if (!heldByM1.contains(p))
            {
                expectedLost.add(p);
            }
        }
        assertEquals(expectedLost, lost, "the partitions reported lost are not those m1 held no copy of");
    }

    /** Every member of {@code inCluster} settled (quorum held) in one topology of exactly them, the same version. */
    private void awaitCluster(final int... inCluster)
    {
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(30), () ->
        {
            for (final int slot : inCluster)
            {
                final Engine member = members[slot];
                if (member == null || !member.status().isQuiescent() ||
                    member.topology().members().size() != inCluster.length ||
                    member.topology().version() != members[inCluster[0]].topology().version())
                {
                    return false;
                }
            }
            return true;
        }), this::describe);
    }

    private void mergeTwoClustersThatFormedApart()
    {
        minMembers = 1;
        network.partition(Set.of(0));
        for (int slot = 0; slot < slots; slot++)
        {
            start(slot);
        }
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () -> members[0].status().isSettled() &&
            members[1].status().isSettled() && members[2].status().isSettled() &&
            members[1].topology().members().size() == 2),
            this::describe);
        assertEquals(1, members[0].topology().members().size(), "m0 did not start a cluster of its own");
        final OpOutcome[] alone = new OpOutcome[1];
        members[0].admin().createCache(new CacheDescriptor(0, "c", 16, 1, "string", "string", null, 2_000 * MS, null,
            0, 0), Answers.capture(alone, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> alone[0] != null));
        cacheId = members[0].cache("c").cacheId();
        writeAll(0, "alone");
        final Map<String, String> writtenAlone = new HashMap<>(acknowledged);
        acknowledged.clear();
        final OpOutcome[] created = new OpOutcome[1];
        members[1].admin().createCache(new CacheDescriptor(0, "c", 16, 1, "string", "string", null, 2_000 * MS, null,
            0, 0), Answers.capture(created, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> created[0] != null));
        cacheId = members[1].cache("c").cacheId();
        writeAll(1, "larger");
        network.heal();
        awaitOneCluster();
        assertEquals(inMemory ? 0 : 1, expulsions[0], "m0 did not dissolve its cluster");
        assertEverythingThere();
        final Map<String, String> keptForOperator = new HashMap<>();
        for (final KeptCopy copy : kept)
        {
            assertEquals("c", copy.cacheName());
            for (int i = 0; i < copy.keys().size(); i++)
            {
                keptForOperator.put(new String(copy.keys().get(i), StandardCharsets.UTF_8),
                    new String(copy.values().get(i), StandardCharsets.UTF_8));
            }
        }
        assertEquals(writtenAlone, keptForOperator, "what m0 acknowledged alone was not all kept");
        assertTrue(members[0].status().quorum().history().stream().anyMatch(e -> e.contains("kept " +
            KEYS + " entries")),
            () -> "the keeping is not in m0's history: " + members[0].status().quorum().history());
    }

    // ------------------------------------------------------------------------------------------------------------

    /**
     * Five members; a new cache "d" whose map reaches only m0 (the coordinator) and m1, then a cut isolates the two.
     *
     * @return a key of "d" whose partition only m0 and m1 own in that map.
     */
    private String cutOffWithAMapOnlyTheyInstalled()
    {
        slots = 5;
        startCluster(1);
        writeAll(0, "before");
        network.dropWhere((from, to, message) -> from == 0 && to >= 2 && SimNetwork.typeOf(message) ==
            MessageTypes.PARTITION_MAP);
        members[0].admin().createCache(new CacheDescriptor(0, "d", 16, 1, "string", "string", null, 2_000 * MS, null,
            0, 0), Answers.capture(new OpOutcome[1], new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> members[0].cache("d") != null &&
            members[1].cache("d") != null && members[0].installedMap().version() == members[0].topology().version() &&
            members[1].installedMap().version() == members[0].topology().version()), this::describe);
        network.partition(Set.of(0, 1));
        newCacheId = members[0].cache("d").cacheId();
        final PartitionMap map = members[0].installedMap();
        assertTrue(members[2].installedMap().version() < map.version(), "m2 installed the map it was not sent");
        final Set<Long> cut = Set.of(members[0].incarnation(), members[1].incarnation());
        for (int i = 0; i < KEYS; i++)
        {
            final int[] owners = map.owners(newCacheId, KeyPartitioner.partition(bytes("d" + i), 16));
            if (cut.contains(map.topology().members().get(owners[0]).incarnation()) &&
                cut.contains(map.topology().members().get(owners[1]).incarnation()))
            {
                return "d" + i;
            }
        }
        throw new AssertionError("no key of d that only m0 and m1 own");
    }

    /**
     * m0 writes {@code key} ("cut") under the map only the cut-off members installed; after {@code runNs} the write is
     * still unacknowledged (held for the map to settle).
     *
     * @return where its outcome lands if it is answered later.
     */
    private OpOutcome[] writeHeldByTheCutOffPrimary(final String key, final GridException[] error, final long runNs)
    {
        final OpOutcome[] outcome = new OpOutcome[1];
        members[0].submit(newCacheId, OpType.PUT, bytes(key), bytes("cut"), null, TimeUnit.SECONDS.toNanos(5),
            Answers.capture(outcome, error));
        run(runNs);
        assertEquals(null, outcome[0], "m0 acknowledged a write under a map the majority never installed");
        return outcome;
    }

    /**
     * The majority goes on without the two and writes {@code key}'s partition (through another key), so that its
     * lineage is the newer one; then the cut heals.
     */
    private void majorityWritesTheSamePartitionThenHeal(final String key)
    {
        run(3 * FAILURE_DETECTION_NS);
        final int partition = KeyPartitioner.partition(bytes(key), 16);
        for (int i = 0; i < KEYS && sibling == null; i++)
        {
            if (!("d" + i).equals(key) && KeyPartitioner.partition(bytes("d" + i), 16) == partition)
            {
                sibling = "d" + i;
            }
        }
        final Object majority = answer(members[2], newCacheId, OpType.PUT, sibling, "majority");
        assertTrue(majority instanceof OpOutcome, () -> "the majority refused a write: " + majority);
        network.heal();
    }

    /** One cluster of five again: every write acknowledged is there, and the cut-off one if it was acknowledged. */
    private void assertEverythingThereAfterTheHeal(final String key, final boolean cutOffWriteAcknowledged)
    {
        awaitOneCluster();
        assertEverythingThere();
        assertEquals("majority", read(members[0], newCacheId, sibling), "the majority's write is missing");
        if (cutOffWriteAcknowledged)
        {
            assertEquals("cut", read(members[2], newCacheId, key), "the acknowledged write of the cut-off members is " +
                "missing");
        }
    }

    /** Lands a transaction step's values (an empty array for none) or its failure. */
    private static TxCallback callback(final byte[][][] values, final GridException[] error)
    {
        return new TxCallback()
        {
            public void onSuccess(final byte[][] result)
            {
                values[0] = result == null ? new byte[0][] : result;
            }

            public void onFailure(final GridException failure)
            {
                error[0] = failure;
            }
        };
    }

    private void startCluster(final int backups)
    {
        for (int slot = 0; slot < slots; slot++)
        {
            start(slot);
        }
        awaitOneCluster();
        final OpOutcome[] created = new OpOutcome[1];
        members[0].admin().createCache(new CacheDescriptor(0, "c", 16, backups, "string",
            "string", null, 2_000 * MS, null,
            0, 0).withLossPolicy(PartitionLossPolicy.READ_WRITE_SAFE), Answers.capture(created, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> created[0] != null));
        cacheId = members[0].cache("c").cacheId();
        final OpOutcome[] baseline = new OpOutcome[1];
        final List<String> ids = new ArrayList<>();
        for (int slot = 0; slot < (baselineSlots > 0 ? baselineSlots : slots); slot++)
        {
            ids.add("m" + slot);
        }
        members[0].admin().changeBaseline(Baseline.SET, ids, 0, Answers.capture(baseline,
            new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> baseline[0] != null));
        awaitOneCluster();
    }

    private void start(final int slot)
    {
        if (wals[slot] == null)
        {
            wals[slot] = new SimWal(sim, sim.fork(), "m" + slot);
            stores[slot] = new SimCheckpointStore(sim, sim.fork(), "m" + slot);
        }
        final MemberConfiguration config = new MemberConfiguration("m" + slot).port(10_000 + slot)
            .heartbeatIntervalNs(50 * MS).failureDetectionTimeoutNs(FAILURE_DETECTION_NS)
            .joinTimeoutNs(TimeUnit.SECONDS.toNanos(60)).checkpointIntervalNs(300 * MS);
        if (minMembers > 0)
        {
            config.minMembers(minMembers);
        }
        for (int s = 0; s < slots; s++)
        {
            config.addSeed(SimNetwork.address(s));
        }
        network.down(slot, false);
        final Engine engine = Members.newEngine(config, network.transport(slot, () -> { }),
            inMemory ? new VolatileWal() : wals[slot], inMemory ? null : stores[slot], sim.fork(), cache -> null,
            TxManager::new, new EngineListener()
            {
                @Override
                public void onCopyKept(final KeptCopy copy)
                {
                    kept.add(copy);
                }

                @Override
                public void onMapInstalled(final Topology topology)
                {
                    installedAppendedAt[slot] = inMemory ? 0 : wals[slot].appendedPosition();
                }

                @Override
                public void onPartitionLost(final int lostCacheId, final int partition, final long version)
                {
                    if (lostCacheId == cacheId)
                    {
                        lost.add(partition);
                    }
                }

                @Override
                public void onEvent(final String message)
                {
                    if (Boolean.getBoolean("grid.sim.trace"))
                    {
                        System.out.println(sim.nowNs() + " m" + slot + " " + message);
                    }
                }
            }, 100 * MS, sim.nowNs());
        members[slot] = engine;
        tick(slot, engine);
    }

    /** As ClusterScenario does: a stopped member neither runs nor reads its inbox, then runs on with it. */
    private void tick(final int slot, final Engine engine)
    {
        if (members[slot] != engine)
        {
            return;
        }
        if (pausedUntilNs[slot] > sim.nowNs())
        {
            sim.schedule(pausedUntilNs[slot] - sim.nowNs(), "resume m" + slot, () -> tick(slot, engine));
            return;
        }
        engine.doWork(sim.nowNs());
        if (engine.status().isReadyForRestart())
        {
            // Expelled: a new engine on the same WAL and checkpoints, as GridMember does.
            expulsions[slot]++;
            start(slot);
            return;
        }
        sim.schedule(MS, "tick m" + slot, () -> tick(slot, engine));
    }

    private void pause(final int slot, final long durationNs)
    {
        pausedUntilNs[slot] = sim.nowNs() + durationNs;
    }

    private void crash(final int slot)
    {
        members[slot] = null;
        pausedUntilNs[slot] = 0;
        wals[slot].crash();
        stores[slot].crash();
        network.down(slot, true);
    }

    private void run(final long durationNs)
    {
        sim.runUntil(sim.nowNs() + durationNs, null);
    }

    /** A write of {@code key} (value "never") and a read of k0 through {@code member}: both refused with NO_QUORUM. */
    private void assertRefusedForQuorum(final Engine member, final String key, final String who)
    {
        final Object write = answer(member, OpType.PUT, key, "never");
        assertTrue(write instanceof GridException refused && refused.errorCode() == ErrorCode.NO_QUORUM,
            () -> who + " answered a write with " + write);
        final Object read = answer(member, OpType.GET, "k0", null);
        assertTrue(read instanceof GridException refused && refused.errorCode() == ErrorCode.NO_QUORUM,
            () -> who + " answered a read with " + read);
    }

    /** Every member settled (quorum held) in one topology of all of them, the same version everywhere. */
    private void awaitOneCluster()
    {
        awaitCluster(IntStream.range(0, slots).toArray());
    }

    private String describe()
    {
        final StringBuilder out = new StringBuilder("not one settled cluster of " + slots + ":");
        for (int slot = 0; slot < slots; slot++)
        {
            final Engine member = members[slot];
            out.append("\n  m").append(slot).append(": ").append(member == null ? "down" : member.state() + " " +
                member.topology() + " " + member.status().describeProgress());
        }
        return out.toString();
    }

    private void writeAll(final int via, final String value)
    {
        for (int i = 0; i < KEYS; i++)
        {
            final String key = "k" + i;
            final Object answer = answer(members[via], OpType.PUT, key, value + i);
            assertTrue(answer instanceof OpOutcome, () -> "put " + key + " through m" + via + ": " + answer);
            acknowledged.put(key, value + i);
        }
    }

    /** Through every member: each acknowledged write holds its value, and every copy agrees. */
    private void assertEverythingThere()
    {
        for (int slot = 0; slot < slots; slot++)
        {
            final Engine member = members[slot];
            for (final Map.Entry<String, String> write : acknowledged.entrySet())
            {
                assertEquals(write.getValue(), read(member, write.getKey()), write.getKey());
            }
        }
    }

    private String read(final Engine via, final String key)
    {
        return read(via, cacheId, key);
    }

    private String read(final Engine via, final int cache, final String key)
    {
        final Object answer = answer(via, cache, OpType.GET, key, null);
        assertTrue(answer instanceof OpOutcome, () -> "get " + key + ": " + answer);
        final byte[] value = ((OpOutcome)answer).value();
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    private Object answer(final Engine via, final OpType type, final String key, final String value)
    {
        return answer(via, cacheId, type, key, value);
    }

    private Object answer(final Engine via, final int cache, final OpType type, final String key,
        final String value)
    {
        final OpOutcome[] outcome = new OpOutcome[1];
        final GridException[] error = new GridException[1];
        via.submit(cache, type, bytes(key), value == null ? null : bytes(value), null, TimeUnit.SECONDS.toNanos(5),
            Answers.capture(outcome, error));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(6), () -> outcome[0] != null ||
            error[0] != null), () -> type + " " + key + " got no answer");
        return outcome[0] != null ? outcome[0] : error[0];
    }

    private static byte[] bytes(final String value)
    {
        return value.getBytes(StandardCharsets.UTF_8);
    }
}
