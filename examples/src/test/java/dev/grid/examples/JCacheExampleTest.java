package dev.grid.examples;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JCache example against three members over the thin client: it finds Grid's provider through {@code Caching},
 * creates its cache the first time and reuses it the second, and its counts add up across runs.
 */
class JCacheExampleTest
{
    @Test
    void countsVisitsThroughTheJCacheApiAlone()
    {
        try (LocalMembers cluster = LocalMembers.start(3, config -> { }))
        {
            final URI uri = URI.create("grid:client://" + cluster.clientAddress(0) + "," + cluster.clientAddress(1));
            final ByteArrayOutputStream first = new ByteArrayOutputStream();
            assertEquals(Map.of("/", 3L, "/docs", 1L, "/pricing", 1L),
                JCacheExample.run(uri, new PrintStream(first, true, StandardCharsets.UTF_8)));
            final String output = first.toString(StandardCharsets.UTF_8);
            assertTrue(output.contains("created / = 1"), output);
            assertTrue(output.contains("updated /: 2 -> 3"), output);
            assertEquals(Map.of("/", 6L, "/docs", 2L, "/pricing", 2L),
                JCacheExample.run(uri, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)));
        }
    }
}
