package dev.grid.sim.cluster;

import dev.grid.core.ErrorCode;
import dev.grid.core.NodeStoppingException;
import dev.grid.core.PersistenceException;
import dev.grid.core.engine.Engine;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The faults a {@link ClusterScenario} runs against its members while clients write: crashes and restarts (with
 * torn WAL tails on persistent members), graceful leaves and joins, whole-cluster stops, pauses longer than failure
 * detection, long network splits (a minority, a single member, one way) and flapping links; with
 * {@link ClusterScenario.Options#everyFault} also pauses shorter than failure detection, crashes whose WAL keeps its
 * unsynced writes (a killed process on a machine that kept running), disks that stall, restarts on a wiped data
 * directory and one link cut between two members that both still reach the others (see {@link #strikeAnotherWay});
 * with {@link ClusterScenario.Options#diskFailures} too, disks that fail ({@link #failDisk}). Each kind is scheduled
 * from the scenario's seeded random stream, so a seed replays the same faults at the same virtual times; without
 * those options the stream is drawn exactly as before they existed, so older seeds replay unchanged.
 * <p>
 * <b>Threading:</b> the simulation's thread only.
 */
final class Nemesis
{
    private final ClusterScenario scenario;
    private int nemesisJoins;

    /** When the current pause or long network cut ends: the bank's crashes and leaves wait for it. */
    private long disruptionEndsNs;

    /** Counts network cuts, so that the heal of an earlier cut does not end a later one. */
    int cutGeneration;

    int pauses;
    int longCuts;
    private int shortPauses;
    private int crashesKeepingWrites;
    private int wipedRestarts;
    private int linkCuts;
    private int diskStalls;
    private int walFailures;
    private int failStops;
    private int checkpointVolumeFailures;

    /**
     * How often each fault only {@link ClusterScenario.Options#everyFault} strikes with struck in a run.
     *
     * @param shortPauses          members paused for less than failure detection.
     * @param crashesKeepingWrites crashes whose WAL kept the writes it had not synced.
     * @param wipedRestarts        crashes whose member lost its data directory (it starts again empty).
     * @param linkCuts             cuts of the link between two members that both still reached the others.
     * @param diskStalls           stalls of a member's disk (its syncs wait).
     * @param walFailures          WAL disks that failed ({@link ClusterScenario.Options#diskFailures}).
     * @param failStops            member processes that fail-stopped on a failed WAL write, in the middle of a duty
     *                             cycle or of an operation (not those that had not met their failed disk yet when
     *                             the faults ended, nor at an expelled member's restart).
     * @param checkpointVolumeFailures checkpoint volumes that failed for a while.
     * @param failedCheckpoints    checkpoints that failed on them (on the volumes still there at the end).
     */
    public record MoreFaults(int shortPauses, int crashesKeepingWrites, int wipedRestarts, int linkCuts,
        int diskStalls, int walFailures, int failStops, int checkpointVolumeFailures, long failedCheckpoints)
    {
    }

    Nemesis(final ClusterScenario scenario)
    {
        this.scenario = scenario;
    }

    void scheduleNemesis(final long endNs)
    {
        scenario.sim.schedule(scenario.random.nextLong(700 * ClusterScenario.MS,
            2_500 * ClusterScenario.MS), "nemesis", () ->
        {
            if (scenario.sim.nowNs() >= endNs)
            {
                return;
            }
            // Faults strike member processes: with several shards each, all shards of one at once.
            final List<Integer> live = new ArrayList<>();
            final List<Integer> down = new ArrayList<>();
            for (int process = 0; process < scenario.members.length / scenario.options.shards; process++)
            {
                final boolean up = scenario.slotsOf(process).stream()
                    .anyMatch(slot -> scenario.members[slot] != null);
                (up ? live : down).add(process);
            }
            final boolean disrupted = scenario.sim.nowNs() < disruptionEndsNs;
            // The bank must keep a copy of every partition: a member goes away only while every member is up and no
            // copy is still catching up (two backups, so one member away never takes every copy).
            // Every member settled in one topology that lists them all, too: a coordinator deaf for a while removed
            // two members after it heard again, and a crash then took the third owner of two partitions (persistent
            // bank seed 0x168eff63).
            final boolean mayDisrupt = !scenario.options.bank || (down.isEmpty() &&
                scenario.checks.rebalanced() && !disrupted && !failedDiskPending() && scenario.allSettledTogether());
            if (scenario.options.everyFault && strikeAnotherWay(live, disrupted, mayDisrupt, endNs))
            {
                scheduleNemesis(endNs);
                return;
            }
            final int dice = scenario.random.nextInt(100);
            if (scenario.options.wholeClusterStops && dice >= 88 && live.size() >= 2)
            {
                stopWholeCluster(live, endNs);
            }
            else if (dice >= 75 && dice < 82 && !disrupted && mayDisrupt && live.size() >= 2)
            {
                pause(live.get(scenario.random.nextInt(live.size())), endNs);
            }
            else if (dice >= 82 && dice < 88 && !disrupted && mayDisrupt && live.size() >= 2)
            {
                cutLong(live, endNs);
            }
            else if (dice >= 50 && dice < 75 && !disrupted && !live.isEmpty() &&
                (scenario.options.bank || scenario.options.wholeClusterStops))
            {
                final int cut = live.get(scenario.random.nextInt(live.size()));
                scenario.network.partition(slots(Set.of(cut)));
                healAfter(scenario.random.nextLong(100, 700) * ClusterScenario.MS);
            }
            else if (dice < 35 && live.size() > 2 && mayDisrupt)
            {
                crash(live.get(scenario.random.nextInt(live.size())));
            }
            else if (dice < 50 && live.size() > 2 && mayDisrupt)
            {
                final int process = live.get(scenario.random.nextInt(live.size()));
                if (!scenario.isPaused(scenario.slotsOf(process).get(0)))
                {
                    leave(process);
                }
            }
            else if (!down.isEmpty())
            {
                final int process = down.get(scenario.random.nextInt(down.size()));
                nemesisJoins++;
                start(process);
            }
            scheduleNemesis(endNs);
        });
    }

    /** @return how often each fault only {@link ClusterScenario.Options#everyFault} strikes with struck. */
    MoreFaults moreFaults()
    {
        long failedCheckpoints = 0;
        for (int slot = 0; slot < scenario.members.length; slot++)
        {
            failedCheckpoints += scenario.checkpoints(slot) == null ? 0 : scenario.checkpoints(slot).failures();
        }
        return new MoreFaults(shortPauses, crashesKeepingWrites, wipedRestarts, linkCuts, diskStalls, walFailures,
            failStops, checkpointVolumeFailures, failedCheckpoints);
    }

    /**
     * Thirty-six rolls in a hundred: a fault of a kind the others leave out, if the run allows it now (else the usual
     * kinds roll). A pause shorter than failure detection (a GC pause: nobody removes the member, but its answers come
     * late and its view is stale when it runs on); a crash of a process killed on a machine that kept running, so its
     * WAL keeps what it appended and never synced; a crash after which the member's data directory is gone (a replaced
     * disk: it starts again empty, on a run's usual start), in persistent runs without whole-cluster stops, where
     * nothing may be lost; one link cut between two members that both still reach the others, longer than failure
     * detection; and a member's disk that stalls for 0.3-4 s (its syncs wait: its updates are not acknowledged, as
     * primary or as backup, and an exchange waits for them; failure detection sees nothing), in persistent runs.
     * With {@link ClusterScenario.Options#diskFailures}, eight rolls more: a disk that fails ({@link #failDisk}).
     *
     * @return whether a fault struck.
     */
    private boolean strikeAnotherWay(final List<Integer> live, final boolean disrupted, final boolean mayDisrupt,
        final long endNs)
    {
        final int dice = scenario.random.nextInt(100);
        final boolean persistent = scenario.options.persistent;
        if (dice < 8 && !disrupted && mayDisrupt && live.size() >= 2)
        {
            shortPauses++;
            pauseFor(live.get(scenario.random.nextInt(live.size())), scenario.random.nextLong(100, 900), endNs);
        }
        else if (dice >= 8 && dice < 16 && persistent && mayDisrupt && live.size() > 2)
        {
            kill(live.get(scenario.random.nextInt(live.size())));
        }
        else if (dice >= 16 && dice < 22 && persistent && !scenario.options.wholeClusterStops && mayDisrupt &&
            live.size() > 2)
        {
            wipedRestarts++;
            final int process = live.get(scenario.random.nextInt(live.size()));
            crash(process);
            traceFault("wipes the data directory of", process);
            scenario.slotsOf(process).forEach(scenario::wipe);
        }
        else if (dice >= 22 && dice < 30 && !disrupted && mayDisrupt && live.size() >= 3)
        {
            linkCuts++;
            cutLink(live, endNs);
        }
        else if (dice >= 30 && dice < 36 && persistent && !live.isEmpty())
        {
            diskStalls++;
            final int process = live.get(scenario.random.nextInt(live.size()));
            final long untilNs = scenario.sim.nowNs() + scenario.random.nextLong(300, 4_000) * ClusterScenario.MS;
            traceFault("stalls until " + untilNs + " the disk of", process);
            for (final int slot : scenario.slotsOf(process))
            {
                if (scenario.wal(slot) != null)
                {
                    scenario.wal(slot).stallUntil(untilNs);
                }
            }
        }
        else if (dice >= 36 && dice < 44 && persistent && scenario.options.diskFailures && !live.isEmpty())
        {
            failDisk(live.get(scenario.random.nextInt(live.size())), dice < 40 && mayDisrupt && live.size() > 2);
        }
        else
        {
            return false;
        }
        return true;
    }

    /**
     * A process's disk fails. Its WAL ({@code wal}): every write fails from now on, and the member fail-stops at its
     * next one, in the middle of a duty cycle, what it sent before in that cycle sent ({@link #failStop}); it starts
     * again later on the repaired disk. Else its checkpoint volume, for 0.5-5 s (full): the checkpoints written
     * meanwhile fail, and the member runs on, its WAL growing until one commits.
     */
    private void failDisk(final int process, final boolean wal)
    {
        final long untilNs = scenario.sim.nowNs() + scenario.random.nextLong(500, 5_000) * ClusterScenario.MS;
        traceFault(wal ? "fails the WAL disk of" : "fails until " + untilNs + " the checkpoint volume of", process);
        for (final int slot : scenario.slotsOf(process))
        {
            if (scenario.wal(slot) != null && wal)
            {
                walFailures++;
                scenario.wal(slot).fail();
            }
            else if (scenario.checkpoints(slot) != null)
            {
                checkpointVolumeFailures++;
                scenario.checkpoints(slot).failUntil(untilNs);
            }
        }
        if (wal)
        {
            // The member goes down at its next write: other faults wait a little, as for a crash they would (the
            // bank's, which must spare a copy of every partition, until it is down: failedDiskPending).
            disruptionEndsNs = Math.max(disruptionEndsNs, scenario.sim.nowNs() + 200 * ClusterScenario.MS);
        }
    }

    /**
     * A write to a failed disk threw in a member's duty cycle (or in an operation it began at once): every process
     * whose WAL threw fail-stops.
     */
    void failStopWhereThrown(final PersistenceException cause)
    {
        boolean stopped = false;
        for (int slot = 0; slot < scenario.members.length; slot++)
        {
            if (scenario.members[slot] != null && scenario.wal(slot) != null && scenario.wal(slot).hasThrown())
            {
                failStops++;
                failStop(scenario.processOf(slot), cause);
                stopped = true;
            }
        }
        if (!stopped)
        {
            // Not a disk the nemesis failed: an engine bug, which must fail the run.
            throw cause;
        }
    }

    /**
     * A member expelled while running starts a new engine in the same process, on the same disk: a failed one fails
     * it at its first write, so it fail-stops instead.
     *
     * @return whether the member in the slot fail-stopped.
     */
    boolean failStopIfDiskFailed(final int slot)
    {
        if (scenario.wal(slot) == null || !scenario.wal(slot).hasFailed())
        {
            return false;
        }
        failStop(scenario.processOf(slot), new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED,
            "the disk of m" + slot + " failed"));
        return true;
    }

    /** @return whether a live member's WAL disk failed and the member has not met it yet (it goes down then). */
    private boolean failedDiskPending()
    {
        for (int slot = 0; slot < scenario.members.length; slot++)
        {
            if (scenario.members[slot] != null && scenario.wal(slot) != null && scenario.wal(slot).hasFailed())
            {
                return true;
            }
        }
        return false;
    }

    /** The faults end: a member whose disk failed would meet it at its next write; it fail-stops now. */
    void failStopOnFailedDisks()
    {
        for (int slot = 0; slot < scenario.members.length; slot++)
        {
            if (scenario.members[slot] != null && scenario.wal(slot) != null && scenario.wal(slot).hasFailed())
            {
                failStop(scenario.processOf(slot), new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED,
                    "the disk of m" + slot + " failed"));
            }
        }
    }

    /**
     * A member met its failed disk: as its agent does, it fails every operation in flight and its process stops
     * (every shard), its unsynced writes lost.
     */
    private void failStop(final int process, final PersistenceException cause)
    {
        traceFault("sees fail-stop (" + cause.getMessage() + ")", process);
        for (final int slot : scenario.slotsOf(process))
        {
            final Engine engine = scenario.members[slot];
            if (engine != null)
            {
                engine.fail(new NodeStoppingException("member m" + slot + " failed and stops: " + cause.getMessage()));
                scenario.crash(slot);
            }
        }
    }

    /** The link between two live processes fails both ways for longer than failure detection; both reach the rest. */
    private void cutLink(final List<Integer> live, final long endNs)
    {
        final int generation = ++cutGeneration;
        final long untilNs = Math.min(scenario.sim.nowNs() + scenario.random.nextLong(1_200,
            4_000) * ClusterScenario.MS, endNs);
        disruptionEndsNs = Math.max(disruptionEndsNs, untilNs);
        final List<Integer> order = new ArrayList<>(live);
        scenario.shuffle(order);
        for (final int a : scenario.slotsOf(order.get(0)))
        {
            for (final int b : scenario.slotsOf(order.get(1)))
            {
                scenario.network.blockOneWay(a, b);
                scenario.network.blockOneWay(b, a);
            }
        }
        if (ClusterScenario.TRACE)
        {
            System.out.println(scenario.sim.nowNs() + " nemesis cuts the link " + scenario.slotsOf(order.get(0)) +
                " - " + scenario.slotsOf(order.get(1)) + " until " + untilNs);
        }
        healAt(generation, untilNs - scenario.sim.nowNs());
    }

    /**
     * One member stops running for longer than failure detection (1 s): a long GC pause or SIGSTOP. Its peers remove
     * it; it runs on with its stale view and a full inbox, must learn it lost quorum before it acts, and rejoins.
     */
    private void pause(final int process, final long endNs)
    {
        pauses++;
        pauseFor(process, scenario.random.nextLong(1_100, 3_000), endNs);
    }

    /** The process's shards stop running for {@code ms} milliseconds (or until the faults end). */
    private void pauseFor(final int process, final long ms, final long endNs)
    {
        final long untilNs = Math.min(scenario.sim.nowNs() + ms * ClusterScenario.MS, endNs);
        for (final int slot : scenario.slotsOf(process))
        {
            scenario.pausedUntilNs[slot] = untilNs;
        }
        disruptionEndsNs = Math.max(disruptionEndsNs, untilNs);
        if (ClusterScenario.TRACE)
        {
            System.out.println(scenario.sim.nowNs() + " nemesis pauses " + scenario.slotsOf(process) + " until " +
                untilNs);
        }
    }

    /** The process is killed on a machine that keeps running: its WAL keeps the writes it had not synced. */
    private void kill(final int process)
    {
        crashesKeepingWrites++;
        traceFault("kills (its unsynced writes kept)", process);
        for (final int slot : scenario.slotsOf(process))
        {
            if (scenario.members[slot] != null)
            {
                scenario.crash(slot, true);
            }
        }
    }

    /** The live shards of a process crash: a process dies with all its shards. */
    private void crash(final int process)
    {
        traceFault("crashes", process);
        for (final int slot : scenario.slotsOf(process))
        {
            if (scenario.members[slot] != null)
            {
                scenario.crash(slot);
            }
        }
    }

    /** The live shards of a process leave gracefully, as when its process is stopped. */
    private void leave(final int process)
    {
        traceFault("stops", process);
        for (final int slot : scenario.slotsOf(process))
        {
            if (scenario.members[slot] != null)
            {
                scenario.leave(slot);
            }
        }
    }

    /** The process starts again, with every shard that is not running. */
    private void start(final int process)
    {
        traceFault("starts", process);
        for (final int slot : scenario.slotsOf(process))
        {
            if (scenario.members[slot] == null)
            {
                scenario.start(slot);
            }
        }
    }

    private void traceFault(final String what, final int process)
    {
        if (ClusterScenario.TRACE)
        {
            System.out.println(scenario.sim.nowNs() + " nemesis " + what + " " + scenario.slotsOf(process));
        }
    }

    /** @return the slots of the shards of some processes. */
    private Set<Integer> slots(final Set<Integer> processes)
    {
        final Set<Integer> slots = new HashSet<>();
        processes.forEach(process -> slots.addAll(scenario.slotsOf(process)));
        return slots;
    }

    /**
     * Every live process stops: all crash at once, or one by one (each crashing or leaving, the next once the others
     * noticed or not), unless the faults ended meanwhile; with every fault, half the crashes keep their unsynced
     * writes. Then they start again in a random order, a random subset of
     * them before the faults end (the rest when they end), a few hundred milliseconds to seconds apart.
     */
    private void stopWholeCluster(final List<Integer> live, final long endNs)
    {
        scenario.wholeClusterStops++;
        scenario.minimumMembers = 1;
        final List<Integer> order = new ArrayList<>(live);
        scenario.shuffle(order);
        final boolean atOnce = scenario.random.nextInt(3) == 0;
        long atNs = 0;
        for (final int process : order)
        {
            final boolean crash = atOnce || scenario.random.nextInt(2) == 0;
            // Drawn only with every fault, so that older seeds replay unchanged.
            final boolean keepWrites = crash && scenario.options.everyFault && scenario.random.nextInt(2) == 0;
            scenario.sim.schedule(atNs, "whole-cluster stop m" + process, () ->
            {
                // Faults end with the chaos: the settled cluster must have every member back.
                if (scenario.sim.nowNs() < endNs)
                {
                    if (keepWrites)
                    {
                        kill(process);
                    }
                    else if (crash)
                    {
                        crash(process);
                    }
                    else
                    {
                        leave(process);
                    }
                }
            });
            atNs += atOnce ? 0 : scenario.random.nextLong(10, 2_000) * ClusterScenario.MS;
        }
        scenario.shuffle(order);
        final int restarting = scenario.random.nextInt(order.size() + 1);
        long restartNs = atNs + scenario.random.nextLong(100, 1_500) * ClusterScenario.MS;
        for (int i = 0; i < restarting; i++)
        {
            final int process = order.get(i);
            scenario.sim.schedule(restartNs, "whole-cluster restart m" + process, () -> start(process));
            restartNs += scenario.random.nextLong(50, 2_500) * ClusterScenario.MS;
        }
    }

    /**
     * The network splits for longer than failure detection, in one of the shapes the simulated network makes: one
     * member cut off, a minority cut off, one member deaf or mute (asymmetric), or one member's links flapping.
     */
    private void cutLong(final List<Integer> live, final long endNs)
    {
        longCuts++;
        final int generation = ++cutGeneration;
        final long untilNs = Math.min(scenario.sim.nowNs() + scenario.random.nextLong(1_200,
            4_000) * ClusterScenario.MS, endNs);
        disruptionEndsNs = Math.max(disruptionEndsNs, untilNs);
        final int one = live.get(scenario.random.nextInt(live.size()));
        final Set<Integer> oneSlots = slots(Set.of(one));
        final int shape = scenario.random.nextInt(4);
        final String what;
        if (shape == 0 || shape == 1 && live.size() < 4)
        {
            what = "cuts " + oneSlots + " off";
            scenario.network.partition(oneSlots);
        }
        else if (shape == 1)
        {
            final List<Integer> order = new ArrayList<>(live);
            scenario.shuffle(order);
            final Set<Integer> minority = new HashSet<>(order.subList(0, (live.size() - 1) / 2));
            what = "cuts the minority " + slots(minority) + " off";
            scenario.network.partition(slots(minority));
        }
        else if (shape == 2)
        {
            final boolean deaf = scenario.random.nextInt(2) == 0;
            what = "makes " + oneSlots + (deaf ? " deaf" : " mute");
            for (int other = 0; other < scenario.members.length; other++)
            {
                for (final int slot : oneSlots)
                {
                    if (!oneSlots.contains(other))
                    {
                        scenario.network.blockOneWay(deaf ? other : slot, deaf ? slot : other);
                    }
                }
            }
        }
        else
        {
            what = "flaps " + oneSlots + "'s links";
            flap(oneSlots, generation, untilNs, true);
        }
        if (ClusterScenario.TRACE)
        {
            System.out.println(scenario.sim.nowNs() + " nemesis " + what + " until " + untilNs);
        }
        healAt(generation, untilNs - scenario.sim.nowNs());
    }

    private void flap(final Set<Integer> slots, final int generation, final long untilNs, final boolean cut)
    {
        scenario.sim.schedule(scenario.random.nextLong(150, 600) * ClusterScenario.MS, "flap m" + slots, () ->
        {
            if (cutGeneration != generation || scenario.sim.nowNs() >= untilNs)
            {
                return;
            }
            if (cut)
            {
                scenario.network.heal();
            }
            else
            {
                scenario.network.partition(slots);
            }
            flap(slots, generation, untilNs, !cut);
        });
        if (cut)
        {
            scenario.network.partition(slots);
        }
    }

    private void healAfter(final long delayNs)
    {
        healAt(++cutGeneration, delayNs);
    }

    /** Heal the network after {@code delayNs}, unless a later cut (another generation) started meanwhile. */
    private void healAt(final int generation, final long delayNs)
    {
        scenario.sim.schedule(delayNs, "heal", () ->
        {
            if (cutGeneration == generation)
            {
                scenario.network.heal();
            }
        });
    }
}
