package dev.grid.tx;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.codec.MessageWriter;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.MessageHeaderDecoder;
import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.engine.TransactionContext;
import dev.grid.core.engine.TxCallback;
import dev.grid.core.engine.TxPartKey;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Transaction components of a few members wired to fakes of the engine, with no engine: each member's
 * {@link TransactionContext} is a {@link Member} that holds its copies as maps, logs WAL records to a list (durable at
 * once, or when the test says), and sends messages to a shared queue that {@link #deliver} hands to the recipient's
 * {@link TxManager}. One cache of {@link #PARTITIONS} partitions; partition p has member p mod n as primary and the
 * next member as its backup, unless a test gives a member's map other owners ({@link Member#owners}). Every member
 * knows topology 1 and installed its map, unless a test says otherwise; a message parked until the next install is
 * delivered again at {@link Member#install}. Time moves only when a test moves it.
 */
final class FakeCluster
{
    static final int CACHE = 1;
    static final int PARTITIONS = 4;
    static final long RETRY_NS = 100_000_000L;

    final List<Member> members = new ArrayList<>();
    final ArrayDeque<Message> inFlight = new ArrayDeque<>();
    /** Messages the test holds back (not delivered while the predicate matches). */
    Predicate<Message> held = m -> false;
    long nowNs = 1_000_000_000L;

    FakeCluster(final int size)
    {
        for (int i = 0; i < size; i++)
        {
            members.add(new Member(i));
        }
        for (final Member member : members)
        {
            member.tx = new TxManager(member);
        }
    }

    Member member(final int index)
    {
        return members.get(index);
    }

    /** @return a key of the cache that falls in {@code partition}. */
    static byte[] keyIn(final int partition, final String prefix)
    {
        for (int i = 0; ; i++)
        {
            final byte[] key = (prefix + i).getBytes(StandardCharsets.UTF_8);
            if (dev.grid.core.KeyPartitioner.partition(key, PARTITIONS) == partition)
            {
                return key;
            }
        }
    }

    /** Deliver messages (and run durability waits) until nothing moves; held messages stay queued. */
    void deliver()
    {
        boolean moved = true;
        while (moved)
        {
            moved = false;
            for (final Member member : members)
            {
                moved |= member.flushDurable();
            }
            final int size = inFlight.size();
            for (int i = 0; i < size; i++)
            {
                final Message message = inFlight.poll();
                if (held.test(message))
                {
                    inFlight.add(message);
                    continue;
                }
                final Member to = byIncarnation(message.to);
                if (to != null)
                {
                    to.messages.open(new UnsafeBuffer(message.body), 0, message.body.length);
                    to.handling = message;
                    if (!to.tx.onMessage(message.type, message.from))
                    {
                        throw new AssertionError("not a transaction message: " + message.type);
                    }
                    to.handling = null;
                    moved = true;
                }
            }
        }
    }

    /** Move time on and run every member's duty cycle, then deliver. */
    void advance(final long ns)
    {
        nowNs += ns;
        for (final Member member : members)
        {
            member.tx.duty();
        }
        deliver();
    }

    /** The member leaves for good: it is no member any more, and what it sent that is still on its way is lost. */
    void depart(final int index)
    {
        final Member gone = members.get(index);
        gone.departed = true;
        inFlight.removeIf(m -> m.from() == gone.incarnation || m.to() == gone.incarnation);
    }

    Member byIncarnation(final long incarnation)
    {
        for (final Member member : members)
        {
            if (member.incarnation == incarnation && !member.departed)
            {
                return member;
            }
        }
        return null;
    }

    /** One message between members: its type, sender, recipient and body. */
    record Message(int type, long from, long to, byte[] body)
    {
    }

    /** What a callback received, once. */
    static final class Outcome implements TxCallback
    {
        byte[][] values;
        GridException error;
        int calls;

        @Override
        public void onSuccess(final byte[][] values)
        {
            this.values = values;
            calls++;
        }

        @Override
        public void onFailure(final GridException error)
        {
            this.error = error;
            calls++;
        }

        boolean succeeded()
        {
            return calls == 1 && error == null;
        }

        boolean failedWith(final ErrorCode code)
        {
            return calls == 1 && error != null && error.errorCode() == code;
        }
    }

    /** A WAL record a member logged, by kind. */
    record WalRecord(String kind, TxPartKey key, long counter)
    {
    }

    /** One member's copy of a partition: values by key, the counters reserved and applied. */
    static final class Copy implements PartitionCopy
    {
        final TreeMap<String, byte[]> values = new TreeMap<>();
        final Set<Long> closed = new HashSet<>();
        long reserved;

        @Override
        public long reserve(final int count)
        {
            final long start = reserved;
            reserved += count;
            return start;
        }

        @Override
        public boolean isClosed(final long counter)
        {
            return closed.contains(counter);
        }

        @Override
        public void apply(final byte[] key, final byte[] value, final long counter)
        {
            closed.add(counter);
            final String k = new String(key, StandardCharsets.UTF_8);
            if (value == null)
            {
                values.remove(k);
            }
            else
            {
                values.put(k, value);
            }
        }

        @Override
        public byte[] get(final byte[] key)
        {
            return values.get(new String(key, StandardCharsets.UTF_8));
        }

        @Override
        public void refuseBackup(final long member)
        {
        }

        String value(final byte[] key)
        {
            final byte[] value = get(key);
            return value == null ? null : new String(value, StandardCharsets.UTF_8);
        }
    }

    /** A member as its transactions see it: the fake context. */
    final class Member implements TransactionContext
    {
        final int index;
        final long incarnation;
        final Map<Integer, Copy> copies = new HashMap<>();
        final List<WalRecord> wal = new ArrayList<>();
        final List<String> events = new ArrayList<>();
        final MessageReader reader = new MessageReader();
        final MessageWriter writer = new MessageWriter();
        final MemberMessages messages = new MemberMessages(writer);
        final ArrayDeque<Runnable> awaitingDurability = new ArrayDeque<>();
        /** Whether WAL appends become durable at the next delivery (false: the test releases them). */
        boolean durable = true;
        /** Whether it left the cluster ({@link #depart}). */
        boolean departed;
        /** Where this member's monotonic clock starts: each process's has its own origin (0: the cluster's time). */
        long clockOriginNs;
        /** Partitions whose owners this member's map names otherwise (primary first), as after a map change. */
        final Map<Integer, long[]> owners = new HashMap<>();
        /** Whether this member's map holds every partition lost. */
        boolean lost;
        /** The topology this member knows, and the version of the map it installed (behind while it installs). */
        long topologyVersion = 1;
        long mapVersion = 1;
        /** The newest map known settled, if a test holds it behind the installed one (else: as installed). */
        Long settledVersion;
        /** Whether this member hears a quorum. */
        boolean quorum = true;
        /** Whether this member takes part in an exchange (between a topology change and its map's install). */
        boolean exchanging;
        /** The message being handled, and those parked until the next install. */
        Message handling;
        final List<Message> parked = new ArrayList<>();
        TxManager tx;
        private long sequence = 1;
        private int updates;

        Member(final int index)
        {
            this.index = index;
            this.incarnation = 100 + index;
        }

        Copy copyOf(final int partition)
        {
            return copies.computeIfAbsent(partition, p -> new Copy());
        }

        boolean flushDurable()
        {
            if (!durable || awaitingDurability.isEmpty())
            {
                return false;
            }
            while (!awaitingDurability.isEmpty())
            {
                awaitingDurability.poll().run();
            }
            return true;
        }

        private long owner(final int partition, final int rank)
        {
            final long[] named = owners.get(partition);
            if (named != null)
            {
                return rank < named.length ? named[rank] : NO_MEMBER;
            }
            return members.get((partition + rank) % members.size()).incarnation;
        }

        @Override
        public long nowNs()
        {
            return clockOriginNs + nowNs;
        }

        @Override
        public long epochMs()
        {
            // Every member's wall clock reads the same: 2026-12-01 plus the cluster's time.
            return 1_796_083_200_000L + nowNs / 1_000_000L;
        }

        @Override
        public long retryIntervalNs()
        {
            return RETRY_NS;
        }

        @Override
        public String memberId()
        {
            return "m" + index;
        }

        @Override
        public long incarnation()
        {
            return incarnation;
        }

        @Override
        public long newSequence()
        {
            return sequence++;
        }

        @Override
        public boolean isExchanging()
        {
            return exchanging;
        }

        @Override
        public boolean isMember(final long member)
        {
            return byIncarnation(member) != null;
        }

        @Override
        public long topologyVersion()
        {
            return topologyVersion;
        }

        @Override
        public int partitionsOf(final int cacheId)
        {
            return cacheId == CACHE ? PARTITIONS : 0;
        }

        @Override
        public String cacheName(final int cacheId)
        {
            return cacheId == CACHE ? "accounts" : null;
        }

        @Override
        public void parkUntilInstalled()
        {
            if (handling == null)
            {
                throw new IllegalStateException("no message is being handled");
            }
            parked.add(handling);
        }

        /** Install the map of the topology this member knows: the messages parked for it are handled again. */
        void install()
        {
            mapVersion = topologyVersion;
            inFlight.addAll(parked);
            parked.clear();
        }

        @Override
        public boolean hasMap()
        {
            return true;
        }

        @Override
        public long mapVersion()
        {
            return mapVersion;
        }

        @Override
        public long settledVersion()
        {
            // The fake installs one map on every member at once: each is settled as soon as it is installed, unless
            // a test says otherwise.
            return settledVersion == null ? mapVersion : settledVersion;
        }

        @Override
        public boolean isMapActive()
        {
            return true;
        }

        @Override
        public long primaryOf(final int cacheId, final int partition)
        {
            return cacheId == CACHE ? owner(partition, 0) : NO_MEMBER;
        }

        @Override
        public int rankOf(final int cacheId, final int partition, final long member)
        {
            if (cacheId != CACHE)
            {
                return -1;
            }
            return owner(partition, 0) == member ? 0 : owner(partition, 1) == member ? 1 : -1;
        }

        @Override
        public long[] ownersOf(final int cacheId, final int partition)
        {
            final long[] named = owners.get(partition);
            return named != null ? named.clone() : new long[] {owner(partition, 0), owner(partition, 1)};
        }

        @Override
        public boolean isLost(final int cacheId, final int partition)
        {
            return lost;
        }

        @Override
        public PartitionCopy copy(final int cacheId, final int partition)
        {
            return rankHere(cacheId, partition) < 0 ? null : copyOf(partition);
        }

        @Override
        public boolean isPaused(final int cacheId, final int partition)
        {
            return false;
        }

        @Override
        public String lossRefusal(final int cacheId, final int partition, final boolean write)
        {
            return null;
        }

        @Override
        public dev.grid.core.GridException memoryRefusal(final int cacheId, final int partition, final byte[] key)
        {
            return null;
        }

        @Override
        public void closeRange(final PartitionCopy copy, final long start, final long count)
        {
            for (long c = start + 1; c <= start + count; c++)
            {
                ((Copy)copy).closed.add(c);
            }
            wal.add(new WalRecord("rollback", null, start + count));
        }

        @Override
        public void updateStarted()
        {
            updates++;
        }

        @Override
        public void updateFinished()
        {
            updates--;
        }

        int updatesInFlight()
        {
            return updates;
        }

        @Override
        public boolean hasQuorum()
        {
            return quorum;
        }

        @Override
        public boolean refusesForQuorum()
        {
            return false;
        }

        @Override
        public GridException noQuorum(final String what)
        {
            return new GridException(ErrorCode.NO_QUORUM, what);
        }

        @Override
        public MemberMessages messages()
        {
            return messages;
        }

        @Override
        public void send(final long destination)
        {
            final byte[] body = new byte[writer.length()];
            writer.buffer().getBytes(0, body);
            inFlight.add(new Message(new MessageHeaderDecoder().wrap(new UnsafeBuffer(body), 0).templateId(),
                incarnation, destination, body));
        }

        @Override
        public long appendTxPrepare(final TxPartKey key, final long priority, final long[] participants,
            final byte[][] keys, final byte[][] values)
        {
            wal.add(new WalRecord("prepare", key, 0));
            return wal.size();
        }

        @Override
        public long appendTxVoid(final TxPartKey key)
        {
            wal.add(new WalRecord("void", key, 0));
            return wal.size();
        }

        @Override
        public long appendTxEnd(final TxPartKey key, final boolean committed)
        {
            wal.add(new WalRecord(committed ? "commit" : "rollback", key, 0));
            return wal.size();
        }

        @Override
        public long appendTxData(final PartitionCopy copy, final long counter, final long coordinator,
            final long seq, final byte[] key, final byte[] value)
        {
            wal.add(new WalRecord("data", new TxPartKey(coordinator, seq, CACHE,
                dev.grid.core.KeyPartitioner.partition(key, PARTITIONS)), counter));
            return wal.size();
        }

        @Override
        public long appendedPosition()
        {
            return wal.size();
        }

        @Override
        public void awaitDurable(final long position, final PartitionCopy copy, final long counter,
            final Runnable onDurable)
        {
            if (onDurable != null)
            {
                awaitingDurability.add(onDurable);
            }
        }

        @Override
        public void event(final String message)
        {
            events.add(message);
        }

        @Override
        public void transactionPrepared(final long prepareNs)
        {
        }

        @Override
        public void transactionFinished(final int errorCode, final long commitNs, final long totalNs)
        {
        }

        @Override
        public void lockWaited(final long waitNs)
        {
        }

        long kinds(final String kind)
        {
            return wal.stream().filter(r -> r.kind().equals(kind)).count();
        }

        /** @return how many writes of a transaction to {@code partition} this member logged. */
        long writesLogged(final int partition)
        {
            return wal.stream().filter(r -> r.kind().equals("data") && r.key().partition() == partition).count();
        }
    }
}
