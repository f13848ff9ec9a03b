package dev.grid.sim.toy;

import dev.grid.core.spi.RandomSource;
import dev.grid.sim.SimNetwork;
import dev.grid.sim.SimWal;
import dev.grid.sim.Simulation;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * One seeded run of {@link ToyReplicaMember}s in the simulator, in two phases.
 * <ol>
 *     <li><b>Safety</b>: a workload writes and removes keys on the primary while the nemesis drops, duplicates and
 *     reorders messages, partitions a minority, isolates one member or cuts one direction of a link, and crashes and
 *     restarts backups (their WALs lose what was not durable, sometimes leaving a torn record). After every event:
 *     every copy's LWM is at most its HWM and at most the primary's HWM, and every acknowledged write is closed on
 *     every live backup.</li>
 *     <li><b>Liveness</b>: faults stop, the network heals, crashed members restart; the cluster must converge within a
 *     bound: nothing in flight, every copy at the primary's LWM and HWM, equal content hashes, and every key holding
 *     the value of its newest write.</li>
 * </ol>
 * Fault rates are drawn per seed (a "swarm"), so different seeds stress different mixes.
 */
public final class ToyClusterScenario
{
    /** What a run does; fluent. */
    public static final class Options
    {
        int members = 3;
        long safetyNs = TimeUnit.MILLISECONDS.toNanos(1500);
        long livenessNs = TimeUnit.SECONDS.toNanos(10);
        boolean faults = true;
        boolean acknowledgeBeforeDurable;
        boolean traceEvents;

        /**
         * @param members how many members (endpoint 0 is the primary), at least 2.
         * @return this.
         */
        public Options members(final int members)
        {
            this.members = members;
            return this;
        }

        /**
         * @param safetyNs virtual time of the faulty phase.
         * @return this.
         */
        public Options safetyNs(final long safetyNs)
        {
            this.safetyNs = safetyNs;
            return this;
        }

        /**
         * @param faults whether the nemesis and message faults run.
         * @return this.
         */
        public Options faults(final boolean faults)
        {
            this.faults = faults;
            return this;
        }

        /**
         * @param bug inject the acknowledge-before-durable bug into the backups.
         * @return this.
         */
        public Options acknowledgeBeforeDurable(final boolean bug)
        {
            this.acknowledgeBeforeDurable = bug;
            return this;
        }

        /**
         * @param traceEvents print every event.
         * @return this.
         */
        public Options traceEvents(final boolean traceEvents)
        {
            this.traceEvents = traceEvents;
            return this;
        }
    }

    /**
     * What a run did.
     *
     * @param seed             of the run.
     * @param traceHash        SHA-256 of every event.
     * @param eventCount       events run.
     * @param virtualTimeNs    virtual time at the end.
     * @param acknowledged     writes acknowledged.
     * @param crashes          member crashes.
     * @param partitions       partition faults.
     * @param sent             messages offered.
     * @param dropped          messages lost.
     * @param duplicated       messages duplicated.
     * @param tornTails        torn WAL tails found by recovery.
     * @param lwm              the converged LWM.
     * @param contentHash      the converged content hash.
     * @param size             live keys at the end.
     */
    public record Result(long seed, String traceHash, long eventCount, long virtualTimeNs, long acknowledged,
        long crashes, long partitions, long sent, long dropped, long duplicated, long tornTails, long lwm,
        long contentHash, int size)
    {
    }

    private static final long TICK_NS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long RETRANSMIT_NS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final int KEYS = 64;

    private final Options options;
    private final Simulation simulation;
    private final SimNetwork network;
    private final RandomSource workloadRandom;
    private final RandomSource nemesisRandom;
    private final RandomSource[] memberRandom;
    private final SimWal[] wals;
    private final ToyReplicaMember[] members;
    private final boolean[] down;
    private final long[] clockSkewNs;
    /** Acknowledged writes by counter: {key, value-or-null}. */
    private final TreeMap<Long, byte[][]> acknowledged = new TreeMap<>();
    /** The newest submitted write per key, by counter: the value every copy must end with. */
    private final TreeMap<String, Long> newestCounterByKey = new TreeMap<>();
    private final TreeMap<Long, byte[]> submittedValues = new TreeMap<>();
    private boolean faultsActive;
    private long crashes;
    private long partitions;
    private long valueSequence;

