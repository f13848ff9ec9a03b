package dev.grid.sim;

import dev.grid.core.spi.RandomSource;
import dev.grid.core.spi.Transport;
import dev.grid.core.codec.messages.MessageHeaderDecoder;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A simulated network between endpoints 0..n-1, giving each a {@link Transport}. Every message gets a random latency
 * (so messages reorder), may be dropped or duplicated, and is blocked by partitions: a minority cut off from the rest,
 * a single endpoint isolated, or one direction of a link cut (asymmetric). Delivery puts the message in the
 * destination's inbox and calls the destination's wake-up so it can run a duty cycle.
 * <p>
 * Single-threaded: runs inside the {@link Simulation}.
 */
public final class SimNetwork
{
    /** Largest message accepted. */
    public static final int MAX_MESSAGE_LENGTH = 64 * 1024;

    private int preferredMessageLength = MAX_MESSAGE_LENGTH;
    /** Addresses of simulated endpoints are this prefix and the endpoint number. */
    public static final String ADDRESS_PREFIX = "sim:";

    private final Simulation simulation;
    private final RandomSource random;
    private final int endpointCount;
    private final boolean[][] blocked;
    private final java.util.List<MessageFilter> filters = new java.util.ArrayList<>();
    private final List<MessageFilter> holdFilters = new ArrayList<>();
    /** Messages held by {@link #holdWhere}, and their links (source, destination), in the order sent. */
    private final ArrayDeque<byte[]> held = new ArrayDeque<>();
    private final List<int[]> heldLinks = new ArrayList<>();
    private final boolean[] down;
    private final List<ArrayDeque<byte[]>> inboxes = new ArrayList<>();
    private final List<ArrayDeque<Integer>> inboxSources = new ArrayList<>();
    private final Runnable[] wakeUps;
    private long latencyMinNs = 100_000;
    private long latencyMaxNs = 2_000_000;
    private double lossProbability;
    private double duplicateProbability;
    /** Bytes a link may hold undelivered before a send on it is refused for back pressure; 0: no bound. */
    private int sendWindowBytes;
    /** By source and destination: bytes of the deliveries scheduled, and in the inbox, not polled yet. */
    private final long[][] inFlightBytes;
    private long backPressuredCount;
    private long noRoomCount;
    private long sentCount;
    private long deliveredCount;
    private long droppedCount;
    private long duplicatedCount;

    /**
     * @param simulation    to schedule deliveries in.
     * @param random        the network's own random stream.
     * @param endpointCount how many endpoints there are.
     */
    public SimNetwork(final Simulation simulation, final RandomSource random, final int endpointCount)
    {
        this.simulation = simulation;
        this.random = random;
        this.endpointCount = endpointCount;
        this.blocked = new boolean[endpointCount][endpointCount];
        this.down = new boolean[endpointCount];
        this.inFlightBytes = new long[endpointCount][endpointCount];
        this.wakeUps = new Runnable[endpointCount];
        for (int i = 0; i < endpointCount; i++)
        {
            inboxes.add(new ArrayDeque<>());
            inboxSources.add(new ArrayDeque<>());
        }
    }

    /**
     * @param minNs lowest one-way latency.
     * @param maxNs highest one-way latency; messages sent close together reorder when it exceeds minNs.
     * @return this.
     */
    public SimNetwork latency(final long minNs, final long maxNs)
    {
        this.latencyMinNs = minNs;
        this.latencyMaxNs = maxNs;
        return this;
    }

    /**
     * @param bytes what the transport tells members to keep a message under (they split partition maps, exchange
     *              reports and rebalance batches to fit), as a real transport's frame does; at most
     *              {@link #MAX_MESSAGE_LENGTH}.
     * @return this.
     */
    public SimNetwork preferredMessageLength(final int bytes)
    {
        this.preferredMessageLength = Math.min(bytes, MAX_MESSAGE_LENGTH);
        return this;
    }

    /**
     * Bound what one link holds, as a real transport's flow-control window does: a send on a link whose undelivered
     * and unpolled bytes fill the window is refused with {@link Transport#BACK_PRESSURED} and not sent. As Aeron's
     * publication, the link takes a message while any of its window is left, however long the message (so a long one
     * is never starved by short ones); {@link Transport#hasRoom} says whether the whole message fits.
     *
     * @param bytes the window; 0 (the default) for none.
     * @return this.
     */
    public SimNetwork sendWindow(final int bytes)
    {
        this.sendWindowBytes = bytes;
        return this;
    }

