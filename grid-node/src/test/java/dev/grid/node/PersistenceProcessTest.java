package dev.grid.node;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Durability with real processes: a member with a LOG_ONLY WAL, checkpointing every 700 WAL records, is killed with
 * SIGKILL in the middle of a write load and started again on the same data directory. Every write acknowledged before the kill is back, and each recovered
 * partition's counters equal the updates it holds (LWM = HWM = entries, no gaps: every key was written once).
 */
class PersistenceProcessTest
{
    @Test
    void everyAcknowledgedWriteSurvivesASigkillAndTheCountersMatchTheRecoveredUpdates() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-persist");
        final String port = String.valueOf(TestCluster.freeUdpPort());
        final Path config = dir.resolve("m0.properties");
        Files.writeString(config, "member.id = m0\nport = " + port + "\nseeds = 127.0.0.1:" + port + "\n" +
            "heartbeat.interval.ms = 50\ndata.directory = " + dir.resolve("data") + "\nwal.mode = LOG_ONLY\n" +
            "checkpoint.wal.records = 700\n");
        MemberProcess member = null;
        try
        {
            member = new MemberProcess(MemberProcess.launch(config, dir.resolve("first.log")));
            assertEquals("OK", member.command("create data 0"));
            assertEquals("OK", member.command("load data 0"));
            // Kill once 5,000 writes were acknowledged and a checkpoint committed, so that recovery starts from one.
            int acknowledged = 0;
            long checkpoint = 0;
            while (acknowledged < 5_000 || checkpoint == 0)
            {
                member.in.println("recovery");
                String line;
                while ((line = member.out.readLine()) != null && !line.startsWith("RECOVERY "))
                {
                    assertTrue(line.startsWith("ACKED "), "unexpected line from the loading member: " + line);
                    acknowledged = Integer.parseInt(line.substring("ACKED ".length()));
                }
                assertTrue(line != null, "the member ended");
                checkpoint = Long.parseLong(line.split(" ")[2]);
            }
            member.kill();
            MemberProcess.deleteRecursively(new File(member.directory));

            member = new MemberProcess(MemberProcess.launch(config, dir.resolve("second.log")));
            final String[] recovery = member.command("recovery").split(" ");
            assertTrue(Long.parseLong(recovery[2]) >= checkpoint, "recovered from checkpoint " + recovery[2] +
                ", but " + checkpoint + " had committed before the kill");
            final String[] copies = member.command("counters data").split(" ");
            long entries = 0;
            for (int i = 1; i < copies.length; i++)
            {
                final String[] copy = copies[i].split(":");
                final long lwm = Long.parseLong(copy[1]);
                final long hwm = Long.parseLong(copy[2]);
                final int gaps = Integer.parseInt(copy[3]);
                final long size = Long.parseLong(copy[4]);
                assertEquals(lwm, hwm, "partition " + copy[0] + ": HWM above LWM after recovery");
                assertEquals(0, gaps, "partition " + copy[0] + " has gaps");
                assertEquals(size, lwm, "partition " + copy[0] + ": LWM differs from the updates it holds");
                assertTrue(Long.parseLong(copy[5]) <= lwm, "partition " + copy[0] + " claims history only after " +
                    copy[5] + ", above its LWM " + lwm);
                entries += size;
            }
            assertTrue(entries >= acknowledged, "recovered " + entries + " entries, acknowledged " + acknowledged);
            assertEquals("CHECKED " + acknowledged + " MISSING 0 WRONG 0",
                member.command("check-range data 0 " + acknowledged));
            System.out.println("acknowledged before SIGKILL: " + acknowledged + ", recovered entries: " + entries +
                ", recovered from checkpoint " + recovery[2] + " and " + recovery[4] + " WAL records");

            assertEquals("BYE", member.command("quit"));
            assertTrue(member.process.waitFor(20, TimeUnit.SECONDS), "member did not stop");
            assertEquals(0, member.process.exitValue());
            assertFalse(new File(member.directory).exists(), "driver directory left: " + member.directory);
        }
        catch (final Throwable failure)
        {
            MemberProcess.printLogTails(dir);
            throw failure;
        }
        finally
        {
            if (member != null)
            {
                member.close();
                member.process.waitFor(10, TimeUnit.SECONDS);
                MemberProcess.deleteRecursively(new File(member.directory));
            }
            MemberProcess.deleteRecursively(dir.toFile());
        }
    }
}
