package dev.grid.sim.cluster;

import dev.grid.tx.TxManager;
import dev.grid.core.codec.messages.MessageHeaderDecoder;
import dev.grid.core.codec.wal.WalDataDecoder;
import dev.grid.core.codec.wal.WalDataEncoder;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.CopyView;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.Engine;
import dev.grid.core.member.Members;
import dev.grid.core.engine.OpCallback;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.OpType;
import dev.grid.core.engine.PartitionMap;
import dev.grid.core.engine.TxCallback;
import dev.grid.core.spi.Wal;
import dev.grid.sim.SimCheckpointStore;
import dev.grid.sim.SimNetwork;
import dev.grid.sim.SimWal;
import dev.grid.sim.Simulation;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.grid.sim.SimNetwork.typeOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rebalance scenarios of section 9 of research/ignite-counters.md (7 to 16), each in a simulated cluster of
 * persistent members (a simulated WAL and checkpoint store survive a crash) with two backups per partition (one for
 * the lost partitions of scenario 14 and the baseline scenarios). Each ends with the consistency check clean and
 * every acknowledged write in place.
 */
class RebalanceScenarioTest
{
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final int SLOTS = 4;
    private static final int PARTITIONS = 16;
    private static final int KEYS = 200;
    /** Wire constants of Engine and TxManager, for a filter that loses one kind of message. */
    private static final int HEADER_LENGTH = MessageHeaderDecoder.ENCODED_LENGTH;
    private static final byte TX_BACKUP = 45;
    private static final byte TX_COMMIT = 42;
    private static final byte TX_ANSWER = 44;
    private static final byte TX_STATUS = 47;
    private static final byte TX_BACKUP_ACK = 46;
    private static final byte BACKUP_ROLLBACK = 3;
    private static final byte BACKUP_PREPARE = 1;
    private static final byte BACKUP_COMMIT = 2;
    private static final byte ANSWER_COMMITTED = 3;
    private static final byte EXCHANGE_REPORT = 10;
    private static final byte REQUEST = 20;
    private static final byte REPLICATE = 22;
    private static final byte REBALANCE_DEMAND = 50;
    private static final byte REBALANCE_SUPPLY = 51;
    private static final byte REBALANCE_DONE = 52;

    private final Simulation sim = new Simulation(11);
    private final SimNetwork network = new SimNetwork(sim, sim.fork(), SLOTS).latency(100_000, 300_000);
    private final Engine[] members = new Engine[SLOTS];
    private final SimWal[] wals = new SimWal[SLOTS];
    private final SimCheckpointStore[] stores = new SimCheckpointStore[SLOTS];
    /**
     * What each member's engine reads of its WAL in one call (recovery, history scans); a test may hide updates from
     * its history scans.
     */
    private final CountingWal[] walReads = new CountingWal[SLOTS];
    /** Per member, the partitions whose copy its last start rebuilt in full (a rebalance that finished full). */
    @SuppressWarnings("unchecked")
    private final Set<Integer>[] rebuiltInFull = new Set[SLOTS];
    /** The value each key was last acknowledged with (null: removed), by the one writer of that key. */
    private final Map<String, String> acknowledged = new HashMap<>();
    private int cacheId;
    private int nextValue;

    @Test
    void scenario7AFinishLostToOneBackupThenItsPrimaryLeavesLeavesNoHoleAndTheClosureSurvivesARestart()
    {
        startCluster(3);
        writeAll(0, KEYS);
        final PartitionMap map = members[0].installedMap();
        // k1's primary is not the coordinator (member 0); its backup that is neither misses the finish.
        final String k1 = keyWhere(p -> slotOf(map, map.owners(cacheId, p)[0]) != 0);
        final int p1 = partition(k1);
        final int primary = slotOf(map, map.owners(cacheId, p1)[0]);
        final int backup = 3 - primary;
        final String k2 = keyWhere(p -> slotOf(map, map.owners(cacheId, p)[0]) != primary);
        final String later = keyWhere(p -> p == p1, k1);
        // The primary's commit of a prepared transaction (TX_BACKUP of kind BACKUP_COMMIT, see TxManager) never
        // reaches that backup.
        network.dropWhere((from, to, message) -> from == primary && to == backup && typeOf(message) == TX_BACKUP &&
            message[HEADER_LENGTH] == BACKUP_COMMIT);
        final Engine via = members[0];
        final boolean[] committed = new boolean[1];
        final GridException[] failed = new GridException[1];
        lockAndCommit(via, TimeUnit.SECONDS.toNanos(10), k1, "a2", k2, "b2", new TxCallback()
        {
            public void onSuccess(final byte[][] values)
            {
                committed[0] = true;
            }

            public void onFailure(final GridException failure)
            {
                failed[0] = failure;
            }
        });
        sim.runUntil(sim.nowNs() + 100 * MS, null);
        // A later write of the partition reaches the backup: it applies the counter after the transaction's.
        put(members[primary], later, "later");
        final CopyView holed = members[backup].status().copy(cacheId, p1);
        assertTrue(holed.hwm() > holed.lwm() && !holed.gaps().isEmpty(), "the backup has a hole: " + holed);
        crash(primary);
        network.heal();
        awaitSize(2);
        awaitQuiescent(2);
        assertTrue(committed[0] || failed[0] != null, "the transaction was answered");
        final String v1 = read(via, k1);
        final String v2 = read(via, k2);
        assertEquals("a2".equals(v1), "b2".equals(v2), "all or nothing: " + v1 + ", " + v2);
        assertTrue(!committed[0] || "a2".equals(v1), "an acknowledged commit is applied");
        acknowledged.put(k1, v1);
        acknowledged.put(k2, v2);
        assertNoHoleAndEqual(p1);
        // The member that missed the finish restarts: the closure was durable, and it stays closed.
        crash(backup);
        awaitSize(1);
        restart(backup);
        awaitQuiescent(2);
        assertNoHoleAndEqual(p1);
        assertCleanAndComplete();
    }

