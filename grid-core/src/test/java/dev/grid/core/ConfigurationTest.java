package dev.grid.core;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigurationTest
{
    @Test
    void cacheDefaultsAndValidation()
    {
        final CacheConfiguration<String, Long> config =
            new CacheConfiguration<>("accounts", Codecs.STRING, Codecs.LONG).conclude();
        assertEquals(CacheConfiguration.PARTITIONS_DEFAULT, config.partitions());
        assertEquals(1, config.backups());
        assertThrows(IllegalStateException.class, () -> config.backups(2));

        assertInvalid(new CacheConfiguration<>("bad name", Codecs.STRING, Codecs.LONG), "cache name 'bad name'");
        assertInvalid(new CacheConfiguration<>("c", Codecs.STRING, Codecs.LONG).partitions(0), "partitions=0");
        assertInvalid(new CacheConfiguration<>("c", Codecs.STRING, Codecs.LONG).backups(-1), "backups=-1");
        assertInvalid(new CacheConfiguration<>("c", Codecs.STRING, null), "valueCodec");
        assertInvalid(new CacheConfiguration<>("c", Codecs.STRING, Codecs.LONG).operationTimeoutNs(0),
            "operationTimeoutNs=0");
    }

    private static void assertInvalid(final CacheConfiguration<?, ?> config, final String expected)
    {
        final InvalidConfigurationException ex = assertThrows(InvalidConfigurationException.class, config::conclude);
        assertTrue(ex.getMessage().contains(expected), ex.getMessage());
        assertEquals(ErrorCode.CONFIGURATION_INVALID, ex.errorCode());
    }

    @Test
    void memberValidationNamesTheField()
    {
        final MemberConfiguration ok = new MemberConfiguration("m1").port(47500).addSeed("127.0.0.1:47501")
            .attribute("rack", "r1").conclude();
        assertEquals("r1", ok.attributes().get("rack"));
        assertMemberInvalid(new MemberConfiguration("m1"), "port=0");
        assertMemberInvalid(new MemberConfiguration("m 1").port(1), "memberId 'm 1'");
        assertMemberInvalid(new MemberConfiguration("m1").port(1).addSeed("nohost"), "seed 'nohost'");
        assertMemberInvalid(new MemberConfiguration("m1").port(1).failureDetectionTimeoutNs(1), "failureDetection");
        assertMemberInvalid(new MemberConfiguration("m1").port(1).walMode(WalMode.FSYNC), "walMode=FSYNC needs a " +
            "dataDirectory");
        assertMemberInvalid(new MemberConfiguration("m1").port(1).checkpointIntervalNs(0), "checkpointIntervalNs=0");
        assertMemberInvalid(new MemberConfiguration("m1").port(1).walHistoryRecords(-1), "walHistoryRecords=-1");
        assertMemberInvalid(new MemberConfiguration("m1").port(1).idleMaxParkNs(0), "idleMaxParkNs=0");
    }

    @Test
    void theWalModeFollowsTheDataDirectoryUnlessSet()
    {
        assertEquals(WalMode.NONE, new MemberConfiguration("m1").port(1).conclude().walMode());
        assertEquals(WalMode.LOG_ONLY, new MemberConfiguration("m1").port(1)
            .dataDirectory(java.nio.file.Path.of("data")).conclude().walMode());
        assertEquals(WalMode.FSYNC, new MemberConfiguration("m1").port(1).dataDirectory(java.nio.file.Path.of("data"))
            .walMode(WalMode.FSYNC).conclude().walMode());
    }

    private static void assertMemberInvalid(final MemberConfiguration config, final String expected)
    {
        final InvalidConfigurationException ex = assertThrows(InvalidConfigurationException.class, config::conclude);
        assertTrue(ex.getMessage().contains(expected), ex.getMessage());
    }
}
