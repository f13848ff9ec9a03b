package dev.grid.node;

import dev.grid.core.spi.Transport;
import org.agrona.DirectBuffer;
import org.agrona.collections.Int2IntHashMap;
import org.agrona.concurrent.OneToOneConcurrentArrayQueue;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * In-memory links between the shards of one process ({@link ShardedMember}): a shard's message to another shard of
 * its process goes through a queue instead of its Aeron endpoint, as DESIGN.md's execution model has it; messages to
 * other members still go through Aeron. Each ordered pair of shards has a single-producer single-consumer queue of
 * copied messages (the sender's agent thread offers, the receiver's polls), bounded in messages and in bytes, so a
 * receiver that stops polling (a shard that failed) back-pressures its senders ({@link Transport#BACK_PRESSURED}) as
 * a full Aeron publication does, and holds at most {@link #LINK_BYTES} of theirs.
 * <p>
 * A message is copied once into an array of its length: the links carry membership, exchange, forwarded operations and
 * transactions between a process's shards. The application's and thin clients' puts and gets send nothing through them
 * (a key's operation goes to the shard of its partition, and its backup is in another process); the member services
 * on the first shard (RESP) do, for the keys of the other shards.
 * <p>
 * <b>Threading:</b> {@link #wrap} before the shards start; each wrapped transport on its shard's agent thread only.
 */
final class ShardLinks
{
    /** Messages a link holds before its sender is back-pressured. */
    static final int LINK_CAPACITY = 1024;
    /** Bytes a link holds before its sender is back-pressured (one message of any length is always taken). */
    static final long LINK_BYTES = 16L << 20;

    private final List<String> addresses;
    /** {@code links[from][to]}, null on the diagonal. */
    private final OneToOneConcurrentArrayQueue<byte[]>[][] links;
    /** The bytes each link holds, {@code [from][to]}. */
    private final AtomicLong[][] linkBytes;

    /**
     * @param addresses every shard's transport address ({@code host:port}), by shard index.
     */
    @SuppressWarnings("unchecked")
    ShardLinks(final List<String> addresses)
    {
        this.addresses = List.copyOf(addresses);
        final int shards = addresses.size();
        this.links = new OneToOneConcurrentArrayQueue[shards][shards];
        this.linkBytes = new AtomicLong[shards][shards];
        for (int from = 0; from < shards; from++)
        {
            for (int to = 0; to < shards; to++)
            {
                if (from != to)
                {
                    links[from][to] = new OneToOneConcurrentArrayQueue<>(LINK_CAPACITY);
                    linkBytes[from][to] = new AtomicLong();
                }
            }
        }
    }

    /**
     * @param shard    the shard whose transport this is.
     * @param endpoint its Aeron transport.
     * @return a transport that sends to and receives from the other shards of the process in memory.
     */
    Transport wrap(final int shard, final Transport endpoint)
    {
        return new Linked(shard, endpoint);
    }

    /** A shard's transport: the in-memory links to its siblings beside its Aeron endpoint. */
    private final class Linked implements Transport
    {
        private final int shard;
        private final Transport endpoint;
        /** Each sibling's endpoint id in {@link #endpoint}'s numbering, by shard index (this shard's too). */
        private final int[] siblingEndpoints;
        /** The other shards by their endpoint ids: a send looks its destination up once (-1: not a sibling). */
        private final Int2IntHashMap siblingByEndpoint = new Int2IntHashMap(-1);
        private final UnsafeBuffer received = new UnsafeBuffer(new byte[0]);
        private int nextSibling;

        Linked(final int shard, final Transport endpoint)
        {
            this.shard = shard;
            this.endpoint = endpoint;
            this.siblingEndpoints = new int[addresses.size()];
            for (int i = 0; i < siblingEndpoints.length; i++)
            {
                siblingEndpoints[i] = endpoint.endpointOf(addresses.get(i));
                if (i != shard)
                {
                    siblingByEndpoint.put(siblingEndpoints[i], i);
                }
            }
        }

        public int localEndpoint()
        {
            return endpoint.localEndpoint();
        }

        public String localAddress()
        {
            return endpoint.localAddress();
        }

        public int endpointOf(final String address)
        {
            return endpoint.endpointOf(address);
        }

        public int send(final int destination, final DirectBuffer buffer, final int offset, final int length)
        {
            final int to = siblingByEndpoint.get(destination);
            if (to < 0)
            {
                return endpoint.send(destination, buffer, offset, length);
            }
            if (length > endpoint.maxMessageLength())
            {
                throw new IllegalArgumentException("message of " + length + " bytes above " +
                    endpoint.maxMessageLength());
            }
            final AtomicLong held = linkBytes[shard][to];
            final long before = held.get();
            if (before > 0 && before + length > LINK_BYTES)
            {
                return BACK_PRESSURED;
            }
            final byte[] copy = new byte[length];
            buffer.getBytes(offset, copy);
            if (!links[shard][to].offer(copy))
            {
                return BACK_PRESSURED;
            }
            held.addAndGet(length);
            return OK;
        }

        /** To a sibling: whether its link takes the message now (as {@link #send} decides); else the endpoint's say. */
        @Override
        public boolean hasRoom(final int destination, final int length)
        {
            final int to = siblingByEndpoint.get(destination);
            if (to < 0)
            {
                return endpoint.hasRoom(destination, length);
            }
            final long held = linkBytes[shard][to].get();
            return (held == 0 || held + length <= LINK_BYTES) && links[shard][to].remainingCapacity() > 0;
        }

        /**
         * The siblings' messages take at most half of {@code messageLimit} before the endpoint is polled, so that a
         * busy sibling never keeps other members' heartbeats and acknowledgements unread; what the endpoint leaves of
         * the limit goes to the siblings again.
         */
        public int poll(final MessageHandler handler, final int messageLimit)
        {
            int polled = pollLinks(handler, Math.max(1, messageLimit / 2));
            if (polled < messageLimit)
            {
                polled += endpoint.poll(handler, messageLimit - polled);
            }
            if (polled < messageLimit)
            {
                polled += pollLinks(handler, messageLimit - polled);
            }
            return polled;
        }

        /** From each sibling in turn, starting after the one served first last time, so that none starves the rest. */
        private int pollLinks(final MessageHandler handler, final int messageLimit)
        {
            int polled = 0;
            for (int i = 0; i < siblingEndpoints.length && polled < messageLimit; i++)
            {
                final int from = (nextSibling + i) % siblingEndpoints.length;
                if (from == shard)
                {
                    continue;
                }
                byte[] message;
                while (polled < messageLimit && (message = links[from][shard].poll()) != null)
                {
                    linkBytes[from][shard].addAndGet(-message.length);
                    received.wrap(message);
                    handler.onMessage(siblingEndpoints[from], received, 0, message.length);
                    polled++;
                }
            }
            nextSibling = (nextSibling + 1) % siblingEndpoints.length;
            return polled;
        }

        public int maxMessageLength()
        {
            return endpoint.maxMessageLength();
        }

        public int preferredMessageLength()
        {
            return endpoint.preferredMessageLength();
        }

        /** The endpoint's flush: what goes to siblings is in their queues already. */
        @Override
        public int flush()
        {
            return endpoint.flush();
        }
    }
}
