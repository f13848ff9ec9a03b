package dev.grid.core.internal.cluster;

import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.RebalanceDemandDecoder;
import dev.grid.core.codec.messages.RebalanceDemandEncoder;
import dev.grid.core.codec.messages.RebalanceDoneDecoder;
import dev.grid.core.codec.messages.RebalanceSupplyEncoder;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.EngineListener;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.RebalancePlan;
import dev.grid.core.engine.TxPartKey;
import org.agrona.collections.Int2ObjectHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongHashSet;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Catch-up of lagging copies while the partition keeps taking writes: the demander side (a MOVING copy of this
 * member), the supplier side (an OWNING copy streaming to another member) and, on the coordinator, the switch to the
 * ideal owners once every MOVING copy caught up (late affinity). Runs on the engine's thread, driven by its duty cycle
 * and messages, so the simulator runs it unchanged.
 * <p>
 * <b>Protocol.</b> The exchange's map carries a {@link RebalancePlan} per MOVING copy. The demander
 * sends {@code REBALANCE_DEMAND} (partition, mode, cursor) to the plan's supplier, which answers one
 * {@code REBALANCE_SUPPLY} batch per demand (at most {@code rebalanceBatchBytes}); the demander applies it and demands
 * the next from the new cursor, so a lost or duplicated message only repeats a batch (the cursor makes it
 * idempotent). A batch the transport refuses for back pressure is not lost: the supplier holds its demand and serves
 * it again on a later duty cycle ({@link HeldDemands}). Live updates reach the MOVING copy meanwhile with their
 * counters, all above the plan's {@code to}.
 * <ul>
 *     <li><b>Historical</b>: the supplier's WAL records of {@code (from, to]} in counter order; each becomes a WAL
 *     record here and closes its counter once durable, like a replicated update. The supplier first checks the
 *     copy's lineage ({@link LocalPartition#lineageMismatch}); on a mismatch or incomplete history it refuses, and
 *     the demander clears its copy and goes full.</li>
 *     <li><b>Full</b>: the copy was cleared at install; the supplier streams its live entries in key order (the
 *     cursor is the last key), each installed only if newer than what the copy holds (a live update or remove that
 *     arrived first wins: removes leave versioned tombstones). The last batch logs {@code WAL_REBALANCE_DONE}, which
 *     closes every counter up to {@code to} once durable; the copy's history starts there.</li>
 * </ul>
 * A copy is caught up when its LWM reaches {@code to}; the demander tells the coordinator, which starts a new
 * topology version once every plan of the current one is done: that exchange finds the copies identical to the
 * owners and makes the ideal owners own (and evicts the extra copies). Any other topology change cancels every
 * session; the next exchange plans again from what each copy holds (its counter is exact: it closes only what is
 * applied and durable), so a supplier leaving or a demander restarting resumes where the copy stands.
 * <p>
 * Not thread-safe: owned by the engine's thread.
 */
final class Rebalancer
{
    /** The most items of each kind one supply batch holds (a message group's bound). */
    static final int MAX_BATCH_ITEMS = MemberMessages.GROUP_MAX;
    static final int SUPPLY_MORE = 0;
    static final int SUPPLY_LAST = 1;
    static final int SUPPLY_REFUSED = 2;

    /** States of one MOVING copy's catch-up here. */
    enum Phase
    {
        /**
         * Waiting for its share of a slot ({@code rebalanceConcurrency} slots; a full demand takes one, a historical
         * one missing fewer than {@link #SLOT_UNITS} updates that fraction of one).
         */
        QUEUED,
        /** A demand is out; the next batch is awaited. */
        DEMANDING,
        /** Every batch applied; waiting until the copy's LWM reaches {@code to} (WAL durability). */
        FINISHING,
        /** Caught up; the coordinator was told (again every retry interval until the next map). */
        DONE
    }

    /**
     * One item of a supplier's memory of a partition: an operation's outcome ({@code transaction} false: origin,
     * sequence, outcome flag and value) or a finished transaction part (true: coordinator, sequence, committed).
     */
    record MemoryItem(boolean transaction, long origin, long sequence, boolean flag, byte[] value)
    {
    }

    /** A demand as it arrived, kept while the history it asks for is being read. */
    record SupplyDemand(long sender, long version, int cacheId, int partition, boolean full, long cursor,
        byte[] cursorKey, long to, long epochBefore, long highestBefore, boolean memory, int memoryCursor)
    {
    }

    /**
     * WAL records a history scan reads per duty cycle: enough to read a few MB of history in a second of duty cycles,
     * few enough that one cycle stays far below the heartbeat interval.
     */
    static final int HISTORY_RECORDS_PER_STEP = 2_048;

