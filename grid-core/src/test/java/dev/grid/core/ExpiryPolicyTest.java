package dev.grid.core;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Expiry times as the primary decides them: by policy on creation and writes, saturated rather than wrapped into the
 * past, and times-to-live in whole milliseconds with zero alone meaning never.
 */
class ExpiryPolicyTest
{
    @Test
    void eachPolicyCountsFromWhatItSays()
    {
        final long now = 1_000_000;
        assertEquals(0, ExpiryPolicy.eternal().expireAtOnWrite(true, 0, now));
        assertEquals(now + 50, ExpiryPolicy.created(Duration.ofMillis(50)).expireAtOnWrite(true, 0, now));
        assertEquals(77, ExpiryPolicy.created(Duration.ofMillis(50)).expireAtOnWrite(false, 77, now));
        assertEquals(77, ExpiryPolicy.accessed(Duration.ofMillis(50)).expireAtOnWrite(false, 77, now));
        assertEquals(now + 50, ExpiryPolicy.modified(Duration.ofMillis(50)).expireAtOnWrite(false, 77, now));
        assertEquals(now + 50, ExpiryPolicy.touched(Duration.ofMillis(50)).expireAtOnWrite(false, 77, now));
    }

    @Test
    void aHugeDurationSaturatesInsteadOfExpiringAtOnce()
    {
        assertEquals(Long.MAX_VALUE, ExpiryPolicy.after(1_000_000, Long.MAX_VALUE));
        assertEquals(Long.MAX_VALUE, new ExpiryPolicy(ExpiryPolicy.Kind.MODIFIED, Long.MAX_VALUE - 5)
            .expireAtOnWrite(true, 0, 10));
        assertEquals(Long.MAX_VALUE, ExpiryPolicy.ttlMillis(Duration.ofSeconds(Long.MAX_VALUE)));
    }

    @Test
    void onlyAZeroTimeToLiveMeansNeverAndASubMillisecondOneRoundsUp()
    {
        assertEquals(0, ExpiryPolicy.ttlMillis(Duration.ZERO));
        assertEquals(1, ExpiryPolicy.ttlMillis(Duration.ofNanos(1)));
        assertEquals(1500, ExpiryPolicy.ttlMillis(Duration.ofMillis(1500)));
    }

    @Test
    void invalidPoliciesAreRefusedWithTheReason()
    {
        final InvalidConfigurationException zero = assertThrows(InvalidConfigurationException.class, () ->
            ExpiryPolicy.modified(Duration.ZERO));
        assertEquals(true, zero.getMessage().contains("must be positive"), zero.getMessage());
        assertThrows(InvalidConfigurationException.class, () -> new ExpiryPolicy(ExpiryPolicy.Kind.ETERNAL, 5));
    }
}
