package dev.grid.core;

/**
 * A cache's data on one member, as its engine counts it. Immutable.
 *
 * @param cache          the cache's name.
 * @param entries        live entries in every copy this member holds (primary and backup), expired ones not yet
 *                       removed included.
 * @param primaryEntries of those, the entries of the partitions this member is primary of.
 * @param bytes          the accounted bytes of this member's copies (entries and tombstones, by the stores' formula).
 * @param memberBytes    the accounted bytes of all this member's cache data, against {@code memberBoundBytes}.
 * @param memberBoundBytes the member's bound ({@link MemberConfiguration#cacheMemoryMaxBytes}).
 * @param evictions      entries this member evicted as primary since it started.
 * @param expirations    expired entries this member removed as primary since it started.
 */
public record CacheMetrics(String cache, long entries, long primaryEntries, long bytes, long memberBytes,
    long memberBoundBytes, long evictions, long expirations)
{
}
