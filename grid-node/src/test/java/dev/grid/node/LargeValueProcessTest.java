package dev.grid.node;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 17, item 2: values of 1 MiB and 16 MiB on three persistent member processes, one backup. A put of 128.2 KiB
 * used to time out (the member message was over Aeron's 128 KiB) while the primary kept the value and the backup never
 * got it. Each value is acknowledged, survives a member's SIGKILL (primary of some of them), reaches the member when it
 * comes back (written while it was away too), and the copies agree; a value over the limit fails at once with
 * VALUE_TOO_LARGE.
 */
class LargeValueProcessTest
{
    private static final int MIB = 1 << 20;

    @Test
    void largeValuesReplicateSurviveAKillAndReachTheRejoiningMember() throws Exception
    {
        final Path dir = Files.createTempDirectory("grid-large");
        final List<Path> configs = MemberProcess.persistentConfigs(dir);
        final List<MemberProcess> children = new ArrayList<>();
        MemberProcess.runAndCleanUp(dir, children, () ->
        {
            MemberProcess.launchTogether(configs, dir, "", children);
            MemberProcess.awaitOneCluster(children);
            final MemberProcess m0 = children.get(0);
            assertEquals("OK", m0.command("create big 1"));
            assertEquals("OK", m0.command("baseline-set m0,m1,m2"));
            final Map<String, Integer> values = new LinkedHashMap<>();
            for (int i = 0; i < 6; i++)
            {
                values.put("one-" + i, MIB);
            }
            values.put("sixteen-a", 16 * MIB);
            values.put("sixteen-b", 16 * MIB);
            values.put("just-over-128k", 128 * 1024 + 200);
            for (final Map.Entry<String, Integer> value : values.entrySet())
            {
                assertEquals("OK", m0.command("put-big big " + value.getKey() + " " + value.getValue()));
            }
            m0.in.println("put-big big too-large " + 18 * MIB);
            final String refused = m0.out.readLine();
            assertTrue(refused.startsWith("ERROR") && refused.contains("VALUE_TOO_LARGE"), refused);

            // m1 is the primary of some of these keys (rendezvous affinity over three members, one backup each).
            children.get(1).kill();
            assertEquals("OK", m0.command("put-big big while-away " + 16 * MIB));
            values.put("while-away", 16 * MIB);
            assertAllThere(children.get(0), values);
            assertAllThere(children.get(2), values);

            children.set(1, new MemberProcess(MemberProcess.launch(configs.get(1), dir.resolve("m1-restarted.log"))));
            MemberProcess.awaitOneCluster(children);
            MemberProcess.awaitQuiescent(children);
            for (final MemberProcess child : children)
            {
                assertAllThere(child, values);
            }
            final String verify = m0.command("verify big");
            assertTrue(verify.contains(" conflicts 0 moving 0"), verify);
            MemberProcess.quitAll(children);
        });
    }

    private static void assertAllThere(final MemberProcess child, final Map<String, Integer> values) throws Exception
    {
        for (final Map.Entry<String, Integer> value : values.entrySet())
        {
            assertEquals("BIG OK", child.command("check-big big " + value.getKey() + " " + value.getValue()),
                value.getKey() + " through " + child.directory);
        }
    }
}
