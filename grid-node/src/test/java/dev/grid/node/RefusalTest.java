package dev.grid.node;

import dev.grid.core.CacheNotFoundException;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.PersistenceException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which exceptions of an engine command only refuse the caller (its future fails, the member goes on) and which are
 * faults of the member (it fails and stops, as its state cannot be trusted): a WAL that cannot be written must never
 * pass for a refusal, or a write told it failed could be applied by a resend.
 */
class RefusalTest
{
    @Test
    void callersMistakesAreRefusalsAndTheMembersFaultsAreNot()
    {
        assertTrue(GridMember.isRefusal(new CacheNotFoundException("no cache named 'x'")));
        assertTrue(GridMember.isRefusal(new GridException(ErrorCode.TRANSACTION_NOT_FOUND, "no such")));
        assertTrue(GridMember.isRefusal(new GridException(ErrorCode.CONFIGURATION_INVALID, "bad")));
        assertFalse(GridMember.isRefusal(new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, "disk full")));
        assertFalse(GridMember.isRefusal(new GridException(ErrorCode.COUNTER_STATE_CORRUPT, "corrupt")));
    }
}
