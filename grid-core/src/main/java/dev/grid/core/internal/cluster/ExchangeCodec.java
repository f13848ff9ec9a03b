package dev.grid.core.internal.cluster;

import dev.grid.core.engine.PartitionCopy;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.ExchangeReportDecoder;
import dev.grid.core.codec.messages.ExchangeReportEncoder;
import dev.grid.core.codec.messages.PartitionMapDecoder;
import dev.grid.core.codec.messages.PartitionMapEncoder;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.internal.partition.CounterRange;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The exchange's two large messages, each split into pieces that fit the transport's preferred message length: a
 * member's report ({@code ExchangeReport}: its copies, then its ownership table) and the coordinator's map
 * ({@code PartitionMap}: chunks of partitions, then the rebalance plans). SBE writes a group's count before its
 * items, so each piece is planned from estimated lengths first and encoded after.
 *
 * <p><b>Threading:</b> the engine's thread only, like the {@link Exchange}.
 */
final class ExchangeCodec
{
    /** A report entry's block and two group headers, before its gaps and prepares. */
    private static final int ENTRY_LENGTH = 90;
    /** A message's header and block, and its groups' headers. */
    private static final int MESSAGE_OVERHEAD = MemberMessages.HEADER_LENGTH + 64;

    private final MemberContext context;
    private final ExchangeReportEncoder reportOut = new ExchangeReportEncoder();
    private final ExchangeReportDecoder reportIn = new ExchangeReportDecoder();
    private final PartitionMapEncoder mapOut = new PartitionMapEncoder();
    private final PartitionMapDecoder mapIn = new PartitionMapDecoder();

    ExchangeCodec(final MemberContext context)
    {
        this.context = context;
    }

    /** @return this member's report for the current topology, as messages to the coordinator. */
    List<byte[]> buildReport()
    {
        final int limit = Math.max(256, context.transport().preferredMessageLength() - 64);
        final Map<Long, long[]> preparesByCopy = context.tx().preparesByCopy();
        final List<List<ReportEntry>> pieces = new ArrayList<>();
        List<ReportEntry> piece = new ArrayList<>();
        int length = MESSAGE_OVERHEAD;
        for (final LocalPartition[] local : context.allCopies())
        {
            for (final LocalPartition lp : local)
            {
                if (lp == null)
                {
                    continue;
                }
                final ReportEntry entry = entry(lp, preparesByCopy.getOrDefault(PartitionCopy.pack(lp.cacheId,
                    lp.partition), MemberContext.NO_PREPARES));
                final int entryLength = ENTRY_LENGTH + 8 * entry.gaps().length + 8 * entry.prepares().length;
                if (!piece.isEmpty() && (length + entryLength > limit || piece.size() == MemberMessages.GROUP_MAX))
                {
                    pieces.add(piece);
                    piece = new ArrayList<>();
                    length = MESSAGE_OVERHEAD;
                }
                piece.add(entry);
                length += entryLength;
            }
        }
        // Then this member's ownership table (what it knows of the last owners of every partition), which a
        // coordinator that is not active yet needs: the last piece of entries carries the table's header, and its
        // caches follow, each in the first piece it fits.
        final byte[] header = context.ownership().encodeHeaderBody();
        length += header.length + 4;
        final List<List<byte[]>> sections = new ArrayList<>();
        List<byte[]> pieceSections = new ArrayList<>();
        for (final int cacheId : context.ownership().cacheIds())
        {
            final byte[] section = context.ownership().encodeCacheBody(cacheId);
            if (length + section.length + 4 > limit && (!pieceSections.isEmpty() || !piece.isEmpty()))
            {
                pieces.add(piece);
                sections.add(pieceSections);
                piece = new ArrayList<>();
                pieceSections = new ArrayList<>();
                length = MESSAGE_OVERHEAD;
            }
            pieceSections.add(section);
            length += section.length + 4;
        }
        pieces.add(piece);
        sections.add(pieceSections);
        final int firstWithTable = pieces.size() - sections.size();
        final List<byte[]> messages = new ArrayList<>(pieces.size());
        for (int i = 0; i < pieces.size(); i++)
        {
            final int tableIndex = i - firstWithTable;
            messages.add(encodeReport(i, i == pieces.size() - 1, pieces.get(i), tableIndex == 0 ? header : null,
                tableIndex < 0 ? List.of() : sections.get(tableIndex)));
        }
        return messages;
    }