    /**
     * Units of one of {@code rebalanceConcurrency} slots: a full demand takes them all, a historical demand one per
     * update it misses, up to all. A member back from a short absence misses a few updates in each of hundreds of
     * partitions; streaming 64 of them at a time made its catch-up ten waves of round trips for a few kilobytes. The
     * slots do not bound memory (a supplier reads the planned history once, and batches wait for room on the link),
     * they bound how much catch-up traffic is asked for at once.
     */
    static final int SLOT_UNITS = 64;

    /** Room a demand needs on its supplier's link before it is sent (one is about 100 bytes with its headers). */
    static final int DEMAND_ROOM_BYTES = 256;

    /** Whose memory of which partition a supplier is streaming. */
    private record MemoryKey(long demander, int cacheId, int partition)
    {
    }

    /** One MOVING copy of this member catching up. */
    static final class Demand
    {
        final int cacheId;
        final int partition;
        final long version;
        final long supplier;
        final long to;
        final long epochBefore;
        final long highestBefore;
        final long startNs;
        boolean full;
        Phase phase = Phase.QUEUED;
        long cursor;
        byte[] cursorKey;
        /** After the data: the supplier's memory of recent operations and transactions, from this index. */
        boolean memory;
        int memoryCursor;
        long nextSendNs;
        long records;
        long bytes;
        /** Slot units it holds while streaming ({@link #SLOT_UNITS}). */
        int units;

        Demand(final RebalancePlan plan, final long version, final long supplier,
            final long epochBefore, final long highestBefore, final long startNs)
        {
            this.cacheId = plan.cacheId();
            this.partition = plan.partition();
            this.version = version;
            this.supplier = supplier;
            this.to = plan.toInclusive();
            this.full = plan.full();
            this.cursor = plan.fromExclusive();
            this.epochBefore = epochBefore;
            this.highestBefore = highestBefore;
            this.startNs = startNs;
        }
    }

    private final MemberContext context;
    private final RebalanceDemandEncoder demandOut = new RebalanceDemandEncoder();
    private final RebalanceDemandDecoder demandIn = new RebalanceDemandDecoder();
    private final SupplyCodec supplies;
    private final Long2ObjectHashMap<Demand> demands = new Long2ObjectHashMap<>();
    private final ArrayDeque<Demand> queued = new ArrayDeque<>();
    /** DEMANDING and FINISHING demands, in no order. */
    private final ArrayList<Demand> active = new ArrayList<>();
    /** DONE demands, whose notices are repeated together at {@link #nextDoneNoticesNs}. */
    private final ArrayList<Demand> finished = new ArrayList<>();
    private long nextDoneNoticesNs;
    /** Slot units the streaming demands hold, at most {@code rebalanceConcurrency} times {@link #SLOT_UNITS}. */
    private long unitsInUse;
    private long installedNs;
    private int planned;
    private int historicalPlanned;
    private int done;
    private long records;
    private long bytes;
    private long lastDoneNs;
    private long totalHistorical;
    private long totalFull;
    private long totalHistoryRecords;
    private long totalFullEntries;
    private long totalFallbacks;
    // Supplier: history read once per map version for every historical plan this member supplies.
    private final SuppliedHistory history;
    private final Map<MemoryKey, List<MemoryItem>> memories = new HashMap<>();
    /** Demands whose batch the transport refused for back pressure, served again on later duty cycles. */
    private final HeldDemands held = new HeldDemands(this::hasRoomForBatch);
    private final Predicate<SupplyDemand> serveOnce = this::serve;
    private final Consumer<SupplyDemand> serveOrHold = demand -> held.serveOrHold(demand, serveOnce);
    // Coordinator: plans of the current version not reported done yet.
    private long doneVersion = -1;
    private final LongHashSet plansNotDone = new LongHashSet();

    Rebalancer(final MemberContext context)
    {
        this.context = context;
        this.supplies = new SupplyCodec(context);
        this.history = new SuppliedHistory(context);
    }

    private static long planKey(final int cacheId, final int partition, final int demander)
    {
        return ((long)cacheId << 32) | ((long)(partition & 0xFFFF) << 16) | (demander & 0xFFFF);
    }

    /**
     * A new topology: every session of the old version ends; the next map plans again.
     */
    void onTopologyChanged()
    {
        demands.clear();
        queued.clear();
        active.clear();
        finished.clear();
        unitsInUse = 0;
        history.clear();
        memories.clear();
        held.clear();
        planned = 0;
        historicalPlanned = 0;
        done = 0;
    }

