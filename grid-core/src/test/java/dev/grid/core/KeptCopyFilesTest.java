package dev.grid.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeptCopyFilesTest
{
    @TempDir
    Path dir;

    @Test
    void aKeptCopyReadsBackAsWrittenWithBinaryKeysAndValues()
    {
        final byte[] binary = {0, -1, '\n', ' ', '=', 127};
        final KeptCopy copy = new KeptCopy("orders", 3, "bytes", "string", 17, 412,
            "the cluster has another cache under its id:\n'x'", List.of(binary, "k2".getBytes(StandardCharsets.UTF_8)),
            List.of("v1".getBytes(StandardCharsets.UTF_8), new byte[0]));
        final Path file = KeptCopyFiles.write(dir.resolve("kept"), copy, Instant.parse("2026-12-04T11:02:03.456Z"));
        assertEquals("orders-p17-20261204T110203.456Z.kept", file.getFileName().toString());
        final KeptCopy read = KeptCopyFiles.read(file);
        assertEquals("orders", read.cacheName());
        assertEquals(3, read.cacheId());
        assertEquals("bytes", read.keyCodec());
        assertEquals("string", read.valueCodec());
        assertEquals(17, read.partition());
        assertEquals(412, read.highestCounter());
        assertEquals("the cluster has another cache under its id: 'x'", read.reason());
        assertEquals(2, read.keys().size());
        for (int i = 0; i < 2; i++)
        {
            assertArrayEquals(copy.keys().get(i), read.keys().get(i));
            assertArrayEquals(copy.values().get(i), read.values().get(i));
        }
        try (var files = java.util.stream.Stream.of(dir.resolve("kept").toFile().list()))
        {
            assertEquals(List.of(file.getFileName().toString()), files.toList(), "a temporary file was left");
        }
    }

    @Test
    void aFileThatIsNotAKeptCopyIsRefusedNamingTheLine() throws Exception
    {
        final Path file = dir.resolve("bad.kept");
        Files.writeString(file, "# comment\ncache=c\ncacheId=1\nkeyCodec=string\nvalueCodec=string\npartition=0\n" +
            "highestCounter=1\nreason=r\nentries=1\n\nnot-base64!\n");
        final PersistenceException error = assertThrows(PersistenceException.class, () -> KeptCopyFiles.read(file));
        assertEquals(ErrorCode.PERSISTENCE_IO_FAILED, error.errorCode());
        assertTrue(error.getMessage().contains("line 11"), error.getMessage());
    }
}