    private ReportEntry entry(final LocalPartition lp, final long[] prepares)
    {
        final PartitionTable installed = context.installedMap();
        final int self = installed == null ? -1 : installed.topology().indexOf(context.incarnation());
        final boolean primary = installed != null && installed.rank(lp.cacheId, lp.partition, self) == 0;
        // Whether this copy owns the partition in the map installed here, for a coordinator that missed that map.
        final long owningStamp = installed != null && installed.isActive() &&
            !installed.isLost(lp.cacheId, lp.partition) && installed.isOwning(lp.cacheId, lp.partition, self) ?
            installed.stamp() : 0;
        final List<CounterRange> gapList = lp.counter.gaps();
        final long[] gaps = new long[gapList.size() * 2];
        for (int g = 0; g < gapList.size(); g++)
        {
            gaps[2 * g] = gapList.get(g).start();
            gaps[2 * g + 1] = gapList.get(g).count();
        }
        // Without a WAL on disk there is no history to serve: such copies catch up fully.
        final long history = context.wal().retainsRecords() ? context.checkpointer().historyFrom(lp.cacheId,
            lp.partition) : Long.MAX_VALUE;
        // A member may have missed maps (it adopted a newer topology before one arrived): the version its primary
        // role comes from lets the coordinator prefer the newest claim. The report is built once the drain is over:
        // every update of this primary was acknowledged by every backup still here, unless one refused it. Then the
        // backups hold what this copy holds, whatever their own reports, built earlier, say. The prepared
        // transactions this copy holds (coordinator, seq pairs) serve the choice of a primary where the durable
        // table decides (see leadRank).
        return new ReportEntry(context.incarnation(), lp.cacheId, lp.partition, lp.counter.lwm(), lp.counter.hwm(),
            primary, gaps, lp.store.contentHash(), history, lp.epochId, lp.store.size(),
            primary ? installed.version() : 0, primary && lp.inFlight.isEmpty() && lp.refusedBackups.isEmpty(),
            prepares, owningStamp);
    }

    private byte[] encodeReport(final int chunkIndex, final boolean last, final List<ReportEntry> entries,
        final byte[] header, final List<byte[]> sections)
    {
        final ExchangeReportEncoder out = context.messages().encode(reportOut, context.incarnation(),
            context.topology().coordinator().incarnation()).version(context.topology().version()).chunkIndex(chunkIndex)
            .last(MemberMessages.flag(last)).hasOwnershipHeader(MemberMessages.flag(header != null))
            .previousIncarnation(context.recovery().previousIncarnation());
        final ExchangeReportEncoder.EntriesEncoder group = out.entriesCount(entries.size());
        for (final ReportEntry entry : entries)
        {
            group.next().cacheId(entry.cacheId()).partition(entry.partition()).lwm(entry.lwm()).hwm(entry.hwm())
                .primary(MemberMessages.flag(entry.primary())).contentHash(entry.contentHash())
                .historyFrom(entry.historyFrom()).epochId(entry.epochId()).size(entry.size())
                .primaryVersion(entry.primaryVersion()).backupsComplete(MemberMessages.flag(entry.backupsComplete()))
                .owningStamp(entry.owningStamp());
            final ExchangeReportEncoder.EntriesEncoder.GapsEncoder gaps = group.gapsCount(entry.gaps().length / 2);
            for (int g = 0; g < entry.gaps().length; g += 2)
            {
                gaps.next().start(entry.gaps()[g]).length(entry.gaps()[g + 1]);
            }
            final ExchangeReportEncoder.EntriesEncoder.PreparesEncoder prepares =
                group.preparesCount(entry.prepares().length / 2);
            for (int p = 0; p < entry.prepares().length; p += 2)
            {
                prepares.next().coordinator(entry.prepares()[p]).tx(entry.prepares()[p + 1]);
            }
        }
        final ExchangeReportEncoder.OwnershipCachesEncoder caches = out.ownershipCachesCount(sections.size());
        sections.forEach(section -> caches.next().putSection(section, 0, section.length));
        final byte[] table = MemberMessages.orEmpty(header);
        return MemberContext.copyOut(context.messages().finish(out.putOwnershipHeader(table, 0, table.length)));
    }

