package dev.grid.examples;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The thin client needs neither JVM flags nor the member's modules and libraries: {@link ThinClientExample} runs as
 * {@code java -cp <examples, grid-client, grid-core, commons-codec> ...} (no Agrona, Aeron or Chronicle on its class
 * path, no {@code --add-opens} or {@code --add-exports}) against members of this JVM.
 */
class PlainJavaClientTest
{
    /** The only jars and class directories the client's class path may hold. */
    private static final List<String> CLIENT_CLASS_PATH = List.of("grid-client", "grid-core", "commons-codec");

    private static LocalMembers cluster;

    @BeforeAll
    static void startMembers()
    {
        cluster = LocalMembers.start(2, config -> { });
    }

    @AfterAll
    static void stopMembers()
    {
        cluster.close();
    }

    private static String clientClassPath()
    {
        final List<String> kept = new ArrayList<>();
        for (final String entry : System.getProperty("java.class.path").split(File.pathSeparator))
        {
            final Path path = Path.of(entry);
            final String name = path.getFileName().toString();
            final boolean examples = name.equals("classes") && path.getParent() != null &&
                path.getParent().getParent() != null &&
                path.getParent().getParent().getFileName().toString().equals("examples");
            final boolean moduleClasses = name.equals("classes") && CLIENT_CLASS_PATH.stream().anyMatch(
                module -> path.getParent().getParent().getFileName().toString().equals(module));
            final boolean jar = name.endsWith(".jar") && !name.endsWith("-tests.jar") &&
                CLIENT_CLASS_PATH.stream().anyMatch(prefix -> name.startsWith(prefix + "-"));
            if (examples || moduleClasses || jar)
            {
                kept.add(entry);
            }
        }
        return String.join(File.pathSeparator, kept);
    }

    private static String run(final String... args) throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>(List.of(
            ProcessHandle.current().info().command().orElse("java"), "-cp", clientClassPath(),
            ThinClientExample.class.getName(), "--host", cluster.clientAddress(0), "--host", cluster.clientAddress(1)));
        command.addAll(List.of(args));
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try
        {
            final boolean ended = process.waitFor(60, TimeUnit.SECONDS);
            final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(ended, "the client ended within 60 s: " + output);
            assertEquals(0, process.exitValue(), String.join(" ", command) + "\n" + output);
            return output;
        }
        finally
        {
            process.destroyForcibly();
        }
    }

    @Test
    void theExampleRunsOnTheClientsClassPathWithNoFlags() throws Exception
    {
        final String classPath = clientClassPath();
        assertTrue(classPath.contains("grid-client") && classPath.contains("grid-core"), classPath);
        assertTrue(!classPath.contains("grid-node") && !classPath.contains("aeron") &&
            !classPath.contains("chronicle") && !classPath.contains("agrona"),
            "none of the member's modules or libraries: " + classPath);

        assertTrue(run("create", "plain", "1").contains("created cache plain"));
        assertTrue(run("load", "plain", "0", "200", "v").contains("loaded 200 keys"));
        assertTrue(run("check", "plain", "0", "200", "v").contains("checked 200 keys of plain: 0 wrong"));
    }
}
