package dev.grid.core;

/**
 * How durable a member's write-ahead log makes an update before the update counts as applied (its copy's LWM passes
 * it) and before the caller is acknowledged. Chosen per member ({@link MemberConfiguration#walMode(WalMode)}).
 *
 * <table>
 * <caption>Trade-offs</caption>
 * <tr><th>mode</th><th>survives</th><th>cost</th></tr>
 * <tr><td>{@link #FSYNC}</td><td>process crash and power loss</td><td>one sync per group of updates: latency of a
 * disk flush on every acknowledgement</td></tr>
 * <tr><td>{@link #LOG_ONLY}</td><td>process crash (SIGKILL, OOM), not power loss or an OS crash</td><td>a memory copy
 * into the page cache</td></tr>
 * <tr><td>{@link #BACKGROUND}</td><td>process crash; on power loss, loses at most the last sync interval</td><td>as
 * LOG_ONLY plus a periodic sync</td></tr>
 * <tr><td>{@link #NONE}</td><td>nothing: data lives only as long as one copy of its partition lives</td><td>no disk at
 * all</td></tr>
 * </table>
 * The WAL is a memory-mapped Chronicle Queue: a record is in the operating system's page cache the moment it is
 * written, which is why LOG_ONLY and BACKGROUND survive a process crash without a system call.
 */
public enum WalMode
{
    /** Acknowledge after the record is synced to disk; many updates share one sync (group commit). */
    FSYNC,
    /**
     * Acknowledge after the record is in the page cache: survives a process crash. The default with a data directory.
     */
    LOG_ONLY,
    /** As LOG_ONLY, and the WAL is synced to disk periodically to bound loss on power failure. */
    BACKGROUND,
    /** No WAL: a pure in-memory member. The default without a data directory. */
    NONE
}