    /**
     * One piece of a report as its message carries it; the ownership table's parts are applied to the assembly.
     * {@code previousIncarnation}: the incarnation that ran on the sender's data directory before it (0 if none is
     * known, and from a sender of member schema 3 or older, which does not say).
     */
    record ReportPiece(long version, int chunkIndex, boolean last, long previousIncarnation,
        List<ReportEntry> entries)
    {
    }

    /**
     * Read the report piece being handled from {@code sender}; its ownership parts go to {@code table} unless
     * {@code table} is null (a piece not wanted).
     */
    ReportPiece readReport(final long sender, final java.util.function.Function<ReportPiece, OwnershipTable> table)
    {
        final ExchangeReportDecoder in = context.messages().decode(reportIn);
        final long version = in.version();
        final int chunkIndex = in.chunkIndex();
        final boolean last = in.last() != 0;
        final boolean hasHeader = in.hasOwnershipHeader() != 0;
        final long previousIncarnation =
            in.previousIncarnation() == ExchangeReportDecoder.previousIncarnationNullValue() ? 0 :
            in.previousIncarnation();
        if (chunkIndex < 0 || chunkIndex > 1 << 20)
        {
            throw new MalformedMessageException("report chunk " + chunkIndex);
        }
        final List<ReportEntry> entries = new ArrayList<>();
        for (final ExchangeReportDecoder.EntriesDecoder entry : in.entries())
        {
            entries.add(readEntry(sender, entry));
        }
        final List<byte[]> sections = new ArrayList<>();
        for (final ExchangeReportDecoder.OwnershipCachesDecoder cache : in.ownershipCaches())
        {
            final byte[] section = MemberMessages.bytes(in, cache.sectionLength(), "ownership.cache");
            cache.getSection(section, 0, section.length);
            sections.add(section);
        }
        final byte[] header = MemberMessages.bytes(in, in.ownershipHeaderLength(), "ownership.header");
        in.getOwnershipHeader(header, 0, header.length);
        final ReportPiece piece = new ReportPiece(version, chunkIndex, last, previousIncarnation, entries);
        final OwnershipTable into = table.apply(piece);
        if (into != null)
        {
            if (hasHeader)
            {
                into.decodeHeaderBody(header);
            }
            sections.forEach(into::decodeCacheBody);
        }
        return piece;
    }

    private static ReportEntry readEntry(final long sender, final ExchangeReportDecoder.EntriesDecoder entry)
    {
        final int cacheId = entry.cacheId();
        final int partition = entry.partition();
        final long lwm = entry.lwm();
        final long hwm = entry.hwm();
        final boolean primary = entry.primary() != 0;
        final long contentHash = entry.contentHash();
        final long historyFrom = entry.historyFrom();
        final long epochId = entry.epochId();
        final long size = entry.size();
        final long primaryVersion = entry.primaryVersion();
        final boolean backupsComplete = entry.backupsComplete() != 0;
        final long owningStamp = entry.owningStamp() == ExchangeReportDecoder.EntriesDecoder.owningStampNullValue() ?
            0 : entry.owningStamp();
        if (partition < 0 || partition > 65_535)
        {
            throw new MalformedMessageException("report entry of partition " + partition);
        }
        final ExchangeReportDecoder.EntriesDecoder.GapsDecoder gapGroup = entry.gaps();
        final long[] gaps = new long[2 * gapGroup.count()];
        for (int g = 0; g < gaps.length; g += 2)
        {
            gapGroup.next();
            gaps[g] = gapGroup.start();
            gaps[g + 1] = gapGroup.length();
        }
        final ExchangeReportDecoder.EntriesDecoder.PreparesDecoder prepareGroup = entry.prepares();
        final long[] prepares = new long[2 * prepareGroup.count()];
        for (int p = 0; p < prepares.length; p += 2)
        {
            prepareGroup.next();
            prepares[p] = prepareGroup.coordinator();
            prepares[p + 1] = prepareGroup.tx();
        }
        return new ReportEntry(sender, cacheId, partition, lwm, hwm, primary, gaps, contentHash, historyFrom,
            epochId, size, primaryVersion, backupsComplete, prepares, owningStamp);
    }

