package dev.grid.core.internal.cluster;

import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.StateTables;
import org.junit.jupiter.api.Test;

import java.util.Set;

/**
 * The engine's state machines' checked transitions are exactly the tables their javadoc documents (the transaction
 * states are checked in grid-tx's TxStateTransitionsTest).
 */
class StateTransitionsTest
{
    @Test
    void memberStates()
    {
        StateTables.check(MemberState.class, Set.of(
            "JOINING>ACTIVE", "JOINING>FAILED", "JOINING>STOPPING",
            "ACTIVE>JOINING", "ACTIVE>EXPELLED", "ACTIVE>STOPPING", "ACTIVE>FAILED",
            "STOPPING>STOPPED", "STOPPING>FAILED",
            "EXPELLED>STOPPING", "EXPELLED>FAILED"));
    }

    @Test
    void checkpointStates()
    {
        StateTables.check(CheckpointState.class, Set.of(
            "IDLE>SNAPSHOTTING", "SNAPSHOTTING>AWAITING_DURABILITY", "AWAITING_DURABILITY>COMMITTING",
            "COMMITTING>IDLE", "SNAPSHOTTING>IDLE", "AWAITING_DURABILITY>IDLE"));
    }
}
