package dev.grid.node;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.File;
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
    @Test
    void keysSurviveASigkilledMemberAndTheSurvivorsShutDownCleanly() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-mp");
        final List<String> addresses = MemberProcess.loopbackAddresses(3);
        final List<MemberProcess> children = new ArrayList<>();
        try
        {
            final List<Process> processes = new ArrayList<>();
            for (int i = 0; i < 3; i++)
            {
                final Path config = MemberProcess.writeConfig(dir, i, addresses);
                processes.add(MemberProcess.launch(config, dir.resolve("m" + i + ".log")));
            }
            for (final Process process : processes)
            {
                children.add(new MemberProcess(process));
            }
            final MemberProcess writer = children.get(0);
            final MemberProcess reader = children.get(1);
            final MemberProcess victim = children.get(2);
            MemberProcess.awaitTopologySize(writer, 3);
            assertEquals("OK", writer.command("create keys 1"));
            assertEquals("OK", writer.command("put-range keys 0 10000"));
            assertEquals("CHECKED 10000 MISSING 0 WRONG 0", reader.command("check-range keys 0 10000"));
            final long before = Long.parseLong(writer.command("topology").split(" ")[1]);

            victim.kill();

            MemberProcess.awaitTopologySize(reader, 2);
            final String[] after = reader.command("topology").split(" ");
            assertTrue(Long.parseLong(after[1]) > before, "no new topology version: " + before + " -> " + after[1]);
            assertEquals("CHECKED 10000 MISSING 0 WRONG 0", reader.command("check-range keys 0 10000"));
            assertEquals("CHECKED 10000 MISSING 0 WRONG 0", writer.command("check-range keys 0 10000"));

            for (final MemberProcess survivor : List.of(writer, reader))
            {
                assertEquals("BYE", survivor.command("quit"));
                assertTrue(survivor.process.waitFor(20, TimeUnit.SECONDS), "member did not stop");
                assertEquals(0, survivor.process.exitValue());
                assertFalse(new File(survivor.directory).exists(), "driver directory left: " + survivor.directory);
            }
        }
        catch (final Throwable failure)
        {
            MemberProcess.printLogTails(dir);
            throw failure;
        }
        finally
        {
            for (final MemberProcess child : children)
            {
                child.close();
                child.process.waitFor(10, TimeUnit.SECONDS);
                MemberProcess.deleteRecursively(new File(child.directory));
            }
            MemberProcess.deleteRecursively(dir.toFile());
        }
    }

    @Test
    void aMemberRunWithoutACommandChannelStopsOnSigterm() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-term");
        final String port = String.valueOf(TestCluster.freeUdpPort());
        final Path config = dir.resolve("m0.properties");
        Files.writeString(config, "member.id = m0\nport = " + port + "\nseeds = 127.0.0.1:" + port +
            "\nheartbeat.interval.ms = 50\n");
        final MemberProcess member = new MemberProcess(MemberProcess.launchUntilSignalled(config, dir.resolve("m0.log")));
        try
        {
            member.process.destroy();
            assertTrue(member.process.waitFor(20, TimeUnit.SECONDS), "member did not stop on SIGTERM");
            assertFalse(new File(member.directory).exists(), "driver directory left: " + member.directory);
        }
        catch (final Throwable failure)
        {
            MemberProcess.printLogTails(dir);
            throw failure;
        }
        finally
        {
            member.close();
            member.process.waitFor(10, TimeUnit.SECONDS);
            MemberProcess.deleteRecursively(new File(member.directory));
            MemberProcess.deleteRecursively(dir.toFile());
        }
    }
}
