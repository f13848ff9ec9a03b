package dev.grid.sim;

import dev.grid.core.spi.CheckpointStore;
import dev.grid.core.spi.RandomSource;

import java.util.ArrayList;
import java.util.List;

/**
 * A simulated checkpoint store: the member's checkpoint "disk", which outlives the member across a {@link #crash()}.
 * <p>
 * Images are kept as handed over (they are immutable). A commit completes after a random disk latency, as a background
 * writer's would; a crash before that loses the checkpoint being written, and the previous committed one stays in
 * force, as a manifest written last and atomically guarantees. While its volume fails ({@link #failUntil}), a
 * checkpoint written or committed fails: {@link #failure()} says why, as the file store's does, and it never commits.
 * <p>
 * Single-threaded: runs inside the {@link Simulation}.
 */
public final class SimCheckpointStore implements CheckpointStore
{
    private final Simulation simulation;
    private final RandomSource random;
    private final String name;
    private final long diskLatencyMinNs = 5_000_000;
    private final long diskLatencyMaxNs = 150_000_000;
    private Checkpoint committed;
    private long currentId;
    private List<PartitionImage> images = new ArrayList<>();
    private int epoch;
    private long commits;
    private long lostToCrash;
    private long failingUntilNs;
    private long failedId;
    private long failures;

    /**
     * @param simulation to schedule disk completions in.
     * @param random     the disk's own random stream.
     * @param name       for event labels.
     */
    public SimCheckpointStore(final Simulation simulation, final RandomSource random, final String name)
    {
        this.simulation = simulation;
        this.random = random;
        this.name = name;
    }

    public void begin(final long id)
    {
        currentId = id;
        images = new ArrayList<>();
        failIfFailing();
    }

    public void write(final PartitionImage image)
    {
        images.add(image);
        failIfFailing();
    }

    public void commit(final long id, final byte[] manifest)
    {
        if (failIfFailing() || failedId == currentId)
        {
            // A checkpoint that failed never commits, though its volume works again.
            return;
        }
        final int commitEpoch = epoch;
        final List<PartitionImage> written = List.copyOf(images);
        simulation.schedule(random.nextLong(diskLatencyMinNs, diskLatencyMaxNs + 1), "checkpoint " + name, () ->
        {
            if (commitEpoch == epoch && id == currentId && !failIfFailing() && failedId != id)
            {
                committed = new Checkpoint(id, manifest.clone(), written);
                commits++;
            }
        });
    }

    /**
     * The checkpoint volume fails (full, or failing writes) until then: the checkpoint being written, and any begun
     * before then, fails instead of committing; the committed one stays in force.
     *
     * @param untilNs when the volume works again, in the simulation's time.
     */
    public void failUntil(final long untilNs)
    {
        failingUntilNs = Math.max(failingUntilNs, untilNs);
    }

    /** @return whether the volume fails now; if so, the checkpoint being written has failed. */
    private boolean failIfFailing()
    {
        if (simulation.nowNs() >= failingUntilNs || currentId == 0)
        {
            return false;
        }
        if (failedId != currentId)
        {
            failures++;
        }
        failedId = currentId;
        return true;
    }

    /** @return checkpoints that failed on a failing volume. */
    public long failures()
    {
        return failures;
    }

    public long committedId()
    {
        return committed == null ? 0 : committed.id();
    }

    public String failure()
    {
        return currentId != 0 && failedId == currentId ? "checkpoint " + currentId + " of " + name +
            " failed: no space left on its volume" : null;
    }

    public Checkpoint loadLatest()
    {
        return committed;
    }

    /**
     * The process died: a checkpoint being written is lost; the committed one stays.
     */
    public void crash()
    {
        epoch++;
        if (currentId > committedId())
        {
            lostToCrash++;
        }
        currentId = 0;
        images = new ArrayList<>();
    }

    /**
     * @return checkpoints committed so far.
     */
    public long commits()
    {
        return commits;
    }

    /**
     * @return checkpoints a crash interrupted before they committed.
     */
    public long lostToCrash()
    {
        return lostToCrash;
    }
}