    /**
     * @param lossProbability      of dropping any message.
     * @param duplicateProbability of delivering any message twice.
     * @return this.
     */
    public SimNetwork faults(final double lossProbability, final double duplicateProbability)
    {
        this.lossProbability = lossProbability;
        this.duplicateProbability = duplicateProbability;
        return this;
    }

    /**
     * @param endpoint number.
     * @return its address, as seed lists and topologies carry it.
     */
    public static String address(final int endpoint)
    {
        return ADDRESS_PREFIX + endpoint;
    }

    /**
     * @param endpoint whose transport this is.
     * @param wakeUp   called when a message lands in its inbox.
     * @return the transport of the endpoint.
     */
    public Transport transport(final int endpoint, final Runnable wakeUp)
    {
        wakeUps[endpoint] = wakeUp;
        return new EndpointTransport(endpoint);
    }

    /**
     * Cut both directions between a group and everyone else.
     *
     * @param group the endpoints on one side.
     */
    public void partition(final Set<Integer> group)
    {
        for (int a = 0; a < endpointCount; a++)
        {
            for (int b = 0; b < endpointCount; b++)
            {
                if (group.contains(a) != group.contains(b))
                {
                    blocked[a][b] = true;
                }
            }
        }
    }

    /**
     * Cut one direction only: messages from {@code from} to {@code to} are lost, the other way works.
     *
     * @param from sender.
     * @param to   receiver.
     */
    public void blockOneWay(final int from, final int to)
    {
        blocked[from][to] = true;
    }

    /**
     * Decides whether one message is lost, by its bytes: for tests that lose one kind of message on one link.
     */
    @FunctionalInterface
    public interface MessageFilter
    {
        /**
         * @param from    sender.
         * @param to      receiver.
         * @param message the whole message (do not change it).
         * @return true to lose it.
         */
        boolean drops(int from, int to, byte[] message);
    }

    /**
     * @param message a whole member message, as a {@link MessageFilter} sees it.
     * @return its type (see {@code dev.grid.core.engine.MessageTypes}), read from its header.
     */
    public static int typeOf(final byte[] message)
    {
        return new MessageHeaderDecoder().wrap(new UnsafeBuffer(message), 0).templateId();
    }

    /**
     * Lose every message the filter picks, until {@link #heal()}.
     *
     * @param filter picks the messages to lose.
     */
    public void dropWhere(final MessageFilter filter)
    {
        filters.add(filter);
    }

    /**
     * Hold back every message the filter picks (it is neither lost nor delivered) until {@link #releaseHeld()}: for
     * tests that make one message arrive after others sent later.
     *
     * @param filter picks the messages to hold (its answer means "hold", not "lose").
     */
    public void holdWhere(final MessageFilter filter)
    {
        holdFilters.add(filter);
    }

    /**
     * Stop holding and deliver every held message, each after a normal (random) latency from now, so they may arrive
     * in another order than sent; a partition or down destination at delivery time still loses it.
     */
    public void releaseHeld()
    {
        holdFilters.clear();
        for (final int[] link : heldLinks)
        {
            scheduleDelivery(link[0], link[1], held.poll());
        }
        heldLinks.clear();
    }

    /** @return messages held by {@link #holdWhere} now. */
    public int heldCount()
    {
        return held.size();
    }

    /**
     * Remove every partition, cut link and filter.
     */
    public void heal()
    {
        for (final boolean[] row : blocked)
        {
            java.util.Arrays.fill(row, false);
        }
        filters.clear();
    }

    /**
     * Mark an endpoint crashed (its inbox is lost and nothing is delivered to it) or back up.
     *
     * @param endpoint the endpoint.
     * @param isDown   whether it is down.
     */
    public void down(final int endpoint, final boolean isDown)
    {
        down[endpoint] = isDown;
        if (isDown)
        {
            final ArrayDeque<byte[]> inbox = inboxes.get(endpoint);
            final ArrayDeque<Integer> sources = inboxSources.get(endpoint);
            while (!inbox.isEmpty())
            {
                inFlightBytes[sources.poll()][endpoint] -= inbox.poll().length;
            }
        }
    }

    /** @return times {@link Transport#hasRoom} said a link had no room for a message (see {@link #sendWindow}). */
    public long noRoomCount()
    {
        return noRoomCount;
    }

    /** @return sends refused for back pressure (see {@link #sendWindow}). */
    public long backPressuredCount()
    {
        return backPressuredCount;
    }

    /** @return messages offered. */
    public long sentCount()
    {
        return sentCount;
    }

    /** @return messages delivered to an inbox (duplicates included). */
    public long deliveredCount()
    {
        return deliveredCount;
    }

