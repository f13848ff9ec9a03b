package dev.grid.sim.cluster;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The faults a {@link ClusterScenario} runs against its members while clients write: crashes and restarts (with
 * torn WAL tails on persistent members), graceful leaves and joins, whole-cluster stops, pauses longer than failure
 * detection, long network splits (a minority, a single member, one way) and flapping links. Each kind is scheduled
 * from the scenario's seeded random stream, so a seed replays the same faults at the same virtual times.
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
            final List<Integer> live = scenario.liveSlots();
            final List<Integer> down = new ArrayList<>();
            for (int i = 0; i < scenario.members.length; i++)
            {
                if (scenario.members[i] == null)
                {
                    down.add(i);
                }
            }
            final int dice = scenario.random.nextInt(100);
            final boolean disrupted = scenario.sim.nowNs() < disruptionEndsNs;
            // The bank must keep a copy of every partition: a member goes away only while every member is up and no
            // copy is still catching up (two backups, so one member away never takes every copy).
            final boolean mayDisrupt = !scenario.options.bank || (down.isEmpty() &&
                scenario.checks.rebalanced() && !disrupted);
            if (scenario.options.wholeClusterStops && dice >= 88 && live.size() >= 2)
            {
                scenario.stopWholeCluster(live, endNs);
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
                scenario.network.partition(Set.of(cut));
                healAfter(scenario.random.nextLong(100, 700) * ClusterScenario.MS);
            }
            else if (dice < 35 && live.size() > 2 && mayDisrupt)
            {
                scenario.crash(live.get(scenario.random.nextInt(live.size())));
            }
            else if (dice < 50 && live.size() > 2 && mayDisrupt)
            {
                final int slot = live.get(scenario.random.nextInt(live.size()));
                if (!scenario.isPaused(slot))
                {
                    scenario.leave(slot);
                }
            }
            else if (!down.isEmpty())
            {
                final int slot = down.get(scenario.random.nextInt(down.size()));
                nemesisJoins++;
                scenario.start(slot);
            }
            scheduleNemesis(endNs);
        });
    }

    /**
     * One member stops running for longer than failure detection (1 s): a long GC pause or SIGSTOP. Its peers remove
     * it; it runs on with its stale view and a full inbox, must learn it lost quorum before it acts, and rejoins.
     */
    private void pause(final int slot, final long endNs)
    {
        pauses++;
        final long untilNs = Math.min(scenario.sim.nowNs() + scenario.random.nextLong(1_100,
            3_000) * ClusterScenario.MS, endNs);
        scenario.pausedUntilNs[slot] = untilNs;
        disruptionEndsNs = Math.max(disruptionEndsNs, untilNs);
        if (ClusterScenario.TRACE)
        {
            System.out.println(scenario.sim.nowNs() + " nemesis pauses m" + slot + " until " + untilNs);
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
        final int shape = scenario.random.nextInt(4);
        final String what;
        if (shape == 0 || shape == 1 && live.size() < 4)
        {
            what = "cuts m" + one + " off";
            scenario.network.partition(Set.of(one));
        }
        else if (shape == 1)
        {
            final List<Integer> order = new ArrayList<>(live);
            scenario.shuffle(order);
            final Set<Integer> minority = new HashSet<>(order.subList(0, (live.size() - 1) / 2));
            what = "cuts the minority " + minority + " off";
            scenario.network.partition(minority);
        }
        else if (shape == 2)
        {
            final boolean deaf = scenario.random.nextInt(2) == 0;
            what = "makes m" + one + (deaf ? " deaf" : " mute");
            for (int other = 0; other < scenario.members.length; other++)
            {
                if (other != one)
                {
                    if (deaf)
                    {
                        scenario.network.blockOneWay(other, one);
                    }
                    else
                    {
                        scenario.network.blockOneWay(one, other);
                    }
                }
            }
        }
        else
        {
            what = "flaps m" + one + "'s links";
            flap(one, generation, untilNs, true);
        }
        if (ClusterScenario.TRACE)
        {
            System.out.println(scenario.sim.nowNs() + " nemesis " + what + " until " + untilNs);
        }
        healAt(generation, untilNs - scenario.sim.nowNs());
    }

    private void flap(final int slot, final int generation, final long untilNs, final boolean cut)
    {
        scenario.sim.schedule(scenario.random.nextLong(150, 600) * ClusterScenario.MS, "flap m" + slot, () ->
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
                scenario.network.partition(Set.of(slot));
            }
            flap(slot, generation, untilNs, !cut);
        });
        if (cut)
        {
            scenario.network.partition(Set.of(slot));
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
