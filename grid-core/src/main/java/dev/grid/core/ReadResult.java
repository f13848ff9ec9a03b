package dev.grid.core;

/**
 * A value read by {@link Cache#read(Object)}, with how it was read. Immutable.
 *
 * @param value         the key's value, or null if the key has none.
 * @param withoutQuorum whether the answering member did not hold the cluster's quorum and answered from its own copy
 *                      (the cache's {@link QuorumReadPolicy#SERVE_LOCAL}): the value was current when that member was
 *                      last part of a quorum, and may have changed since on the majority's side.
 * @param <V>           the value type.
 */
public record ReadResult<V>(V value, boolean withoutQuorum)
{
}