    private ToyClusterScenario(final long seed, final Options options)
    {
        this.options = options;
        simulation = new Simulation(seed);
        simulation.traceEvents(options.traceEvents);
        final RandomSource swarm = simulation.fork();
        network = new SimNetwork(simulation, simulation.fork(), options.members);
        workloadRandom = simulation.fork();
        nemesisRandom = simulation.fork();
        if (options.faults)
        {
            network.latency(50_000, 100_000 + swarm.nextLong(0, 5_000_000))
                .faults(swarm.nextDouble() * 0.2, swarm.nextDouble() * 0.1);
        }
        memberRandom = new RandomSource[options.members];
        wals = new SimWal[options.members];
        members = new ToyReplicaMember[options.members];
        down = new boolean[options.members];
        clockSkewNs = new long[options.members];
        for (int i = 0; i < options.members; i++)
        {
            memberRandom[i] = simulation.fork();
            wals[i] = new SimWal(simulation, simulation.fork(), "wal-" + i);
            clockSkewNs[i] = memberRandom[i].nextLong(-5_000_000, 5_000_001);
        }
    }

    /**
     * Run one seed.
     *
     * @param seed    of the run.
     * @param options what to run.
     * @return what happened.
     * @throws dev.grid.sim.SimulationException naming the seed if an invariant fails or the cluster does not converge.
     */
    public static Result run(final long seed, final Options options)
    {
        return new ToyClusterScenario(seed, options).run();
    }

    private Result run()
    {
        for (int i = 0; i < options.members; i++)
        {
            start(i);
        }
        simulation.addInvariant(this::checkCounters);
        simulation.addInvariant(this::checkAcknowledgedWritesAreClosedOnLiveBackups);
        faultsActive = options.faults;
        scheduleWrite();
        if (faultsActive)
        {
            scheduleFault();
        }
        simulation.runUntil(options.safetyNs, null);

        faultsActive = false;
        network.faults(0, 0);
        network.heal();
        for (int i = 0; i < options.members; i++)
        {
            if (down[i])
            {
                restart(i);
            }
        }
        if (!simulation.runUntil(simulation.nowNs() + options.livenessNs, this::converged))
        {
            throw simulation.fail("did not converge within " + options.livenessNs + " ns after healing: " + state());
        }
        checkConvergedContents();
        long tornTails = 0;
        for (final SimWal wal : wals)
        {
            tornTails += wal.tornTailCount();
        }
        final ToyReplicaMember primary = members[0];
        return new Result(simulation.seed(), simulation.traceHash(), simulation.eventCount(), simulation.nowNs(),
            acknowledged.size(), crashes, partitions, network.sentCount(), network.droppedCount(),
            network.duplicatedCount(), tornTails, primary.counter().lwm(), primary.store().contentHash(),
            primary.store().size());
    }

    private void start(final int endpoint)
    {
        members[endpoint] = new ToyReplicaMember(endpoint, options.members,
            network.transport(endpoint, () -> doWork(endpoint)), wals[endpoint], RETRANSMIT_NS,
            endpoint != 0 && options.acknowledgeBeforeDurable,
            (counter, key, value) -> acknowledged.put(counter, new byte[][]{ key, value }));
        scheduleTick(endpoint, members[endpoint]);
    }

    private void scheduleTick(final int endpoint, final ToyReplicaMember member)
    {
        simulation.schedule(TICK_NS + memberRandom[endpoint].nextLong(0, TICK_NS / 4), "tick " + endpoint, () ->
        {
            // A tick of an incarnation that crashed is dropped; the restarted one has its own.
            if (members[endpoint] == member && !down[endpoint])
            {
                member.doWork(simulation.nowNs() + clockSkewNs[endpoint]);
                scheduleTick(endpoint, member);
            }
        });
    }

    private void doWork(final int endpoint)
    {
        if (!down[endpoint])
        {
            members[endpoint].doWork(simulation.nowNs() + clockSkewNs[endpoint]);
        }
    }

