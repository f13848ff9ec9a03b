package dev.grid.core.internal.cluster;

import dev.grid.core.PartitionLossPolicy;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.Topology;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongHashSet;

import java.util.Collection;
import java.util.List;

/**
 * Whose copies of a partition hold the acknowledged updates, as one decision of {@link ExchangePlanner} judges it:
 * by the installed map's owners while the cluster was active, or by the durable table of last owners (by member id,
 * so that a last owner that restarted is one still) when the map cannot say. Made for one decision; the planner
 * sets the per-partition state ({@link #restartedOwners}, {@link #lastOwnersBack}) as it goes.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class LastOwners
{
    private final String memberId;

    /** The map installed before the decision, or null if none. */
    private final PartitionTable previous;

    /** Whose last owners the decision trusts (its own table, or at activation the newest table a member reported). */
    private final OwnershipTable decisionOwners;

    /** Set by the planner per partition: see {@link #restartedOwners}. */
    LongHashSet restartedOwners;

    /** Set by the planner per partition: false while a lost partition waits for some of its last owners. */
    boolean lastOwnersBack = true;

    /** The decision's reports, by reporting incarnation. */
    private final Long2ObjectHashMap<ReportAssembly> reportsByMember = new Long2ObjectHashMap<>();

    /** The newest ownership table's stamp among the decision's reports (0 if none): the newest map installed here. */
    private long newestReportedStamp;

    LastOwners(final String memberId, final PartitionTable previous, final OwnershipTable decisionOwners,
        final Collection<ReportAssembly> reports)
    {
        this.memberId = memberId;
        this.previous = previous;
        this.decisionOwners = decisionOwners;
        for (final ReportAssembly report : reports)
        {
            if (report.member != 0)
            {
                reportsByMember.put(report.member, report);
            }
            newestReportedStamp = Math.max(newestReportedStamp, report.table.stamp());
        }
    }

    /**
     * Whether the primary's report vouches for a backup whose own report lags it. Each member reports once, when its
     * own drain is over; a backup's report can be built before the primary's last updates reached it, though the
     * primary's drain then waited for the backup's acknowledgements. Judged on its report alone the backup was demoted
     * to MOVING, and a primary failure in that window left the partition LOST while the backup held everything. So an
     * OWNING copy of the same incarnation and epoch, whose counters the primary's cover, is up to date when the primary
     * reports that every backup still here acknowledged all its updates. Only when the primary reports under the map
     * the decision judges ownership by: its "every backup acknowledged" speaks of its own map's backups, and a copy
     * that owned in an older map (the coordinator missed the map between) may have missed every update of the newer
     * one; vouched for, it stayed owning, its missed counters were closed as rolled-back gaps while the other owners
     * held them, and a copy rebuilt from it never matched them again (soak seed 0x181cb22ee rebuilt one for ever).
     */
    boolean vouchedFor(final ReportEntry entry, final ReportEntry reference, final ReportEntry primary,
        final int cacheId, final int partition)
    {
        return primary != null && reference == primary && previous != null &&
            primary.primaryVersion() == previous.version() && primary.backupsComplete() && entry != primary &&
            entry.epochId() == primary.epochId() && entry.highestClosed() <= primary.highestClosed() &&
            wasOwner(cacheId, partition, entry.member());
    }

    /**
     * A partition lost in the installed map stays lost until an operator resets the cache's lost partitions (which
     * counts one more reset in the topology's cache descriptor than the installed map was decided under).
     */
    boolean stillLost(final CacheDescriptor cache, final int partition)
    {
        if (previous == null || !previous.isActive() || !previous.isLost(cache.cacheId(), partition) ||
            cache.lossPolicy() == PartitionLossPolicy.IGNORE)
        {
            return false;
        }
        final CacheDescriptor decidedUnder = previous.topology().cache(cache.cacheId());
        return decidedUnder != null && decidedUnder.lostResets() == cache.lostResets();
    }

    /**
     * How fit a copy is to become the partition's primary at once (smaller is fitter): 0 when it holds every prepare
     * the partition's primary answered "prepared" for. Where the installed map decides ({@code byTable} false), a copy
     * the map listed, or an owner of a newer map the coordinator missed ({@link #ownsNewerMap}): prepares go to every
     * copy of the map, and to copies new in a map again at its install. A primary that failed before that resend left a
     * new copy without them, so such a copy lacking a prepare that another such copy holds ranks 1 (whole-cluster bank
     * seed 0x16acc264: such a copy, the ideal primary, became primary when the old one was removed, and applied the
     * prepared transaction's commit without its locks over a later transfer). Where the durable table of last owners
     * decides (the cluster activates, or a lost partition comes back), a copy of one of those owners: a lost map keeps
     * every copy, a member's that was away when a prepare went out too (its data may equal the owners', a prepare
     * changes no counter), and made primary it took "no part here" for "never prepared" and rolled back a transaction
     * another partition had committed (whole-cluster bank seed 0x16acbe2d); such a copy the lost map listed ranks 2,
     * others 3.
     * <p>
     * A last owner's copy that lacks a prepare another last owner's copy holds ranks 1: its member failed before the
     * prepare was durable there, and the primary, that backup gone, answered "prepared" without it; the whole cluster
     * stopped before a map without that member was installed, so the table still lists it. Made primary, it answered
     * the copies holding the prepare "never prepared" and they rolled back a transaction another partition had
     * committed (whole-cluster bank seed 0x16acc13a). A copy holding a prepare the others lack (its transaction ended
     * while the member was away: a rollback changes no counter) is fit: its recovery asks the other participants, who
     * never answer "committed" for a transaction that rolled back.
     *
     * @param peers the partition's up-to-date copies, among which a last owner's prepares count.
     */
    int leadRank(final boolean byTable, final int cacheId, final int partition, final ReportEntry entry,
        final Topology target, final List<ReportEntry> peers)
    {
        final boolean held = wasHolder(cacheId, partition, entry.member());
        if (!byTable)
        {
            if (!held && !ownsNewerMap(entry))
            {
                return 3;
            }
            for (final ReportEntry peer : peers)
            {
                if (peer != entry && (wasHolder(cacheId, partition, peer.member()) || ownsNewerMap(peer)) &&
                    !entry.holdsPreparesOf(peer))
                {
                    return 1;
                }
            }
            return 0;
        }
        if (isTableOwner(cacheId, partition, entry, target))
        {
            for (final ReportEntry peer : peers)
            {
                if (peer != entry && isTableOwner(cacheId, partition, peer, target) && !entry.holdsPreparesOf(peer))
                {
                    return 1;
                }
            }
            return 0;
        }
        return held ? 2 : 3;
    }

    private boolean isTableOwner(final int cacheId, final int partition, final ReportEntry entry,
        final Topology target)
    {
        final MemberRecord record = target.member(entry.member());
        return record != null && decisionOwners.isOwner(cacheId, partition, record.memberId());
    }

    private boolean wasHolder(final int cacheId, final int partition, final long member)
    {
        if (previous == null)
        {
            return false;
        }
        final int index = previous.topology().indexOf(member);
        return index >= 0 && previous.rank(cacheId, partition, index) >= 0;
    }

    /**
     * @return whether a present member's copy is one of the partition's last owners: by the installed map (the same
     *         incarnation owned it) or, where that map cannot say, by the durable table (the same member id).
     */
    boolean isLastOwner(final boolean byTable, final int cacheId, final int partition, final ReportEntry entry,
        final Topology target)
    {
        if (!byTable)
        {
            return wasOwner(cacheId, partition, entry.member()) ||
                (restartedOwners != null && restartedOwners.contains(entry.member())) || ownsNewerMap(entry);
        }
        final MemberRecord record = target.member(entry.member());
        return lastOwnersBack && record != null && decisionOwners.isOwner(cacheId, partition, record.memberId());
    }

    /**
     * Whether a copy owns the partition in a map of the cluster's life newer than the installed one, that map the
     * newest any member here installed: this coordinator missed it, and judged by its own older map alone it took
     * those owners' copies for stale. Where the older map's owners had all gone it reported the partition lost while
     * the newer map's owners held every acknowledged update, and nothing brought it back (whole-cluster soak seed
     * 0x163c3c86: a coordinator that missed the switch to the ideal owners judged by the map before, whose only owner
     * crashed; it came back without its copies, which the switch had evicted).
     * <p>
     * Sound by the rule that answers an update only once a map at or after the update's version settled, which
     * needs every member of that map's topology to install it. The holder installed that map itself (its report says
     * so of its copy: a rejoining member forgets its installed map, so this is the incarnation that installed it) and
     * the coordinator never installed anything newer than its own map. So an acknowledged update was applied under
     * that map or before it: the map's decision found the copy up to date with the ones before, and one applied under
     * it needed this holder's acknowledgement (a backup refuses an update of a map it has not installed, and is left
     * out of it; this holder had installed it). An update answered under a map newer still needed a member here to
     * install that map, whose table would be newer than this copy's: only the newest map reported counts.
     */
    private boolean ownsNewerMap(final ReportEntry entry)
    {
        final ReportAssembly report = reportsByMember.get(entry.member());
        return previous != null && report != null && entry.owningStamp() > previous.stamp() &&
            entry.owningStamp() == newestReportedStamp && report.table.stamp() == entry.owningStamp() &&
            report.table.lifeId() == previous.lifeId();
    }

    /**
     * @return whether every last owner of the partition (by the durable table) is here with a copy of it.
     */
    boolean allLastOwnersBack(final int cacheId, final int partition, final List<ReportEntry> holders,
        final Topology target)
    {
        for (final String memberId : decisionOwners.owners(cacheId, partition))
        {
            boolean back = false;
            for (int i = 0; holders != null && i < holders.size() && !back; i++)
            {
                final MemberRecord record = target.member(holders.get(i).member());
                back = record != null && record.memberId().equals(memberId);
            }
            // A last owner that is here without any copy of the partition recovered none: nothing of it was ever
            // durable there, so it holds nothing the others lack (it crashed before a copy it was given got a record;
            // waiting for its copy would keep the partition lost for good).
            if (!back && target.memberById(memberId) == null)
            {
                return false;
            }
        }
        return true;
    }

    /**
     * The copies that restarted owners of the installed map brought back, where they stand for it: no incarnation the
     * map lists as owning is here, and every owning member came back (same member id, a new incarnation) with the copy
     * it recovered from disk, or holds nothing of the partition ({@link #heldNothing}), at least one with a copy. All
     * of them are needed: an owner that stayed while the others went acknowledged updates alone, so any one of them
     * may be the only copy with every acknowledged update, and the best of them is.
     *
     * @return the incarnations of those copies, or null where they do not stand for the map's owners.
     */
    LongHashSet restartedOwners(final int cacheId, final int partition, final List<ReportEntry> holders,
        final Topology target)
    {
        if (previous == null || holders == null || holders.isEmpty())
        {
            return null;
        }
        final int owningCount = previous.owningCount(cacheId, partition);
        if (owningCount == 0)
        {
            return null;
        }
        for (final ReportEntry entry : holders)
        {
            if (wasOwner(cacheId, partition, entry.member()))
            {
                return null;
            }
        }
        final int[] owners = previous.owners(cacheId, partition);
        final LongHashSet restarted = new LongHashSet();
        for (int i = 0; i < owningCount; i++)
        {
            final MemberRecord listed = previous.topology().members().get(owners[i]);
            final String memberId = listed.memberId();
            ReportEntry back = null;
            for (final ReportEntry entry : holders)
            {
                final MemberRecord record = target.member(entry.member());
                if (record != null && record.memberId().equals(memberId))
                {
                    back = entry;
                }
            }
            if (back != null)
            {
                restarted.add(back.member());
            }
            else if (!heldNothing(cacheId, partition, listed, target.memberById(memberId)))
            {
                return null;
            }
        }
        return restarted.isEmpty() ? null : restarted;
    }

    /**
     * Whether an owner of the installed map that restarted and brought back no copy of the partition never durably
     * held it: its new incarnation runs on the very data directory the incarnation the map lists ran on (that one
     * logged its ownership table there last: {@link Recovery#previousIncarnation}), and the table it recovered is
     * older than the installed map and does not name it an owner of the partition. Every install logs the table (its
     * stamp changes each time) before any update under that map, so no map the listed incarnation installed made it
     * an owner, and it acknowledged no update of the partition: it was given an empty copy by a map it never installed
     * (whole-cluster soak seeds 0x15e3b0c2 and 0x1617a1b0: a member admitted and cut off before it installed that map
     * kept the partition lost for good, every member back). A member back on another directory (its own lost, or found
     * empty by an incarnation in between) says nothing of what the listed one held, and the partition stays lost for
     * an operator's reset; a directory restored from an older backup, or one whose WAL was lost after a checkpoint
     * (the manifest still names the incarnation), would defeat this judgment, as it would any recovered copy's.
     *
     * @param listed the owner's incarnation the installed map lists.
     * @param here   the owner's present incarnation, or null if it is away.
     */
    private boolean heldNothing(final int cacheId, final int partition, final MemberRecord listed,
        final MemberRecord here)
    {
        final ReportAssembly report = here == null ? null : reportsByMember.get(here.incarnation());
        return report != null && report.previousIncarnation == listed.incarnation() &&
            report.table.stamp() < previous.stamp() && !report.table.isOwner(cacheId, partition, here.memberId());
    }

    /**
     * @return whether a holder is a restarted owner of the installed map: another incarnation of a member id that map
     *         lists as owning the partition.
     */
    boolean restartedOwnerPresent(final int cacheId, final int partition, final List<ReportEntry> holders,
        final Topology target)
    {
        final Topology installed = previous.topology();
        for (final ReportEntry entry : holders)
        {
            final MemberRecord record = target.member(entry.member());
            if (record == null || installed.indexOf(entry.member()) >= 0)
            {
                continue;
            }
            for (int i = 0; i < installed.members().size(); i++)
            {
                if (installed.members().get(i).memberId().equals(record.memberId()) &&
                    previous.isOwning(cacheId, partition, i))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private boolean wasOwner(final int cacheId, final int partition, final long member)
    {
        if (previous == null)
        {
            return false;
        }
        final int index = previous.topology().indexOf(member);
        return index >= 0 && previous.isOwning(cacheId, partition, index);
    }
}