    /**
     * @return {@code map} as messages to every member: chunks of partitions, then the rebalance plans, each message
     *         within the transport's preferred length.
     */
    List<byte[]> encodeMap(final PartitionTable map)
    {
        final int limit = Math.max(512, context.transport().preferredMessageLength() - 64);
        // Pieces of {cacheId, from, count}, then messages of pieces.
        final List<List<int[]>> messages = new ArrayList<>();
        List<int[]> message = new ArrayList<>();
        int length = MESSAGE_OVERHEAD;
        for (final CacheDescriptor cache : map.topology().caches())
        {
            int from = 0;
            while (from < cache.partitions())
            {
                int count = 0;
                int chunkLength = 16;
                while (from + count < cache.partitions() && count < MemberMessages.GROUP_MAX &&
                    chunkLength + map.encodedLength(cache.cacheId(), from + count) <= limit - MESSAGE_OVERHEAD)
                {
                    chunkLength += map.encodedLength(cache.cacheId(), from + count);
                    count++;
                }
                if (!message.isEmpty() && (length + chunkLength > limit || message.size() == MemberMessages.GROUP_MAX))
                {
                    messages.add(message);
                    message = new ArrayList<>();
                    length = MESSAGE_OVERHEAD;
                }
                message.add(new int[] {cache.cacheId(), from, count});
                length += chunkLength;
                from += count;
            }
        }
        // The last message of chunks carries the first plans that fit; messages of plans alone follow.
        final List<byte[]> encoded = new ArrayList<>();
        for (final List<int[]> chunks : messages)
        {
            encoded.add(encodeMapMessage(map, chunks, -1, 0));
        }
        final int plans = map.plans().size();
        int planFrom = 0;
        do
        {
            int count = 0;
            int planLength = length + 16;
            while (planFrom + count < plans && count < MemberMessages.GROUP_MAX &&
                planLength + map.encodedPlanLength(planFrom + count) <= limit)
            {
                planLength += map.encodedPlanLength(planFrom + count);
                count++;
            }
            encoded.add(encodeMapMessage(map, message, planFrom, count));
            message = List.of();
            length = MESSAGE_OVERHEAD;
            planFrom += count;
        }
        while (planFrom < plans);
        return encoded;
    }

    private byte[] encodeMapMessage(final PartitionTable map, final List<int[]> chunks, final int planFrom,
        final int planCount)
    {
        final PartitionMapEncoder out = context.messages().encode(mapOut, context.incarnation(), 0)
            .version(map.version()).stamp(map.stamp()).lifeId(map.lifeId()).hasPlans((short)0).planTotal(0).planFrom(0);
        final PartitionMapEncoder.ChunksEncoder group = out.chunksCount(chunks.size());
        for (final int[] chunk : chunks)
        {
            map.encodeChunk(group.next(), chunk[0], chunk[1], chunk[2]);
        }
        if (planFrom >= 0)
        {
            map.encodePlans(out, planFrom, planCount);
        }
        else
        {
            out.plansCount(0);
        }
        return MemberContext.copyOut(context.messages().finish(out));
    }

    /** The map message being handled, as its fixed fields say. */
    record MapPiece(long version, long stamp, long lifeId)
    {
    }

    /**
     * Read the map message being handled into {@code pending}, if {@code accept} takes its version.
     *
     * @return its fixed fields.
     */
    MapPiece readMap(final java.util.function.Predicate<MapPiece> accept, final PartitionTable pending)
    {
        final PartitionMapDecoder in = context.messages().decode(mapIn);
        final MapPiece piece = new MapPiece(in.version(), in.stamp(), in.lifeId());
        if (!accept.test(piece))
        {
            return piece;
        }
        final boolean hasPlans = in.hasPlans() != 0;
        pending.stamp(piece.stamp(), piece.lifeId());
        for (final PartitionMapDecoder.ChunksDecoder chunk : in.chunks())
        {
            pending.decodeChunk(in, chunk);
        }
        if (hasPlans)
        {
            pending.decodePlans(in);
        }
        return piece;
    }
}