    /**
     * The map was installed and lists this member's copy as MOVING with this plan.
     *
     * @param lp            the copy (already cleared by the engine if the plan is full).
     * @param plan          the coordinator's plan.
     * @param epochBefore   the lineage epoch the copy followed before this map.
     * @param highestBefore the highest counter the copy had closed before this map.
     */
    void start(final LocalPartition lp, final RebalancePlan plan, final long epochBefore,
        final long highestBefore)
    {
        if (planned == 0)
        {
            installedNs = context.nowNs();
            records = 0;
            bytes = 0;
        }
        final PartitionTable map = context.installedMap();
        final long supplier = map.topology().members().get(plan.supplier()).incarnation();
        final Demand demand = new Demand(plan, map.version(), supplier, epochBefore, highestBefore, context.nowNs());
        demands.put(PartitionCopy.pack(lp.cacheId, lp.partition), demand);
        queued.add(demand);
        planned++;
        historicalPlanned += plan.full() ? 0 : 1;
        context.listener().onRebalanceStarted(plan, map.topology().members().get(plan.supplier()).memberId());
    }

    /**
     * The map's installation started every plan of this member: one line says how many and which way (each plan
     * and its reason went to {@link EngineListener#onRebalanceStarted}).
     */
    void logStarted()
    {
        if (planned > 0)
        {
            context.listener().onEvent("member " + context.config().memberId() + " catches up " + planned +
                " partition copies for topology " + context.installedMap().version() + ": " + historicalPlanned +
                " historically, " + (planned - historicalPlanned) + " fully");
        }
    }

    /**
     * @return true if no copy of this member is catching up.
     */
    boolean isIdle()
    {
        return demands.isEmpty();
    }

    RebalanceStatus status()
    {
        final long elapsedNs = planned == 0 ? 0 : (done == planned ? lastDoneNs : context.nowNs()) - installedNs;
        final long etaNs = done == planned ? 0 : done == 0 ? -1 : elapsedNs * (planned - done) / done;
        return new RebalanceStatus(context.installedMap() == null ? 0 : context.installedMap().version(), planned, done,
            historicalPlanned, records, bytes, elapsedNs, etaNs, totalHistorical, totalFull, totalHistoryRecords,
            totalFullEntries, totalFallbacks, perCache(elapsedNs));
    }

    /** The current figures per cache, from this map's demands (kept, done or not, until the next topology). */
    private SortedMap<String, RebalanceStatus.CacheProgress> perCache(final long elapsedNs)
    {
        final Int2ObjectHashMap<long[]> sums = new Int2ObjectHashMap<>();
        for (final Demand demand : demands.values())
        {
            // planned, done, historical, records, bytes
            final long[] sum = sums.computeIfAbsent(demand.cacheId, id -> new long[5]);
            sum[0]++;
            sum[1] += demand.phase == Phase.DONE ? 1 : 0;
            sum[2] += demand.full ? 0 : 1;
            sum[3] += demand.records;
            sum[4] += demand.bytes;
        }
        final SortedMap<String, RebalanceStatus.CacheProgress> result = new TreeMap<>();
        sums.forEach((cacheId, sum) ->
        {
            final CacheDescriptor cache = context.topology() == null ? null : context.topology().cache(cacheId);
            final long etaNs = sum[1] == sum[0] ? 0 : sum[1] == 0 ? -1 : elapsedNs * (sum[0] - sum[1]) / sum[1];
            result.put(cache == null ? "#" + cacheId : cache.name(), new RebalanceStatus.CacheProgress((int)sum[0],
                (int)sum[1], (int)sum[2], sum[3], sum[4], etaNs));
        });
        return result;
    }

    String describe()
    {
        final StringBuilder pending = new StringBuilder();
        for (final Demand demand : demands.values())
        {
            if (demand.phase != Phase.DONE && pending.length() < 400)
            {
                pending.append(' ').append(demand.partition).append(':').append(demand.phase)
                    .append(demand.full ? ":full" : ":historical").append(demand.memory ? ":memory" : "")
                    .append(":to=").append(demand.to).append(":cursor=").append(demand.cursor);
                final LocalPartition lp = context.localCopy(demand.cacheId, demand.partition);
                if (lp != null)
                {
                    pending.append(":lwm=").append(lp.counter.lwm()).append(":gaps=").append(lp.counter.gaps());
                }
            }
        }
        return "rebalance=" + done + "/" + planned + " slotUnits=" + unitsInUse + "/" +
            (long)context.config().rebalanceConcurrency() * SLOT_UNITS + " queued=" + queued.size() +
            (pending.length() > 0 ? " [" + pending.toString().trim() + "]" : "");
    }

