package dev.grid.core.spi;

import org.agrona.DirectBuffer;

/**
 * How a single-threaded component sends messages to, and receives them from, other members (or other shards of its
 * own member). It promises little, on purpose: a message accepted by {@link #send} may be lost, delayed, reordered or
 * delivered twice, and no reply is promised. Protocols carry their own sequence numbers, retries and timeouts.
 * <p>
 * Destinations are endpoint ids that the composition root assigns to members; they are stable for one member
 * incarnation. Not thread-safe: owned by one component's duty cycle.
 */
public interface Transport
{
    /** The message was accepted for sending; this does not mean it will arrive. */
    int OK = 0;
    /** The destination is unknown or not connected now; try later or treat it as failed. */
    int NOT_CONNECTED = -1;
    /** The outbound buffer is full; try again on a later duty cycle. */
    int BACK_PRESSURED = -2;

    /** Receives messages. */
    @FunctionalInterface
    interface MessageHandler
    {
        /**
         * @param source the endpoint id of the sender.
         * @param buffer holding the message; valid only during the call.
         * @param offset of the message.
         * @param length of the message in bytes.
         */
        void onMessage(int source, DirectBuffer buffer, int offset, int length);
    }

    /**
     * The endpoint id of this component.
     *
     * @return the local endpoint id.
     */
    int localEndpoint();

    /**
     * This component's address as other members reach it (host:port for a network transport).
     *
     * @return the local address.
     */
    String localAddress();

    /**
     * Resolve a member's address to an endpoint id usable with {@link #send}, connecting lazily. The same address
     * always maps to the same id for the life of this transport.
     *
     * @param address of the member, as it appears in seed lists and topologies.
     * @return the endpoint id.
     */
    int endpointOf(String address);

    /**
     * Offer a message; it is copied before return.
     *
     * @param destination endpoint id.
     * @param buffer      holding the message.
     * @param offset      of the message.
     * @param length      of the message in bytes, at most {@link #maxMessageLength()}.
     * @return {@link #OK}, {@link #NOT_CONNECTED} or {@link #BACK_PRESSURED}.
     */
    int send(int destination, DirectBuffer buffer, int offset, int length);

    /**
     * Whether the link to the destination has room for a message of {@code length} bytes now: if so, a send of it is
     * not refused with {@link #BACK_PRESSURED}. A bulk sender asks before it builds a message, instead of building it
     * to have it refused. A transport may say no while a little room is left (Aeron's does, leaving the rest to the
     * messages that follow).
     *
     * @param destination endpoint id.
     * @param length      of the message in bytes.
     * @return false if the link is too full for it now; true where the transport has no bound (the default), or the
     *         destination is not connected (a send would not be refused for back pressure).
     */
    default boolean hasRoom(final int destination, final int length)
    {
        return true;
    }

    /**
     * Deliver received messages to a handler.
     *
     * @param handler      to deliver to.
     * @param messageLimit the most messages to deliver in this call.
     * @return the number delivered.
     */
    int poll(MessageHandler handler, int messageLimit);

    /**
     * @return the largest message {@link #send} accepts, in bytes.
     */
    int maxMessageLength();

    /**
     * @return the longest message the transport carries in one piece, in bytes: what a sender that can split its
     *         message (a partition map, a rebalance batch) should stay under. Longer ones up to
     *         {@link #maxMessageLength()} are carried too, in fragments.
     */
    default int preferredMessageLength()
    {
        return maxMessageLength();
    }

    /**
     * Put what was sent so far on its way now, where the transport's sending runs in its owner's duty cycle (Aeron's
     * driver in invoker mode): a component that sent messages and is about to do a long piece of work calls this
     * first, so that they travel meanwhile instead of after it.
     *
     * @return work done.
     */
    default int flush()
    {
        return 0;
    }
}
