package dev.grid.core.client;

import dev.grid.core.CacheEvent;
import dev.grid.core.CacheEventListener;
import dev.grid.core.Codec;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.ScanQuery;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.BiPredicate;

/**
 * What a listener's registration knows, for an embedded member and the thin client alike: per partition, the counter
 * of the last event delivered; how to ask a partition's primary for the events after it; and how to deliver what it
 * answers, in counter order, moving a position past an event only once the listener returned. So across a primary's
 * failure (the read goes to the new primary, whose journal holds the same events) and a reconnection (the read is sent
 * again) every event is delivered exactly once, and a journal that no longer reaches back to a position says so
 * ({@link CacheEventListener#onEventsLost}). The host's thread drives it: {@link #start} once, maybe
 * {@link #initialScan}, then keeps one read per partition in flight ({@link #request(int, long)}, which its primary
 * holds until there is something to deliver) and hands each answer to {@link #answer}, until the registration closes.
 * <p>
 * Positions are safe to read from any thread ({@link #positions()}); the rest is for the host's thread.
 *
 * @param <K> the key type.
 * @param <V> the value type.
 */
public final class JournalReader<K, V>
{
    /** Errors after which reading again cannot succeed: the registration stops and tells the listener. */
    private static final Set<ErrorCode> STOPPING = EnumSet.of(ErrorCode.CONFIGURATION_INVALID,
        ErrorCode.CACHE_DESTROYED, ErrorCode.CACHE_NOT_FOUND, ErrorCode.MALFORMED_REQUEST, ErrorCode.UNKNOWN_OPERATION,
        ErrorCode.PERMISSION_DENIED, ErrorCode.AUTHENTICATION_FAILED, ErrorCode.PROTOCOL_VERSION_UNSUPPORTED);

    private final int partitions;
    private final ScanPages.Spec spec;
    private final Codec<K> keyCodec;
    private final Codec<V> valueCodec;
    private final BiPredicate<? super K, ? super V> predicate;
    private final CacheEventListener<K, V> listener;
    private final AtomicLongArray positions;
    /** Set by {@link #deliver} when the listener threw (host's thread only). */
    private boolean listenerThrew;
    /** Per partition, whether it started from now (no resume position): those an initial scan reads. */
    private final boolean[] scanFrom;

    /**
     * @param partitions the cache's partition count.
     * @param query      which events (a key prefix and a value predicate read on the members; a predicate here).
     * @param keyCodec   the cache's key codec.
     * @param valueCodec the cache's value codec.
     * @param listener   the listener.
     * @param resumeFrom per partition, the counter of the last event seen before (a registration's positions);
     *                   partitions missing start from now ({@link #startsFromNow}).
     */
    public JournalReader(final int partitions, final ScanQuery<K, V> query, final Codec<K> keyCodec,
        final Codec<V> valueCodec, final CacheEventListener<K, V> listener, final Map<Integer, Long> resumeFrom)
    {
        this.partitions = partitions;
        this.spec = ScanPages.spec(query, keyCodec, valueCodec);
        this.keyCodec = keyCodec;
        this.valueCodec = valueCodec;
        this.predicate = query.predicate();
        this.listener = listener;
        this.positions = new AtomicLongArray(partitions);
        this.scanFrom = new boolean[partitions];
        for (int p = 0; p < partitions; p++)
        {
            positions.set(p, resumeFrom.getOrDefault(p, -1L));
            scanFrom[p] = !resumeFrom.containsKey(p);
        }
    }

    /** Reads a partition's journal after a position, asynchronously. */
    @FunctionalInterface
    public interface Source
    {
        /**
         * @param partition the partition.
         * @param request   the position and filter ({@link ScanPages.Events#request}).
         * @return the events, or a failure (a timeout, the member stopping) after which the read is tried again.
         */
        CompletableFuture<ScanPages.Events> read(int partition, byte[] request);
    }

    /** Rounds of start reads tried before a registration fails (each waits for its reads' timeouts). */
    private static final int START_ATTEMPTS = 3;

