package dev.grid.core;

/**
 * What a cache does with a partition whose every owner left the cluster (a <em>lost</em> partition): the copies it
 * gets next are empty, or are stale copies of members that were away, so answering from them would hide the loss.
 * A lost partition stays lost, across later membership changes and returning owners, until an operator resets it
 * ({@link Grid#resetLostPartitions(String...)}); returning the members that held it first keeps its data.
 */
public enum PartitionLossPolicy
{
    /** Reads and writes of keys in lost partitions fail with {@link PartitionLostException}; others work. */
    READ_WRITE_SAFE,
    /**
     * While any partition of the cache is lost, every write to the cache fails with {@link PartitionLostException};
     * reads of keys in lost partitions fail too, reads of the others work.
     */
    READ_ONLY_SAFE,
    /**
     * A lost partition is served at once by whatever copies it got (empty, or a returning member's): its loss is only
     * reported. For caches whose data can be rebuilt.
     */
    IGNORE
}
