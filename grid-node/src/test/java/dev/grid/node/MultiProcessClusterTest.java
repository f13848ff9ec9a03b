package dev.grid.node;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three members as separate JVMs on loopback, driven through {@link Main}'s command channel: 10,000 keys written
 * through one member and read through another; one member killed with SIGKILL; the survivors form a new topology and
 * every key is still readable; the survivors shut down cleanly and leave no driver directory behind.
 */
class MultiProcessClusterTest
{
    private static final class Child implements AutoCloseable
    {
        final Process process;
        final BufferedReader out;
        final PrintWriter in;
        final String directory;

        Child(final Process process) throws IOException
        {
            this.process = process;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            this.in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
            final String ready = out.readLine();
            if (ready == null || !ready.startsWith("READY "))
            {
                throw new IllegalStateException("member process did not start: " + ready);
            }
            this.directory = ready.substring("READY ".length());
        }

        String command(final String line) throws IOException
        {
            in.println(line);
            final String answer = out.readLine();
            if (answer == null || answer.startsWith("ERROR"))
            {
                throw new AssertionError("'" + line + "' answered " + answer);
            }
            return answer;
        }

        public void close()
        {
            process.destroyForcibly();
        }
    }

    private static Process launch(final Path config, final Path log) throws IOException
    {
        return new ProcessBuilder(Main.childCommand(config, "--commands")).redirectError(log.toFile()).start();
    }

    @Test
    void keysSurviveASigkilledMemberAndTheSurvivorsShutDownCleanly() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-mp");
        final List<String> addresses = new ArrayList<>();
        for (int i = 0; i < 3; i++)
        {
            addresses.add("127.0.0.1:" + TestCluster.freeUdpPort());
        }
        final List<Child> children = new ArrayList<>();
        try
        {
            final List<Process> processes = new ArrayList<>();
            for (int i = 0; i < 3; i++)
            {
                final Path config = dir.resolve("m" + i + ".properties");
                Files.writeString(config, "member.id = m" + i + "\nport = " + addresses.get(i).split(":")[1] +
                    "\nseeds = " + String.join(",", addresses) + "\nheartbeat.interval.ms = 100\n" +
                    "failure.detection.timeout.ms = 1500\njoin.timeout.ms = 20000\n");
                processes.add(launch(config, dir.resolve("m" + i + ".log")));
            }
            for (final Process process : processes)
            {
                children.add(new Child(process));
            }
            final Child writer = children.get(0);
            final Child reader = children.get(1);
            final Child victim = children.get(2);
            awaitTopologySize(writer, 3);
            assertEquals("OK", writer.command("create keys 1"));
            assertEquals("OK", writer.command("put-range keys 0 10000"));
            assertEquals("CHECKED 10000 MISSING 0 WRONG 0", reader.command("check-range keys 0 10000"));
            final long before = Long.parseLong(writer.command("topology").split(" ")[1]);

            victim.process.destroyForcibly();
            assertTrue(victim.process.waitFor(10, TimeUnit.SECONDS));
            deleteRecursively(new File(victim.directory));

            awaitTopologySize(reader, 2);
            final String[] after = reader.command("topology").split(" ");
            assertTrue(Long.parseLong(after[1]) > before, "no new topology version: " + before + " -> " + after[1]);
            assertEquals("CHECKED 10000 MISSING 0 WRONG 0", reader.command("check-range keys 0 10000"));
            assertEquals("CHECKED 10000 MISSING 0 WRONG 0", writer.command("check-range keys 0 10000"));

            for (final Child survivor : List.of(writer, reader))
            {
                assertEquals("BYE", survivor.command("quit"));
                assertTrue(survivor.process.waitFor(20, TimeUnit.SECONDS), "member did not stop");
                assertEquals(0, survivor.process.exitValue());
                assertFalse(new File(survivor.directory).exists(), "driver directory left: " + survivor.directory);
            }
        }
        finally
        {
            for (final Child child : children)
            {
                child.close();
                child.process.waitFor(10, TimeUnit.SECONDS);
                deleteRecursively(new File(child.directory));
            }
            deleteRecursively(dir.toFile());
        }
    }

    private static void awaitTopologySize(final Child child, final int size) throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true)
        {
            final String[] topology = child.command("topology").split(" ");
            if (Integer.parseInt(topology[2]) == size)
            {
                return;
            }
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("topology still has " + topology[2] + " members, expected " + size);
            }
            Thread.onSpinWait();
        }
    }

    private static void deleteRecursively(final File file)
    {
        final File[] children = file.listFiles();
        if (children != null)
        {
            for (final File child : children)
            {
                deleteRecursively(child);
            }
        }
        file.delete();
    }
}
