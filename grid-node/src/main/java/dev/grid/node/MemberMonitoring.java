package dev.grid.node;

import dev.grid.net.AeronTransport;
import dev.grid.persistence.StorageMetrics;
import org.HdrHistogram.Histogram;

import java.util.Map;
import java.util.function.Supplier;

/**
 * What monitoring reads of a member beyond {@link GridMember#metrics()}: the latency histograms themselves (for
 * exporters that publish buckets), the WAL's and checkpoint store's figures and the thin-client endpoint's counts.
 * Obtained with {@link GridMember#monitoring()}.
 * <p>
 * <b>Threading:</b> every method may be called from any thread; each returns a snapshot or a thread-safe view.
 */
public final class MemberMonitoring
{
    private final Metrics metrics;
    private final MemberStorage storage;
    private final ClientService clients;
    private final Supplier<AeronTransport.Figures> transport;

    MemberMonitoring(final Metrics metrics, final MemberStorage storage, final ClientService clients,
        final Supplier<AeronTransport.Figures> transport)
    {
        this.metrics = metrics;
        this.storage = storage;
        this.clients = clients;
        this.transport = transport;
    }

    /**
     * The thin-client endpoint's figures since the member started.
     *
     * @param connections open connections.
     * @param requests    requests received.
     * @param errors      requests answered with an error.
     * @param cutOff      connections closed because their client left too many answers unread.
     */
    public record ClientFigures(long connections, long requests, long errors, long cutOff)
    {
    }

    /**
     * @return a copy of each operation and transaction latency histogram since start, in microseconds, by the names of
     *     {@link dev.grid.core.MemberMetrics#latencies()}.
     */
    public Map<String, Histogram> latencyHistogramsUs()
    {
        return metrics.histograms();
    }

    /**
     * @return the WAL's records, bytes and sync durations, or null for an in-memory member (or a WAL of another kind).
     */
    public StorageMetrics wal()
    {
        return storage.wal() instanceof dev.grid.persistence.ChronicleWal chronicle ? chronicle.metrics() : null;
    }

    /**
     * @return the checkpoint store's checkpoints, bytes and durations, or null for an in-memory member.
     */
    public StorageMetrics checkpoints()
    {
        return storage.checkpoints() == null ? null : storage.checkpoints().metrics();
    }

    /**
     * @return the member's transport's counts (NAKs, retransmits, losses, back pressure, bytes), read on its agent
     *     thread.
     * @throws dev.grid.core.GridException if the member is stopping (its agent takes no more questions).
     */
    public AeronTransport.Figures transport()
    {
        return transport.get();
    }

    /**
     * @return the thin-client endpoint's figures, or null if the member serves no clients.
     */
    public ClientFigures clients()
    {
        return clients == null ? null : clients.figures();
    }
}
