package dev.grid.core.engine;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.client.ClientProtocol;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One cluster member's protocol engine, as its host (grid-node's member, grid-sim's scenarios) drives it: a duty
 * cycle ({@link #doWork}), single-key operations ({@link #submit}), the member's life ({@link #stop}, {@link #fail}),
 * what it sees (state, topology, installed map, caches), and facades by concern for the rest:
 * {@link #transactions}, {@link #admin}, {@link #history} and {@link #status}. Made by
 * {@code dev.grid.core.member.Members}.
 * <p>
 * <b>Threading:</b> single-threaded and non-blocking: the owner calls {@link #doWork(long)} in a duty cycle and
 * everything else from the same thread. Time, network, WAL and randomness are injected, so the simulator runs the
 * same code on virtual time.
 */
public interface Engine
{
    /** Default interval between resends of an unanswered request, report or map. */
    long RETRY_INTERVAL_DEFAULT_NS = TimeUnit.MILLISECONDS.toNanos(500);

    /**
     * What {@link #readNow} returns when it cannot answer at once. Compared by identity: no stored value is this
     * array.
     */
    byte[] NOT_READ_NOW = new byte[0];

    /**
     * @return the transactions this member coordinates: begin, enlist, commit, roll back, list, kill.
     */
    EngineTransactions transactions();

    /**
     * @return the WAL history and checkpoints this member keeps (rebalance suppliers read it; tests inspect it).
     */
    EngineHistory history();

    /**
     * @return cache administration, baseline changes, activation and lost-partition resets, via the coordinator.
     */
    EngineAdmin admin();

    /**
     * @return what the member's state looks like: settledness, quorum, the map, copies, progress and checks.
     */
    EngineStatus status();

    /**
     * @return the member's state.
     */
    MemberState state();

    /**
     * @return why the member failed to join, or null.
     */
    GridException failure();

    /**
     * @return this incarnation.
     */
    long incarnation();

    /**
     * @return this member's address.
     */
    String localAddress();

    /**
     * @return the member's configuration.
     */
    MemberConfiguration configuration();

    /**
     * @return the current topology, or null while joining.
     */
    Topology topology();

    /**
     * @return the installed partition map, or null before the first exchange finished.
     */
    PartitionMap installedMap();

    /**
     * @param name of a cache.
     * @return its descriptor in the current topology, or null.
     */
    CacheDescriptor cache(String name);

    /**
     * @return the caches of the current topology.
     */
    List<CacheDescriptor> caches();

    /**
     * Read a key from this member's own copy, whatever its role (for tests and the simulator's final check), as it is
     * stored: for a cache with an expiry policy, with its expiry time in front and even if expired.
     *
     * @param cacheId of the cache.
     * @param key     encoded key.
     * @return the stored value, or null if absent or no copy is held here.
     */
    byte[] readLocal(int cacheId, byte[] key);

    /**
     * Add an attribute to the ones this member's topology record carries, such as the address it serves clients on.
     * Only before the first {@link #doWork} (the record is made when joining).
     *
     * @param name  of the attribute.
     * @param value of the attribute.
     */
    void advertise(String name, String value);

    /**
     * @return whether the installed map serves data: false while a cluster restarted from data directories waits for
     *         the last members of its newest ownership table (see {@link #activate}), or before any map. Engine
     *         thread only.
     */
    boolean isActive();

    /**
     * Stop: fail this member's in-flight operations with {@link ErrorCode#NODE_STOPPING}, refuse new ones, and
     * announce the departure so the cluster forms a new topology without waiting for failure detection.
     */
    void stop();

    /**
     * The member cannot go on (its transport died): every operation in flight fails with {@code error}, new ones are
     * refused, and the state becomes {@link MemberState#FAILED}. Nothing is announced: the peers notice through
     * failure detection, as for a crash.
     *
     * @param error given to every operation in flight; also {@link #failure()} from now on.
     */
    void fail(GridException error);

    /**
     * One duty cycle: take messages, advance durability, run due timers.
     *
     * @param nowNs the current time.
     * @return the amount of work done (0 when idle).
     */
    int doWork(long nowNs);

    /**
     * Submit an operation of this member's user. The callback runs exactly once, on the engine's thread.
     *
     * @param cacheId   the cache, as looked up by name when the user opened it.
     * @param type      of operation.
     * @param key       encoded key (null for {@link OpType#SIZE}).
     * @param value     encoded value or operand, or null.
     * @param expected  encoded expected value for conditional operations, or null.
     * @param timeoutNs after which the operation fails with {@link ErrorCode#OPERATION_TIMEOUT}.
     * @param callback  completion.
     */
    void submit(int cacheId, OpType type, byte[] key, byte[] value, byte[] expected, long timeoutNs,
        OpCallback callback);

    /**
     * Submit an operation on behalf of a thin client, under the client's identity: however often the client resends
     * it (after a broken connection, through any member), and across a primary's failure, it is applied once, and a
     * resend gets the first application's outcome. Without an identity ({@code clientId} 0) the operation is this
     * member's, known by this member's incarnation and its own sequence.
     *
     * @param clientId        the client's identity ({@link ClientProtocol#isClientId}), or 0.
     * @param clientSequence  the operation's number at the client, the same in every resend.
     * @param clientWatermark the lowest number the client may still resend: outcomes below it are retired.
     */
    void submit(int cacheId, OpType type, byte[] key, byte[] value, byte[] expected, long timeoutNs, long clientId,
        long clientSequence, long clientWatermark, OpCallback callback);

    /**
     * Answer a {@link OpType#GET} or {@link OpType#CONTAINS_KEY} at once, without an operation to complete later, if
     * {@link #submit} would have answered it from this member's own copy in this call: the member is active, not
     * exchanging, holds quorum and is the key's primary in the installed map, which settled and whose loss policy
     * serves the partition, and the cache has no expiry policy. Anything else ({@link #NOT_READ_NOW}) the caller
     * submits as usual. Counted in the listener's operations as a submitted read is.
     *
     * @param cacheId the cache.
     * @param type    {@link OpType#GET} or {@link OpType#CONTAINS_KEY}.
     * @param key     encoded key; only read during the call, so the caller may reuse its array.
     * @return the stored value (the store's own array: read it before the engine's next call, never change it), null
     *         if absent, or {@link #NOT_READ_NOW}.
     */
    byte[] readNow(int cacheId, OpType type, byte[] key);

    /**
     * Read a page of one partition from its primary ({@link OpType#SCAN_PAGE}), remapped to the new primary like any
     * operation if the primary changes. The callback runs exactly once, on the engine's thread.
     *
     * @param cacheId   the cache.
     * @param partition the partition.
     * @param afterKey  where the previous page ended (its {@code endKey}), or null for the partition's first page.
     * @param spec      the page's limits and filter ({@link dev.grid.core.client.ScanPages.Spec}, encoded); its
     *                  {@code fromStart} must say whether {@code afterKey} is null.
     * @param timeoutNs after which the read fails with {@link ErrorCode#OPERATION_TIMEOUT}.
     * @param callback  completion: value the encoded page, count the partition's counter it was read at.
     */
    void scanPage(int cacheId, int partition, byte[] afterKey, byte[] spec, long timeoutNs, OpCallback callback);

    /**
     * Read a partition's event journal from its primary ({@link OpType#JOURNAL_READ}), remapped to the new primary
     * like any operation if the primary changes. The callback runs exactly once, on the engine's thread.
     *
     * @param cacheId   the cache.
     * @param partition the partition.
     * @param request   the position and filter ({@link dev.grid.core.client.ScanPages.Events#request}).
     * @param timeoutNs after which the read fails with {@link ErrorCode#OPERATION_TIMEOUT}.
     * @param callback  completion: value the encoded events, count the horizon they were read to.
     */
    void journalRead(int cacheId, int partition, byte[] request, long timeoutNs, OpCallback callback);
}