    /**
     * Start queued sessions, resend unanswered demands, finish copies whose LWM reached the target, and repeat the
     * done notice to the coordinator.
     */
    int duty()
    {
        int work = held.retry(serveOnce);
        work += history.step(serveOrHold);
        if (demands.isEmpty() || context.isExchanging())
        {
            return work;
        }
        final long slotUnits = (long)context.config().rebalanceConcurrency() * SLOT_UNITS;
        // Hundreds of demands may be due at once: those past the room on a supplier's link wait for a later cycle
        // rather than be refused for back pressure and asked again a retry interval later.
        while (!queued.isEmpty() && unitsInUse + units(queued.peek()) <= slotUnits &&
            context.hasRoom(queued.peek().supplier, DEMAND_ROOM_BYTES))
        {
            final Demand demand = queued.poll();
            demand.phase = Phase.DEMANDING;
            demand.units = units(demand);
            active.add(demand);
            unitsInUse += demand.units;
            sendDemand(demand);
            work++;
        }
        // Each cycle visits only the copies still streaming or finishing, not every planned one; the finished ones
        // repeat their notices together.
        for (int i = active.size() - 1; i >= 0; i--)
        {
            final Demand demand = active.get(i);
            if (demand.phase == Phase.DEMANDING)
            {
                if (context.nowNs() >= demand.nextSendNs)
                {
                    sendDemand(demand);
                    work++;
                }
            }
            else if (finished(demand))
            {
                active.set(i, active.get(active.size() - 1));
                active.remove(active.size() - 1);
                if (finished.isEmpty())
                {
                    nextDoneNoticesNs = context.nowNs() + context.retryIntervalNs();
                }
                finished.add(demand);
                sendDone(demand);
                work++;
            }
        }
        if (!finished.isEmpty() && context.nowNs() >= nextDoneNoticesNs)
        {
            nextDoneNoticesNs = context.nowNs() + context.retryIntervalNs();
            finished.forEach(this::sendDone);
            work++;
        }
        return work;
    }

    /** The slot units a demand takes: all of a slot if full, else one per update it misses, up to all. */
    private static int units(final Demand demand)
    {
        return demand.full ? SLOT_UNITS : (int)Math.max(1, Math.min(SLOT_UNITS, demand.to - demand.cursor));
    }

    /** A FINISHING copy whose LWM reached the target is DONE: counted, and the listener told. */
    private boolean finished(final Demand demand)
    {
        final LocalPartition lp = context.localCopy(demand.cacheId, demand.partition);
        if (lp == null || lp.counter.lwm() < demand.to)
        {
            return false;
        }
        demand.phase = Phase.DONE;
        done++;
        lastDoneNs = context.nowNs();
        if (demand.full)
        {
            totalFull++;
            totalFullEntries += demand.records;
        }
        else
        {
            totalHistorical++;
            totalHistoryRecords += demand.records;
        }
        context.listener().onRebalanceFinished(demand.cacheId, demand.partition, demand.full, demand.records,
            demand.bytes, context.nowNs() - demand.startNs);
        return true;
    }

    /** Tell the coordinator a copy caught up (repeated every retry interval until the next map). */
    private void sendDone(final Demand demand)
    {
        final long coordinator = context.topology().coordinator().incarnation();
        context.messages().finish(context.messages().encode(context.wire().rebalanceDoneOut, context.incarnation(),
            coordinator).version(demand.version).cacheId(demand.cacheId).partition(demand.partition));
        context.sendTo(coordinator);
    }

    /**
     * Every batch is applied: the copy only waits for its WAL to make them durable, so its slot goes to the next
     * queued partition (a slot held through the wait made catch-up pay one durability wait per partition in turn).
     */
    private void finishing(final Demand demand)
    {
        demand.phase = Phase.FINISHING;
        unitsInUse -= demand.units;
    }

