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

    @Test
    void malformedHashesAndShortSaltsAreRefused()
    {
        assertThrows(InvalidConfigurationException.class, () -> PasswordHash.validate("plain-text-password"));
        assertThrows(InvalidConfigurationException.class, () -> PasswordHash.validate("pbkdf2-sha256:10:AA==:AA=="));
        assertThrows(InvalidConfigurationException.class, () -> PasswordHash.validate("pbkdf2-sha256:20000:!!:AA=="));
        assertThrows(InvalidConfigurationException.class, () -> PasswordHash.hash("x", new byte[4]));
    }
}
