package dev.grid.net;

import dev.grid.core.spi.Transport;
import io.aeron.Aeron;
import io.aeron.exceptions.AeronException;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.logbuffer.Header;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.Object2IntHashMap;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Member-to-member transport on Aeron UDP, with an embedded media driver in INVOKER mode: the owner's duty cycle runs
 * the driver and the client conductor through {@link #doWork()}, so a member costs one thread and idles cheaply
 * (research/stack.md). Each member subscribes on its own {@code host:port}; a publication to a peer is added on first
 * use. Every frame starts with the sender's address, so the receiver knows whom to answer without trusting Aeron
 * sessions (a restarted peer may reuse one).
 * <p>
 * Aeron loses nothing on loopback in steady state, but it does not report a dead peer promptly (a publication keeps
 * accepting until its connection times out), nor a restarted peer that joins mid-stream: the member protocol carries
 * its own incarnations, sequences and retries, and treats a send as a hope.
 * <p>
 * <b>Threading:</b> not thread-safe; created by one thread and then used only by the member's agent thread.
 * {@link #close()} shuts down in the order Aeron requires and deletes the driver directory.
 */
public final class AeronTransport implements Transport, AutoCloseable
{
    /** The stream every member listens on. */
    public static final int STREAM_ID = 1001;
    /** Term length of publications: 1 MiB allows 128 KiB messages and absorbs bursts. */
    public static final int TERM_LENGTH = 1 << 20;

    private static final int MAX_ADDRESS_LENGTH = 255;
    private static final int BACK_PRESSURE_RETRIES = 10_000;
    private static final long BACK_PRESSURE_RETRY_NS = TimeUnit.MILLISECONDS.toNanos(2);

    private final String localAddress;
    private final byte[] frameHeader;
    private final UnsafeBuffer frameHeaderBuffer;
    private final MediaDriver driver;
    private final Aeron aeron;
    private final AgentInvoker driverInvoker;
    private final AgentInvoker clientInvoker;
    private final Subscription subscription;
    private final FragmentAssembler assembler;
    private final Object2IntHashMap<String> endpointByAddress = new Object2IntHashMap<>(-1);
    private final List<String> addresses = new ArrayList<>();
    private final List<ExclusivePublication> publications = new ArrayList<>();
    private final Int2ObjectHashMap<SourceCache> sourceBySession = new Int2ObjectHashMap<>();
    private final String directory;
    private MessageHandler handler;
    private long backPressureDrops;
    private boolean backPressuredThisCycle;
    private boolean closed;

    /** How long the process may be stopped without its embedded driver and client timing each other out. */
    static final long PROCESS_PAUSE_TOLERANCE_NS = TimeUnit.MINUTES.toNanos(10);

    private AeronTransport(final String bindAddress, final int port, final String directory)
    {
        this.localAddress = bindAddress + ":" + port;
        final byte[] address = localAddress.getBytes(StandardCharsets.US_ASCII);
        if (address.length > MAX_ADDRESS_LENGTH)
        {
            throw new IllegalArgumentException("address too long: " + localAddress);
        }
        this.frameHeader = new byte[1 + address.length];
        frameHeader[0] = (byte)address.length;
        System.arraycopy(address, 0, frameHeader, 1, address.length);
        this.frameHeaderBuffer = new UnsafeBuffer(frameHeader);
        this.directory = directory;

        MediaDriver startedDriver = null;
        Aeron startedAeron = null;
        try
        {
            startedDriver = MediaDriver.launch(new MediaDriver.Context()
                .aeronDirectoryName(directory)
                .threadingMode(ThreadingMode.INVOKER)
                .asyncExecutorEnabled(false)
                .dirDeleteOnStart(true)
                .dirDeleteOnShutdown(true)
                .termBufferSparseFile(true)
                .publicationTermBufferLength(TERM_LENGTH)
                .ipcTermBufferLength(64 << 10)
                .counterValuesBufferLength(1 << 20)
                .performStorageChecks(false)
                .publicationConnectionTimeoutNs(TimeUnit.SECONDS.toNanos(2))
                .imageLivenessTimeoutNs(TimeUnit.SECONDS.toNanos(3))
                // Driver and client live in one process and stop together: a process paused (a long GC pause,
                // SIGSTOP) for longer than these must not find, when it runs again, that its driver dropped its own
                // client or the client gave its driver up (a 10 s pause stopped the member so). The peers' failure
                // detection, not these, decides whether a paused member is still one (issue 16).
                .clientLivenessTimeoutNs(PROCESS_PAUSE_TOLERANCE_NS)
                .publicationUnblockTimeoutNs(PROCESS_PAUSE_TOLERANCE_NS + TimeUnit.SECONDS.toNanos(60))
                .errorHandler(Throwable::printStackTrace));
            startedAeron = Aeron.connect(new Aeron.Context()
                .driverTimeoutMs(TimeUnit.NANOSECONDS.toMillis(PROCESS_PAUSE_TOLERANCE_NS))
                .aeronDirectoryName(directory)
                .useConductorAgentInvoker(true)
                .driverAgentInvoker(startedDriver.sharedAgentInvoker())
                .errorHandler(Throwable::printStackTrace));
            this.driver = startedDriver;
            this.aeron = startedAeron;
            this.driverInvoker = startedDriver.sharedAgentInvoker();
            this.clientInvoker = startedAeron.conductorAgentInvoker();
            this.subscription = startedAeron.addSubscription("aeron:udp?endpoint=" + localAddress, STREAM_ID);
        }
        catch (final RuntimeException ex)
        {
            // A driver whose client failed to connect would keep the JVM alive: close both (research/stack.md).
            CloseHelper.quietCloseAll(startedAeron, startedDriver);
            throw ex;
        }
        this.assembler = new FragmentAssembler(this::onFragment);
    }

    /**
     * Start a media driver and listen on {@code bindAddress:port}.
     *
     * @param bindAddress to listen on, e.g. 127.0.0.1.
     * @param port        UDP port.
     * @param name        distinguishes the driver directory (the member id).
     * @return the transport.
     */
    public static AeronTransport launch(final String bindAddress, final int port, final String name)
    {
        final File shm = new File("/dev/shm");
        final String base = shm.isDirectory() && shm.canWrite() ? shm.getPath() :
            System.getProperty("java.io.tmpdir");
        final String directory = base + File.separator + "grid-" + name.replaceAll("[^A-Za-z0-9._-]", "_") + "-" +
            ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime());
        return new AeronTransport(bindAddress, port, directory);
    }

    /**
     * @return the driver directory (deleted on close).
     */
    public String directory()
    {
        return directory;
    }

    /**
     * @return messages dropped because the peer stayed back-pressured through every retry.
     */
    public long backPressureDrops()
    {
        return backPressureDrops;
    }

    /**
     * Run the embedded driver and client conductor once; call from the owner's duty cycle.
     *
     * @return work done.
     */
    public int doWork()
    {
        backPressuredThisCycle = false;
        return closed || aeron.isClosed() ? 0 : driverInvoker.invoke() + clientInvoker.invoke();
    }

    /**
     * @return why the transport can no longer carry messages although {@link #close()} was not called (the Aeron
     * client was closed underneath, e.g. by the driver timing it out after a long stall), or null while healthy.
     */
    public String failure()
    {
        return !closed && aeron.isClosed() ? "the Aeron client of " + localAddress + " was closed (driver directory " +
            directory + ")" : null;
    }

    /**
     * Close the Aeron client but not the driver, as a driver that timed the client out would: for tests of how the
     * owner reacts to {@link #failure()}. Call on the owner's thread.
     */
    public void simulateClientTimeout()
    {
        CloseHelper.quietClose(aeron);
    }

    public int localEndpoint()
    {
        return endpointOf(localAddress);
    }

    public String localAddress()
    {
        return localAddress;
    }

    public int endpointOf(final String address)
    {
        final int known = endpointByAddress.getValue(address);
        if (known != -1)
        {
            return known;
        }
        final int endpoint = addresses.size();
        addresses.add(address);
        publications.add(null);
        endpointByAddress.put(address, endpoint);
        return endpoint;
    }

    public int send(final int destination, final DirectBuffer buffer, final int offset, final int length)
    {
        if (closed || aeron.isClosed() || destination < 0 || destination >= addresses.size())
        {
            return NOT_CONNECTED;
        }
        ExclusivePublication publication = publications.get(destination);
        if (publication == null || publication.isClosed())
        {
            try
            {
                publication = aeron.addExclusivePublication("aeron:udp?endpoint=" + addresses.get(destination) +
                    "|term-length=" + TERM_LENGTH, STREAM_ID);
            }
            catch (final AeronException ex)
            {
                // An unresolvable address or a client closed underneath: the message is lost like any other, and
                // the protocol's retries and failure detection take over.
                return NOT_CONNECTED;
            }
            publications.set(destination, publication);
        }
        long result = publication.offer(frameHeaderBuffer, 0, frameHeader.length, buffer, offset, length);
        // In invoker mode the driver's sender only runs when this thread runs it: on back pressure, let it send what
        // is queued and offer again, a bounded number of times, instead of dropping the message.
        // Bounded in time too, so that the client conductor (serviced between duty cycles) never misses its keepalive.
        // and at most one exhausted retry per duty cycle, so a burst cannot stretch one cycle.
        final long retryDeadlineNs = backPressuredThisCycle ? 0 : System.nanoTime() + BACK_PRESSURE_RETRY_NS;
        for (int attempt = 0; attempt < BACK_PRESSURE_RETRIES && System.nanoTime() < retryDeadlineNs &&
            (result == Publication.BACK_PRESSURED || result == Publication.ADMIN_ACTION); attempt++)
        {
            driverInvoker.invoke();
            result = publication.offer(frameHeaderBuffer, 0, frameHeader.length, buffer, offset, length);
        }
        if (result > 0)
        {
            return OK;
        }
        if (result == Publication.BACK_PRESSURED || result == Publication.ADMIN_ACTION)
        {
            backPressureDrops++;
            backPressuredThisCycle = true;
            return BACK_PRESSURED;
        }
        if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED)
        {
            CloseHelper.quietClose(publication);
            publications.set(destination, null);
        }
        return NOT_CONNECTED;
    }

    public int poll(final MessageHandler handler, final int messageLimit)
    {
        if (closed || aeron.isClosed())
        {
            return 0;
        }
        this.handler = handler;
        return subscription.poll(assembler, messageLimit);
    }

    private void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        if (length < 1)
        {
            return;
        }
        final int addressLength = buffer.getByte(offset) & 0xFF;
        if (addressLength == 0 || 1 + addressLength > length)
        {
            return;
        }
        // The sender's address is checked byte for byte on every frame (sessions may be reused by a restarted peer),
        // but decoded to a String only when a session shows a new address: no allocation per message.
        final int sessionId = header.sessionId();
        SourceCache source = sourceBySession.get(sessionId);
        if (source == null || !source.matches(buffer, offset + 1, addressLength))
        {
            final byte[] bytes = new byte[addressLength];
            buffer.getBytes(offset + 1, bytes);
            source = new SourceCache(bytes, endpointOf(new String(bytes, StandardCharsets.US_ASCII)));
            sourceBySession.put(sessionId, source);
        }
        handler.onMessage(source.endpoint, buffer, offset + 1 + addressLength, length - 1 - addressLength);
    }

    /** The last sender address seen on one Aeron session, with its endpoint. */
    private static final class SourceCache
    {
        private final byte[] address;
        private final int endpoint;

        SourceCache(final byte[] address, final int endpoint)
        {
            this.address = address;
            this.endpoint = endpoint;
        }

        boolean matches(final DirectBuffer buffer, final int offset, final int length)
        {
            if (length != address.length)
            {
                return false;
            }
            for (int i = 0; i < length; i++)
            {
                if (buffer.getByte(offset + i) != address[i])
                {
                    return false;
                }
            }
            return true;
        }
    }

    public int maxMessageLength()
    {
        return TERM_LENGTH / 8 - 1 - MAX_ADDRESS_LENGTH;
    }

    /**
     * Close publications and the subscription, then the client, then the driver (which deletes its directory).
     */
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        CloseHelper.quietCloseAll(publications);
        CloseHelper.quietClose(subscription);
        CloseHelper.quietClose(aeron);
        CloseHelper.quietClose(driver);
    }
}