    @Test
    void scenario8AOnePhaseCommitWhoseBackupAnswerIsLostCommitsWhenTheBackupDiesAndItsRejoinIsConsistent()
    {
        startCluster(3);
        writeAll(0, KEYS);
        final PartitionMap map = members[0].installedMap();
        final int partition = dev.grid.core.KeyPartitioner.partition(bytes("k5"), PARTITIONS);
        final int[] owners = map.owners(cacheId, partition);
        final int primary = slotOf(map, owners[0]);
        final int backup = slotOf(map, owners[1]);
        final int coordinator = 3 - primary - backup;
        // A transaction writing one partition commits in one phase; the backup's answers never reach the primary.
        network.blockOneWay(backup, primary);
        final Engine via = members[coordinator];
        final long tx = via.transactions().begin(TimeUnit.SECONDS.toNanos(10), 0);
        final boolean[] locked = new boolean[1];
        via.transactions().enlist(tx, cacheId, new byte[][] {bytes("k5")}, true, txCallback(() -> locked[0] = true));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () -> locked[0]));
        final boolean[] committed = new boolean[1];
        via.transactions().commit(tx, new int[] {cacheId}, new byte[][] {bytes("k5")},
            new byte[][] {bytes("one-phase")},
            txCallback(() -> committed[0] = true));
        sim.runUntil(sim.nowNs() + 200 * MS, null);
        assertTrue(!committed[0], "the primary waits for its backup's answer");
        crash(backup);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> committed[0]),
            "the commit completes once the backup is gone");
        acknowledged.put("k5", "one-phase");
        network.heal();
        restart(backup);
        awaitQuiescent(3);
        assertCleanAndComplete();
    }

    @Test
    void scenario9AnOfflineMemberRejoinsUnderLoadAndCatchesUpHistorically()
    {
        startCluster(3);
        writeAll(0, KEYS);
        crash(2);
        awaitSize(2);
        // 150 updates while it is away; every partition is on every member (two backups of three members).
        final int missed = 150;
        for (int i = 0; i < missed; i++)
        {
            put(members[0], "k" + (i % KEYS), "away-" + i);
        }
        restart(2);
        // Writes go on while it catches up.
        for (int i = 0; i < 50; i++)
        {
            put(members[1], "k" + (i % KEYS), "back-" + i);
        }
        awaitQuiescent(3);
        final RebalanceStatus status = members[2].status().rebalanceStatus();
        assertEquals(0, status.totalFull(), "history covers what it missed: " + status);
        assertTrue(status.totalHistorical() > 0, status.toString());
        assertTrue(status.totalHistoryRecords() >= missed, "it streamed at least what it missed: " + status);
        assertCleanAndComplete();
    }

    @Test
    void scenario10ABackupRestartedAfterItsPrimaryCheckpointedUpdatesTheBackupsNeverGotCatchesUpCompletely()
    {
        startCluster(3);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        final PartitionMap map = members[0].installedMap();
        final int p = partition("k7");
        final int primary = slotOf(map, map.owners(cacheId, p)[0]);
        final int b1 = slotOf(map, map.owners(cacheId, p)[1]);
        final int b2 = slotOf(map, map.owners(cacheId, p)[2]);
        final List<String> keys = new ArrayList<>();
        for (int i = 0; i < KEYS && keys.size() < 5; i++)
        {
            if (partition("k" + i) == p)
            {
                keys.add("k" + i);
            }
        }
        // Updates reach the primary only (it reserved, applied and logged them; no backup has them) ...
        network.blockOneWay(primary, b1);
        network.blockOneWay(primary, b2);
        final OpOutcome[][] outcomes = new OpOutcome[keys.size()][1];
        for (int i = 0; i < keys.size(); i++)
        {
            members[primary].submit(cacheId, OpType.PUT, bytes(keys.get(i)), bytes("unseen-" + i), null,
                TimeUnit.SECONDS.toNanos(10), Answers.capture(outcomes[i], new GridException[1]));
        }
        // ... while it checkpoints; then both backups die before suspecting the primary.
        final long checkpointBefore = members[primary].history().committedCheckpointId();
        assertTrue(sim.runUntil(sim.nowNs() + 450 * MS, () ->
            members[primary].history().committedCheckpointId() > checkpointBefore), "the primary checkpointed");
        for (final OpOutcome[] outcome : outcomes)
        {
            assertNull(outcome[0], "no backup acknowledged, so no update was");
        }
        crash(b1);
        crash(b2);
        network.heal();
        awaitSize(1);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () ->
        {
            for (final OpOutcome[] outcome : outcomes)
            {
                if (outcome[0] == null)
                {
                    return false;
                }
            }
            return true;
        }), "alone, the primary acknowledges its updates");
        for (int i = 0; i < keys.size(); i++)
        {
            acknowledged.put(keys.get(i), "unseen-" + i);
        }
        restart(b1);
        awaitQuiescent(2);
        final RebalanceStatus status = members[b1].status().rebalanceStatus();
        assertTrue(status.totalHistorical() + status.totalFull() > 0, status.toString());
        assertCleanAndComplete();
    }

    /**
     * A copy that left holding an update its partition's survivors never got (the primary left too) returns after the
     * survivor, alone and primary of a new epoch, took another update at the same counter: by counters alone it
     * looks one update behind at most, but it closed a counter above the new epoch's floor, so its history is not the
     * partition's and it is rebuilt in full (the exchange plans it so; the supplier's lineage check would refuse a
     * historical demand too): the unacknowledged update is gone, the acknowledged one in place on every copy.
     */
    @Test
    void aReturningCopyWhoseHistoryDivergedIsRebuiltInFull()
    {
        startCluster(3);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        final PartitionMap map = members[0].installedMap();
        final String key = "k7";
        final int p = partition(key);
        final int primary = slotOf(map, map.owners(cacheId, p)[0]);
        final int diverged = slotOf(map, map.owners(cacheId, p)[1]);
        final int survivor = slotOf(map, map.owners(cacheId, p)[2]);
        final long floor = members[survivor].status().copy(cacheId, p).lwm();
        // An update reaches one backup only: it is never acknowledged.
        network.blockOneWay(primary, survivor);
        final OpOutcome[] unseen = new OpOutcome[1];
        members[primary].submit(cacheId, OpType.PUT, bytes(key), bytes("diverged"), null,
            TimeUnit.SECONDS.toNanos(10), Answers.capture(unseen, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () ->
            members[diverged].status().copy(cacheId, p).lwm() > floor), "one backup applied the update");
        assertNull(unseen[0], "not acknowledged: the other backup never got it");
        // The primary and that backup leave together; the survivor owns the partition alone, in a new epoch, and
        // takes another update at the same counter.
        crash(primary);
        crash(diverged);
        network.heal();
        awaitSize(1);
        put(members[survivor], key, "acknowledged");
        assertEquals(floor + 1, members[survivor].status().copy(cacheId, p).lwm(), "the same counter, another update");
        restart(diverged);
        awaitQuiescent(2);
        final RebalanceStatus status = members[diverged].status().rebalanceStatus();
        assertEquals(1, status.totalFull(), "the diverged copy, and no other, is rebuilt: " + status);
        assertEquals(0, status.totalHistoryRecords(), "nothing of the wrong history is replayed: " + status);
        restart(primary);
        awaitQuiescent(3);
        assertCleanAndComplete();
    }

    /**
     * A supplier whose WAL, read for a planned history, lacks records its report promised (as when records are missing
     * from the retained WAL) refuses those copies; their demander falls back to a full rebalance of each, and every
     * copy catches up completely all the same. The exchange plans a copy whose lineage diverged full before any demand
     * (above); this is the other way a copy goes full, after its historical plan was refused. (History released between
     * the report and the read is refused before any scan, in {@code startHistoryScan}: not exercised here.)
     */
    @Test
    void aCopyWhosePlannedHistoryItsSupplierCannotReadFallsBackToAFullRebalance()
    {
        threeMembersOneAwayFor(300);
        // The suppliers' history reads (not their recovery's replay) miss the updates of the even partitions.
        final IntPredicate hidden = partition -> partition % 2 == 0;
        walReads[0].hideUpdatesOf(hidden);
        walReads[1].hideUpdatesOf(hidden);
        restart(2);
        awaitQuiescent(3);
        final RebalanceStatus status = members[2].status().rebalanceStatus();
        assertEquals(PARTITIONS / 2, status.totalFallbacks(), "every copy of an even partition fell back: " + status);
        assertEquals(PARTITIONS / 2, status.totalHistorical(), "the odd partitions' copies caught up historically: " +
            status);
        final Set<Integer> even = new HashSet<>();
        for (int p = 0; p < PARTITIONS; p += 2)
        {
            even.add(p);
        }
        assertEquals(even, rebuiltInFull[2], "the copies rebuilt in full are those of the even partitions");
        assertCleanAndComplete();
    }

    @Test
    void scenario11RebalanceUnderConcurrentPutsAndRemovesOfTheSameKeysResurrectsNothing()
    {
        startCluster(3);
        writeAll(0, KEYS);
        start(3);
        // While the new member's copies are MOVING: removes and puts of the keys being streamed.
        for (int i = 0; i < KEYS; i++)
        {
            if (i % 3 == 0)
            {
                remove(members[i % 3], "k" + i);
            }
            else if (i % 3 == 1)
            {
                put(members[i % 3], "k" + i, "again-" + i);
            }
        }
        awaitQuiescent(4);
        assertTrue(members[3].status().rebalanceStatus().totalFull() > 0,
            members[3].status().rebalanceStatus().toString());
        assertCleanAndComplete();
        // Tombstones at or below every owning copy's LWM are purged in the background; the removed keys stay removed.
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () ->
            live().stream().allMatch(m -> m.status().tombstonesPurged() > 0)), "tombstones were never purged");
        put(members[1], "k1", "after-purge");
        assertCleanAndComplete();
    }

    @Test
    void scenario12ASupplierLeavingMidRebalanceLeavesNoHalfCopy()
    {
        startCluster(3);
        writeAll(0, KEYS);
        start(3);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () ->
            members[3] != null && members[3].status().rebalanceStatus().partitionsPlanned() > 0));
        final RebalanceStatus midway = members[3].status().rebalanceStatus();
        assertEquals(Set.of("c"), midway.caches().keySet(), "progress per cache: " + midway);
        assertEquals(midway.partitionsPlanned(), midway.caches().get("c").partitionsPlanned());
        assertEquals(midway.records(), midway.caches().get("c").records());
        crash(1);
        awaitQuiescent(3);
        assertCleanAndComplete();
    }

    @Test
    void scenario13ADemanderCrashingMidRebalanceIsRebalancedAgainAfterRestart()
    {
        startCluster(3);
        writeAll(0, KEYS);
        crash(2);
        awaitSize(2);
        for (int i = 0; i < 120; i++)
        {
            put(members[0], "k" + (i % KEYS), "away-" + i);
        }
        restart(2);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () ->
            members[2].status().rebalanceStatus().partitionsPlanned() > 0));
        crash(2);
        awaitSize(2);
        restart(2);
        awaitQuiescent(3);
        assertTrue(members[2].status().rebalanceStatus().totalHistorical() +
            members[2].status().rebalanceStatus().totalFull() > 0);
        assertCleanAndComplete();
    }

    @Test
    void scenario15LateAffinityMovesAPrimaryOnlyOnceItsNewCopyCaughtUp()
    {
        startCluster(3);
        writeAll(0, KEYS);
        start(3);
        final int[] checks = new int[1];
        // While the joiner's copies are MOVING, none of them is primary; writes go on and none is lost.
        for (int i = 0; i < 100; i++)
        {
            put(members[i % 3], "k" + (i % KEYS), "during-" + i);
            final PartitionMap map = members[0].installedMap();
            final int joiner = map.topology().indexOf(members[3].incarnation());
            for (int p = 0; joiner >= 0 && p < PARTITIONS; p++)
            {
                if (map.isMoving(cacheId, p, joiner))
                {
                    checks[0]++;
                    assertTrue(map.rank(cacheId, p, joiner) > 0, "a MOVING copy is primary of partition " + p);
                }
            }
        }
        awaitQuiescent(4);
        assertTrue(checks[0] > 0, "the joiner was seen MOVING");
        final PartitionMap map = members[0].installedMap();
        final int joiner = map.topology().indexOf(members[3].incarnation());
        int primaries = 0;
        for (int p = 0; p < PARTITIONS; p++)
        {
            primaries += map.rank(cacheId, p, joiner) == 0 ? 1 : 0;
            assertEquals(map.owners(cacheId, p).length, map.owningCount(cacheId, p), "no copy left MOVING");
            assertEquals(3, map.owningCount(cacheId, p), "extra copies were evicted once the ideal owners owned");
        }
        assertTrue(primaries > 0, "the joiner became primary of some partitions once caught up");
        assertCleanAndComplete();
    }

    @Test
    void scenario16AJoinNeverDemotesAnExistingOwner()
    {
        startCluster(3);
        writeAll(0, KEYS);
        final PartitionMap before = members[0].installedMap();
        start(3);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () ->
            members[0].installedMap().version() > before.version() &&
            members[0].installedMap().topology().members().size() == 4));
        final PartitionMap joined = members[0].installedMap();
        for (int p = 0; p < PARTITIONS; p++)
        {
            final int[] owners = before.owners(cacheId, p);
            for (int i = 0; i < before.owningCount(cacheId, p); i++)
            {
                final long owner = before.topology().members().get(owners[i]).incarnation();
                assertTrue(joined.isOwning(cacheId, p, joined.topology().indexOf(owner)),
                    "the join demoted an owner of partition " + p);
            }
            assertEquals(before.primary(cacheId, p).incarnation(), joined.primary(cacheId, p).incarnation(),
                "the join moved the primary of partition " + p + " before the joiner caught up");
        }
        awaitQuiescent(4);
        assertCleanAndComplete();
    }

    @Test
    void scenario14AllOwnersDownReadsAndWritesOfTheLostPartitionsFailUntilAnOwnerReturns()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        writeAll(0, KEYS);
        crash(1);
        crash(2);
        awaitSize(1);
        final List<Integer> lost = members[0].status().lostPartitions("c");
        assertFalse(lost.isEmpty(), "with one backup, some partitions had both copies on the crashed members");
        assertTrue(lost.size() < PARTITIONS, "the partitions member 0 held are not lost: " + lost);
        int refused = 0;
        for (int i = 0; i < KEYS; i++)
        {
            final String key = "k" + i;
            if (lost.contains(partition(key)))
            {
                assertEquals(ErrorCode.PARTITION_LOST, fail(members[0], OpType.GET, key, null).errorCode());
                assertEquals(ErrorCode.PARTITION_LOST, fail(members[0], OpType.PUT, key, "x").errorCode());
                refused++;
            }
            else
            {
                assertEquals("v" + i, read(members[0], key), "a partition that was not lost serves reads");
                put(members[0], key, "alone-" + i);
            }
        }
        assertTrue(refused > 0);
        // The owners return with their data: the partitions are served again, with nothing to reset.
        restart(1);
        restart(2);
        awaitQuiescent(3);
        for (final Engine member : live())
        {
            assertEquals(List.of(), member.status().lostPartitions("c"));
        }
        final String lostKey = keyIn(lost);
        // Every acknowledged write is back, from the returned owners' copies.
        assertCleanAndComplete();
        put(members[2], lostKey, "after-return");
        assertEquals("after-return", read(members[0], lostKey));
    }

    @Test
    void scenario14UnderReadOnlySafeTheCacheRefusesEveryWriteWhilePartitionsAreLost()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_ONLY_SAFE);
        writeAll(0, KEYS);
        crash(1);
        crash(2);
        awaitSize(1);
        final List<Integer> lost = members[0].status().lostPartitions("c");
        assertFalse(lost.isEmpty());
        for (int i = 0; i < KEYS; i += 7)
        {
            final String key = "k" + i;
            final GridException write = fail(members[0], OpType.PUT, key, "x");
            assertEquals(ErrorCode.PARTITION_LOST, write.errorCode());
            if (lost.contains(partition(key)))
            {
                assertEquals(ErrorCode.PARTITION_LOST, fail(members[0], OpType.GET, key, null).errorCode());
            }
            else
            {
                assertTrue(write.getMessage().contains("read-only"), write.getMessage());
                assertEquals("v" + i, read(members[0], key));
            }
        }
        restart(1);
        restart(2);
        awaitQuiescent(3);
        members[0].admin().resetLostPartitions("c", Answers.capture(new OpOutcome[1], new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () ->
            members[0].status().lostPartitions("c").isEmpty()));
        awaitQuiescent(3);
        assertCleanAndComplete();
        put(members[0], "k0", "writable-again");
    }

    @Test
    void scenario14UnderIgnoreALostPartitionIsServedEmptyAtOnce()
    {
        startCluster(3, 1, PartitionLossPolicy.IGNORE);
        writeAll(0, KEYS);
        crash(1);
        crash(2);
        awaitSize(1);
        assertEquals(List.of(), members[0].status().lostPartitions("c"));
        int empty = 0;
        for (int i = 0; i < KEYS; i++)
        {
            empty += read(members[0], "k" + i) == null ? 1 : 0;
        }
        assertTrue(empty > 0 && empty < KEYS, "the lost partitions' keys read empty, the others not: " + empty);
    }

    @Test
    void aBaselineMemberThatIsAwayCausesNoDataMovementAndCatchesUpHistoricallyWhenItReturns()
    {
        startCluster(4, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        assertNull(changeBaseline(members[0], Baseline.SET, List.of("m0", "m1", "m2", "m3"), -1));
        writeAll(0, KEYS);
        awaitQuiescent(4);
        final long[] before = rebalancedCopies();
        crash(3);
        awaitSize(3);
        awaitQuiescent(3);
        assertArrayEquals(before, rebalancedCopies(), "a baseline member away moved no data");
        final PartitionMap away = members[0].installedMap();
        int single = 0;
        for (int p = 0; p < PARTITIONS; p++)
        {
            single += away.owners(cacheId, p).length == 1 ? 1 : 0;
            assertTrue(away.owners(cacheId, p).length >= 1);
        }
        assertTrue(single > 0, "the partitions member 3 held have one copy while it is away");
        assertEquals(List.of("m3"), members[0].status().baseline().offline());
        for (int i = 0; i < 100; i++)
        {
            put(members[i % 3], "k" + (i % KEYS), "away-" + i);
        }
        restart(3);
        awaitQuiescent(4);
        final RebalanceStatus status = members[3].status().rebalanceStatus();
        assertEquals(0, status.totalFull(), status.toString());
        assertTrue(status.totalHistorical() > 0, status.toString());
        assertEveryPartitionHasOwners(2);
        assertCleanAndComplete();
    }

    @Test
    void withoutABaselineALeavingMemberSCopiesAreRebuiltOnTheOthers()
    {
        startCluster(4, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        writeAll(0, KEYS);
        awaitQuiescent(4);
        final long[] before = rebalancedCopies();
        crash(3);
        awaitSize(3);
        awaitQuiescent(3);
        assertFalse(Arrays.equals(before, rebalancedCopies()), "the missing copies were rebuilt");
        assertEveryPartitionHasOwners(2);
        assertCleanAndComplete();
    }

    @Test
    void aMemberOutsideTheBaselineOwnsNothingUntilItIsAdded()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        assertNull(changeBaseline(members[1], Baseline.SET, List.of("m0", "m1", "m2"), -1));
        writeAll(0, KEYS);
        start(3);
        awaitQuiescent(4);
        assertEquals(0, copiesOn(3), "a member outside the baseline owns nothing");
        assertEquals(List.of("m3"), members[3].status().baseline().outside());
        assertNull(changeBaseline(members[3], Baseline.ADD, List.of("m3"), -1));
        awaitQuiescent(4);
        assertTrue(copiesOn(3) > 0, "once added, it owns its share");
        assertTrue(members[3].status().rebalanceStatus().totalFull() > 0);
        assertCleanAndComplete();
    }

    @Test
    void removingAnOfflineMemberFromTheBaselineRebuildsItsCopiesOnTheOthers()
    {
        startCluster(4, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        assertNull(changeBaseline(members[0], Baseline.SET, List.of("m0", "m1", "m2", "m3"), -1));
        writeAll(0, KEYS);
        crash(3);
        awaitSize(3);
        assertNull(changeBaseline(members[2], Baseline.REMOVE, List.of("m3"), -1));
        awaitQuiescent(3);
        assertEquals(List.of("m0", "m1", "m2"), members[0].status().baseline().members());
        assertEveryPartitionHasOwners(2);
        assertCleanAndComplete();
    }

    @Test
    void autoAdjustSetsTheBaselineToTheRunningMembersOnceMembershipStayedChangedForItsTimeout()
    {
        startCluster(4, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        assertNull(changeBaseline(members[0], Baseline.AUTO_ADJUST, List.of(), 1_000 * MS));
        assertEquals(List.of("m0", "m1", "m2", "m3"), members[0].status().baseline().members(),
            "turning auto-adjust on without a baseline sets it to the running members");
        writeAll(0, KEYS);
        crash(3);
        awaitSize(3);
        final long lostAtNs = sim.nowNs();
        assertEquals(List.of("m3"), members[0].status().baseline().offline());
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () ->
            members[1].status().baseline().members().equals(List.of("m0", "m1", "m2"))));
        assertTrue(sim.nowNs() - lostAtNs >= 900 * MS, "auto-adjust waited for its timeout");
        awaitQuiescent(3);
        assertEveryPartitionHasOwners(2);
        assertCleanAndComplete();
    }

    @Test
    void baselineChangesThatMakeNoSenseAreRefusedWithTheReason()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        final GridException unknown = changeBaseline(members[1], Baseline.ADD, List.of("m9"), -1);
        assertEquals(ErrorCode.BASELINE_INVALID, unknown.errorCode());
        assertTrue(unknown.getMessage().contains("'m9'"), unknown.getMessage());
        assertEquals(ErrorCode.BASELINE_INVALID, changeBaseline(members[1], Baseline.SET, List.of(), -1)
            .errorCode());
        assertNull(changeBaseline(members[1], Baseline.SET, List.of("m0", "m1"), -1));
        final GridException empty = changeBaseline(members[2], Baseline.REMOVE, List.of("m0", "m1"), -1);
        assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
        final GridException absent = changeBaseline(members[2], Baseline.REMOVE, List.of("m2"), -1);
        assertTrue(absent.getMessage().contains("not in the baseline"), absent.getMessage());
        assertEquals(List.of("m0", "m1"), members[2].status().baseline().members());
    }

    /**
     * Issue 15, item 1: a persistent cluster stopped member by member and started again from the member that stopped
     * first. Before the ownership table, that member took every partition it had no copy of empty (reads answered
     * "absent") and, once written, its empty copies outranked the returning owners, whose data a full rebalance
     * dropped.
     */
    @Test
    void aClusterStoppedMemberByMemberAndRestartedFirstStoppedFirstLosesNothing()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        assertNull(changeBaseline(members[0], Baseline.SET, List.of("m0", "m1", "m2"), -1));
        writeAll(0, KEYS);
        awaitQuiescent(3);
        leave(0);
        awaitSize(2);
        leave(1);
        awaitSize(1);
        leave(2);
        // The first member to stop knows the others went on after it: it serves nothing on its own.
        start(0);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> members[0].status().isSettled()));
        for (int i = 0; i < KEYS; i += 5)
        {
            final GridException refused = fail(members[0], OpType.GET, "k" + i, null);
            assertEquals(ErrorCode.PARTITION_LOST, refused.errorCode(), refused.getMessage());
        }
        // The consistency check does not call copies that may lack acknowledged updates consistent.
        assertEquals(PARTITIONS, lostConflicts(check(members[0])).size());
        // The last to stop holds the newest table: with it, the partitions some last owner holds are served, the
        // others are lost until an owner returns; writes go on meanwhile.
        restart(2);
        final List<Integer> lost = members[0].status().lostPartitions("c");
        assertFalse(lost.isEmpty(), "partitions whose last owner was m1 only");
        assertTrue(lost.size() < PARTITIONS, lost::toString);
        assertEquals(lost, lostConflicts(check(members[2])));
        for (int i = 0; i < KEYS; i++)
        {
            final String key = "k" + i;
            if (lost.contains(partition(key)))
            {
                assertEquals(ErrorCode.PARTITION_LOST, fail(members[2], OpType.GET, key, null).errorCode());
            }
            else
            {
                assertEquals("v" + i, read(members[2], key));
                put(members[0], key, "again-" + i);
            }
        }
        restart(1);
        awaitQuiescent(3);
        assertEquals(List.of(), members[0].status().lostPartitions("c"), "m1, a last owner, is back with the data");
        assertCleanAndComplete();
    }

    /**
     * After a whole-cluster crash only one member comes back: the cluster waits, since the others were last owners and
     * may hold acknowledged updates it lacks, until an operator activates it without them (they will never return).
     * The partitions it owned last are then served with their data; those whose last owners are all away are lost,
     * and resetting them accepts the loss.
     */
    @Test
    void anOperatorActivatesAWaitingClusterWithoutTheMembersThatNeverReturn()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        crash(0);
        crash(1);
        crash(2);
        start(0);
        awaitSize(1);
        assertFalse(members[0].isActive(), "it waits for m1 and m2, last owners");
        assertEquals(ErrorCode.PARTITION_LOST, fail(members[0], OpType.GET, "k0", null).errorCode());
        final OpOutcome[] activated = new OpOutcome[1];
        final GridException[] refused = new GridException[1];
        members[0].admin().activate(Answers.capture(activated, refused));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () -> activated[0] != null ||
            refused[0] != null), "the activation was not answered");
        assertNull(refused[0]);
        assertTrue(members[0].isActive());
        final List<Integer> lost = members[0].status().lostPartitions("c");
        assertFalse(lost.isEmpty(), "partitions m1 and m2 owned");
        assertTrue(lost.size() < PARTITIONS, lost::toString);
        for (int i = 0; i < KEYS; i++)
        {
            final String key = "k" + i;
            if (lost.contains(partition(key)))
            {
                assertEquals(ErrorCode.PARTITION_LOST, fail(members[0], OpType.GET, key, null).errorCode());
                acknowledged.put(key, null);
            }
            else
            {
                assertEquals("v" + i, read(members[0], key), "m0, a last owner, has " + key);
            }
        }
        members[0].admin().resetLostPartitions("c", Answers.capture(new OpOutcome[1], new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () ->
            members[0].status().lostPartitions("c").isEmpty()));
        put(members[0], "k0", "after the reset");
        awaitQuiescent(1);
        assertCleanAndComplete();
    }

    /**
     * The same stop member by member, then every order of restart: whatever the order, and with writes whenever the
     * cluster serves them, nothing acknowledged is lost.
     */
    @Test
    void aClusterStoppedMemberByMemberLosesNothingWhateverOrderItRestartsIn()
    {
        final int[][] orders = {{0, 1, 2}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}, {2, 1, 0}};
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        assertNull(changeBaseline(members[0], Baseline.SET, List.of("m0", "m1", "m2"), -1));
        int round = 0;
        for (final int[] order : orders)
        {
            for (int i = 0; i < KEYS; i += 3)
            {
                tryPut(live().get(0), "k" + i, "r" + round + "-" + i);
            }
            awaitQuiescent(3);
            for (final int slot : new int[] {order[2], order[1], order[0]})
            {
                leave(slot);
                if (!live().isEmpty())
                {
                    awaitSize(live().size());
                }
            }
            for (final int slot : order)
            {
                start(slot);
                assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () ->
                    live().stream().allMatch(m -> m.status().isSettled())));
                for (int i = 0; i < KEYS; i += 11)
                {
                    tryPut(members[slot], "k" + i, "during-" + round + "-" + slot + "-" + i);
                }
            }
            awaitQuiescent(3);
            assertEquals(List.of(), members[order[0]].status().lostPartitions("c"));
            assertCleanAndComplete();
            round++;
        }
    }

    /**
     * Both owners of a partition crash and restart from their disks before the survivor installed a map without them
     * (the simulator's whole-cluster seed 0xa844fe5). The map the survivor had installed named the crashed
     * incarnations as owners, so the restarted ones did not count as owners: the partition was reported LOST, and
     * where a MOVING copy stood ahead of them, their copies were dropped and the partition stayed LOST with every
     * member back. Every owner of the installed map came back with what it had acknowledged: the copies are current.
     */
    @Test
    void ownersThatCrashAndRestartBeforeTheSurvivorInstallsAMapStayOwners()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        final PartitionMap map = members[0].installedMap();
        final List<Integer> ownedByTheOthers = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++)
        {
            final int[] owners = map.owners(cacheId, p);
            if (slotOf(map, owners[0]) != 0 && slotOf(map, owners[1]) != 0)
            {
                ownedByTheOthers.add(p);
            }
        }
        assertFalse(ownedByTheOthers.isEmpty(), "no partition is owned by m1 and m2 alone");
        crash(1);
        crash(2);
        start(1);
        start(2);
        awaitSize(3);
        assertEquals(List.of(), members[0].status().lostPartitions("c"), "every owner came back with its copy");
        for (int i = 0; i < KEYS; i++)
        {
            assertEquals("v" + i, read(members[0], "k" + i), "k" + i);
        }
        awaitQuiescent(3);
        assertCleanAndComplete();
    }

    /**
     * Both owners of a partition fail one after the other, the second after it applied a write alone (the first had
     * left, and the map without it was not installed yet): the partition is lost with both as its last owners. The
     * owner that left first comes back first, without that write. It used to clear the loss on its own, serve its
     * stale copy and take writes on it, and the copy of the owner that left last was rebuilt from it when that came
     * back: the write was gone (whole-cluster seed 0xa845126, when such a write was acknowledged). The partition now
     * stays lost, every copy held as it is, until every last owner is back; then the newest copy wins. Since issue 16
     * the write is not acknowledged at all while no map without the departed backup is installed (a topology only
     * its coordinator adopted may be one the majority never sees), but applied and logged it is kept all the same.
     */
    @Test
    void aLostPartitionComesBackOnlyWithEveryLastOwnerSoTheOneThatWroteAloneIsHeard()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        final PartitionMap map = members[0].installedMap();
        final String key = keyWhere(p -> slotOf(map, map.owners(cacheId, p)[0]) == 1 &&
            slotOf(map, map.owners(cacheId, p)[1]) == 2);
        final int lostPartition = partition(key);
        // m1's exchange reports never reach the coordinator m0: no map without m2 is installed.
        network.dropWhere((from, to, message) -> from == 1 && to == 0 && typeOf(message) == EXCHANGE_REPORT);
        crash(2);
        // Applied and logged once m1 stops waiting for m2 (it adopted the topology without it), but not answered: no
        // map without m2 is installed.
        final Object alone = answer(members[1], OpType.PUT, key, "written-alone");
        assertTrue(alone instanceof GridException exception && exception.errorCode() == ErrorCode.OPERATION_TIMEOUT,
            () -> "a write acknowledged on a topology no other member installed: " + alone);
        acknowledged.put(key, "written-alone");
        crash(1);
        network.heal();
        awaitSize(1);
        assertTrue(members[0].status().lostPartitions("c").contains(lostPartition), "both owners are gone");
        restart(2);
        assertTrue(members[0].status().lostPartitions("c").contains(lostPartition),
            "the owner that left first lacks what the other acknowledged alone: still lost");
        assertEquals(ErrorCode.PARTITION_LOST, fail(members[0], OpType.GET, key, null).errorCode());
        restart(1);
        awaitQuiescent(3);
        assertEquals(List.of(), members[0].status().lostPartitions("c"));
        assertEquals("written-alone", read(members[0], key));
        assertCleanAndComplete();
    }

    /**
     * Issue 15, item 5: a supplier read every record of a historical plan's range from its WAL in one call on its
     * engine thread (a long history meant a stall longer than failure detection, and expulsion). It now reads in steps
     * of at most {@code HISTORY_RECORDS_PER_STEP} records, one per duty cycle, and serves the demands that waited once
     * the scan is done.
     */
    @Test
    void aSupplierReadsALongHistoryInBoundedStepsAndTheCatchUpIsStillHistorical()
    {
        startCluster(3);
        writeAll(0, KEYS);
        crash(2);
        awaitSize(2);
        final int missed = 6_000;
        for (int i = 0; i < missed; i++)
        {
            put(members[i % 2], "k" + (i % KEYS), "away-" + i);
        }
        walReads[0].reset();
        walReads[1].reset();
        restart(2);
        awaitQuiescent(3);
        final RebalanceStatus status = members[2].status().rebalanceStatus();
        assertEquals(0, status.totalFull(), "history covers what it missed: " + status);
        assertTrue(status.totalHistoryRecords() >= missed / 2, status.toString());
        final long mostInOneCall = Math.max(walReads[0].mostInOneCall, walReads[1].mostInOneCall);
        final long calls = walReads[0].calls + walReads[1].calls;
        assertTrue(mostInOneCall <= 2_048, "a supplier read " + mostInOneCall + " WAL records in one call");
        assertTrue(calls > 2, "the history was read in " + calls + " calls");
        assertCleanAndComplete();
    }

    /**
     * Issue 22: a supplier starts reading the history of the historical plans it supplies when it installs the map,
     * not when the first demand arrives (which put the read on catch-up's critical path). With every demand held back,
     * the suppliers have read their WAL all the same; released, the demands are served from that read.
     */
    @Test
    void aSupplierReadsThePlannedHistoryWhenItInstallsTheMapBeforeAnyDemand()
    {
        threeMembersOneAwayFor(300);
        walReads[0].reset();
        walReads[1].reset();
        network.holdWhere((from, to, message) -> from == 2 && typeOf(message) == REBALANCE_DEMAND);
        restart(2);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () -> network.heldCount() > 0 &&
            walReads[0].calls + walReads[1].calls > 0 && members[0].status().isSettled() &&
            members[1].status().isSettled()),
            () -> "held demands " + network.heldCount() + ", WAL reads " + walReads[0].calls + " and " +
                walReads[1].calls);
        // Every planned scan ends while the demands are still held; the demands are then served from those reads.
        sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(1), null);
        final long readsBeforeDemands = walReads[0].calls + walReads[1].calls;
        network.releaseHeld();
        awaitQuiescent(3);
        assertEquals(readsBeforeDemands, walReads[0].calls + walReads[1].calls,
            "the demands were served from the reads made before they arrived");
        final RebalanceStatus status = members[2].status().rebalanceStatus();
        assertEquals(0, status.totalFull(), "history covers what it missed: " + status);
        assertTrue(status.totalHistorical() > 0, status.toString());
        assertCleanAndComplete();
    }

    /**
     * A demander tells the coordinator each copy that caught up, and repeats its notices (all of them together) every
     * retry interval until the next map: with every notice lost for a while, the coordinator still learns that every
     * copy caught up once they get through, and switches to the ideal owners.
     */
    @Test
    void lostCatchUpNoticesAreRepeatedUntilTheCoordinatorSwitches()
    {
        threeMembersOneAwayFor(300);
        network.dropWhere((from, to, message) -> from == 2 && typeOf(message) == REBALANCE_DONE);
        restart(2);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () ->
            members[2].status().rebalanceStatus().partitionsDone() == members[2].status().rebalanceStatus().partitionsPlanned() &&
            members[2].status().rebalanceStatus().partitionsPlanned() > 0), () -> members[2].status().rebalanceStatus()
            .toString());
        final long version = members[2].installedMap().version();
        sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), null);
        assertEquals(version, members[2].installedMap().version(), "no switch while every notice is lost");
        network.heal();
        awaitQuiescent(3);
        assertTrue(members[2].installedMap().version() > version, "the switch followed the repeated notices");
        assertEquals(0, members[2].status().rebalanceStatus().totalFull());
        assertCleanAndComplete();
    }

    /**
     * Issue 22: a supplier whose link to its demander is full (the transport refuses a batch for back pressure, as
     * Aeron's publication does while its receiver has not taken what was sent) holds the demand and sends the batch
     * on a later duty cycle. Before, the batch was lost like a dropped message and its demander asked for it again
     * only after the retry interval: over Aeron a full catch-up of a million keys lost more than a hundred batches so.
     * Here, with each link's window smaller than a batch (the supplier finds the link full while one is in flight, and
     * a batch sent anyway would be refused), no demand is ever sent twice.
     */
    @Test
    void aBatchTheTransportRefusesForBackPressureIsSentLaterNotAskedForAgain()
    {
        threeMembersOneAwayFor(3_000);
        network.sendWindow(1_024);
        final Map<String, Integer> demandsSent = new HashMap<>();
        network.dropWhere((from, to, message) ->
        {
            if (from == 2 && typeOf(message) == REBALANCE_DEMAND)
            {
                // A demand asked again is the same bytes: the cursor moves only when a batch arrives.
                demandsSent.merge(Arrays.toString(message), 1, Integer::sum);
            }
            return false;
        });
        restart(2);
        awaitQuiescent(3);
        final RebalanceStatus status = members[2].status().rebalanceStatus();
        assertEquals(0, status.totalFull(), "history covers what it missed: " + status);
        assertTrue(status.totalHistoryRecords() >= 1_500, status.toString());
        assertTrue(network.noRoomCount() + network.backPressuredCount() > 0, "links were full: " +
            network.noRoomCount() + " times without room, " + network.backPressuredCount() + " sends refused");
        assertTrue(demandsSent.size() > 16, "more than one batch per partition: " + demandsSent.size());
        assertEquals(0, demandsSent.values().stream().filter(n -> n > 1).count(),
            "demands asked again after their batch was refused");
        network.heal();
        assertCleanAndComplete();
    }

    /**
     * A copy that missed a few updates takes that share of a rebalance slot, not a whole one: with
     * {@code rebalanceConcurrency} 2, a member that missed one or two updates in each of many partitions demands
     * them all before the first batch comes back, instead of two at a time in waves of round trips.
     */
    @Test
    void copiesThatMissedAFewUpdatesAreDemandedTogetherNotTwoAtATime()
    {
        threeMembersOneAwayFor(PARTITIONS);
        final Set<String> demandedBeforeFirstBatch = new HashSet<>();
        final boolean[] batchArrived = new boolean[1];
        network.dropWhere((from, to, message) ->
        {
            if (to == 2 && typeOf(message) == REBALANCE_SUPPLY)
            {
                batchArrived[0] = true;
            }
            else if (from == 2 && typeOf(message) == REBALANCE_DEMAND && !batchArrived[0])
            {
                demandedBeforeFirstBatch.add(Arrays.toString(message));
            }
            return false;
        });
        final RebalanceStatus status = restartAndCatchUpHistorically();
        assertEquals(status.totalHistorical(), demandedBeforeFirstBatch.size(),
            "every copy that missed a few updates is demanded at once: " + status);
        network.heal();
        assertCleanAndComplete();
    }

    /**
     * Demands due together that do not fit on their supplier's link (a 128-byte send window here, about one demand) are
     * sent as it drains, not refused for back pressure and asked again a retry interval (100 ms in these scenarios)
     * later: every copy's first demand leaves within half of that interval.
     */
    @Test
    void demandsPastTheRoomOnTheirSuppliersLinkWaitForItNotForARetry()
    {
        threeMembersOneAwayFor(PARTITIONS);
        network.sendWindow(128);
        final Map<String, Long> firstSentNs = new HashMap<>();
        network.dropWhere((from, to, message) ->
        {
            if (from == 2 && typeOf(message) == REBALANCE_DEMAND)
            {
                firstSentNs.putIfAbsent(Arrays.toString(message), sim.nowNs());
            }
            return false;
        });
        restartAndCatchUpHistorically();
        assertTrue(network.noRoomCount() > 0, "the links were never full");
        final long spreadNs = firstSentNs.values().stream().mapToLong(Long::longValue).max().orElseThrow() -
            firstSentNs.values().stream().mapToLong(Long::longValue).min().orElseThrow();
        assertTrue(spreadNs < 50 * MS, "the demands left over " + spreadNs / MS + " ms: some waited for a retry");
        network.heal();
        assertCleanAndComplete();
    }

    /** Member 2 starts again and catches up, every copy from history, more than two of them. */
    private RebalanceStatus restartAndCatchUpHistorically()
    {
        restart(2);
        awaitQuiescent(3);
        final RebalanceStatus status = members[2].status().rebalanceStatus();
        assertEquals(0, status.totalFull(), "history covers what it missed: " + status);
        assertTrue(status.totalHistorical() > 2, status.toString());
        return status;
    }

    /** Three members with every key; member 2 crashes and the other two take {@code updates} puts it misses. */
    private void threeMembersOneAwayFor(final int updates)
    {
        startCluster(3);
        writeAll(0, KEYS);
        crash(2);
        awaitSize(2);
        for (int i = 0; i < updates; i++)
        {
            put(members[i % 2], "k" + (i % KEYS), "away-" + i);
        }
    }

    /**
     * Issue 15, item 4: a backup's exchange report is built when its own drain is over, which can be before the
     * primary's last updates reached it (the primary's drain waits for them). Judged on that report it lagged and was
     * made MOVING; the primary failing then left the partition LOST although the backup held everything.
     */
    @Test
    void aBackupWhoseReportPrecededThePrimarysLastUpdateStaysAnOwnerWhenThePrimaryFails()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        final PartitionMap map = members[0].installedMap();
        final String key = "k0";
        final int primary = slotOf(map, map.owners(cacheId, partition(key))[0]);
        final int backup = slotOf(map, map.owners(cacheId, partition(key))[1]);
        // The primary's update cannot reach the backup while a member joins: the backup reports first.
        network.blockOneWay(primary, backup);
        final Object[] answer = new Object[1];
        members[primary].submit(cacheId, OpType.PUT, bytes(key), bytes("late"), null, 10_000 * MS, new OpCallback()
        {
            public void onSuccess(final OpOutcome outcome)
            {
                answer[0] = outcome;
            }

            public void onFailure(final GridException error)
            {
                answer[0] = error;
            }
        });
        start(3);
        sim.runUntil(sim.nowNs() + 500 * MS, null);
        assertNull(answer[0], "the put cannot be acknowledged before the backup has it");
        network.heal();
        awaitSize(4);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> answer[0] != null));
        assertTrue(answer[0] instanceof OpOutcome, () -> "the put failed: " + answer[0]);
        acknowledged.put(key, "late");
        // The primary fails right after the map of the join is installed.
        crash(primary);
        awaitSize(3);
        assertEquals(List.of(), live().get(0).status().lostPartitions("c"),
            "the backup held everything: nothing is lost");
        assertEquals("late", read(live().get(0), key));
        awaitQuiescent(3);
        assertCleanAndComplete();
    }

    /**
     * A primary's update of a key never reaches the backup, while the next update of the key does: its value carries
     * the first one's effect and its message the first one's identity (a predecessor). The primary fails and the
     * backup closes the first counter as a hole. A member that was away comes back, catches up from the backup
     * historically and becomes the key's primary; the origin, never answered for the first update, resends it there.
     * History carried each record's own identity but not its predecessors', so the new primary applied the first
     * update a second time, over the acknowledged second one (persistent seed 0x17662a18e, with merges).
     */
    @Test
    void aRetryOfAnUpdateTheBackupMissedIsKnownToACopyThatCaughtUpFromThatBackupHistorically()
    {
        // Three baseline members own every partition (two backups); m3, outside the baseline, owns nothing and is
        // the origin of the updates, so that its resends can be steered.
        startCluster(3, 2, PartitionLossPolicy.READ_WRITE_SAFE);
        assertNull(changeBaseline(members[0], Baseline.SET, List.of("m0", "m1", "m2"), -1));
        start(3);
        awaitSize(4);
        writeAll(0, KEYS);
        awaitQuiescent(4);
        final String key = "k0";
        final PartitionMap all = members[0].installedMap();
        final int away = slotOf(all, all.owners(cacheId, partition(key))[0]);
        final int primary = slotOf(all, all.owners(cacheId, partition(key))[1]);
        final int backup = slotOf(all, all.owners(cacheId, partition(key))[2]);
        final int origin = 3;
        leave(away);
        awaitSize(3);
        awaitQuiescent(3);
        final PartitionMap without = members[origin].installedMap();
        assertEquals(primary, slotOf(without, without.owners(cacheId, partition(key))[0]));
        final byte[] first = bytes("first of two");
        network.dropWhere((from, to, message) -> from == primary && to == backup && typeOf(message) == REPLICATE &&
            contains(message, first));
        final Object[] firstAnswer = new Object[1];
        members[origin].submit(cacheId, OpType.PUT, bytes(key), first, null, 30_000 * MS, new OpCallback()
        {
            public void onSuccess(final OpOutcome outcome)
            {
                firstAnswer[0] = outcome;
            }

            public void onFailure(final GridException error)
            {
                firstAnswer[0] = error;
            }
        });
        sim.runUntil(sim.nowNs() + 50 * MS, null);
        put(members[origin], key, "second");
        assertNull(firstAnswer[0], "the first put waits for the backup");
        // From now on the origin's resends reach only the member that comes back.
        network.dropWhere((from, to, message) -> from == origin && to != away && typeOf(message) == REQUEST);
        crash(primary);
        awaitSize(2);
        restart(away);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(25), () -> firstAnswer[0] != null),
            "the first put was never answered");
        assertTrue(firstAnswer[0] instanceof OpOutcome, () -> "the first put failed: " + firstAnswer[0]);
        assertEquals("second", read(members[origin], key), "the first put applied once, before the second");
        network.heal();
        awaitQuiescent(3);
        assertCleanAndComplete();
    }

    private static boolean contains(final byte[] message, final byte[] part)
    {
        for (int i = 0; i + part.length <= message.length; i++)
        {
            if (Arrays.equals(message, i, i + part.length, part, 0, part.length))
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Issue 15, item 3, across a restart: 300 merges on one partition are applied and logged by its primary while its
     * backup stalls, so none is answered; both owners crash and come back, the primary's copy (which has them) is the
     * reference, and their origin, still waiting, resends every one. Recovery kept only the last 256 outcomes per copy
     * from the WAL, so the first 44 were applied a second time; it now keeps every outcome its origin may still
     * resend (those below the origin's watermark, logged with each update, are dropped as replay goes).
     */
    @Test
    void mergesAppliedBeforeBothOwnersCrashedApplyOnceWhenTheirOriginResendsThemAfterTheRestart()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        final OpOutcome[] created = new OpOutcome[1];
        members[0].admin().createCache(new CacheDescriptor(0, "m", PARTITIONS, 1, "string", "string", null, 60_000 * MS,
            "concat", 0, 0), Answers.capture(created, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> created[0] != null));
        awaitQuiescent(3);
        final int merges = 300;
        final int mergeCache = members[0].cache("m").cacheId();
        final PartitionMap map = members[0].installedMap();
        final int partition = partition("k0");
        final int primary = slotOf(map, map.owners(mergeCache, partition)[0]);
        final int backup = slotOf(map, map.owners(mergeCache, partition)[1]);
        final int origin = 3 - primary - backup;
        final List<String> keys = new ArrayList<>();
        for (int i = 0; keys.size() < merges; i++)
        {
            if (partition("k" + i) == partition)
            {
                keys.add("k" + i);
            }
        }
        network.blockOneWay(primary, backup);
        network.blockOneWay(backup, primary);
        final Map<Integer, Object> answers = new HashMap<>();
        for (int i = 0; i < merges; i++)
        {
            final int token = i;
            members[origin].submit(mergeCache, OpType.MERGE, bytes(keys.get(i)), bytes("t" + i + ";"), null,
                60_000 * MS, new OpCallback()
                {
                    public void onSuccess(final OpOutcome outcome)
                    {
                        answers.put(token, outcome);
                    }

                    public void onFailure(final GridException error)
                    {
                        answers.put(token, error);
                    }
                });
        }
        final int merged = merges;
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(1), () ->
            members[primary].status().copy(mergeCache, partition).hwm() >= merged), "the primary applied every merge");
        assertTrue(answers.isEmpty(), "no merge is answered while the backup stalls");
        // Long enough for the WAL to make them durable, not for a checkpoint to take them into an image.
        sim.runUntil(sim.nowNs() + 30 * MS, null);
        crash(primary);
        crash(backup);
        network.heal();
        start(primary);
        start(backup);
        awaitSize(3);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(20), () -> answers.size() == merges),
            () -> answers.size() + " of " + merges + " merges answered");
        for (int i = 0; i < merges; i++)
        {
            assertTrue(answers.get(i) instanceof OpOutcome, "merge t" + i + " failed: " + answers.get(i));
            final OpOutcome read = submitTo(members[origin], mergeCache, keys.get(i));
            assertEquals("t" + i + ";", new String(read.value(), StandardCharsets.UTF_8),
                "merge t" + i + " applied once");
        }
    }

    private OpOutcome submitTo(final Engine via, final int cache, final String key)
    {
        final OpOutcome[] outcome = new OpOutcome[1];
        final GridException[] error = new GridException[1];
        via.submit(cache, OpType.GET, bytes(key), null, null, 5_000 * MS, Answers.capture(outcome, error));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> outcome[0] != null ||
            error[0] != null));
        assertNull(error[0]);
        return outcome[0];
    }

    /**
     * Issue 15, item 2: a transaction over two partitions commits on one; the other's commit never arrives; every
     * member crashes. Prepares lived in memory only, so after the restart the second partition knew nothing of the
     * transaction and the books were torn. Prepares are logged on every copy before they are acknowledged: recovery
     * finds the first partition committed and the second prepared, and commits it.
     */
    @Test
    void aWholeClusterCrashAfterATransactionCommittedOnOnePartitionCommitsItOnTheOther()
    {
        startCluster(3);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        final PartitionMap map = members[0].installedMap();
        final String k1 = keyWhere(p -> slotOf(map, map.owners(cacheId, p)[0]) != 0);
        final int p1Primary = slotOf(map, map.owners(cacheId, partition(k1))[0]);
        final String k2 = keyWhere(p -> slotOf(map, map.owners(cacheId, p)[0]) != 0 &&
            slotOf(map, map.owners(cacheId, p)[0]) != p1Primary);
        final int p2Primary = slotOf(map, map.owners(cacheId, partition(k2))[0]);
        network.dropWhere((from, to, message) -> from == 0 && to == p2Primary && typeOf(message) == TX_COMMIT);
        lockAndCommit(members[0], TimeUnit.SECONDS.toNanos(10), k1, "a2", k2, "b2", IGNORED);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () ->
            Arrays.equals(bytes("a2"), members[p1Primary].readLocal(cacheId, bytes(k1)))),
            "the first partition committed");
        crash(0);
        crash(1);
        crash(2);
        network.heal();
        start(0);
        start(1);
        start(2);
        awaitQuiescent(3);
        assertEquals("a2", read(members[1], k1), "committed before the crash");
        assertEquals("b2", read(members[1], k2), "prepared before the crash: recovery commits it, as the other part");
        acknowledged.put(k1, "a2");
        acknowledged.put(k2, "b2");
        assertCleanAndComplete();
    }

    /**
     * The coordinator of a transaction fails after one partition committed and before the other's commit arrived;
     * that partition's primary recovers the transaction and commits it, but its commit never reaches the backup. The
     * backup, holding the prepare of a departed coordinator, asks the primary how it ended. The primary, still waiting
     * for that backup's acknowledgement, answered "committed", so the backup dropped its prepare; the primary then
     * failed before its commit got through, and the backup, now the only copy, closed the commit's counter as a hole
     * while the other partition kept the transaction (whole-cluster bank seed 0x16acbde3, where the backup had ignored
     * the commit for arriving before the map it was sent in). A primary no longer answers a backup its commit still
     * waits for: the backup keeps the prepare and, once primary, commits it.
     */
    @Test
    void aBackupThatAsksBeforeItsPrimarysCommitArrivedKeepsThePrepareUntilTheCommitOrARecovery()
    {
        // Every member owns every partition, so that the coordinator's failure moves no copy (an exchange would
        // wait for the commit that cannot reach the backup).
        startCluster(3, 2, PartitionLossPolicy.READ_WRITE_SAFE);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        final PartitionMap map = members[0].installedMap();
        // m2 coordinates, and its commit never reaches k1's primary.
        final String k1 = keyWhere(p -> slotOf(map, map.owners(cacheId, p)[0]) != 2);
        final int firstPrimary = slotOf(map, map.owners(cacheId, partition(k1))[0]);
        final String k2 = keyWhere(p -> slotOf(map, map.owners(cacheId, p)[0]) == 1 - firstPrimary);
        network.dropWhere((from, to, message) -> from == 2 && to == firstPrimary && typeOf(message) == TX_COMMIT);
        final boolean[] commitsLost = new boolean[1];
        network.dropWhere((from, to, message) -> commitsLost[0] && typeOf(message) == TX_BACKUP &&
            message[HEADER_LENGTH] == BACKUP_COMMIT);
        lockAndCommit(members[2], TimeUnit.SECONDS.toNanos(30), k1, "a2", k2, "b2", IGNORED);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () ->
            Arrays.equals(bytes("b2"), members[0].readLocal(cacheId, bytes(k2))) &&
            Arrays.equals(bytes("b2"), members[1].readLocal(cacheId, bytes(k2)))), "k2's partition committed");
        // From now on no primary's commit reaches a backup. The coordinator fails: k1's primary recovers the
        // transaction and commits it; its backup asks how the transaction of the departed coordinator ended.
        commitsLost[0] = true;
        crash(2);
        awaitSize(2);
        final PartitionMap after = members[0].installedMap();
        final int primary = slotOf(after, after.owners(cacheId, partition(k1))[0]);
        final int backup = 1 - primary;
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () ->
            Arrays.equals(bytes("a2"), members[primary].readLocal(cacheId, bytes(k1)))), "the recovery committed");
        sim.runUntil(sim.nowNs() + 1_000 * MS, null);
        crash(primary);
        network.heal();
        awaitSize(1);
        awaitQuiescent(1);
        assertEquals("b2", read(members[backup], k2));
        assertEquals("a2", read(members[backup], k1), "the transaction committed on the other partition: here too");
        acknowledged.put(k1, "a2");
        acknowledged.put(k2, "b2");
        assertCleanAndComplete();
    }

    /**
     * A member is away while a transaction prepares; its copy of the partition stays equal to the owners' (a prepare
     * changes no counter). The transaction commits on its other partition, every member crashes, and all come back:
     * activating, the exchange made the copy of the member that was away primary, being the partition's ideal
     * primary; it held no part of the transaction and took that for "never prepared", so the owners that held the
     * prepare rolled it back while the other partition had committed (whole-cluster bank seed 0x16acbe2d). Only a
     * last owner's copy may become primary where the durable table decides.
     */
    @Test
    void aCopyFromAMemberAwayWhileATransactionPreparedDoesNotBecomePrimaryWhenTheWholeClusterRestarts()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        final PartitionMap before = members[0].installedMap();
        // The member away is k2's ideal primary.
        final String k2 = keyWhere(p -> true);
        final int away = slotOf(before, before.owners(cacheId, partition(k2))[0]);
        crash(away);
        awaitSize(2);
        awaitQuiescent(2);
        final PartitionMap without = live().get(0).installedMap();
        final int p2Primary = slotOf(without, without.owners(cacheId, partition(k2))[0]);
        final int coordinator = 3 - away - p2Primary;
        final String k1 = keyWhere(p -> slotOf(without, without.owners(cacheId, p)[0]) == coordinator, k2);
        final long lwmBefore = members[coordinator].status().copy(cacheId, partition(k1)).lwm();
        // The coordinator's commit never reaches k2's primary: k1's partition commits, k2's stays prepared.
        network.dropWhere((from, to, message) -> from == coordinator && to == p2Primary &&
            typeOf(message) == TX_COMMIT);
        lockAndCommit(members[coordinator], TimeUnit.SECONDS.toNanos(10), k1, "a2", k2, "b2", IGNORED);
        final int p1Backup = slotOf(without, without.owners(cacheId, partition(k1))[1]);
        // Committed and durable on both copies (LWM past it), so no recovery may roll the transaction back.
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () ->
            members[coordinator].status().copy(cacheId, partition(k1)).lwm() > lwmBefore &&
            members[p1Backup].status().copy(cacheId, partition(k1)).lwm() > lwmBefore),
            "the first partition committed on both its copies");
        assertArrayEquals(bytes("a2"), members[p1Backup].readLocal(cacheId, bytes(k1)));
        crash(coordinator);
        crash(p2Primary);
        network.heal();
        start(away);
        start(coordinator);
        start(p2Primary);
        awaitQuiescent(3);
        assertEquals("a2", read(members[away], k1), "committed before the crash");
        assertEquals("b2", read(members[away], k2), "prepared on every owner before the crash: recovery commits it");
        acknowledged.put(k1, "a2");
        acknowledged.put(k2, "b2");
        assertCleanAndComplete();
    }

    /**
     * A member joins while a transaction is prepared and its commits are on the way; the primaries send the prepare
     * to the joiner's new copies, which catch up before they acknowledge it. Were the late affinity switch to make such
     * a copy primary, holding no lock of the transaction it would let another transaction lock the key and commit,
     * and the first transaction's commit, arriving after, would overwrite what the second had acknowledged (it does,
     * with the check below taken out). A member's exchange report waits until every copy acknowledged the prepares
     * it sent ({@code TxManager.hasUnacknowledgedPrepares}), so the switch waits too.
     */
    @Test
    void aCopyThatHasNotAcknowledgedAPrepareDoesNotBecomePrimaryAtTheLateAffinitySwitch()
    {
        startCluster(3);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        // t writes one key of every partition; its commits from m0 to the other primaries are held back.
        final String[] keys = new String[PARTITIONS];
        final byte[][] keyBytes = new byte[PARTITIONS][];
        final byte[][] values = new byte[PARTITIONS][];
        final int[] cacheIds = new int[PARTITIONS];
        for (int p = 0; p < PARTITIONS; p++)
        {
            final int partition = p;
            keys[p] = keyWhere(x -> x == partition);
            keyBytes[p] = bytes(keys[p]);
            values[p] = bytes("t" + p);
            cacheIds[p] = cacheId;
        }
        network.holdWhere((from, to, message) -> from == 0 && typeOf(message) == TX_COMMIT);
        final Engine coordinator = members[0];
        final long t = coordinator.transactions().begin(TimeUnit.SECONDS.toNanos(60), 0);
        final boolean[] locked = new boolean[1];
        coordinator.transactions().enlist(t, cacheId, keyBytes, true, txCallback(() -> locked[0] = true));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () -> locked[0]));
        final boolean[] tCommitted = new boolean[1];
        coordinator.transactions().commit(t, cacheIds, keyBytes, values, txCallback(() -> tCommitted[0] = true));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () -> network.heldCount() > 0),
            "t is prepared everywhere and its commits are on the way");
        // The prepares the primaries send the joiner are held back too; everything else reaches it.
        network.holdWhere((from, to, message) -> to == 3 && typeOf(message) == TX_BACKUP &&
            message[HEADER_LENGTH] == BACKUP_PREPARE);
        start(3);
        // Caught up, the joiner's copies would become primaries of their partitions.
        final int[] chosen = {-1};
        sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () ->
        {
            final PartitionMap map = members[1].installedMap();
            final int joiner = map.topology().indexOf(members[3].incarnation());
            for (int p = 0; joiner >= 0 && p < PARTITIONS; p++)
            {
                if (map.rank(cacheId, p, joiner) == 0 && !Arrays.equals(values[p], members[0].readLocal(cacheId,
                    keyBytes[p])))
                {
                    chosen[0] = p;
                    return true;
                }
            }
            return false;
        });
        // Without such a partition (the joiner is primary of none where t is uncommitted), any it holds a copy of.
        final PartitionMap map = members[1].installedMap();
        final int joiner = map.topology().indexOf(members[3].incarnation());
        for (int p = 0; chosen[0] < 0 && p < PARTITIONS; p++)
        {
            if (map.rank(cacheId, p, joiner) >= 0 && slotOf(map, map.owners(cacheId, p)[0]) != 0)
            {
                chosen[0] = p;
            }
        }
        assertTrue(chosen[0] >= 0, "the joiner holds a copy of a partition t has not committed on");
        // u, younger, locks that key and writes it: it must wait for t or die, never commit over t's lock.
        final Engine other = members[1];
        final long u = other.transactions().begin(TimeUnit.SECONDS.toNanos(5), 0);
        final Object[] uOutcome = new Object[1];
        other.transactions().enlist(u, cacheId, new byte[][] {keyBytes[chosen[0]]}, true, new TxCallback()
        {
            public void onSuccess(final byte[][] read)
            {
                other.transactions().commit(u, new int[] {cacheId}, new byte[][] {keyBytes[chosen[0]]},
                    new byte[][] {bytes("u")}, new TxCallback()
                    {
                        public void onSuccess(final byte[][] ignored)
                        {
                            uOutcome[0] = "committed";
                        }

                        public void onFailure(final GridException failure)
                        {
                            uOutcome[0] = failure;
                        }
                    });
            }

            public void onFailure(final GridException failure)
            {
                uOutcome[0] = failure;
            }
        });
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () -> uOutcome[0] != null),
            "u never ended");
        assertTrue(uOutcome[0] instanceof GridException, "u committed on partition " + chosen[0] +
            " while t held the key's lock");
        network.releaseHeld();
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () -> tCommitted[0]), "t committed");
        awaitQuiescent(4);
        for (int p = 0; p < PARTITIONS; p++)
        {
            acknowledged.put(keys[p], "t" + p);
        }
        assertCleanAndComplete();
    }

    /**
     * A member, primary of both partitions of a transaction, prepares it and crashes before its answers reach the
     * coordinator, which aborts the transaction through the new primaries; the keys are written again, the coordinator
     * fails too, and the others, restarted after a checkpoint, no longer remember the rollback. The member comes back with the prepares in its WAL; caught up, it becomes primary of
     * both partitions again, and recovery, the coordinator gone, found the transaction prepared on both (its own, both
     * stale) and committed it over the later writes (whole-cluster bank seed 0x16acbe39). The rebalance's supplier
     * lists the prepares it holds open, and the member voids the recovered ones it lacks.
     */
    @Test
    void aPrepareRecoveredFromTheWalOfATransactionRolledBackMeanwhileIsVoidedByTheCatchUp()
    {
        startCluster(3);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        final PartitionMap map = members[0].installedMap();
        final int away = 0;
        final String k1 = keyWhere(p -> slotOf(map, map.owners(cacheId, p)[0]) == away);
        final String k2 = keyWhere(p -> slotOf(map, map.owners(cacheId, p)[0]) == away && p != partition(k1));
        final int coordinator = 1;
        final Engine via = members[coordinator];
        final long tx = via.transactions().begin(TimeUnit.SECONDS.toNanos(30), 0);
        final boolean[] locked = new boolean[1];
        via.transactions().enlist(tx, cacheId, new byte[][] {bytes(k1), bytes(k2)}, true,
            txCallback(() -> locked[0] = true));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () -> locked[0]));
        // From now on the primary's answers never reach the coordinator, which keeps asking; it prepares both parts.
        network.dropWhere((from, to, message) -> from == away && to == coordinator && typeOf(message) == TX_ANSWER);
        via.transactions().commit(tx, new int[] {cacheId, cacheId}, new byte[][] {bytes(k1), bytes(k2)},
            new byte[][] {bytes("stale1"), bytes("stale2")}, IGNORED);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () ->
            members[away].status().describeProgress().contains("txPartsPrepared=2")), "both parts prepared");
        crash(away);
        network.heal();
        awaitSize(2);
        awaitQuiescent(2);
        put(members[2], k1, "later1");
        put(members[2], k2, "later2");
        // Both others checkpoint past the rollback's records and restart: they no longer remember how it ended.
        final long[] checkpoints = {members[1].history().committedCheckpointId(),
            members[2].history().committedCheckpointId()};
        for (int i = 0; i < 2_000 && !(members[1].history().committedCheckpointId() > checkpoints[0] + 1 &&
            members[2].history().committedCheckpointId() > checkpoints[1] + 1); i++)
        {
            final String key = "k" + (i % KEYS);
            if (!key.equals(k1) && !key.equals(k2))
            {
                put(members[2], key, "more" + i);
            }
        }
        assertTrue(members[1].history().committedCheckpointId() > checkpoints[0] + 1 &&
            members[2].history().committedCheckpointId() > checkpoints[1] + 1, "both checkpointed");
        crash(coordinator);
        awaitSize(1);
        start(coordinator);
        awaitSize(2);
        awaitQuiescent(2);
        crash(2);
        awaitSize(1);
        start(2);
        awaitSize(2);
        awaitQuiescent(2);
        // Its questions about the transaction's end are lost until it is primary (a backup asks its primary, which,
        // not knowing the transaction any more, would have it rolled back).
        network.dropWhere((from, to, message) -> from == away && typeOf(message) == TX_STATUS);
        restart(away);
        awaitQuiescent(3);
        final PartitionMap after = members[2].installedMap();
        assertEquals(away, slotOf(after, after.owners(cacheId, partition(k1))[0]), "the member is primary again");
        assertEquals("later1", read(members[2], k1), "the transaction was rolled back: the later write stays");
        assertEquals("later2", read(members[2], k2));
        assertCleanAndComplete();
    }

    /**
     * A transaction prepares on two partitions whose owners are m1 and m2; their answers never reach the coordinator
     * m0, and both owners crash, so the partitions are lost and the coordinator aborts the transaction on the map
     * change. Its rollback reached only m0's own copies standing in for the lost partitions, which record nothing the
     * owners' recovery consults: the user heard "aborted", m0 stopped too, and when all three came back the owners
     * found the transaction prepared on both partitions and committed it (whole-cluster bank seed 0x16acc46b). The
     * user hears that the outcome is unknown, and the transaction ends the same way on both partitions.
     */
    @Test
    void aRollbackThatNoOwnerOfTheLostPartitionsRecordedIsNotReportedAsAnAbort()
    {
        restartWithTheCoordinatorAndCheck(prepareOnTwoPartitionsThenLoseTheirOwners());
    }

    /**
     * As above, with a third key, whose primary is the coordinator, locked and not written: its part recorded the
     * rollback, and the user heard "aborted"; but it is no participant (recovery asks only the written partitions),
     * and the owners of the lost partitions came back and committed. Only a written partition's record counts.
     */
    @Test
    void aRollbackRecordedOnlyWhereTheTransactionLockedWithoutWritingIsNotReportedAsAnAbort()
    {
        restartWithTheCoordinatorAndCheck(prepareOnTwoPartitionsThenLoseTheirOwners(true));
    }

    /**
     * The coordinator m0 crashes too and the three members start again: the transaction {@link
     * #prepareOnTwoPartitionsThenLoseTheirOwners} prepared ended one way on both partitions, and its user, told the
     * outcome is unknown, was not told "aborted" for a transaction that was applied.
     */
    private void restartWithTheCoordinatorAndCheck(final GridException heard)
    {
        restartAllAfterCrashingM0();
        final String v1 = read(members[0], lostKeys[0]);
        final String v2 = read(members[0], lostKeys[1]);
        assertToldUnknownNotAborted(heard, v1.equals("t1") || v2.equals("t2"));
        assertEquals(v1.equals("t1"), v2.equals("t2"), "the transaction ended one way on both partitions: " + v1 +
            ", " + v2);
        assertCleanAndComplete();
    }

    private void restartAllAfterCrashingM0()
    {
        crash(0);
        network.heal();
        start(0);
        start(1);
        start(2);
        awaitQuiescent(3);
    }

    /** Checked first: a transaction applied must never have been reported aborted (the data-loss outcome). */
    private static void assertToldUnknownNotAborted(final GridException heard, final boolean applied)
    {
        assertFalse(heard.errorCode() != ErrorCode.TX_COMMIT_STATUS_UNKNOWN && applied,
            () -> "the user heard " + heard + ", but the transaction was applied");
        assertEquals(ErrorCode.TX_COMMIT_STATUS_UNKNOWN, heard.errorCode(), () -> "the user heard " + heard);
    }

    /** A commit callback that notes the failure its user hears; success without an answer is a failure of the test. */
    private static TxCallback failureInto(final GridException[] heard)
    {
        return new TxCallback()
        {
            public void onSuccess(final byte[][] values)
            {
                throw new AssertionError("committed without the participants' answers");
            }

            public void onFailure(final GridException failure)
            {
                heard[0] = failure;
            }
        };
    }

    /**
     * As {@link #aRollbackThatNoOwnerOfTheLostPartitionsRecordedIsNotReportedAsAnAbort}, but the coordinator lives on:
     * its rollback, sent again until the partitions are back, lands once their owners return, and the transaction is
     * rolled back on both.
     */
    @Test
    void aRollbackWaitingForLostPartitionsLandsWhenTheirOwnersReturn()
    {
        final GridException heard = prepareOnTwoPartitionsThenLoseTheirOwners();
        assertEquals(ErrorCode.TX_COMMIT_STATUS_UNKNOWN, heard.errorCode(), () -> "the user heard " + heard);
        network.heal();
        start(1);
        start(2);
        awaitQuiescent(3);
        assertEquals(0, members[0].transactions().list().size(), "the coordinator still holds the transaction");
        assertNotEquals("t1", read(members[0], lostKeys[0]), "rolled back");
        assertNotEquals("t2", read(members[0], lostKeys[1]), "rolled back");
        assertCleanAndComplete();
    }

    /**
     * A backup applies a transaction's commit and remembers it as committed; another backup of the partition never
     * gets the commit. The primary and the first backup crash; the second, now primary with the prepare, writes
     * the partition, and the first, back, is rebuilt from it: its copy no longer holds the transaction's write, but
     * it still remembered the commit. Once it was primary, the coordinator's resent commit was answered "committed"
     * without being applied, and a later transfer overwrote the account without it (whole-cluster bank seed
     * 0x16acbeea). A copy that is dropped or rebuilt forgets the commits it remembered, and applies the commit.
     */
    @Test
    void aCopyRebuiltFromOneHoldingATransactionOpenAppliesItsCommitInsteadOfRememberingIt()
    {
        startCluster(4);
        writeAll(0, KEYS);
        awaitQuiescent(4);
        final PartitionMap map = members[0].installedMap();
        // m0 coordinates; k1's partition is owned by the three others, k2's has m0 as primary.
        final String k1 = keyWhere(notOnM0());
        final int[] owners = map.owners(cacheId, partition(k1));
        final int primary = slotOf(map, owners[0]);
        final int remembers = slotOf(map, owners[1]);
        final int open = slotOf(map, owners[2]);
        final String k2 = keyWhere(p -> slotOf(map, map.owners(cacheId, p)[0]) == 0);
        // The primary's commit never reaches the second backup, nor its answer the coordinator; and the coordinator's
        // commits never reach the second backup, once it is primary.
        network.dropWhere((from, to, message) -> from == primary && to == open && typeOf(message) == TX_BACKUP &&
            message[HEADER_LENGTH] == BACKUP_COMMIT);
        network.dropWhere((from, to, message) -> from == primary && to == 0 && typeOf(message) == TX_ANSWER &&
            message[HEADER_LENGTH] == ANSWER_COMMITTED);
        network.dropWhere((from, to, message) -> from == 0 && to == open && typeOf(message) == TX_COMMIT);
        // The first backup acknowledges the commit once it is durable.
        final boolean[] durable = new boolean[1];
        network.dropWhere((from, to, message) ->
        {
            durable[0] |= from == remembers && to == primary && typeOf(message) == TX_BACKUP_ACK &&
                Arrays.equals(bytes("t1"), members[remembers].readLocal(cacheId, bytes(k1)));
            return false;
        });
        final boolean[] committed = new boolean[1];
        lockAndCommit(members[0], TimeUnit.SECONDS.toNanos(60), k1, "t1", k2, "t2", txCallback(() ->
            committed[0] = true));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () -> durable[0] &&
            Arrays.equals(bytes("t2"), members[0].readLocal(cacheId, bytes(k2)))), "committed on the first backup");
        crash(primary);
        crash(remembers);
        awaitSize(2);
        awaitRebalanced();
        // The second backup, primary now, holds the prepare; it writes the partition, so the first backup's copy,
        // back, differs from it and is rebuilt.
        put(members[0], keyWhere(p -> p == partition(k1), k1), "later");
        restart(remembers);
        awaitRebalanced();
        assertFalse(Arrays.equals(bytes("t1"), members[remembers].readLocal(cacheId, bytes(k1))),
            "the first backup's copy was rebuilt from the second's");
        crash(open);
        awaitSize(2);
        network.heal();
        start(primary);
        start(open);
        awaitQuiescent(4);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> committed[0]),
            "the transaction committed");
        acknowledged.put(k1, "t1");
        acknowledged.put(k2, "t2");
        assertCleanAndComplete();
    }

    /** Every live member settled, with no copy left to rebalance (a transaction may still be open). */
    private void awaitRebalanced()
    {
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(20), () -> live().stream().allMatch(member ->
            member.status().isSettled() && member.installedMap() != null && member.installedMap().plans().isEmpty() &&
            !member.status().rebalanceStatus().active())), "the copies did not catch up");
    }

    /** The keys {@link #prepareOnTwoPartitionsThenLoseTheirOwners} wrote, with "t1" and "t2". */
    private final String[] lostKeys = new String[2];

    /**
     * m0 coordinates a transaction writing a key of two partitions owned by m1 and m2 only; it prepares on both, the
     * answers to m0 are lost, and m1 and m2 crash.
     *
     * @return what the user of the transaction heard.
     */
    private GridException prepareOnTwoPartitionsThenLoseTheirOwners()
    {
        return prepareOnTwoPartitionsThenLoseTheirOwners(false);
    }

    /**
     * @param alsoLockAKeyOfM0 whether the transaction also locks, without writing it, a key whose primary is m0 (so
     *                         a part that is no participant can record the rollback).
     */
    private GridException prepareOnTwoPartitionsThenLoseTheirOwners(final boolean alsoLockAKeyOfM0)
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        final IntPredicate onM1AndM2 = notOnM0();
        lostKeys[0] = keyWhere(onM1AndM2);
        lostKeys[1] = keyWhere(p -> onM1AndM2.test(p) && p != partition(lostKeys[0]));
        // Checked by each test for what the transaction's outcome makes them.
        acknowledged.remove(lostKeys[0]);
        acknowledged.remove(lostKeys[1]);
        final byte[][] keys = {bytes(lostKeys[0]), bytes(lostKeys[1])};
        final Engine coordinator = members[0];
        final long tx = coordinator.transactions().begin(TimeUnit.SECONDS.toNanos(30), 0);
        final boolean[] locked = new boolean[1];
        coordinator.transactions().enlist(tx, cacheId, keys, true, txCallback(() -> locked[0] = true));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () -> locked[0]));
        if (alsoLockAKeyOfM0)
        {
            final PartitionMap map = members[0].installedMap();
            final String own = keyWhere(p -> slotOf(map, map.owners(cacheId, p)[0]) == 0);
            final boolean[] ownLocked = new boolean[1];
            coordinator.transactions().enlist(tx, cacheId, new byte[][] {bytes(own)}, true,
                txCallback(() -> ownLocked[0] = true));
            assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () -> ownLocked[0]));
        }
        network.dropWhere((from, to, message) -> from != 0 && to == 0 && typeOf(message) == TX_ANSWER);
        final GridException[] heard = new GridException[1];
        coordinator.transactions().commit(tx, new int[] {cacheId, cacheId}, keys,
            new byte[][] {bytes("t1"), bytes("t2")},
            failureInto(heard));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () ->
            preparedParts(members[1]) + preparedParts(members[2]) == 2), "both parts prepared");
        crash(1);
        crash(2);
        awaitSize(1);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> heard[0] != null),
            "the user heard nothing");
        return heard[0];
    }

    /** Partitions m0 holds no copy of (with one backup in a cluster of three: owned by m1 and m2). */
    private IntPredicate notOnM0()
    {
        final PartitionMap map = members[0].installedMap();
        return p -> Arrays.stream(map.owners(cacheId, p)).noneMatch(owner -> slotOf(map, owner) == 0);
    }

    /**
     * A transaction writing one partition commits in one phase. Its primary m1 applied it with its backup m2, the
     * answer never reached the coordinator m0, and both crashed: the partition was lost, m0's copy stood in for it and
     * answered the resent commit "not applied here", which the coordinator took for "nothing was applied" and told
     * its user the transaction aborted; m1 and m2 came back with the write (whole-cluster bank seed 0x16acc563). A
     * one-phase commit sent to more than one primary ends, if the last says it did not apply it, with its outcome
     * unknown.
     */
    @Test
    void aOnePhaseCommitAFormerPrimaryMayHaveAppliedIsNotReportedAsAnAbort()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        writeAll(0, KEYS);
        awaitQuiescent(3);
        final String key = keyWhere(notOnM0());
        acknowledged.remove(key);
        final Engine coordinator = members[0];
        final long tx = coordinator.transactions().begin(TimeUnit.SECONDS.toNanos(30), 0);
        final boolean[] locked = new boolean[1];
        coordinator.transactions().enlist(tx, cacheId, new byte[][] {bytes(key)}, true,
            txCallback(() -> locked[0] = true));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () -> locked[0]));
        network.dropWhere((from, to, message) -> to == 0 && typeOf(message) == TX_ANSWER);
        final GridException[] heard = new GridException[1];
        coordinator.transactions().commit(tx, new int[] {cacheId}, new byte[][] {bytes(key)},
            new byte[][] {bytes("t1")},
            failureInto(heard));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () ->
            Arrays.equals(bytes("t1"), members[1].readLocal(cacheId, bytes(key))) &&
            Arrays.equals(bytes("t1"), members[2].readLocal(cacheId, bytes(key)))), "applied on both copies");
        crash(1);
        crash(2);
        awaitSize(1);
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> heard[0] != null),
            "the user heard nothing");
        restartAllAfterCrashingM0();
        assertToldUnknownNotAborted(heard[0], "t1".equals(read(members[0], key)));
        assertCleanAndComplete();
    }

    private static int preparedParts(final Engine member)
    {
        final Matcher m = Pattern.compile("txPartsPrepared=(\\d+)").matcher(member.status().describeProgress());
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    @Test
    void theBaselineSurvivesARestartOfTheWholeCluster()
    {
        startCluster(3, 1, PartitionLossPolicy.READ_WRITE_SAFE);
        assertNull(changeBaseline(members[0], Baseline.SET, List.of("m0", "m1", "m2"), -1));
        assertNull(changeBaseline(members[0], Baseline.AUTO_ADJUST, List.of(), 2_000 * MS));
        writeAll(0, KEYS);
        awaitQuiescent(3);
        crash(0);
        crash(1);
        crash(2);
        start(0);
        awaitSize(1);
        restart(1);
        restart(2);
        awaitQuiescent(3);
        assertEquals(List.of("m0", "m1", "m2"), members[2].status().baseline().members());
        assertEquals(2_000 * MS, members[2].status().baseline().autoAdjustTimeoutNs());
        assertCleanAndComplete();
    }

    // ----------------------------------------------------------------------------------------------------------------

    private GridException changeBaseline(final Engine via, final int change, final List<String> ids,
        final long timeoutNs)
    {
        final OpOutcome[] outcome = new OpOutcome[1];
        final GridException[] error = new GridException[1];
        via.admin().changeBaseline(change, ids, timeoutNs, Answers.capture(outcome, error));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () -> outcome[0] != null ||
            error[0] != null), "the baseline change was not answered");
        return error[0];
    }

    private void assertEveryPartitionHasOwners(final int owners)
    {
        final PartitionMap map = members[0].installedMap();
        for (int p = 0; p < PARTITIONS; p++)
        {
            assertEquals(owners, map.owningCount(cacheId, p), "owning copies of partition " + p);
        }
    }

    /** Per live slot: copies it caught up by rebalance (historical and full) since start. */
    private long[] rebalancedCopies()
    {
        final long[] totals = new long[SLOTS];
        for (int slot = 0; slot < SLOTS; slot++)
        {
            if (members[slot] != null)
            {
                final RebalanceStatus status = members[slot].status().rebalanceStatus();
                totals[slot] = status.totalHistorical() + status.totalFull();
            }
        }
        return totals;
    }

    private int copiesOn(final int slot)
    {
        final PartitionMap map = members[0].installedMap();
        final int index = map.topology().indexOf(members[slot].incarnation());
        int copies = 0;
        for (int p = 0; p < PARTITIONS; p++)
        {
            copies += map.rank(cacheId, p, index) >= 0 ? 1 : 0;
        }
        return copies;
    }

    private String keyWhere(final IntPredicate partitionTest, final String... except)
    {
        for (int i = 0; i < KEYS; i++)
        {
            if (partitionTest.test(partition("k" + i)) && !List.of(except).contains("k" + i))
            {
                return "k" + i;
            }
        }
        throw new AssertionError("no key in a partition that passes the test");
    }

    /** Every live copy of the partition has closed all it reserved (HWM = LWM, no gap) and they agree. */
    private void assertNoHoleAndEqual(final int partition)
    {
        long lwm = -1;
        for (final Engine member : live())
        {
            final CopyView copy = member.status().copy(cacheId, partition);
            assertNotNull(copy, member.configuration().memberId() + " holds partition " + partition);
            assertEquals(copy.lwm(), copy.hwm(), member.configuration().memberId() + ": " + copy);
            assertTrue(copy.gaps().isEmpty(), member.configuration().memberId() + ": " + copy);
            assertTrue(lwm < 0 || lwm == copy.lwm(), "copies disagree: " + lwm + " vs " + copy);
            lwm = copy.lwm();
        }
    }

    private int partition(final String key)
    {
        return KeyPartitioner.partition(bytes(key), PARTITIONS);
    }

    private String keyIn(final List<Integer> partitions)
    {
        for (int i = 0; i < KEYS; i++)
        {
            if (partitions.contains(partition("k" + i)))
            {
                return "k" + i;
            }
        }
        throw new AssertionError("no key in partitions " + partitions);
    }

    private GridException fail(final Engine via, final OpType type, final String key, final String value)
    {
        final Object answer = answer(via, type, key, value);
        assertTrue(answer instanceof GridException, () -> type + " " + key + " succeeded: " + answer);
        return (GridException)answer;
    }

    /** @return the operation's outcome, or the exception it failed with. */
    private Object answer(final Engine via, final OpType type, final String key, final String value)
    {
        final OpOutcome[] outcome = new OpOutcome[1];
        final GridException[] error = new GridException[1];
        via.submit(cacheId, type, bytes(key), value == null ? null : bytes(value), null,
            TimeUnit.SECONDS.toNanos(5), Answers.capture(outcome, error));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(6), () -> outcome[0] != null ||
            error[0] != null), () -> type + " " + key + " got no answer");
        return outcome[0] != null ? outcome[0] : error[0];
    }

    /**
     * A WAL that counts the records each replay or read hands over in one call, and can hide partitions' updates from
     * its bounded reads (the history scans).
     */
    private static final class CountingWal implements Wal
    {
        private final SimWal delegate;
        private final dev.grid.core.codec.wal.MessageHeaderDecoder walHeader =
            new dev.grid.core.codec.wal.MessageHeaderDecoder();
        private final WalDataDecoder walData = new WalDataDecoder();
        private IntPredicate hiddenUpdates;
        long mostInOneCall;
        long calls;

        CountingWal(final SimWal delegate)
        {
            this.delegate = delegate;
        }

        void reset()
        {
            mostInOneCall = 0;
            calls = 0;
        }

        private RecordHandler counting(final RecordHandler handler, final long[] count)
        {
            return (position, buffer, offset, length) ->
            {
                count[0]++;
                handler.onRecord(position, buffer, offset, length);
            };
        }

        private void note(final long count)
        {
            calls++;
            mostInOneCall = Math.max(mostInOneCall, count);
        }

        public long append(final org.agrona.DirectBuffer buffer, final int offset, final int length)
        {
            return delegate.append(buffer, offset, length);
        }

        public void requestDurability()
        {
            delegate.requestDurability();
        }

        public long appendedPosition()
        {
            return delegate.appendedPosition();
        }

        public long durablePosition()
        {
            return delegate.durablePosition();
        }

        public long replay(final long afterPosition, final RecordHandler handler)
        {
            final long[] count = {0};
            final long replayed = delegate.replay(afterPosition, counting(handler, count));
            note(count[0]);
            return replayed;
        }

        /**
         * @param partitions the partitions whose updates bounded reads (history scans) no longer find; null: none.
         */
        void hideUpdatesOf(final IntPredicate partitions)
        {
            hiddenUpdates = partitions;
        }

        /**
         * The handler, given an update of a partition whose updates are hidden as a copy at counter 0, which no history
         * holds (so a read still counts every record it passes, and ends where it would have).
         */
        private RecordHandler hiding(final RecordHandler handler)
        {
            final IntPredicate hidden = hiddenUpdates;
            if (hidden == null)
            {
                return handler;
            }
            return (position, buffer, offset, length) ->
            {
                walHeader.wrap(buffer, offset);
                if (walHeader.templateId() != WalDataDecoder.TEMPLATE_ID ||
                    !hidden.test(walData.wrapAndApplyHeader(buffer, offset, walHeader).partition()))
                {
                    handler.onRecord(position, buffer, offset, length);
                    return;
                }
                final UnsafeBuffer copy = new UnsafeBuffer(new byte[length]);
                copy.putBytes(0, buffer, offset, length);
                new WalDataEncoder().wrap(copy, walHeader.encodedLength()).counter(0);
                handler.onRecord(position, copy, 0, length);
            };
        }

        public long read(final long afterPosition, final int maxRecords, final RecordHandler handler)
        {
            final long[] count = {0};
            final long last = delegate.read(afterPosition, maxRecords, counting(hiding(handler), count));
            note(count[0]);
            return last;
        }

        public long release(final long upToPosition)
        {
            return delegate.release(upToPosition);
        }

        public long firstRetainedPosition()
        {
            return delegate.firstRetainedPosition();
        }
    }

    private void startCluster(final int size)
    {
        startCluster(size, 2, PartitionLossPolicy.READ_WRITE_SAFE);
    }

    private void startCluster(final int size, final int backups, final PartitionLossPolicy policy)
    {
        for (int i = 0; i < size; i++)
        {
            start(i);
        }
        awaitSize(size);
        final OpOutcome[] created = new OpOutcome[1];
        members[0].admin().createCache(new CacheDescriptor(0, "c", PARTITIONS, backups, "string",
            "string", null, 2_000 * MS,
            null, 0, 0).withLossPolicy(policy), Answers.capture(created, new GridException[1]));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(5), () -> created[0] != null));
        cacheId = members[0].cache("c").cacheId();
    }

    private void start(final int slot)
    {
        if (wals[slot] == null)
        {
            wals[slot] = new SimWal(sim, sim.fork(), "m" + slot);
            stores[slot] = new SimCheckpointStore(sim, sim.fork(), "m" + slot);
        }
        final MemberConfiguration config = new MemberConfiguration("m" + slot).port(10_000 + slot)
            .heartbeatIntervalNs(50 * MS).failureDetectionTimeoutNs(500 * MS).joinTimeoutNs(10_000 * MS)
            .checkpointIntervalNs(300 * MS).rebalanceBatchBytes(2048).rebalanceConcurrency(2)
            // These scenarios are about catching up: a member runs alone in many, which a quorum would refuse.
            .minMembers(1);
        for (int s = 0; s < SLOTS; s++)
        {
            config.addSeed(SimNetwork.address(s));
        }
        network.down(slot, false);
        walReads[slot] = new CountingWal(wals[slot]);
        final Set<Integer> full = new HashSet<>();
        rebuiltInFull[slot] = full;
        final Engine engine = Members.newEngine(config, network.transport(slot, () -> { }), walReads[slot],
            stores[slot], sim.fork(), cache -> "concat".equals(cache.mergeOperator()) ? KeyMerge::concat : null,
            TxManager::new, new EngineListener()
            {
                @Override
                public void onEvent(final String message)
                {
                    if (Boolean.getBoolean("grid.sim.trace"))
                    {
                        System.out.println(sim.nowNs() + " m" + slot + " " + message);
                    }
                }

                @Override
                public void onRebalanceFinished(final int cacheId, final int partition, final boolean fully,
                    final long records, final long bytes, final long durationNs)
                {
                    if (fully)
                    {
                        full.add(partition);
                    }
                }
            }, 100 * MS, sim.nowNs());
        members[slot] = engine;
        tick(slot, engine);
    }

    private void restart(final int slot)
    {
        start(slot);
        awaitSize(live().size());
    }

    /** The member leaves cleanly (its durable state stays), as a stop by an operator. */
    private void leave(final int slot)
    {
        members[slot].stop();
        sim.runUntil(sim.nowNs() + 5 * MS, null);
        crash(slot);
    }

    /**
     * A put that may be refused (its partition is lost or not served yet); remembered as acknowledged only if it
     * succeeded.
     */
    private void tryPut(final Engine via, final String key, final String value)
    {
        if (answer(via, OpType.PUT, key, value) instanceof OpOutcome)
        {
            acknowledged.put(key, value);
        }
    }

    private void crash(final int slot)
    {
        members[slot] = null;
        wals[slot].crash();
        stores[slot].crash();
        network.down(slot, true);
    }

    private void tick(final int slot, final Engine engine)
    {
        if (members[slot] != engine)
        {
            return;
        }
        engine.doWork(sim.nowNs());
        sim.schedule(MS, "tick m" + slot, () -> tick(slot, engine));
    }

    private List<Engine> live()
    {
        final List<Engine> live = new ArrayList<>();
        for (final Engine member : members)
        {
            if (member != null)
            {
                live.add(member);
            }
        }
        return live;
    }

    private void awaitSize(final int size)
    {
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(15), () ->
        {
            for (final Engine member : live())
            {
                if (!member.status().isSettled() || member.topology().members().size() != size)
                {
                    return false;
                }
            }
            return true;
        }), "the cluster did not reach " + size + " members");
    }

    private void awaitQuiescent(final int size)
    {
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(20), () ->
        {
            for (final Engine member : live())
            {
                if (!member.status().isQuiescent() || member.topology().members().size() != size)
                {
                    return false;
                }
            }
            return true;
        }), () ->
        {
            final StringBuilder out = new StringBuilder("not quiescent:");
            for (final Engine member : live())
            {
                out.append("\n  ").append(member.configuration().memberId()).append(' ')
                    .append(member.status().describeProgress());
            }
            return out.toString();
        });
    }

    private ConsistencyReport check(final Engine via)
    {
        final ConsistencyReport[] report = new ConsistencyReport[1];
        via.status().checkConsistency("c", (result, error) ->
        {
            assertTrue(error == null, () -> "the check failed: " + error);
            report[0] = result;
        });
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () -> report[0] != null));
        return report[0];
    }

    private static List<Integer> lostConflicts(final ConsistencyReport report)
    {
        return report.conflicts().stream().filter(c -> c.kind() == ConsistencyReport.ConflictKind.LOST)
            .map(ConsistencyReport.PartitionConflict::partition).sorted().toList();
    }

    private void assertCleanAndComplete()
    {
        final ConsistencyReport[] report = new ConsistencyReport[1];
        final Engine via = live().get(0);
        via.status().checkConsistency("c", (result, error) ->
        {
            assertTrue(error == null, () -> "the check failed: " + error);
            report[0] = result;
        });
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(10), () -> report[0] != null));
        assertTrue(report[0].isClean(), "conflicts: " + report[0].conflicts());
        assertEquals(PARTITIONS, report[0].partitionsChecked());
        for (final Engine member : live())
        {
            // Settled, no history scan runs: a pin left behind would stop WAL release for good.
            assertEquals(0, member.history().historyPins(), "history pins left");
        }
        for (final Map.Entry<String, String> e : acknowledged.entrySet())
        {
            assertEquals(e.getValue(), read(via, e.getKey()), "key " + e.getKey());
        }
    }

    private void writeAll(final int via, final int count)
    {
        for (int i = 0; i < count; i++)
        {
            put(members[via], "k" + i, "v" + i);
        }
    }

    private void put(final Engine via, final String key, final String value)
    {
        submit(via, OpType.PUT, key, value);
        acknowledged.put(key, value);
    }

    private void remove(final Engine via, final String key)
    {
        submit(via, OpType.REMOVE, key, null);
        acknowledged.put(key, null);
    }

    private OpOutcome submit(final Engine via, final OpType type, final String key, final String value)
    {
        final Object answer = answer(via, type, key, value);
        assertTrue(answer instanceof OpOutcome, () -> type + " " + key + " failed: " + answer);
        return (OpOutcome)answer;
    }

    private String read(final Engine via, final String key)
    {
        final OpOutcome outcome = submit(via, OpType.GET, key, null);
        return outcome.value() == null ? null : new String(outcome.value(), StandardCharsets.UTF_8);
    }

    private int slotOf(final PartitionMap map, final int memberIndex)
    {
        final long incarnation = map.topology().members().get(memberIndex).incarnation();
        for (int slot = 0; slot < SLOTS; slot++)
        {
            if (members[slot] != null && members[slot].incarnation() == incarnation)
            {
                return slot;
            }
        }
        throw new AssertionError("no live member with incarnation " + incarnation);
    }

    /** An answer nobody waits for: the test looks at the copies instead. */
    private static final TxCallback IGNORED = new TxCallback()
    {
        public void onSuccess(final byte[][] values)
        {
        }

        public void onFailure(final GridException failure)
        {
        }
    };

    /** Begin a transaction on {@code via}, lock both keys (awaited), and commit the two values. */
    private void lockAndCommit(final Engine via, final long timeoutNs, final String k1, final String v1,
        final String k2, final String v2, final TxCallback answer)
    {
        final long tx = via.transactions().begin(timeoutNs, 0);
        final boolean[] locked = new boolean[1];
        via.transactions().enlist(tx, cacheId, new byte[][] {bytes(k1), bytes(k2)}, true,
            txCallback(() -> locked[0] = true));
        assertTrue(sim.runUntil(sim.nowNs() + TimeUnit.SECONDS.toNanos(2), () -> locked[0]));
        via.transactions().commit(tx, new int[] {cacheId, cacheId}, new byte[][] {bytes(k1), bytes(k2)},
            new byte[][] {bytes(v1), bytes(v2)}, answer);
    }

    private static TxCallback txCallback(final Runnable onSuccess)
    {
        return new TxCallback()
        {
            public void onSuccess(final byte[][] values)
            {
                onSuccess.run();
            }

            public void onFailure(final GridException failure)
            {
                throw new AssertionError("the transaction failed: " + failure);
            }
        };
    }

    private static byte[] bytes(final String value)
    {
        return value.getBytes(StandardCharsets.UTF_8);
    }
}
