package dev.grid.core;

/**
 * The operation touched a lost partition (every owner of it left the cluster), or wrote to a
 * {@link PartitionLossPolicy#READ_ONLY_SAFE} cache that has one; nothing was applied. The message names the cache and
 * partition. Bring back the members that held it and reset it with {@link Grid#resetLostPartitions(String...)}.
 * <p>
 * Also, whatever the policy: the cluster restarted from its data directories (every member had stopped or left) and
 * serves no key operation until the members of its newest ownership table are back, since a copy here may lack
 * acknowledged updates one of them holds. The message says so; bringing those members back ends it, with no reset, or
 * {@link Grid#activate()} when some of them will never return.
 * <p>
 * Carries {@link ErrorCode#PARTITION_LOST}.
 */
public class PartitionLostException extends GridException
{
    private static final long serialVersionUID = 1L;

    /**
     * Create the exception.
     *
     * @param message naming the cache and partition.
     */
    public PartitionLostException(final String message)
    {
        super(ErrorCode.PARTITION_LOST, message);
    }
}