    /** @return messages dropped by loss, partitions or a down destination. */
    public long droppedCount()
    {
        return droppedCount;
    }

    /** @return extra copies delivered. */
    public long duplicatedCount()
    {
        return duplicatedCount;
    }

    private int send(final int source, final int destination, final byte[] message)
    {
        if (sendWindowBytes > 0 && inFlightBytes[source][destination] >= sendWindowBytes)
        {
            backPressuredCount++;
            return Transport.BACK_PRESSURED;
        }
        sentCount++;
        if (blocked[source][destination] || dropsByFilter(source, destination, message) ||
            random.chance(lossProbability))
        {
            droppedCount++;
            return Transport.OK;
        }
        for (final MessageFilter filter : holdFilters)
        {
            if (filter.drops(source, destination, message))
            {
                heldLinks.add(new int[] {source, destination});
                held.add(message);
                return Transport.OK;
            }
        }
        scheduleDelivery(source, destination, message);
        if (random.chance(duplicateProbability))
        {
            duplicatedCount++;
            scheduleDelivery(source, destination, message);
        }
        return Transport.OK;
    }

    private boolean dropsByFilter(final int source, final int destination, final byte[] message)
    {
        for (final MessageFilter filter : filters)
        {
            if (filter.drops(source, destination, message))
            {
                return true;
            }
        }
        return false;
    }

    private void scheduleDelivery(final int source, final int destination, final byte[] message)
    {
        final long latencyNs = random.nextLong(latencyMinNs, latencyMaxNs + 1);
        inFlightBytes[source][destination] += message.length;
        simulation.schedule(latencyNs, "deliver " + source + "->" + destination + " " + message.length + "B", () ->
        {
            // A partition that started while the message was in flight drops it too.
            if (down[destination] || blocked[source][destination])
            {
                inFlightBytes[source][destination] -= message.length;
                droppedCount++;
                return;
            }
            deliveredCount++;
            inboxes.get(destination).add(message);
            inboxSources.get(destination).add(source);
            if (wakeUps[destination] != null)
            {
                wakeUps[destination].run();
            }
        });
    }

    private final class EndpointTransport implements Transport
    {
        private final int endpoint;
        private final UnsafeBuffer view = new UnsafeBuffer(new byte[0]);

        EndpointTransport(final int endpoint)
        {
            this.endpoint = endpoint;
        }

        public int localEndpoint()
        {
            return endpoint;
        }

        public String localAddress()
        {
            return address(endpoint);
        }

        public int endpointOf(final String address)
        {
            if (!address.startsWith(ADDRESS_PREFIX))
            {
                return -1;
            }
            try
            {
                return Integer.parseInt(address.substring(ADDRESS_PREFIX.length()));
            }
            catch (final NumberFormatException ex)
            {
                return -1;
            }
        }

        public int send(final int destination, final DirectBuffer buffer, final int offset, final int length)
        {
            if (destination < 0 || destination >= endpointCount)
            {
                return NOT_CONNECTED;
            }
            if (length > MAX_MESSAGE_LENGTH)
            {
                throw new IllegalArgumentException("message of " + length + " bytes exceeds " + MAX_MESSAGE_LENGTH);
            }
            final byte[] copy = new byte[length];
            buffer.getBytes(offset, copy);
            return SimNetwork.this.send(endpoint, destination, copy);
        }

        @Override
        public boolean hasRoom(final int destination, final int length)
        {
            final boolean room = destination < 0 || destination >= endpointCount || sendWindowBytes == 0 ||
                inFlightBytes[endpoint][destination] == 0 ||
                inFlightBytes[endpoint][destination] + length <= sendWindowBytes;
            noRoomCount += room ? 0 : 1;
            return room;
        }

        public int poll(final MessageHandler handler, final int messageLimit)
        {
            final ArrayDeque<byte[]> inbox = inboxes.get(endpoint);
            final ArrayDeque<Integer> sources = inboxSources.get(endpoint);
            int delivered = 0;
            while (delivered < messageLimit && !inbox.isEmpty())
            {
                final byte[] message = inbox.poll();
                final int source = sources.poll();
                inFlightBytes[source][endpoint] -= message.length;
                view.wrap(message);
                handler.onMessage(source, view, 0, message.length);
                delivered++;
            }
            return delivered;
        }

        public int maxMessageLength()
        {
            return MAX_MESSAGE_LENGTH;
        }

        @Override
        public int preferredMessageLength()
        {
            return preferredMessageLength;
        }
    }
}
