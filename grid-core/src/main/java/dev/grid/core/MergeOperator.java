package dev.grid.core;

import java.util.List;

/**
 * Combines a key's current value with merge operands into its new value, as registered on a cache and applied by
 * {@link Cache#merge(Object, Object)}. Returning null deletes the key.
 * <p>
 * It runs on the partition's primary and must be a pure function of its arguments: backups receive the result, not
 * the operands, but a retried operation may call it again.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
@FunctionalInterface
public interface MergeOperator<K, V>
{
    /**
     * Compute the new value.
     *
     * @param key      whose value is merged.
     * @param current  the current value, or null if the key is absent.
     * @param operands to merge, in the order they were submitted; at least one.
     * @return the new value, or null to delete the key.
     */
    V merge(K key, V current, List<V> operands);
}
