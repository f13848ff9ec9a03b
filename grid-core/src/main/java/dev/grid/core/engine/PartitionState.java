package dev.grid.core.engine;

/**
 * The state of one member's copy of one partition.
 * <p>
 * Transitions (any other is a bug and throws):
 * <pre>
 * (created) -> OWNING   the copy is created as an owner of a partition that holds nothing yet
 * (created) -> MOVING   the copy is created to catch up by rebalance
 * (created) -> LOST     the copy is created as an owner of a lost partition (it holds nothing of the lost data)
 * MOVING    -> OWNING   the copy caught up and the next map lists it as an owner (late affinity)
 * MOVING    -> MOVING   a new map re-plans its catch-up (another supplier, or full instead of historical)
 * OWNING    -> OWNING   a new map keeps the copy an owner (primary or backup)
 * OWNING    -> MOVING   the copy lags the owners (it missed updates): it catches up by rebalance
 * OWNING    -> LOST     every owner of the partition is gone (the partition's data is lost until reset)
 * MOVING    -> LOST     the copy caught up, and the partition it owns now is lost (its owners left meanwhile)
 * MOVING    -> RENTING  the map no longer assigns the copy here
 * OWNING    -> RENTING  the map no longer assigns the copy here: only once the new owners own
 * RENTING   -> EVICTED  the copy's data is dropped
 * LOST      -> OWNING   the lost partition was reset
 * LOST      -> RENTING  the lost partition was reset and is assigned elsewhere
 * LOST      -> LOST     a new map while the partition stays lost
 * LOST      -> MOVING   a returning member's copy holds more of the lost data: this one catches up from it
 * </pre>
 * A MOVING copy receives every update of the partition with its counter, serves no read and is never primary. Its
 * counter is exact (it closes only what is applied and durable), so after a restart it is reported as it is and
 * caught up from there; nothing trusts a counter a MOVING copy did not earn.
 */
public enum PartitionState
{
    /** Catching up by rebalance; takes live updates; not readable. */
    MOVING,
    /** Up to date: primary or backup. */
    OWNING,
    /** Leaving: no longer assigned here. */
    RENTING,
    /** Dropped. Terminal. */
    EVICTED,
    /** Every owner of the partition is gone: reads and writes follow the cache's lost-partition policy. */
    LOST;

    /**
     * @param next the state to move to.
     * @return true if the transition is in the table above.
     */
    public boolean canMoveTo(final PartitionState next)
    {
        return switch (this)
        {
            case MOVING -> next == OWNING || next == MOVING || next == RENTING || next == LOST;
            case OWNING -> next == MOVING || next == LOST || next == RENTING || next == OWNING;
            case RENTING -> next == EVICTED;
            case EVICTED -> false;
            case LOST -> next == OWNING || next == RENTING || next == LOST || next == MOVING;
        };
    }

    /**
     * @param next the state to move to.
     * @return {@code next}.
     * @throws IllegalStateException if the transition is not allowed.
     */
    public PartitionState moveTo(final PartitionState next)
    {
        if (!canMoveTo(next))
        {
            throw new IllegalStateException("partition copy cannot move from " + this + " to " + next);
        }
        return next;
    }
}
