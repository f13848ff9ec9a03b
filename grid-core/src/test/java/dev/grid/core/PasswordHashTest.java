package dev.grid.core;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Salted password hashes: the right password matches, another does not, the salt changes the hash, and a malformed
 * hash in a configuration is refused with the reason.
 */
class PasswordHashTest
{
    private static final byte[] SALT = "sixteen-byte-sal".getBytes(java.nio.charset.StandardCharsets.UTF_8);

    @Test
    void theRightPasswordMatchesAndAnotherDoesNot()
    {
        final String hash = PasswordHash.hash("secret", SALT);
        assertTrue(hash.startsWith(PasswordHash.SCHEME + ":" + PasswordHash.ITERATIONS + ":"));
        assertTrue(PasswordHash.matches("secret", hash));
        assertFalse(PasswordHash.matches("Secret", hash));
        final byte[] other = SALT.clone();
        other[0] ^= 1;
        assertNotEquals(hash, PasswordHash.hash("secret", other));
    }

    /**
     * Issue 17, item 9: HMAC pads its key with zero bytes, so "secret" followed by NULs matched "secret". Control
     * characters are refused before hashing, and passwords are NFC-normalised.
     */
    @Test
    void passwordsAreCheckedAndNormalisedBeforeHashing()
    {
        final String hash = PasswordHash.hash("s\u00e9cret", SALT, PasswordHash.MIN_ITERATIONS);
        assertTrue(PasswordHash.matches("s\u00e9cret", hash));
        assertTrue(PasswordHash.matches("se\u0301cret", hash), "the same password, decomposed");
        assertFalse(PasswordHash.matches("s\u00e9cret\u0000\u0000", hash), "trailing NULs");
        assertFalse(PasswordHash.matches("s\u00e9cret\n", hash));
        assertThrows(InvalidConfigurationException.class, () -> PasswordHash.hash("a\u0000", SALT));
        assertThrows(InvalidConfigurationException.class, () -> PasswordHash.hash("", SALT));
        assertThrows(InvalidConfigurationException.class,
            () -> PasswordHash.hash("x".repeat(PasswordHash.MAX_PASSWORD_CHARS + 1), SALT));
        assertFalse(PasswordHash.matches("x".repeat(PasswordHash.MAX_PASSWORD_CHARS + 1), hash));
    }

    /** A hash made before normalisation (here by Python's hashlib, 20,000 iterations) keeps working. */
    @Test
    void legacyHashesKeepWorking()
    {
        final String legacy = "pbkdf2-sha256:20000:c2l4dGVlbi1ieXRlLXNhbA==:" +
            "MfqMvsDiTD1M+Q0nMb580Yf778MPiu6/9/tWSfsp5yc=";
        PasswordHash.validate(legacy);
        assertTrue(PasswordHash.matches("secret", legacy));
        assertFalse(PasswordHash.matches("secret\u0000", legacy), "trailing NULs, on a legacy hash too");
        assertFalse(PasswordHash.matches("Secret", legacy));
    }

    @Test
    void malformedHashesAndShortSaltsAreRefused()
    {
        assertThrows(InvalidConfigurationException.class, () -> PasswordHash.validate("plain-text-password"));
        assertThrows(InvalidConfigurationException.class, () -> PasswordHash.validate("pbkdf2-sha256:10:AA==:AA=="));
        assertThrows(InvalidConfigurationException.class, () -> PasswordHash.validate("pbkdf2-sha256:20000:!!:AA=="));
        assertThrows(InvalidConfigurationException.class, () -> PasswordHash.hash("x", new byte[4]));
    }
}
