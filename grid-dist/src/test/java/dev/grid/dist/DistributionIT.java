package dev.grid.dist;

import dev.grid.core.testing.LoopbackPorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server distribution as an operator uses it: {@code grid-VERSION.tar.gz} unpacked in a temporary directory,
 * three members started with {@code bin/grid-member.sh} on the sample {@code conf/member.properties}, each made
 * different by {@code GRID_CONF_*} environment variables only; the admin tool and an example program run with
 * {@code bin/grid-admin.sh} and {@code bin/grid-run.sh}; metrics scraped; every member stopped with SIGTERM. Members
 * print nothing but their READY line: their logs go to rolling files, GC logs beside them.
 */
class DistributionIT
{
    private static final long DEADLINE_NS = TimeUnit.SECONDS.toNanos(90);

    @TempDir
    Path temp;

    @Test
    void aClusterRunsFromTheUnpackedDistribution() throws Exception
    {
        final Path tarball = Path.of(System.getProperty("grid.dist.tarball"));
        assertTrue(Files.isRegularFile(tarball), "no distribution at " + tarball);
        run(List.of("tar", "-xzf", tarball.toString(), "-C", temp.toString()), Map.of(), temp);
        final Path home;
        try (Stream<Path> unpacked = Files.list(temp))
        {
            home = unpacked.filter(p -> p.getFileName().toString().startsWith("grid-")).findFirst().orElseThrow();
        }
        for (final String file : List.of("LICENSE", "NOTICE", "Dockerfile", "bin/grid-member.sh", "bin/grid-admin.sh",
            "conf/member.properties", "conf/logback.xml"))
        {
            assertTrue(Files.exists(home.resolve(file)), "the distribution has " + file);
        }
        assertTrue(Files.readString(home.resolve("LICENSE")).contains("Apache License"));
        try (Stream<Path> lib = Files.list(home.resolve("lib")))
        {
            final List<String> jars = lib.map(p -> p.getFileName().toString()).toList();
            assertTrue(jars.stream().anyMatch(j -> j.startsWith("logback-classic-")), "one binding: " + jars);
            assertTrue(jars.stream().noneMatch(j -> j.startsWith("slf4j-simple-")), "only one binding: " + jars);
        }

        final int[] ports = {LoopbackPorts.next(), LoopbackPorts.next(), LoopbackPorts.next()};
        final int[] clientPorts = {LoopbackPorts.next(), LoopbackPorts.next(), LoopbackPorts.next()};
        final int metricsPort = LoopbackPorts.next();
        final String seeds = Stream.of(ports[0], ports[1], ports[2]).map(p -> "127.0.0.1:" + p)
            .collect(Collectors.joining(","));
        final Path logs = temp.resolve("logs");
        final List<Process> members = new ArrayList<>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                final ProcessBuilder builder = new ProcessBuilder(home.resolve("bin/grid-member.sh").toString(),
                    "conf/member.properties").directory(home.toFile())
                    .redirectOutput(temp.resolve("m" + i + ".out").toFile())
                    .redirectError(temp.resolve("m" + i + ".err").toFile());
                builder.environment().putAll(Map.of("GRID_HEAP", "256m", "GRID_LOG_DIR", logs.toString(),
                    "GRID_CONF_MEMBER_ID", "m" + i, "GRID_CONF_PORT", Integer.toString(ports[i]),
                    "GRID_CONF_SEEDS", seeds, "GRID_CONF_CLIENT_PORT", Integer.toString(clientPorts[i]),
                    "GRID_CONF_DATA_DIRECTORY", temp.resolve("data/m" + i).toString(),
                    "GRID_CONF_METRICS_PORT", Integer.toString(i == 0 ? metricsPort : 0)));
                members.add(builder.start());
            }
            for (int i = 0; i < 3; i++)
            {
                awaitReady(members.get(i), temp.resolve("m" + i + ".out"), logs.resolve("m" + i + ".log"));
            }
            final String host = "127.0.0.1:" + clientPorts[0];
            final String state = run(List.of(home.resolve("bin/grid-admin.sh").toString(), "--host", host, "state"),
                Map.of(), home);
            assertTrue(state.contains("m0") && state.contains("m1") && state.contains("m2"), state);
            final String example = "dev.grid.examples.ThinClientExample";
            final String runner = home.resolve("bin/grid-run.sh").toString();
            run(List.of(runner, example, "--host", host, "create", "dist", "1"), Map.of(), home);
            assertTrue(run(List.of(runner, example, "--host", host, "load", "dist", "0", "2000", "v"), Map.of(), home)
                .contains("loaded 2000 keys"));
            assertTrue(run(List.of(runner, example, "--host", "127.0.0.1:" + clientPorts[2], "check", "dist", "0",
                "2000", "v"), Map.of(), home).contains("0 wrong"));
            final String scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + metricsPort + "/metrics")).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(scrape.contains("grid_topology_members 3.0"), scrape);
        }
        catch (final Exception | Error ex)
        {
            // The members' logs say why: print their tails before they are stopped and the directory goes.
            for (int i = 0; i < 3; i++)
            {
                System.err.println("--- m" + i + ".log\n" + tail(logs.resolve("m" + i + ".log")));
            }
            throw ex;
        }
        finally
        {
            for (final Process member : members)
            {
                member.destroy();
            }
            for (final Process member : members)
            {
                if (!member.waitFor(60, TimeUnit.SECONDS))
                {
                    member.destroyForcibly();
                }
            }
        }
        for (int i = 0; i < 3; i++)
        {
            assertEquals(0, members.get(i).exitValue() == 143 ? 0 : members.get(i).exitValue(),
                "m" + i + " stopped on SIGTERM");
            final List<String> out = Files.readAllLines(temp.resolve("m" + i + ".out"));
            assertEquals(1, out.size(), "a member prints only its READY line: " + out);
            assertTrue(out.get(0).startsWith("READY "), out.toString());
            assertEquals("", Files.readString(temp.resolve("m" + i + ".err")), "nothing on standard error");
            final String log = Files.readString(logs.resolve("m" + i + ".log"));
            assertTrue(log.contains("STOPPING -> STOPPED"), "the member's log is in its file: " + log);
            assertTrue(Files.size(logs.resolve("m" + i + "-gc.log")) > 0, "a GC log");
        }
    }

    private static void awaitReady(final Process member, final Path out, final Path log) throws IOException
    {
        final long deadline = System.nanoTime() + DEADLINE_NS;
        while (!Files.exists(out) || !Files.readString(out).startsWith("READY "))
        {
            if (!member.isAlive() || System.nanoTime() > deadline)
            {
                throw new AssertionError("a member did not print READY within 90 s; its output: " +
                    Files.readString(out) + "\nits log's tail: " + tail(log));
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
    }

    private static String tail(final Path log) throws IOException
    {
        if (!Files.exists(log))
        {
            return "(no log)";
        }
        final List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    /** Run a command to its end (at most 90 s) and return its output; fail naming its output if it fails. */
    private static String run(final List<String> command, final Map<String, String> environment, final Path directory)
        throws IOException, InterruptedException
    {
        // Output to a file, read once the command ended: a command that hangs fails the test after 90 s instead of
        // blocking a read of its output.
        final Path output = Files.createTempFile(directory, "command", ".out");
        final ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile())
            .redirectErrorStream(true).redirectOutput(output.toFile());
        builder.environment().putAll(environment);
        final Process process = builder.start();
        if (!process.waitFor(90, TimeUnit.SECONDS))
        {
            process.destroyForcibly();
            throw new AssertionError(command + " did not finish within 90 s: " + Files.readString(output));
        }
        final String text = Files.readString(output, StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), command + " failed: " + text);
        return text;
    }
}