    /**
     * Fix "now" before the registration returns: each partition without a position starts at its primary's horizon
     * as read here, so every change acknowledged after the registration returned is delivered.
     *
     * @throws GridException if a journal cannot be read (the cache keeps none, was destroyed; or reads kept failing).
     */
    public void start(final Source source)
    {
        for (int attempt = 1; ; attempt++)
        {
            final List<CompletableFuture<ScanPages.Events>> reads = new ArrayList<>(partitions);
            for (int p = 0; p < partitions; p++)
            {
                reads.add(startsFromNow(p) ? source.read(p, request(p)) : null);
            }
            Throwable failure = null;
            for (int p = 0; p < partitions; p++)
            {
                try
                {
                    if (reads.get(p) != null)
                    {
                        started(p, reads.get(p).join());
                    }
                }
                catch (final CompletionException | CancellationException ex)
                {
                    failure = ex.getCause() != null ? ex.getCause() : ex;
                }
            }
            if (failure == null)
            {
                return;
            }
            if (stops(failure) || attempt >= START_ATTEMPTS)
            {
                throw failure instanceof GridException grid ? GridException.of(grid.errorCode(), grid.detail()) :
                    new GridException(ErrorCode.OPERATION_TIMEOUT, "the event journals could not be read: " + failure);
            }
        }
    }

    /**
     * The initial scan: for each partition that started from now ({@link #start}), deliver the entries the filter
     * selects as {@link CacheEvent.Kind#INITIAL} events, read page by page, then move the partition's position to the
     * counter its first page was read at (every update up to it is in the scan; later ones come as events). So nothing
     * is missed. An entry that changed after that counter (an update in flight, a partition read in several pages) may
     * come with its new value and then again through its events, in counter order. Call it after
     * {@link #start} and before the first read of events, on the host's thread.
     *
     * @param pages   reads a partition's pages from its primary (failing with the read's error).
     * @param running whether to go on (false once the registration closes).
     * @return how many initial entries were delivered.
     */
    public int initialScan(final ScanPages.PageSource pages, final java.util.function.BooleanSupplier running)
    {
        int delivered = 0;
        for (int p = 0; p < partitions && running.getAsBoolean(); p++)
        {
            if (!scanFrom[p])
            {
                continue;
            }
            ScanPages.Page page = pages.fetch(p, null, spec);
            final long firstCounter = page.counter();
            while (running.getAsBoolean())
            {
                for (int i = 0; i < page.size(); i++)
                {
                    final K key = keyCodec.decode(page.keys().get(i));
                    final V value = valueCodec.decode(page.values().get(i));
                    if (predicate == null || predicate.test(key, value))
                    {
                        listener.onEvent(new CacheEvent<>(CacheEvent.Kind.INITIAL, p, firstCounter, key, value));
                        delivered++;
                    }
                }
                if (page.done())
                {
                    break;
                }
                page = pages.fetch(p, page.endKey(), spec.next());
            }
            positions.set(p, Math.max(positions.get(p), firstCounter));
        }
        return delivered;
    }

    /** {@link #answer}: the registration stops (the listener was told). */
    public static final int STOP = -1;
    /** {@link #answer}: the read failed in a way reading again may mend; read the partition again a little later. */
    public static final int READ_LATER = -2;

    /**
     * For hosts that keep one read in flight per partition, each held by its primary until there is something to
     * deliver ({@link ScanPages.Events#request(long, ScanPages.Spec, long)}): a partition's read answered or failed.
     *
     * @param events  its events, or null if it failed.
     * @param failure why it failed, or null.
     * @param running whether to go on (false once the registration closes).
     * @return how many events (and losses) were delivered (then read the partition again at once), {@link #READ_LATER}
     *         (also when the listener threw: the event comes again) or {@link #STOP}.
     */
    public int answer(final int partition, final ScanPages.Events events, final Throwable failure,
        final java.util.function.BooleanSupplier running)
    {
        if (failure == null)
        {
            final int delivered = deliver(partition, events, running);
            if (listenerThrew)
            {
                // The same event comes again with the next read: not at once, or a listener that keeps throwing
                // would have its partition read in a tight loop.
                listenerThrew = false;
                return READ_LATER;
            }
            return delivered;
        }
        final Throwable cause = failure instanceof CompletionException && failure.getCause() != null ?
            failure.getCause() : failure;
        if (stops(cause))
        {
            listener.onError((GridException)cause);
            return STOP;
        }
        // A timeout, a remap that outlived it, the member stopping: read the same position again.
        return READ_LATER;
    }

