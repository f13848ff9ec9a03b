package dev.grid.core;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The configuration of one cache: name, partitioning, backups, codecs, placement and timeouts.
 * <p>
 * Fluent setters, then {@link #conclude()} validates everything once and freezes the object; a concluded
 * configuration may be shared between threads. Defaults are the {@code *_DEFAULT} constants.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
public final class CacheConfiguration<K, V>
{
    /** Partitions per cache by default. */
    public static final int PARTITIONS_DEFAULT = 1024;
    /** The largest partition count; partition ids must fit in an unsigned 16-bit field on the wire. */
    public static final int PARTITIONS_MAX = 65_534;
    /** Synchronous backup copies of each partition by default. */
    public static final int BACKUPS_DEFAULT = 1;
    /** The most backups a cache may ask for. */
    public static final int BACKUPS_MAX = 16;
    /** How long a single operation may take by default before it fails with a timeout. */
    public static final long OPERATION_TIMEOUT_DEFAULT_NS = TimeUnit.SECONDS.toNanos(10);
    /** Cache names: letters, digits, '.', '_' and '-', 1 to 255 characters. */
    public static final Pattern NAME_PATTERN = Pattern.compile("[A-Za-z0-9._-]{1,255}");

    /** The most events a partition copy's journal keeps. */
    public static final int JOURNAL_CAPACITY_MAX = 1 << 20;

    private final String name;
    private final Codec<K> keyCodec;
    private final Codec<V> valueCodec;
    private int partitions = PARTITIONS_DEFAULT;
    private int backups = BACKUPS_DEFAULT;
    private String backupFilterAttribute;
    private long operationTimeoutNs = OPERATION_TIMEOUT_DEFAULT_NS;
    private MergeOperator<K, V> mergeOperator;
    private String mergeOperatorName;
    private PartitionLossPolicy partitionLossPolicy = PartitionLossPolicy.READ_WRITE_SAFE;
    private QuorumReadPolicy readsWithoutQuorum = QuorumReadPolicy.REFUSE;
    private ExpiryPolicy expiry;
    private EvictionPolicy eviction;
    private int journalCapacity;
    private boolean concluded;

    /**
     * Start a configuration.
     *
     * @param name       of the cache, see {@link #NAME_PATTERN}.
     * @param keyCodec   for keys; determines partitioning.
     * @param valueCodec for values.
     */
    public CacheConfiguration(final String name, final Codec<K> keyCodec, final Codec<V> valueCodec)
    {
        this.name = name;
        this.keyCodec = keyCodec;
        this.valueCodec = valueCodec;
    }

    /**
     * Set the partition count.
     *
     * @param partitions in {@code [1, PARTITIONS_MAX]}.
     * @return this for a fluent API.
     */
    public CacheConfiguration<K, V> partitions(final int partitions)
    {
        checkNotConcluded();
        this.partitions = partitions;
        return this;
    }

    /**
     * Set the number of synchronous backups of each partition.
     *
     * @param backups in {@code [0, BACKUPS_MAX]}; fewer copies exist while fewer members do.
     * @return this for a fluent API.
     */
    public CacheConfiguration<K, V> backups(final int backups)
    {
        checkNotConcluded();
        this.backups = backups;
        return this;
    }

    /**
     * Spread the copies of each partition over distinct values of a member attribute (a rack or zone): no two copies
     * share a value while enough distinct values exist.
     *
     * @param attributeName of the member attribute, e.g. {@code "rack"}; null disables the filter.
     * @return this for a fluent API.
     */
    public CacheConfiguration<K, V> backupFilterAttribute(final String attributeName)
    {
        checkNotConcluded();
        this.backupFilterAttribute = attributeName;
        return this;
    }

    /**
     * Set the default timeout of an operation on this cache.
     *
     * @param timeoutNs positive, in nanoseconds.
     * @return this for a fluent API.
     */
    public CacheConfiguration<K, V> operationTimeoutNs(final long timeoutNs)
    {
        checkNotConcluded();
        this.operationTimeoutNs = timeoutNs;
        return this;
    }

    /**
     * Set what the cache does with a partition whose every owner left (see {@link PartitionLossPolicy}).
     *
     * @param policy not null; {@link PartitionLossPolicy#READ_WRITE_SAFE} by default.
     * @return this for a fluent API.
     */
    public CacheConfiguration<K, V> partitionLossPolicy(final PartitionLossPolicy policy)
    {
        checkNotConcluded();
        this.partitionLossPolicy = policy;
        return this;
    }

    /**
     * Set what a member without the cluster's quorum does with reads of this cache (see {@link QuorumReadPolicy});
     * writes are refused without quorum whatever the policy.
     *
     * @param policy not null; {@link QuorumReadPolicy#REFUSE} by default.
     * @return this for a fluent API.
     */
    public CacheConfiguration<K, V> readsWithoutQuorum(final QuorumReadPolicy policy)
    {
        checkNotConcluded();
        this.readsWithoutQuorum = policy;
        return this;
    }

    /**
     * Give the cache's entries an expiry (see {@link ExpiryPolicy}); a cache without one (the default) keeps every
     * entry until it is removed and refuses per-write times-to-live. Values of a cache with one carry 8 more bytes.
     *
     * @param policy the policy, or null for none.
     * @return this for a fluent API.
     */
    public CacheConfiguration<K, V> expiry(final ExpiryPolicy policy)
    {
        checkNotConcluded();
        this.expiry = policy;
        return this;
    }

    /**
     * Bound the cache's size per member, evicting entries beyond it (see {@link EvictionPolicy}); in-memory members
     * only. A cache without one (the default) keeps every entry, and refuses writes at the member's memory bound.
     *
     * @param policy the policy, or null for none.
     * @return this for a fluent API.
     */
    public CacheConfiguration<K, V> eviction(final EvictionPolicy policy)
    {
        checkNotConcluded();
        this.eviction = policy;
        return this;
    }

    /**
     * Keep an event journal per partition on every copy, for listeners ({@link Cache#listen}): the last
     * {@code capacity} changes of each partition, by update counter. A listener further behind loses events, and is
     * told so. A cache without one (the default) refuses listeners.
     *
     * @param capacity events kept per partition copy, 0 for no journal.
     * @return this for a fluent API.
     */
    public CacheConfiguration<K, V> eventJournal(final int capacity)
    {
        checkNotConcluded();
        this.journalCapacity = capacity;
        return this;
    }

    /** @return events kept per partition copy for listeners, 0 if the cache keeps no journal. */
    public int eventJournal()
    {
        return journalCapacity;
    }

    /** @return the cache's eviction policy, or null if it evicts nothing. */
    public EvictionPolicy eviction()
    {
        return eviction;
    }

    /** @return the cache's expiry policy, or null if its entries never expire. */
    public ExpiryPolicy expiry()
    {
        return expiry;
    }

    /**
     * Register the operator that {@link Cache#merge(Object, Object)} applies. The merge runs on the partition's
     * primary, which may be another member: code does not travel, so the cache refers to the operator by name and
     * every member resolves the name from the operators it knows (those of caches it created, and those registered
     * with {@link MemberConfiguration#mergeOperator(String, MergeOperator)}). A primary that does not know the name
     * fails the merge with {@link ErrorCode#MERGE_FAILED}.
     *
     * @param name          the operator's cluster-wide name.
     * @param mergeOperator the operator.
     * @return this for a fluent API.
     */
    public CacheConfiguration<K, V> mergeOperator(final String name, final MergeOperator<K, V> mergeOperator)
    {
        checkNotConcluded();
        this.mergeOperatorName = name;
        this.mergeOperator = mergeOperator;
        return this;
    }

    /**
     * Validate once and freeze. Idempotent.
     *
     * @return this, concluded.
     * @throws InvalidConfigurationException naming the first invalid field and its value.
     */
    public CacheConfiguration<K, V> conclude()
    {
        if (concluded)
        {
            return this;
        }
        if (name == null || !NAME_PATTERN.matcher(name).matches())
        {
            throw new InvalidConfigurationException("cache name '" + name + "' must match " + NAME_PATTERN.pattern());
        }
        if (keyCodec == null || valueCodec == null)
        {
            throw new InvalidConfigurationException("cache '" + name + "': keyCodec and valueCodec are required");
        }
        if (partitions < 1 || partitions > PARTITIONS_MAX)
        {
            throw new InvalidConfigurationException(
                "cache '" + name + "': partitions=" + partitions + " must be in [1, " + PARTITIONS_MAX + "]");
        }
        if (backups < 0 || backups > BACKUPS_MAX)
        {
            throw new InvalidConfigurationException(
                "cache '" + name + "': backups=" + backups + " must be in [0, " + BACKUPS_MAX + "]");
        }
        if (operationTimeoutNs <= 0)
        {
            throw new InvalidConfigurationException(
                "cache '" + name + "': operationTimeoutNs=" + operationTimeoutNs + " must be positive");
        }
        if ((mergeOperatorName == null) != (mergeOperator == null) ||
            (mergeOperatorName != null && !NAME_PATTERN.matcher(mergeOperatorName).matches()))
        {
            throw new InvalidConfigurationException("cache '" + name +
                "': a merge operator needs both a name matching " +
                NAME_PATTERN.pattern() + " and an operator, got name '" + mergeOperatorName + "'");
        }
        if (partitionLossPolicy == null)
        {
            throw new InvalidConfigurationException("cache '" + name + "': partitionLossPolicy must not be null");
        }
        if (journalCapacity < 0 || journalCapacity > JOURNAL_CAPACITY_MAX)
        {
            throw new InvalidConfigurationException("cache '" + name + "': eventJournal " + journalCapacity +
                " out of [0, " + JOURNAL_CAPACITY_MAX + "]");
        }
        if (readsWithoutQuorum == null)
        {
            throw new InvalidConfigurationException("cache '" + name + "': readsWithoutQuorum must not be null");
        }
        if (backupFilterAttribute != null && backupFilterAttribute.isEmpty())
        {
            throw new InvalidConfigurationException("cache '" + name + "': backupFilterAttribute must not be empty");
        }
        concluded = true;
        return this;
    }

    /** @return the cache name. */
    public String name()
    {
        return name;
    }

    /** @return the key codec. */
    public Codec<K> keyCodec()
    {
        return keyCodec;
    }

    /** @return the value codec. */
    public Codec<V> valueCodec()
    {
        return valueCodec;
    }

    /** @return the partition count. */
    public int partitions()
    {
        return partitions;
    }

    /** @return the number of backups. */
    public int backups()
    {
        return backups;
    }

    /** @return the member attribute copies are spread over, or null. */
    public String backupFilterAttribute()
    {
        return backupFilterAttribute;
    }

    /** @return the operation timeout in nanoseconds. */
    public long operationTimeoutNs()
    {
        return operationTimeoutNs;
    }

    /** @return what the cache does with lost partitions. */
    public PartitionLossPolicy partitionLossPolicy()
    {
        return partitionLossPolicy;
    }

    /** @return what a member without quorum does with reads. */
    public QuorumReadPolicy readsWithoutQuorum()
    {
        return readsWithoutQuorum;
    }

    /** @return the merge operator's name, or null. */
    public String mergeOperatorName()
    {
        return mergeOperatorName;
    }

    /** @return the merge operator, or null. */
    public MergeOperator<K, V> mergeOperator()
    {
        return mergeOperator;
    }

    /** @return whether {@link #conclude()} succeeded. */
    public boolean isConcluded()
    {
        return concluded;
    }

    private void checkNotConcluded()
    {
        if (concluded)
        {
            throw new IllegalStateException("cache configuration '" + name + "' is concluded and cannot change");
        }
    }

    public String toString()
    {
        return "CacheConfiguration{name=" + name + ", partitions=" + partitions + ", backups=" + backups +
            ", keyCodec=" + (keyCodec == null ? null : keyCodec.name()) +
            ", valueCodec=" + (valueCodec == null ? null : valueCodec.name()) +
            ", backupFilterAttribute=" + backupFilterAttribute + ", operationTimeoutNs=" + operationTimeoutNs +
            ", partitionLossPolicy=" + partitionLossPolicy + ", readsWithoutQuorum=" + readsWithoutQuorum +
            ", expiry=" + expiry + ", eviction=" + eviction + ", eventJournal=" + journalCapacity + "}";
    }

    public boolean equals(final Object o)
    {
        if (!(o instanceof CacheConfiguration))
        {
            return false;
        }
        final CacheConfiguration<?, ?> that = (CacheConfiguration<?, ?>)o;
        return partitions == that.partitions && backups == that.backups &&
            operationTimeoutNs == that.operationTimeoutNs && partitionLossPolicy == that.partitionLossPolicy &&
            readsWithoutQuorum == that.readsWithoutQuorum && Objects.equals(expiry, that.expiry) &&
            Objects.equals(eviction, that.eviction) && journalCapacity == that.journalCapacity &&
            Objects.equals(name, that.name) &&
            Objects.equals(backupFilterAttribute, that.backupFilterAttribute) &&
            keyCodec == that.keyCodec && valueCodec == that.valueCodec;
    }

    public int hashCode()
    {
        return Objects.hash(name, partitions, backups);
    }
}
