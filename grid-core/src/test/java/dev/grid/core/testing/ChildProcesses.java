package dev.grid.core.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What tests say about a child process (a member JVM) that ended before it was ready.
 */
public final class ChildProcesses
{
    private static final int LOG_LINES = 6;

    private ChildProcesses()
    {
    }

    /**
     * Wait up to 10 s for the child to end (killing it otherwise) and describe how it ended: its exit status and the
     * last lines of its log, on one line, so that the one line a build summary keeps for a failure says why.
     *
     * @param process the child.
     * @param log     where its standard error went, or {@code null} if unknown.
     * @return the description.
     */
    public static String howItEnded(final Process process, final Path log)
    {
        String status;
        try
        {
            status = process.waitFor(10, TimeUnit.SECONDS) ? "exit status " + process.exitValue() :
                "still running after 10 s, killed";
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            status = "interrupted while waiting for it";
        }
        process.destroyForcibly();
        if (log == null)
        {
            return status;
        }
        try
        {
            final List<String> lines = Files.readAllLines(log);
            return status + ", " + log.getFileName() + " ends: " +
                String.join(" | ", lines.subList(Math.max(0, lines.size() - LOG_LINES), lines.size()));
        }
        catch (final IOException ex)
        {
            return status + ", " + log + " unreadable: " + ex;
        }
    }

    /**
     * Print the last 40 lines of each {@code .log} file in a directory (the members' logs of a failed process test).
     *
     * @param dir the directory.
     */
    public static void printLogTails(final Path dir)
    {
        try (java.util.stream.Stream<Path> files = Files.list(dir))
        {
            for (final Path log : files.filter(f -> f.toString().endsWith(".log")).sorted().toList())
            {
                final List<String> lines = Files.readAllLines(log);
                System.out.println("---- last lines of " + log.getFileName() + " ----");
                lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(System.out::println);
            }
        }
        catch (final IOException ex)
        {
            System.out.println("---- member logs in " + dir + " unreadable: " + ex);
        }
    }
}