    /**
     * @param waitMs how long the primary may hold the read while there is nothing new.
     * @return the request for a partition's events after its position.
     */
    public byte[] request(final int partition, final long waitMs)
    {
        return ScanPages.Events.request(positions.get(partition), spec, waitMs);
    }

    /**
     * The registration stops for an error its host caught (a codec that cannot decode an event, a listener's
     * {@code onEventsLost} that threw): the listener is told.
     */
    public void failed(final RuntimeException error)
    {
        listener.onError(error instanceof GridException grid ? grid : new GridException(ErrorCode.CODEC_FAILED,
            "the listener's registration stopped: " + error));
    }

    /** @return the cache's partition count. */
    public int partitions()
    {
        return partitions;
    }

    /** @return whether a partition has no position yet: its first read fixes "now" ({@link #started}). */
    private boolean startsFromNow(final int partition)
    {
        return positions.get(partition) < 0;
    }

    /** A partition's first read answered: it starts at the primary's horizon then. */
    private void started(final int partition, final ScanPages.Events events)
    {
        positions.set(partition, events.readUpTo());
    }

    /**
     * For hosts that read asynchronously (the simulator): the request for a partition's events after its position
     * ({@link ScanPages.Events#request}); hand its answer to {@link #deliver}, one read per partition at a time.
     */
    public byte[] request(final int partition)
    {
        return ScanPages.Events.request(positions.get(partition), spec);
    }

    /**
     * @param error a read's failure.
     * @return whether reading again cannot mend it (the registration should stop and tell the listener).
     */
    private static boolean stops(final Throwable error)
    {
        return error instanceof GridException grid && STOPPING.contains(grid.errorCode());
    }

    /**
     * Deliver a partition's events in order, moving its position past each once the listener returned; a listener
     * that throws gets the same event again with the next read.
     *
     * @param running whether to go on (false once the registration closes).
     * @return how many events (and losses) were delivered.
     */
    public int deliver(final int partition, final ScanPages.Events events, final java.util.function.BooleanSupplier
        running)
    {
        final long position = positions.get(partition);
        if (events.lost())
        {
            listener.onEventsLost(partition, position + 1, events.floor());
            positions.set(partition, events.floor());
            return 1;
        }
        int delivered = 0;
        for (int i = 0; i < events.counters().length && running.getAsBoolean(); i++)
        {
            final K key = keyCodec.decode(events.keys().get(i));
            final byte[] valueBytes = events.values().get(i);
            final V value = valueBytes == null ? null : valueCodec.decode(valueBytes);
            // A removal has no value: it passes on its key, as the members' filter lets it (a predicate on values
            // would throw on it).
            if (predicate == null || value == null || predicate.test(key, value))
            {
                try
                {
                    listener.onEvent(new CacheEvent<>(CacheEvent.Kind.values()[events.kinds()[i]], partition,
                        events.counters()[i], key, value));
                }
                catch (final RuntimeException ex)
                {
                    // Not seen: it comes again with the next read.
                    listenerThrew = true;
                    return delivered;
                }
                delivered++;
            }
            positions.set(partition, events.counters()[i]);
        }
        if (running.getAsBoolean())
        {
            positions.set(partition, Math.max(positions.get(partition), events.readUpTo()));
        }
        return delivered;
    }

    /** @return per partition, the counter of the last event delivered (or the position it started from). */
    public Map<Integer, Long> positions()
    {
        final Map<Integer, Long> snapshot = new TreeMap<>();
        for (int p = 0; p < partitions; p++)
        {
            snapshot.put(p, positions.get(p));
        }
        return snapshot;
    }
}
