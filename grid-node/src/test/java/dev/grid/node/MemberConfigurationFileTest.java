package dev.grid.node;

import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.MemberConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemberConfigurationFileTest
{
    private static Properties properties(final String text) throws IOException
    {
        final Properties properties = new Properties();
        properties.load(new StringReader(text));
        return properties;
    }

    @Test
    void everyDocumentedKeyIsRead() throws IOException
    {
        final MemberConfiguration config = MemberConfigurationFile.parse(properties("""
            member.id = m1
            cluster.name = prod
            bind.address = 127.0.0.1
            port = 47501
            seeds = 127.0.0.1:47500, 127.0.0.1:47501
            attribute.rack = r1
            heartbeat.interval.ms = 150
            failure.detection.timeout.ms = 2000
            join.timeout.ms = 7000
            idle.max.park.us = 500
            data.directory = /var/lib/grid/m1
            wal.mode = FSYNC
            wal.sync.interval.ms = 250
            checkpoint.interval.ms = 30000
            checkpoint.wal.records = 5000
            wal.history.age.ms = 60000
            wal.history.records = 7000
            """), "m1.properties");
        assertEquals("m1", config.memberId());
        assertEquals("prod", config.clusterName());
        assertEquals(47501, config.port());
        assertEquals(List.of("127.0.0.1:47500", "127.0.0.1:47501"), config.seeds());
        assertEquals(Map.of("rack", "r1"), config.attributes());
        assertEquals(TimeUnit.MILLISECONDS.toNanos(150), config.heartbeatIntervalNs());
        assertEquals(TimeUnit.MILLISECONDS.toNanos(2000), config.failureDetectionTimeoutNs());
        assertEquals(TimeUnit.MILLISECONDS.toNanos(7000), config.joinTimeoutNs());
        assertEquals(TimeUnit.MICROSECONDS.toNanos(500), config.idleMaxParkNs());
        assertEquals(java.nio.file.Path.of("/var/lib/grid/m1"), config.dataDirectory());
        assertEquals(dev.grid.core.WalMode.FSYNC, config.walMode());
        assertEquals(TimeUnit.MILLISECONDS.toNanos(250), config.walSyncIntervalNs());
        assertEquals(TimeUnit.MILLISECONDS.toNanos(30000), config.checkpointIntervalNs());
        assertEquals(5000, config.checkpointWalRecords());
        assertEquals(TimeUnit.MILLISECONDS.toNanos(60000), config.walHistoryAgeNs());
        assertEquals(7000, config.walHistoryRecords());
    }

    @Test
    void environmentVariablesOverrideTheFilesKeys(@TempDir final Path dir) throws IOException
    {
        final Path file = dir.resolve("member.properties");
        Files.writeString(file, "member.id = m1\nport = 47501\nclient.port = 10800\n");
        final MemberConfiguration config = MemberConfigurationFile.load(file, Map.of("GRID_CONF_CLIENT_PORT", "10900",
            "GRID_CONF_METRICS_PORT", "9404", "GRID_HEAP", "2g", "PATH", "/bin"));
        assertEquals(10900, config.clientPort(), "the variable wins over the file");
        assertEquals(47501, config.port(), "keys without a variable keep the file's value");
        assertEquals("9404", config.settings().get("metrics.port"), "a key the file lacks is added");

        final InvalidConfigurationException unknown = assertThrows(InvalidConfigurationException.class,
            () -> MemberConfigurationFile.load(file, Map.of("GRID_CONF_CLIENT_PROT", "1")));
        assertTrue(unknown.getMessage().contains("GRID_CONF_CLIENT_PROT") &&
            unknown.getMessage().contains("'client.prot'"), unknown.getMessage());
    }

    @Test
    void mistakesAreNamedWithTheFile() throws IOException
    {
        final InvalidConfigurationException unknown = assertThrows(InvalidConfigurationException.class,
            () -> MemberConfigurationFile.parse(properties("member.id = m1\nport = 1\nheartbeat.ms = 5\n"), "a.conf"));
        assertTrue(unknown.getMessage().contains("a.conf") && unknown.getMessage().contains("'heartbeat.ms'"),
            unknown.getMessage());

        final InvalidConfigurationException notNumber = assertThrows(InvalidConfigurationException.class,
            () -> MemberConfigurationFile.parse(properties("member.id = m1\nport = x1\n"), "b.conf"));
        assertTrue(notNumber.getMessage().contains("port = 'x1'"), notNumber.getMessage());

        final InvalidConfigurationException outOfRange = assertThrows(InvalidConfigurationException.class,
            () -> MemberConfigurationFile.parse(properties("member.id = m1\nport = 1\nidle.max.park.us = 0\n"),
                "c.conf"));
        assertTrue(outOfRange.getMessage().contains("c.conf") && outOfRange.getMessage().contains("idleMaxParkNs=0"),
            outOfRange.getMessage());

        final InvalidConfigurationException badMode = assertThrows(InvalidConfigurationException.class,
            () -> MemberConfigurationFile.parse(properties("member.id = m1\nport = 1\nwal.mode = SOMETIMES\n"),
                "e.conf"));
        assertTrue(badMode.getMessage().contains("wal.mode = 'SOMETIMES'"), badMode.getMessage());

        final InvalidConfigurationException emptyDirectory = assertThrows(InvalidConfigurationException.class,
            () -> MemberConfigurationFile.parse(properties("member.id = m1\nport = 1\ndata.directory =\n"),
                "f.conf"));
        assertTrue(emptyDirectory.getMessage().contains("data.directory is empty"), emptyDirectory.getMessage());

        final InvalidConfigurationException missing = assertThrows(InvalidConfigurationException.class,
            () -> MemberConfigurationFile.parse(properties("port = 1\n"), "d.conf"));
        assertTrue(missing.getMessage().contains("member.id is required"), missing.getMessage());
    }

    @Test
    void aFileOfSeveralShardsGivesEachShardItsIdPortsAndDataDirectoryAndTheServicesToTheFirst(@TempDir final Path dir)
        throws IOException
    {
        final Path file = dir.resolve("member.properties");
        Files.writeString(file, "member.id = m1\nport = 47501\nclient.port = 10800\nshards = 3\n" +
            "data.directory = /var/lib/grid/m1\nmetrics.port = 9404\nmetrics.jmx = false\nattribute.rack = r1\n");
        final MemberConfigurationFile.Shards shards = MemberConfigurationFile.loadShards(file, Map.of());
        assertEquals("m1", shards.memberId());
        assertEquals(3, shards.count());
        for (int i = 0; i < 3; i++)
        {
            final MemberConfiguration shard = shards.shard().apply(i);
            assertEquals("m1.s" + i, shard.memberId());
            assertEquals(47501 + i, shard.port());
            assertEquals(10800 + i, shard.clientPort());
            assertEquals(Path.of("/var/lib/grid/m1", "shard-" + i), shard.dataDirectory());
            assertEquals(Map.of("rack", "r1"), shard.attributes());
            assertEquals(i == 0 ? Map.of("metrics.port", "9404", "metrics.jmx", "false") :
                Map.of("metrics.jmx", "false"), shard.settings(), "a service listens once per process, on its first " +
                "shard");
        }

        Files.writeString(file, "member.id = m1\nport = 47501\nshards = 1\n");
        assertEquals("m1", MemberConfigurationFile.loadShards(file, Map.of()).shard().apply(0).memberId());
        assertEquals(47501, MemberConfigurationFile.load(file).port(), "one shard is a plain member");

        Files.writeString(file, "member.id = m1\nport = 47501\nshards = 2\n");
        final InvalidConfigurationException plain = assertThrows(InvalidConfigurationException.class,
            () -> MemberConfigurationFile.load(file));
        assertTrue(plain.getMessage().contains("shards = 2") && plain.getMessage().contains("loadShards"),
            plain.getMessage());
        Files.writeString(file, "member.id = m1\nport = 47501\nshards = 0\n");
        final InvalidConfigurationException none = assertThrows(InvalidConfigurationException.class,
            () -> MemberConfigurationFile.loadShards(file, Map.of()));
        assertTrue(none.getMessage().contains("shards = 0 must be in [1, 64]"), none.getMessage());
        // A shard's mistake is named with the file before anything starts: the last shard's port is out of range.
        Files.writeString(file, "member.id = m1\nport = 65535\nshards = 2\n");
        final InvalidConfigurationException lastPort = assertThrows(InvalidConfigurationException.class,
            () -> MemberConfigurationFile.loadShards(file, Map.of()));
        assertTrue(lastPort.getMessage().contains(file + " (shard 1)") && lastPort.getMessage().contains("65536"),
            lastPort.getMessage());
        // The grouping attributes are the shards key's to give: by hand, a member would pass for another's shard.
        Files.writeString(file, "member.id = m1\nport = 47501\nattribute.shard.member = m2\n");
        final InvalidConfigurationException reserved = assertThrows(InvalidConfigurationException.class,
            () -> MemberConfigurationFile.load(file));
        assertTrue(reserved.getMessage().contains("attribute.shard.member is reserved"), reserved.getMessage());
    }
}