    private void sendDemand(final Demand demand)
    {
        demand.nextSendNs = context.nowNs() + context.retryIntervalNs();
        final byte[] cursorKey = MemberMessages.orEmpty(demand.cursorKey);
        context.messages().finish(context.messages().encode(demandOut, context.incarnation(), demand.supplier)
            .version(demand.version).cacheId(demand.cacheId).partition(demand.partition)
            .full(MemberMessages.flag(demand.full))
            .cursor(demand.cursor).to(demand.to).epochBefore(demand.epochBefore).highestBefore(demand.highestBefore)
            .memory(MemberMessages.flag(demand.memory)).memoryCursor(demand.memoryCursor)
            .hasCursorKey(MemberMessages.has(demand.cursorKey)).putCursorKey(cursorKey, 0, cursorKey.length));
        context.sendTo(demand.supplier);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Supplier.
    // ------------------------------------------------------------------------------------------------------------

    void onDemand(final long sender)
    {
        final RebalanceDemandDecoder in = context.messages().decode(demandIn);
        final long version = in.version();
        final int cacheId = in.cacheId();
        final int partition = in.partition();
        final boolean full = in.full() != 0;
        final long cursor = in.cursor();
        final long to = in.to();
        final long epochBefore = in.epochBefore();
        final long highestBefore = in.highestBefore();
        final boolean memory = in.memory() != 0;
        final int memoryCursor = in.memoryCursor();
        final short hasCursorKey = in.hasCursorKey();
        final byte[] cursorKey = MemberMessages.bytes(in, in.cursorKeyLength(), "cursorKey");
        in.getCursorKey(cursorKey, 0, cursorKey.length);
        if (partition < 0 || partition > 65_535 || memoryCursor < 0)
        {
            throw new MalformedMessageException("rebalance demand for partition " + partition + " from memory item " +
                memoryCursor);
        }
        serveOrHold.accept(new SupplyDemand(sender, version, cacheId, partition, full, cursor,
            MemberMessages.ifHas(hasCursorKey, cursorKey), to, epochBefore, highestBefore, memory, memoryCursor));
    }

    /**
     * Answer a demand with the next batch, or refuse it; a historical one whose history is still being read waits and
     * is served once the scan is done.
     *
     * @return false if the transport refused the answer for back pressure (nothing was sent; {@link HeldDemands}
     * serves the demand again later), true otherwise (answered, waiting for the scan, or void).
     */
    private boolean serve(final SupplyDemand demand)
    {
        final long sender = demand.sender();
        final long version = demand.version();
        final int cacheId = demand.cacheId();
        final int partition = demand.partition();
        final boolean full = demand.full();
        final long cursor = demand.cursor();
        final byte[] cursorKey = demand.cursorKey();
        final long to = demand.to();
        final boolean memory = demand.memory();
        final int memoryCursor = demand.memoryCursor();
        final PartitionTable map = context.installedMap();
        if (context.isExchanging() || map == null || map.version() != version)
        {
            // An old version's demand is void; a newer one is resent once this member installed that map.
            return true;
        }
        final LocalPartition lp = context.localCopy(cacheId, partition);
        final int myIndex = map.topology().indexOf(context.incarnation());
        if (lp == null || !map.isOwning(cacheId, partition, myIndex))
        {
            return refuse(sender, version, cacheId, partition, full, cursor, cursorKey, memory, memoryCursor,
                "member " + context.config().memberId() + " does not own the partition");
        }
        if (memory)
        {
            return supplyMemory(sender, version, lp, full, cursor, cursorKey, memoryCursor);
        }
        HistoryRead read = null;
        if (!full)
        {
            final String mismatch = lp.lineageMismatch(demand.epochBefore(), demand.highestBefore());
            if (mismatch != null)
            {
                return refuse(sender, version, cacheId, partition, false, cursor, cursorKey, false, 0, mismatch);
            }
            read = history.read(cacheId, partition, cursor, to);
            if (read == null)
            {
                history.await(demand);
                return true;
            }
            if (!read.complete())
            {
                return refuse(sender, version, cacheId, partition, false, cursor, cursorKey, false, 0, read.why());
            }
        }
        final List<TxPartKey> open = full ? List.of() : context.tx().openOn(cacheId, partition);
        final int budget = supplyBudget() - (full ? 0 : OpenPrepares.bytes(open));
        final RebalanceSupplyEncoder out = supplies.startSupply(sender, version, cacheId, partition, full, cursor,
            cursorKey,
            false, 0);
        final boolean last;
        if (full)
        {
            last = writeEntries(out, lp, cursorKey, budget);
        }
        else
        {
            out.entriesCount(0);
            last = writeHistory(out, read.records(), cursor, budget);
        }
        out.status((short)(last ? SUPPLY_LAST : SUPPLY_MORE));
        out.memoryItemsCount(0);
        return supplies.endSupply(out, last && !full ? open : List.of(), sender);
    }

    /** @return whether the link to a demander (its incarnation) has room for a supply batch now. */
    private boolean hasRoomForBatch(final long demander)
    {
        return context.hasRoom(demander, supplyBudget() + 512);
    }

    /** @return the bytes of items a supply batch holds at most (its message has up to 512 more). */
    private int supplyBudget()
    {
        return Math.max(1024, Math.min(context.config().rebalanceBatchBytes(), context.preferredMessageLength() - 512));
    }

    /**
     * Write a full rebalance's entries after {@code cursorKey}, in key order, within {@code budget} bytes.
     *
     * @return whether they are the partition's last.
     */
    private boolean writeEntries(final RebalanceSupplyEncoder out, final LocalPartition lp, final byte[] cursorKey,
        final int budget)
    {
        final List<byte[]> keys = new ArrayList<>();
        final List<byte[]> values = new ArrayList<>();
        final List<Long> counters = new ArrayList<>();
        final int[] used = {0};
        final boolean last = lp.store.scan(cursorKey, (key, value, counter) ->
        {
            if (used[0] > 0 && used[0] + key.length + value.length + 32 > budget || keys.size() == MAX_BATCH_ITEMS)
            {
                return false;
            }
            used[0] += key.length + value.length + 32;
            keys.add(key);
            values.add(value);
            counters.add(counter);
            return true;
        });
        final RebalanceSupplyEncoder.EntriesEncoder group = out.entriesCount(keys.size());
        for (int i = 0; i < keys.size(); i++)
        {
            group.next().counter(counters.get(i)).putKey(keys.get(i), 0, keys.get(i).length)
                .putValue(values.get(i), 0, values.get(i).length);
        }
        out.recordsCount(0);
        return last;
    }

    /**
     * Write a historical rebalance's records above {@code cursor}, in counter order, within {@code budget} bytes.
     *
     * @return whether they are the history's last.
     */
    private boolean writeHistory(final RebalanceSupplyEncoder out, final List<HistoryRecord> list, final long cursor,
        final int budget)
    {
        int count = 0;
        int length = 0;
        final boolean last;
        int index = firstAbove(list, cursor);
        while (index < list.size())
        {
            final HistoryRecord record = list.get(index);
            final int size = 64 + (record.key() == null ? 0 : record.key().length) +
                (record.value() == null ? 0 : record.value().length) +
                (record.outcome() == null ? 0 : record.outcome().length) + record.predecessors().encodedLength();
            if (count > 0 && length + size > budget || count == MAX_BATCH_ITEMS)
            {
                break;
            }
            count++;
            length += size;
            index++;
        }
        last = index >= list.size();
        final RebalanceSupplyEncoder.RecordsEncoder group = out.recordsCount(count);
        for (int i = index - count; i < index; i++)
        {
            supplies.writeRecord(group.next(), list.get(i));
        }
        return last;
    }

    private boolean refuse(final long sender, final long version, final int cacheId, final int partition,
        final boolean full, final long cursor, final byte[] cursorKey, final boolean memory, final int memoryCursor,
        final String why)
    {
        final RebalanceSupplyEncoder out = supplies.startSupply(sender, version, cacheId, partition, full, cursor,
            cursorKey,
            memory, memoryCursor).status((short)SUPPLY_REFUSED);
        out.entriesCount(0);
        out.recordsCount(0);
        out.memoryItemsCount(0);
        return supplies.endSupply(out, List.of(), sender, why);
    }

    /**
     * After the data, the supplier's memory of the partition: outcomes of recent operations and finished
     * transaction parts, so that the caught-up copy, once primary, answers a retry instead of applying it again. The
     * list is taken when the first memory batch is demanded and kept for the following ones.
     */
    private boolean supplyMemory(final long sender, final long version, final LocalPartition lp, final boolean full,
        final long cursor, final byte[] cursorKey, final int memoryCursor)
    {
        final MemoryKey key = new MemoryKey(sender, lp.cacheId, lp.partition);
        List<MemoryItem> items = memories.get(key);
        if (items == null || memoryCursor == 0)
        {
            items = new ArrayList<>();
            for (final Map.Entry<LocalPartition.OpKey, OpOutcome> recent : lp.recent.entrySet())
            {
                if (recent.getValue() != null)
                {
                    items.add(new MemoryItem(false, recent.getKey().originIncarnation(), recent.getKey().sequence(),
                        recent.getValue().flag(), recent.getValue().value()));
                }
            }
            for (final long[] part : context.tx().finishedOn(lp.cacheId, lp.partition))
            {
                items.add(new MemoryItem(true, part[0], part[1], part[2] == 1, null));
            }
            memories.put(key, items);
        }
        final List<TxPartKey> open = context.tx().openOn(lp.cacheId, lp.partition);
        final int budget = supplyBudget() - OpenPrepares.bytes(open);
        final RebalanceSupplyEncoder out = supplies.startSupply(sender, version, lp.cacheId, lp.partition, full, cursor,
            cursorKey, true, memoryCursor);
        int index = memoryCursor;
        int count = 0;
        int length = 0;
        while (index < items.size())
        {
            final MemoryItem item = items.get(index);
            final int size = 32 + (item.value() == null ? 0 : item.value().length);
            if (count > 0 && length + size > budget || count == MAX_BATCH_ITEMS)
            {
                break;
            }
            count++;
            length += size;
            index++;
        }
        final boolean last = index >= items.size();
        out.status((short)(last ? SUPPLY_LAST : SUPPLY_MORE));
        out.entriesCount(0);
        out.recordsCount(0);
        final RebalanceSupplyEncoder.MemoryItemsEncoder group = out.memoryItemsCount(count);
        for (int i = index - count; i < index; i++)
        {
            final MemoryItem item = items.get(i);
            group.next().transaction(MemberMessages.flag(item.transaction())).origin(item.origin())
                .sequence(item.sequence())
                .flag(MemberMessages.flag(item.flag())).hasValue(MemberMessages.has(item.value()))
                .putValue(MemberMessages.orEmpty(item.value()), 0, MemberMessages.orEmpty(item.value()).length);
        }
        final boolean sent = supplies.endSupply(out, last ? open : List.of(), sender);
        if (sent && last)
        {
            // Kept until the last batch went: one refused for back pressure is served again from the same list.
            memories.remove(key);
        }
        return sent;
    }

    private static int firstAbove(final List<HistoryRecord> list, final long counter)
    {
        int low = 0;
        int high = list.size();
        while (low < high)
        {
            final int mid = (low + high) >>> 1;
            if (list.get(mid).counter() <= counter)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }
        return low;
    }

    /**
     * The map was installed: the history of every historical plan this member supplies is read from now, while the
     * demanders install the same map, not from when the first demand arrives (that put the scan on catch-up's
     * critical path).
     */
    void onMapInstalled()
    {
        history.readPlanned();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Demander.
    // ------------------------------------------------------------------------------------------------------------

    void onSupply(final long sender)
    {
        final SupplyCodec.Supply supply = supplies.readSupply();
        final int cacheId = supply.cacheId();
        final int partition = supply.partition();
        final boolean full = supply.full();
        final boolean memory = supply.memory();
        final int status = supply.status();
        final Demand demand = demands.get(PartitionCopy.pack(cacheId, partition));
        if (demand == null || demand.version != supply.version() || demand.supplier != sender ||
            demand.phase != Phase.DEMANDING || demand.full != full || demand.cursor != supply.cursor() ||
            !Arrays.equals(demand.cursorKey, supply.cursorKey()) || demand.memory != memory ||
            demand.memoryCursor != supply.memoryCursor() || context.isExchanging())
        {
            return;
        }
        final LocalPartition lp = context.localCopy(cacheId, partition);
        if (lp == null)
        {
            return;
        }
        if (memory && status != SUPPLY_REFUSED)
        {
            applyMemory(demand, lp, cacheId, partition, supply);
            return;
        }
        if (status == SUPPLY_REFUSED)
        {
            refused(demand, lp, cacheId, partition, full || memory, supply.why());
            return;
        }
        if (!full && demand.records == 0)
        {
            // The supplier accepted the copy's lineage: from now on it follows the partition's current epoch.
            final PartitionTable map = context.installedMap();
            context.rebalanced().adoptEpoch(lp, map.epochId(cacheId, partition), map.epochFloor(cacheId, partition));
        }
        if (full)
        {
            for (final HistoryRecord entry : supply.entries())
            {
                applyEntry(demand, lp, entry);
            }
        }
        else
        {
            for (final HistoryRecord record : supply.records())
            {
                applyRecord(demand, lp, record);
            }
        }
        if (status == SUPPLY_LAST)
        {
            if (full)
            {
                // Entries carry no operation identities: the supplier's memory follows, and only then do the
                // counters close (so the copy never equals the owners without it).
                demand.memory = true;
                demand.memoryCursor = 0;
                sendDemand(demand);
                return;
            }
            if (demand.cursor < demand.to)
            {
                throw new MalformedMessageException("last history batch ends at " + demand.cursor + ", not " +
                    demand.to);
            }
            OpenPrepares.voidNotOpen(supply.open(), context.tx(), cacheId, partition);
            finishing(demand);
            return;
        }
        final long throttleNs = context.config().rebalanceThrottleNs();
        if (throttleNs > 0)
        {
            demand.nextSendNs = context.nowNs() + throttleNs;
        }
        else
        {
            sendDemand(demand);
        }
    }

    /** Apply a batch of the supplier's memory (outcomes and finished transactions) after a full rebalance. */
    private void applyMemory(final Demand demand, final LocalPartition lp, final int cacheId, final int partition,
        final SupplyCodec.Supply supply)
    {
        context.rebalanced().applyRebalancedMemory(lp, supply.memoryItems());
        demand.memoryCursor += supply.memoryItems().size();
        if (supply.status() == SUPPLY_LAST)
        {
            OpenPrepares.voidNotOpen(supply.open(), context.tx(), cacheId, partition);
            finishing(demand);
            context.rebalanced().finishFullRebalance(lp, demand.to);
        }
        else
        {
            sendDemand(demand);
        }
    }

    /**
     * The supplier refused: a full demand waits for the next exchange to plan again (only a supplier that no longer
     * owns refuses one); a historical one falls back to full rebalance.
     */
    private void refused(final Demand demand, final LocalPartition lp, final int cacheId, final int partition,
        final boolean fullOrMemory, final String why)
    {
        if (fullOrMemory)
        {
            context.listener().onEvent("member " + context.config().memberId() + ": supplier refused full rebalance " +
                "of cache id " + cacheId + " partition " + partition + ": " + why);
            demand.nextSendNs = context.nowNs() + context.retryIntervalNs() * 4;
            return;
        }
        context.listener().onEvent("member " + context.config().memberId() + " falls back to full rebalance of " +
            "cache id " + cacheId + " partition " + partition + ": " + why);
        context.rebalanced().resetForFullRebalance(lp);
        totalFallbacks++;
        demand.full = true;
        demand.cursor = 0;
        demand.cursorKey = null;
        if (demand.units < SLOT_UNITS)
        {
            // A full stream needs a whole slot: it waits for one like any full demand, ahead of the queue (thousands
            // of small historical demands falling back at once must not stream fully all together).
            active.remove(demand);
            unitsInUse -= demand.units;
            demand.units = 0;
            demand.phase = Phase.QUEUED;
            queued.addFirst(demand);
            return;
        }
        sendDemand(demand);
    }

    /** Apply one streamed entry of a full rebalance's batch (a record with only counter, key and value). */
    private void applyEntry(final Demand demand, final LocalPartition lp, final HistoryRecord entry)
    {
        if (entry.counter() <= 0)
        {
            throw new MalformedMessageException("full supply entry with counter " + entry.counter());
        }
        context.rebalanced().applyRebalancedEntry(lp, entry.counter(), entry.key(), entry.value());
        demand.cursorKey = entry.key();
        counted(demand, entry);
    }

    /** Apply one history record of a historical rebalance's batch. */
    private void applyRecord(final Demand demand, final LocalPartition lp, final HistoryRecord record)
    {
        if (record.counter() <= demand.cursor || record.counter() > demand.to)
        {
            throw new MalformedMessageException("history record " + record.counter() + " outside (" + demand.cursor +
                ", " + demand.to + "]");
        }
        context.rebalanced().applyRebalancedRecord(lp, record);
        demand.cursor = record.counter();
        counted(demand, record);
    }

    private void counted(final Demand demand, final HistoryRecord item)
    {
        final int size = (item.key() == null ? 0 : item.key().length) + (item.value() == null ? 0 :
            item.value().length);
        demand.records++;
        demand.bytes += size;
        records++;
        bytes += size;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Coordinator.
    // ------------------------------------------------------------------------------------------------------------

    /**
     * A demander caught up. Once every plan of the current version is done, a new version (same members and caches)
     * lets the exchange make the caught-up copies owners.
     *
     * @return true if the coordinator should start that version.
     */
    boolean onDone(final long sender)
    {
        final RebalanceDoneDecoder in = context.messages().decode(context.wire().rebalanceDoneIn);
        final long version = in.version();
        final int cacheId = in.cacheId();
        final int partition = in.partition();
        if (partition < 0 || partition > 65_535)
        {
            throw new MalformedMessageException("rebalance done for partition " + partition);
        }
        final PartitionTable map = context.installedMap();
        if (map == null || context.isExchanging() || map.version() != version ||
            context.topology().version() != version)
        {
            return false;
        }
        if (doneVersion != version)
        {
            doneVersion = version;
            plansNotDone.clear();
            for (final RebalancePlan plan : map.plans())
            {
                plansNotDone.add(planKey(plan.cacheId(), plan.partition(), plan.demander()));
            }
        }
        plansNotDone.remove(planKey(cacheId, partition, map.topology().indexOf(sender)));
        if (!plansNotDone.isEmpty())
        {
            return false;
        }
        doneVersion = -1;
        return true;
    }
}