    private void scheduleWrite()
    {
        simulation.schedule(workloadRandom.nextLong(100_000, 600_000), "write", () ->
        {
            if (simulation.nowNs() >= options.safetyNs)
            {
                return;
            }
            final String key = "k" + workloadRandom.nextInt(KEYS);
            final byte[] value = workloadRandom.chance(0.15) ? null :
                ("v" + valueSequence++).getBytes(StandardCharsets.UTF_8);
            final long counter = members[0].submit(key.getBytes(StandardCharsets.UTF_8), value);
            if (counter > 0)
            {
                newestCounterByKey.put(key, counter);
                submittedValues.put(counter, value);
            }
            scheduleWrite();
        });
    }

    private void scheduleFault()
    {
        simulation.schedule(nemesisRandom.nextLong(20_000_000, 120_000_000), "fault", () ->
        {
            if (!faultsActive)
            {
                return;
            }
            injectFault(nemesisRandom.nextInt(5));
            scheduleFault();
        });
    }

    private void injectFault(final int kind)
    {
        final int victim = 1 + nemesisRandom.nextInt(options.members - 1);
        switch (kind)
        {
            case 0:
                partitions++;
                network.partition(Set.of(victim));
                break;
            case 1:
                partitions++;
                network.partition(Set.of(0));
                break;
            case 2:
                partitions++;
                network.blockOneWay(nemesisRandom.nextInt(options.members), victim);
                break;
            case 3:
                network.heal();
                break;
            default:
                if (!down[victim])
                {
                    crash(victim);
                    simulation.schedule(nemesisRandom.nextLong(5_000_000, 80_000_000), "restart " + victim, () ->
                    {
                        if (down[victim])
                        {
                            restart(victim);
                        }
                    });
                }
        }
    }

    private void crash(final int endpoint)
    {
        crashes++;
        down[endpoint] = true;
        network.down(endpoint, true);
        wals[endpoint].crash();
    }

    private void restart(final int endpoint)
    {
        down[endpoint] = false;
        network.down(endpoint, false);
        start(endpoint);
    }

    private void checkCounters(final long nowNs)
    {
        final long primaryHwm = members[0].counter().hwm();
        for (int i = 0; i < options.members; i++)
        {
            final long lwm = members[i].counter().lwm();
            if (lwm > members[i].counter().hwm() || lwm > primaryHwm)
            {
                throw new AssertionError("member " + i + " LWM " + lwm + " above its HWM " +
                    members[i].counter().hwm() + " or the primary's HWM " + primaryHwm);
            }
        }
    }

    private void checkAcknowledgedWritesAreClosedOnLiveBackups(final long nowNs)
    {
        for (int i = 1; i < options.members; i++)
        {
            if (down[i])
            {
                continue;
            }
            for (final long counter : acknowledged.tailMap(members[i].counter().lwm(), false).keySet())
            {
                if (!members[i].counter().isClosed(counter))
                {
                    throw new AssertionError("acknowledged write " + counter + " is lost on member " + i + " " +
                        members[i].counter());
                }
            }
        }
    }

    private boolean converged()
    {
        final long hwm = members[0].counter().hwm();
        if (members[0].inFlightCount() > 0)
        {
            return false;
        }
        for (final ToyReplicaMember member : members)
        {
            if (member.counter().lwm() != hwm || member.counter().gapCount() != 0)
            {
                return false;
            }
        }
        return true;
    }

    private void checkConvergedContents()
    {
        final long hash = members[0].store().contentHash();
        for (int i = 1; i < options.members; i++)
        {
            if (members[i].store().contentHash() != hash || members[i].store().size() != members[0].store().size())
            {
                throw simulation.fail("member " + i + " contents differ from the primary: " + state());
            }
        }
        for (final Map.Entry<String, Long> newest : newestCounterByKey.entrySet())
        {
            final byte[] expected = submittedValues.get(newest.getValue());
            final byte[] actual = members[0].store().get(newest.getKey().getBytes(StandardCharsets.UTF_8));
            if (!Arrays.equals(expected, actual))
            {
                throw simulation.fail("key " + newest.getKey() + " lost its newest write " + newest.getValue());
            }
        }
    }

    private String state()
    {
        final StringBuilder builder = new StringBuilder();
        for (int i = 0; i < options.members; i++)
        {
            builder.append("[member ").append(i).append(down[i] ? " down " : " ").append(members[i].counter())
                .append(" size=").append(members[i].store().size()).append("] ");
        }
        return builder.append("inFlight=").append(members[0].inFlightCount()).toString();
    }
}
