package dev.grid.persistence;

import dev.grid.core.ErrorCode;
import dev.grid.core.PersistenceException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataDirectoryTest
{
    @TempDir
    Path dir;

    @Test
    void aSecondMemberIsRefusedWhileTheFirstHoldsTheDirectory()
    {
        try (DataDirectory held = DataDirectory.open(dir, "m1", "grid"))
        {
            assertTrue(Files.isDirectory(held.walDirectory()));
            final PersistenceException error = assertThrows(PersistenceException.class,
                () -> DataDirectory.open(dir, "m1", "grid"));
            assertEquals(ErrorCode.DATA_DIRECTORY_LOCKED, error.errorCode());
            assertTrue(error.getMessage().contains(dir.toString()), error.getMessage());
        }
        DataDirectory.open(dir, "m1", "grid").close();
    }

    @Test
    void anotherMemberOrClusterIsRefused()
    {
        DataDirectory.open(dir, "m1", "grid").close();
        final PersistenceException member = assertThrows(PersistenceException.class,
            () -> DataDirectory.open(dir, "m2", "grid"));
        assertEquals(ErrorCode.DATA_DIRECTORY_MISMATCH, member.errorCode());
        assertTrue(member.getMessage().contains("'m1'") && member.getMessage().contains("'m2'"), member.getMessage());
        final PersistenceException cluster = assertThrows(PersistenceException.class,
            () -> DataDirectory.open(dir, "m1", "prod"));
        assertEquals(ErrorCode.DATA_DIRECTORY_MISMATCH, cluster.errorCode());
    }
}
