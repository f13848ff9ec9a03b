package dev.grid.core.engine;

import dev.grid.core.CacheConfiguration;
import dev.grid.core.EvictionPolicy;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.QuorumReadPolicy;

/**
 * A cache as the cluster knows it: its configuration by value (codecs and the merge operator by name, since code does
 * not travel) plus the id the coordinator gave it and the operation that created it (so that a retried create is
 * recognised as the same one). Immutable.
 *
 * @param cacheId               cluster-wide id, never reused within a cluster's life.
 * @param name                  the cache's name.
 * @param partitions            number of partitions.
 * @param backups               backups per partition.
 * @param keyCodec              key codec name.
 * @param valueCodec            value codec name.
 * @param backupFilterAttribute member attribute that spreads copies, or null.
 * @param operationTimeoutNs    default operation timeout.
 * @param mergeOperator         merge operator name, or null.
 * @param creatorIncarnation    incarnation of the member that asked for the cache.
 * @param creatorSequence       sequence of that request.
 * @param lossPolicy            what the cache does with lost partitions.
 * @param lostResets            how many times an operator reset the cache's lost partitions: a map decided under
 *                              fewer resets than the topology's cache says keeps none of its lost flags.
 * @param readsWithoutQuorum    what a member without quorum does with reads.
 * @param expiry                when entries expire, or null if they never do (values are then stored as they are;
 *                              with a policy, each stored value starts with its expiry time).
 * @param eviction              how the cache stays within its size per member, or null if it evicts nothing.
 * @param journalCapacity       events each partition copy journals for listeners, 0 for no journal.
 */
