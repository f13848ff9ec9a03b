package dev.grid.node;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A member whose start fails with an {@link Error} after its Aeron driver was launched (here: its WAL's replay runs
 * out of heap) removes the driver's directory before the error leaves it, as it does after an exception: before, a
 * failed start left a directory of term buffers in /dev/shm for every attempt.
 */
class StartFailureProcessTest
{
    private static final int KEYS = 300_000;
    /** Room for the JVM, Aeron and Chronicle, not for the replay of {@link #KEYS} entries. */
    private static final String SMALL_HEAP = "-Xmx40m";

    @Test
    void aStartThatRunsOutOfHeapInItsReplayLeavesNoDriverDirectory() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-start-failure");
        final String port = String.valueOf(TestCluster.freeUdpPort());
        final Path config = dir.resolve("m0.properties");
        Files.writeString(config, "member.id = m0\nport = " + port + "\nseeds = 127.0.0.1:" + port + "\n" +
            "data.directory = " + dir.resolve("data") + "\nwal.mode = LOG_ONLY\n" +
            "checkpoint.wal.records = 100000000\n");
        boolean passed = false;
        try
        {
            try (MemberProcess member = new MemberProcess(MemberProcess.launch(config, dir.resolve("load.log"))))
            {
                assertEquals("OK", member.command("create data 0"));
                assertEquals("OK", member.command("put-range data 0 " + KEYS));
                assertEquals("BYE", member.command("quit"));
                assertTrue(member.process.waitFor(60, TimeUnit.SECONDS), "the loading member did not stop");
            }
            // The usual child command (java first), with the small heap instead of this JVM's heap settings.
            final List<String> usual = Main.childCommand(config, "--commands");
            final List<String> command = new ArrayList<>(List.of(usual.get(0), SMALL_HEAP));
            usual.stream().skip(1).filter(arg -> !arg.startsWith("-Xm")).forEach(command::add);
            final Path log = dir.resolve("small-heap.log");
            final Process small = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                .start();
            try
            {
                assertTrue(small.waitFor(120, TimeUnit.SECONDS), "the member with a small heap did not end");
            }
            finally
            {
                small.destroyForcibly();
            }
            final String output = Files.readString(log);
            // The launch's log line comes before the error. The error need not carry its stack: one thrown when
            // the JIT fails to reallocate scalar-replaced objects has none (a CI run saw this).
            final int launched = output.indexOf("media driver directory");
            assertTrue(launched >= 0 && output.indexOf("OutOfMemoryError", launched) > launched,
                "the WAL's replay was to run out of heap, after the driver's launch:\n" + output);
            final File[] left = new File("/dev/shm").listFiles((d, name) -> name.startsWith("grid-m0-" + small.pid() +
                "-"));
            assertEquals(0, left == null ? 0 : left.length, "driver directories left: " + List.of(left == null ?
                new File[0] : left));
            passed = true;
        }
        finally
        {
            if (passed)
            {
                MemberProcess.deleteRecursively(dir.toFile());
            }
            else
            {
                MemberProcess.printLogTails(dir);
            }
        }
    }
}
