package dev.grid.net;

import dev.grid.core.spi.Transport;
import io.aeron.Aeron;
import io.aeron.exceptions.AeronException;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.driver.Configuration;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.driver.status.SystemCounterDescriptor;
import io.aeron.driver.status.SystemCounters;
import io.aeron.logbuffer.Header;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.Object2IntHashMap;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.UnsafeBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
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
 * A message longer than one frame (a term's eighth, about 128 KiB) is cut into fragments of its own, sent in order
 * from a queue the duty cycle drains as the publication takes them (leaving a quarter of the term to short messages,
 * so heartbeats are not starved), and put together again per Aeron session. Short messages are not held behind a
 * long one: a long message may arrive after short ones sent after it, which the member protocol tolerates (the
 * simulator's network reorders too). A fragment lost (a closed publication) loses its message, as a dropped frame
 * would. Messages up to {@link #MAX_MESSAGE_BYTES} are carried, and up to {@link #MAX_QUEUED_BYTES} may wait for one
 * destination.
 * <p>
 * Loopback drops a datagram when the receiving socket's buffer is full, and Aeron repairs the loss only once it sees
 * the gap: at the sender's next frame, or at its heartbeat 100 ms after the last one when the lost frames were a
 * message's tail. With Aeron's default receive buffer (128 KiB, which Linux doubles) two members' exchange reports of
 * about 85 KiB each, sent to the coordinator at once, overflowed it, and a third of the exchanges of a returning
 * member took 100 ms longer (benchmarks.md). The subscription's socket therefore asks for
 * {@link #RECEIVE_BUFFER_BYTES}, or the most the OS allows.
 * <p>
 * Aeron loses no message on loopback in steady state, but it does not report a dead peer promptly (a publication keeps
 * accepting until its connection times out), nor a restarted peer that joins mid-stream: the member protocol carries
 * its own incarnations, sequences and retries, and treats a send as a hope.
 * <p>
 * <b>Threading:</b> not thread-safe; created by one thread and then used only by the member's agent thread.
 * {@link #close()} shuts down in the order Aeron requires and deletes the driver directory.
 */
public final class AeronTransport implements Transport, AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(AeronTransport.class);
    /** The stream every member listens on. */
    public static final int STREAM_ID = 1001;
    /**
     * The receive buffer the subscription's socket asks for (Linux doubles it for its bookkeeping): room for several
     * peers' full flow-control windows (128 KiB of data each, about twice that in socket memory) at once.
     */
    public static final int RECEIVE_BUFFER_BYTES = 2 << 20;
    /** Term length of publications: 1 MiB allows 128 KiB messages and absorbs bursts. */
    public static final int TERM_LENGTH = 1 << 20;

    /** The longest message {@link #send} carries: values of 16 MiB and more, with room for their keys. */
    public static final int MAX_MESSAGE_BYTES = 64 << 20;
    /** The most bytes queued for one destination before {@link #send} answers back-pressure. */
    public static final long MAX_QUEUED_BYTES = 128L << 20;
    /** The first byte of a fragment frame, where a whole frame has its sender address's length (1 to 255). */
    private static final byte FRAGMENT = 0;

    private static final int MAX_ADDRESS_LENGTH = 255;
    /** The longest frame: Aeron carries a message of up to an eighth of the term. */
    private static final int MAX_FRAME_BYTES = TERM_LENGTH / 8;
    /** How long long messages wait for a publication without a receiver before they are dropped. */
    private static final long NOT_CONNECTED_DROP_NS = TimeUnit.SECONDS.toNanos(5);
    /** The part of a publication's window fragments of long messages leave to short ones. */
    private static final int SHORT_MESSAGE_HEADROOM = TERM_LENGTH / 4;
    private static final int BACK_PRESSURE_RETRIES = 10_000;
    private static final long BACK_PRESSURE_RETRY_NS = TimeUnit.MILLISECONDS.toNanos(2);
    /**
     * Driver invocations a {@link #flush()} runs at most while the driver finds work. The driver's sender puts at most
     * one datagram (an MTU, 1,408 bytes) of each publication on the wire per invocation, and a duty cycle invokes it
     * once (invoking it while it finds work cost 7% of gets and 4% of puts in the peers harness, in syscalls).
     */
    static final int DRIVER_INVOCATIONS_PER_FLUSH = 64;

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
    /** By destination: messages waiting to be offered (a long one, or any behind it). */
    private final List<Outbound> outbound = new ArrayList<>();
    /** Destinations with something in {@link #outbound}. */
    private final IntArrayList queuedDestinations = new IntArrayList();
    /** By Aeron session: the long message being put together. */
    private final Int2ObjectHashMap<Inbound> inboundBySession = new Int2ObjectHashMap<>();
    private final UnsafeBuffer fragmentHeader;
    private final UnsafeBuffer deliver = new UnsafeBuffer(new byte[0]);
    private final String directory;
    private MessageHandler handler;
    private long droppedMessages;
    private Figures lastFigures = new Figures(0, 0, 0, 0, 0, 0, 0);
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
        // [FRAGMENT][address length][address][i32 total length][i32 offset]
        this.fragmentHeader = new UnsafeBuffer(new byte[1 + frameHeader.length + 8]);
        fragmentHeader.putByte(0, FRAGMENT);
        fragmentHeader.putBytes(1, frameHeader);
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
                .socketRcvbufLength(receiveBufferBytes())
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
                .errorHandler(ex -> LOG.error("Aeron media driver error", ex)));
            startedAeron = Aeron.connect(new Aeron.Context()
                .driverTimeoutMs(TimeUnit.NANOSECONDS.toMillis(PROCESS_PAUSE_TOLERANCE_NS))
                .aeronDirectoryName(directory)
                .useConductorAgentInvoker(true)
                .driverAgentInvoker(startedDriver.sharedAgentInvoker())
                .errorHandler(ex -> LOG.error("Aeron client error", ex)));
            this.driver = startedDriver;
            this.aeron = startedAeron;
            this.driverInvoker = startedDriver.sharedAgentInvoker();
            this.clientInvoker = startedAeron.conductorAgentInvoker();
            // A sender's image going away (it stopped, or restarted under a new session) frees what was kept for it:
            // its address, a message half put together.
            this.subscription = startedAeron.addSubscription("aeron:udp?endpoint=" + localAddress, STREAM_ID,
                image -> { }, image -> forgetSession(image.sessionId()));
        }
        catch (final RuntimeException | Error ex)
        {
            // A driver whose client failed to connect would keep the JVM alive: close both (research/stack.md).
            CloseHelper.quietCloseAll(startedAeron, startedDriver);
            throw ex;
        }
        this.assembler = new FragmentAssembler(this::onFragment);
        LOG.info("transport listening on {}, media driver directory {}", localAddress, directory);
    }

    /**
     * @return {@link #RECEIVE_BUFFER_BYTES}, or less where the OS caps a socket's receive buffer lower (Aeron warns on
     * standard error when asked for more than the OS gives); 0 (the OS default, as before this setting) if the OS
     * cannot be asked or gives less than Aeron's initial window needs (Aeron refuses to start with a receive buffer
     * smaller than its window).
     */
    static int receiveBufferBytes()
    {
        try (DatagramChannel probe = DatagramChannel.open())
        {
            probe.setOption(StandardSocketOptions.SO_RCVBUF, Integer.MAX_VALUE);
            final int most = Math.min(RECEIVE_BUFFER_BYTES, probe.getOption(StandardSocketOptions.SO_RCVBUF));
            return most < Configuration.INITIAL_WINDOW_LENGTH_DEFAULT ? 0 : most;
        }
        catch (final IOException | UnsupportedOperationException ex)
        {
            return 0;
        }
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
     * The link layer's counts since this transport started, for monitoring: they tell datagrams lost (on loopback,
     * dropped by a full receive buffer) and back pressure apart from a member that is merely slow.
     *
     * @param droppedMessages messages this transport refused for back pressure after its retries, or dropped from
     *                        its queue of long messages for a peer that stayed unreachable; the sender's protocol
     *                        retries or gives up.
     * @param naksSent        NAKs this member's receiver sent: ranges of a peer's datagrams that did not arrive.
     * @param naksReceived    NAKs peers sent this member: ranges of its datagrams that did not reach them.
     * @param retransmits     resends this member made, one per NAK range served (not per datagram).
     * @param bytesSent       data bytes this member's driver sent, resends, status messages and NAKs not counted.
     * @param bytesReceived   data bytes this member's driver received.
     * @param driverErrors    errors the embedded driver logged.
     */
    public record Figures(long droppedMessages, long naksSent, long naksReceived, long retransmits, long bytesSent,
        long bytesReceived, long driverErrors)
    {
    }

    /**
     * The owner's thread only: the driver's counters live in memory that {@link #close()} unmaps.
     *
     * @return the link layer's counts since this transport started (once closed, the last ones read).
     */
    public Figures figures()
    {
        if (closed)
        {
            return lastFigures;
        }
        final SystemCounters counters = driver.context().systemCounters();
        lastFigures = new Figures(droppedMessages, counters.get(SystemCounterDescriptor.NAK_MESSAGES_SENT).get(),
            counters.get(SystemCounterDescriptor.NAK_MESSAGES_RECEIVED).get(),
            counters.get(SystemCounterDescriptor.RETRANSMITS_SENT).get(),
            counters.get(SystemCounterDescriptor.BYTES_SENT).get(),
            counters.get(SystemCounterDescriptor.BYTES_RECEIVED).get(),
            counters.get(SystemCounterDescriptor.ERRORS).get());
        return lastFigures;
    }

    /**
     * Run the embedded driver and client conductor once; call from the owner's duty cycle.
     *
     * @return work done.
     */
    public int doWork()
    {
        backPressuredThisCycle = false;
        if (closed || aeron.isClosed())
        {
            return 0;
        }
        final int work = driverInvoker.invoke() + clientInvoker.invoke();
        return queuedDestinations.isEmpty() ? work : work + drainQueues();
    }

    /**
     * Run the embedded driver until what was offered is on the wire (up to {@link #DRIVER_INVOCATIONS_PER_FLUSH}
     * datagrams of each link): in invoker mode nothing leaves before the owner's next duty cycle otherwise.
     *
     * @return work done.
     */
    @Override
    public int flush()
    {
        if (closed || aeron.isClosed())
        {
            return 0;
        }
        int work = 0;
        for (int i = 0; i < DRIVER_INVOCATIONS_PER_FLUSH; i++)
        {
            final int done = driverInvoker.invoke();
            if (done <= 0)
            {
                break;
            }
            work += done;
        }
        return work;
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
        outbound.add(new Outbound());
        endpointByAddress.put(address, endpoint);
        return endpoint;
    }

    public int send(final int destination, final DirectBuffer buffer, final int offset, final int length)
    {
        if (closed || aeron.isClosed() || destination < 0 || destination >= addresses.size())
        {
            return NOT_CONNECTED;
        }
        if (length > MAX_MESSAGE_BYTES)
        {
            throw new IllegalArgumentException("message of " + length + " bytes above " + MAX_MESSAGE_BYTES);
        }
        if (length > MAX_FRAME_BYTES - frameHeader.length)
        {
            // Long: copied, queued, and offered fragment by fragment as the publication takes them (here and by the
            // duty cycle).
            final Outbound queue = outbound.get(destination);
            if (queue.bytes + length > MAX_QUEUED_BYTES)
            {
                droppedMessages++;
                return BACK_PRESSURED;
            }
            final byte[] copy = new byte[length];
            buffer.getBytes(offset, copy);
            if (queue.messages.isEmpty())
            {
                queuedDestinations.addInt(destination);
                queue.progressNs = System.nanoTime();
            }
            queue.messages.addLast(copy);
            queue.bytes += length;
            drain(destination, queue);
            return OK;
        }
        final ExclusivePublication publication = publication(destination);
        if (publication == null)
        {
            return NOT_CONNECTED;
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
            droppedMessages++;
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

    /**
     * Conservative: a message that goes whole has room if the publication's window holds all of it with its frames'
     * headers (Aeron cuts it into MTU-sized frames of 32 header bytes each: at most a sixteenth more with the default
     * MTU, and a margin), although Aeron takes an offer while any window is left; a long one if the destination's
     * queue takes it. So a bulk sender that asks first leaves the window's last part to the messages that follow. A
     * destination without a publication yet, or not connected, has room: a send there is not refused for back
     * pressure. The window opens as the peer reads (up to half the term, far more than a preferred message), and a
     * peer that stops reading is disconnected within the connection timeout: no answer stays false for good.
     */
    @Override
    public boolean hasRoom(final int destination, final int length)
    {
        if (closed || destination < 0 || destination >= addresses.size())
        {
            return true;
        }
        if (length > MAX_FRAME_BYTES - frameHeader.length)
        {
            return outbound.get(destination).bytes + length <= MAX_QUEUED_BYTES;
        }
        final ExclusivePublication publication = publications.get(destination);
        return publication == null || publication.isClosed() || !publication.isConnected() ||
            publication.availableWindow() >= frameHeader.length + length + length / 16 + 64;
    }

    /** @return the destination's publication, added on first use; null if it cannot be added. */
    private ExclusivePublication publication(final int destination)
    {
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
                return null;
            }
            publications.set(destination, publication);
        }
        return publication;
    }

    /**
     * Offer what waits for a destination, frame by frame, until its publication pushes back. A message whose
     * publication is gone is dropped with everything queued behind it (lost, as frames to a gone peer are).
     *
     * @return frames offered.
     */
    private int drain(final int destination, final Outbound queue)
    {
        final ExclusivePublication publication = publication(destination);
        if (publication != queue.publication)
        {
            // A new publication (a new session at the receiver): the head message starts again from its beginning.
            queue.publication = publication;
            queue.sent = 0;
        }
        int offered = 0;
        while (!queue.messages.isEmpty())
        {
            if (publication == null || (!publication.isConnected() &&
                System.nanoTime() - queue.progressNs > NOT_CONNECTED_DROP_NS))
            {
                // No receiver (gone, or never there): what waits is lost, as frames to a gone peer are.
                droppedMessages += queue.messages.size();
                queue.clear();
                break;
            }
            final byte[] message = queue.messages.peekFirst();
            final int chunk = Math.min(message.length - queue.sent, MAX_FRAME_BYTES - fragmentHeader.capacity());
            if (publication.availableWindow() < chunk + SHORT_MESSAGE_HEADROOM)
            {
                // The rest of the window is the short messages' (heartbeats above all): the next duty cycle goes on.
                break;
            }
            fragmentHeader.putInt(1 + frameHeader.length, message.length);
            fragmentHeader.putInt(1 + frameHeader.length + 4, queue.sent);
            queue.view.wrap(message, queue.sent, chunk);
            final long result = publication.offer(fragmentHeader, 0, fragmentHeader.capacity(), queue.view, 0, chunk);
            if (result == Publication.BACK_PRESSURED || result == Publication.ADMIN_ACTION)
            {
                break;
            }
            if (result < 0)
            {
                CloseHelper.quietClose(publication);
                publications.set(destination, null);
                queue.clear();
                break;
            }
            offered++;
            queue.progressNs = System.nanoTime();
            queue.sent += chunk;
            if (queue.sent == message.length)
            {
                queue.messages.pollFirst();
                queue.bytes -= message.length;
                queue.sent = 0;
            }
        }
        return offered;
    }

    /** Drain every destination with messages waiting; each duty cycle. */
    private int drainQueues()
    {
        int work = 0;
        for (int i = queuedDestinations.size() - 1; i >= 0; i--)
        {
            final int destination = queuedDestinations.getInt(i);
            final Outbound queue = outbound.get(destination);
            work += drain(destination, queue);
            if (queue.messages.isEmpty())
            {
                queuedDestinations.fastUnorderedRemove(i);
            }
        }
        return work;
    }

    /** Long messages waiting for one destination, the head perhaps partly offered. Agent thread only. */
    private static final class Outbound
    {
        final ArrayDeque<byte[]> messages = new ArrayDeque<>();
        final UnsafeBuffer view = new UnsafeBuffer(new byte[0]);
        /** The publication the head message's fragments went to. */
        ExclusivePublication publication;
        /** When a fragment was last offered, or the queue last went from empty to not. */
        long progressNs;
        long bytes;
        /** Bytes of the head message offered so far. */
        int sent;

        void clear()
        {
            messages.clear();
            bytes = 0;
            sent = 0;
        }
    }

    /** A long message being put together from its fragments, for one Aeron session. */
    private static final class Inbound
    {
        byte[] message;
        int received;
    }

    private void forgetSession(final int sessionId)
    {
        inboundBySession.remove(sessionId);
        sourceBySession.remove(sessionId);
        if (assembler != null)
        {
            assembler.freeSessionBuffer(sessionId);
        }
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

    private void onFragment(final DirectBuffer buffer, final int frameOffset, final int frameLength,
        final Header header)
    {
        if (frameLength < 1)
        {
            return;
        }
        final boolean fragment = buffer.getByte(frameOffset) == FRAGMENT;
        final int offset = fragment ? frameOffset + 1 : frameOffset;
        final int length = fragment ? frameLength - 1 : frameLength;
        if (length < 1)
        {
            return;
        }
        final int addressLength = buffer.getByte(offset) & 0xFF;
        if (addressLength == 0 || 1 + addressLength + (fragment ? 8 : 0) > length)
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
        if (!fragment)
        {
            handler.onMessage(source.endpoint, buffer, offset + 1 + addressLength, length - 1 - addressLength);
            return;
        }
        final int total = buffer.getInt(offset + 1 + addressLength);
        final int at = buffer.getInt(offset + 1 + addressLength + 4);
        final int bodyOffset = offset + 1 + addressLength + 8;
        final int bodyLength = length - 1 - addressLength - 8;
        Inbound inbound = inboundBySession.get(sessionId);
        if (at == 0)
        {
            if (total <= 0 || total > MAX_MESSAGE_BYTES)
            {
                inboundBySession.remove(sessionId);
                return;
            }
            if (inbound == null)
            {
                inbound = new Inbound();
                inboundBySession.put(sessionId, inbound);
            }
            // A message started anew: whatever came before it of another is lost (a fragment was dropped).
            inbound.message = new byte[total];
            inbound.received = 0;
        }
        if (inbound == null || inbound.message == null || inbound.message.length != total || inbound.received != at ||
            at + bodyLength > total)
        {
            // A gap: the message lost a fragment. Its remaining fragments are dropped until the next one starts.
            if (inbound != null)
            {
                inbound.message = null;
            }
            return;
        }
        buffer.getBytes(bodyOffset, inbound.message, at, bodyLength);
        inbound.received += bodyLength;
        if (inbound.received == total)
        {
            final byte[] message = inbound.message;
            inbound.message = null;
            deliver.wrap(message);
            handler.onMessage(source.endpoint, deliver, 0, total);
        }
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
        return MAX_MESSAGE_BYTES;
    }

    @Override
    public int preferredMessageLength()
    {
        return MAX_FRAME_BYTES - 1 - MAX_ADDRESS_LENGTH;
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
        // The counters live in the driver's mapped file, which closing unmaps: what they said last stays readable.
        figures();
        closed = true;
        CloseHelper.quietCloseAll(publications);
        CloseHelper.quietClose(subscription);
        CloseHelper.quietClose(aeron);
        CloseHelper.quietClose(driver);
    }
}