public record CacheDescriptor(
    int cacheId,
    String name,
    int partitions,
    int backups,
    String keyCodec,
    String valueCodec,
    String backupFilterAttribute,
    long operationTimeoutNs,
    String mergeOperator,
    long creatorIncarnation,
    long creatorSequence,
    PartitionLossPolicy lossPolicy,
    int lostResets,
    QuorumReadPolicy readsWithoutQuorum,
    ExpiryPolicy expiry,
    EvictionPolicy eviction,
    int journalCapacity)
{
    /**
     * A descriptor of a cache whose entries never expire.
     */
    public CacheDescriptor(final int cacheId, final String name, final int partitions, final int backups,
        final String keyCodec, final String valueCodec, final String backupFilterAttribute,
        final long operationTimeoutNs, final String mergeOperator, final long creatorIncarnation,
        final long creatorSequence, final PartitionLossPolicy lossPolicy, final int lostResets,
        final QuorumReadPolicy readsWithoutQuorum)
    {
        this(cacheId, name, partitions, backups, keyCodec, valueCodec, backupFilterAttribute, operationTimeoutNs,
            mergeOperator, creatorIncarnation, creatorSequence, lossPolicy, lostResets, readsWithoutQuorum, null,
            null);
    }

    /**
     * A descriptor of a cache with an expiry policy (or none) that evicts nothing.
     */
    public CacheDescriptor(final int cacheId, final String name, final int partitions, final int backups,
        final String keyCodec, final String valueCodec, final String backupFilterAttribute,
        final long operationTimeoutNs, final String mergeOperator, final long creatorIncarnation,
        final long creatorSequence, final PartitionLossPolicy lossPolicy, final int lostResets,
        final QuorumReadPolicy readsWithoutQuorum, final ExpiryPolicy expiry)
    {
        this(cacheId, name, partitions, backups, keyCodec, valueCodec, backupFilterAttribute, operationTimeoutNs,
            mergeOperator, creatorIncarnation, creatorSequence, lossPolicy, lostResets, readsWithoutQuorum, expiry,
            null, 0);
    }

    /**
     * A descriptor of a cache without an event journal.
     */
    public CacheDescriptor(final int cacheId, final String name, final int partitions, final int backups,
        final String keyCodec, final String valueCodec, final String backupFilterAttribute,
        final long operationTimeoutNs, final String mergeOperator, final long creatorIncarnation,
        final long creatorSequence, final PartitionLossPolicy lossPolicy, final int lostResets,
        final QuorumReadPolicy readsWithoutQuorum, final ExpiryPolicy expiry, final EvictionPolicy eviction)
    {
        this(cacheId, name, partitions, backups, keyCodec, valueCodec, backupFilterAttribute, operationTimeoutNs,
            mergeOperator, creatorIncarnation, creatorSequence, lossPolicy, lostResets, readsWithoutQuorum, expiry,
            eviction, 0);
    }

    /**
     * A descriptor with the default loss policy ({@link PartitionLossPolicy#READ_WRITE_SAFE}), no resets and reads
     * refused without quorum.
     *
     * @param cacheId               cluster-wide id.
     * @param name                  the cache's name.
     * @param partitions            number of partitions.
     * @param backups               backups per partition.
     * @param keyCodec              key codec name.
     * @param valueCodec            value codec name.
     * @param backupFilterAttribute member attribute that spreads copies, or null.
     * @param operationTimeoutNs    default operation timeout.
     * @param mergeOperator         merge operator name, or null.
     * @param creatorIncarnation    incarnation of the member that asked for the cache.
     * @param creatorSequence       sequence of that request.
     */
    public CacheDescriptor(final int cacheId, final String name, final int partitions, final int backups,
        final String keyCodec, final String valueCodec, final String backupFilterAttribute,
        final long operationTimeoutNs, final String mergeOperator, final long creatorIncarnation,
        final long creatorSequence)
    {
        this(cacheId, name, partitions, backups, keyCodec, valueCodec, backupFilterAttribute, operationTimeoutNs,
            mergeOperator, creatorIncarnation, creatorSequence, PartitionLossPolicy.READ_WRITE_SAFE, 0,
            QuorumReadPolicy.REFUSE);
    }

    /**
     * @param configuration concluded configuration.
     * @param creatorIncarnation of the requesting member.
     * @param creatorSequence    of the request.
     * @return a descriptor without an id yet (0).
     */
    public static CacheDescriptor of(
        final CacheConfiguration<?, ?> configuration, final long creatorIncarnation, final long creatorSequence)
    {
        return new CacheDescriptor(0, configuration.name(), configuration.partitions(), configuration.backups(),
            configuration.keyCodec().name(), configuration.valueCodec().name(),
            configuration.backupFilterAttribute(), configuration.operationTimeoutNs(),
            configuration.mergeOperatorName(), creatorIncarnation, creatorSequence,
            configuration.partitionLossPolicy(), 0, configuration.readsWithoutQuorum(), configuration.expiry(),
            configuration.eviction(), configuration.eventJournal());
    }

    /**
     * @param cacheId to give.
     * @return a copy with the id.
     */
    public CacheDescriptor withId(final int cacheId)
    {
        return new CacheDescriptor(cacheId, name, partitions, backups, keyCodec, valueCodec, backupFilterAttribute,
            operationTimeoutNs, mergeOperator, creatorIncarnation, creatorSequence, lossPolicy, lostResets,
            readsWithoutQuorum, expiry, eviction, journalCapacity);
    }

    /**
     * @param policy for lost partitions.
     * @return a copy with that policy.
     */
    public CacheDescriptor withLossPolicy(final PartitionLossPolicy policy)
    {
        return new CacheDescriptor(cacheId, name, partitions, backups, keyCodec, valueCodec, backupFilterAttribute,
            operationTimeoutNs, mergeOperator, creatorIncarnation, creatorSequence, policy, lostResets,
            readsWithoutQuorum, expiry, eviction, journalCapacity);
    }

    /**
     * @return a copy counting one more reset of lost partitions.
     */
    public CacheDescriptor withLostReset()
    {
        return new CacheDescriptor(cacheId, name, partitions, backups, keyCodec, valueCodec, backupFilterAttribute,
            operationTimeoutNs, mergeOperator, creatorIncarnation, creatorSequence, lossPolicy, lostResets + 1,
            readsWithoutQuorum, expiry, eviction, journalCapacity);
    }

    /**
     * @param incarnation of the member asking for the cache.
     * @param sequence    of its request.
     * @return a copy naming that request as the creator.
     */
    public CacheDescriptor withCreator(final long incarnation, final long sequence)
    {
        return new CacheDescriptor(cacheId, name, partitions, backups, keyCodec, valueCodec, backupFilterAttribute,
            operationTimeoutNs, mergeOperator, incarnation, sequence, lossPolicy, lostResets,
            readsWithoutQuorum, expiry, eviction, journalCapacity);
    }

    /**
     * @param other descriptor.
     * @return true if both describe the same settings (ignoring id and creator).
     */
    public boolean sameSettings(final CacheDescriptor other)
    {
        return name.equals(other.name) && partitions == other.partitions && backups == other.backups &&
            keyCodec.equals(other.keyCodec) && valueCodec.equals(other.valueCodec) &&
            java.util.Objects.equals(backupFilterAttribute, other.backupFilterAttribute) &&
            operationTimeoutNs == other.operationTimeoutNs &&
            java.util.Objects.equals(mergeOperator, other.mergeOperator) && lossPolicy == other.lossPolicy &&
            readsWithoutQuorum == other.readsWithoutQuorum && java.util.Objects.equals(expiry, other.expiry) &&
            java.util.Objects.equals(eviction, other.eviction) && journalCapacity == other.journalCapacity;
    }
}
