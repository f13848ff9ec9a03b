package dev.grid.core;

import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.text.Normalizer;
import java.util.Base64;

/**
 * Salted password hashes for the users a member's configuration lists: PBKDF2 with HMAC-SHA256 from the JDK, written
 * as {@code pbkdf2-sha256-nfc:<iterations>:<base64 salt>:<base64 hash>}. A member stores only these; a client sends
 * its password in the handshake (use TLS where the network is not trusted), and the member compares in constant time.
 * <p>
 * Passwords are checked before they are hashed: 1 to {@link #MAX_PASSWORD_CHARS} characters, none of them a control
 * character (HMAC pads its key with zero bytes, so "secret" followed by NULs would otherwise match "secret"), and
 * normalised to Unicode NFC (the same password typed on two systems is the same). New hashes take
 * {@link #ITERATIONS} iterations (OWASP's guidance for PBKDF2-HMAC-SHA256, 2023); every hash names its own scheme and
 * iterations, so hashes made earlier ({@link #LEGACY_SCHEME}: not normalised, 20,000 iterations) keep working.
 * <p>
 * {@code scripts/java.sh dev.grid.node.Passwords <password>} prints a new hash for a configuration file. Thread-safe.
 */
public final class PasswordHash
{
    /** The scheme prefix of new hashes: the password NFC-normalised, then PBKDF2-HMAC-SHA256. */
    public static final String SCHEME = "pbkdf2-sha256-nfc";
    /** The scheme of hashes made before passwords were normalised: PBKDF2-HMAC-SHA256 of the password as given. */
    public static final String LEGACY_SCHEME = "pbkdf2-sha256";
    /**
     * Iterations of new hashes (a few hundred ms of one core on a small machine; a member pays it once per user and
     * password it has not verified yet, see {@code dev.grid.node.ClientService}).
     */
    public static final int ITERATIONS = 600_000;
    /** The longest password accepted, in characters. */
    public static final int MAX_PASSWORD_CHARS = 1024;
    /** The fewest iterations a hash may name. */
    public static final int MIN_ITERATIONS = 1_000;
    /** Bytes of salt a hash needs at least. */
    public static final int SALT_BYTES = 16;
    private static final int HASH_BITS = 256;

    private PasswordHash()
    {
    }

    /**
     * @param password the password.
     * @param salt     random bytes (16 or more), new for each hash; grid-core takes them as given (it holds no source
     *                 of randomness: {@code dev.grid.node.Passwords} makes them).
     * @return the salted hash.
     */
    public static String hash(final String password, final byte[] salt)
    {
        return hash(password, salt, ITERATIONS);
    }

    /**
     * @param password   the password.
     * @param salt       random bytes (16 or more), new for each hash.
     * @param iterations of PBKDF2, at least 1,000 (fewer than {@link #ITERATIONS} only where speed matters more, as
     *                   in tests).
     * @return the salted hash.
     * @throws InvalidConfigurationException if the password is empty, too long or holds a control character.
     */
    public static String hash(final String password, final byte[] salt, final int iterations)
    {
        if (salt.length < SALT_BYTES)
        {
            throw new InvalidConfigurationException("a password salt needs at least " + SALT_BYTES + " bytes");
        }
        if (iterations < MIN_ITERATIONS)
        {
            throw new InvalidConfigurationException("password hash iterations " + iterations + " below " +
                MIN_ITERATIONS);
        }
        final String why = refusal(password);
        if (why != null)
        {
            throw new InvalidConfigurationException("password refused: " + why);
        }
        return SCHEME + ":" + iterations + ":" + Base64.getEncoder().encodeToString(salt) + ":" +
            Base64.getEncoder().encodeToString(derive(Normalizer.normalize(password, Normalizer.Form.NFC), salt,
            iterations));
    }

    /**
     * @param password a candidate password, or null.
     * @return why it cannot be a password (empty, too long, a control character), or null if it can.
     */
    public static String refusal(final String password)
    {
        if (password == null || password.isEmpty())
        {
            return "it is empty";
        }
        if (password.length() > MAX_PASSWORD_CHARS)
        {
            return "it is longer than " + MAX_PASSWORD_CHARS + " characters";
        }
        for (int i = 0; i < password.length(); i++)
        {
            if (Character.isISOControl(password.charAt(i)))
            {
                return "it holds a control character (code " + (int)password.charAt(i) + ") at " + i;
            }
        }
        return null;
    }

    /**
     * @param encoded a hash made by {@link #hash}.
     * @throws InvalidConfigurationException naming what is wrong with it.
     */
    public static void validate(final String encoded)
    {
        parse(encoded);
    }

    /**
     * @param password what a client sent.
     * @param encoded  the stored hash.
     * @return whether the password is the one the hash was made of.
     */
    public static boolean matches(final String password, final String encoded)
    {
        final Object[] parts = parse(encoded);
        if (refusal(password) != null)
        {
            return false;
        }
        final byte[] expected = (byte[])parts[2];
        final String given = SCHEME.equals(parts[3]) ? Normalizer.normalize(password, Normalizer.Form.NFC) : password;
        return MessageDigest.isEqual(expected, derive(given, (byte[])parts[1], (int)parts[0]));
    }

    private static Object[] parse(final String encoded)
    {
        final String[] fields = encoded == null ? new String[0] : encoded.split(":");
        if (fields.length != 4 || !(SCHEME.equals(fields[0]) || LEGACY_SCHEME.equals(fields[0])))
        {
            throw new InvalidConfigurationException("password hash must look like " + SCHEME +
                ":<iterations>:<base64 salt>:<base64 hash> (make one with dev.grid.core.PasswordHash)");
        }
        try
        {
            final int iterations = Integer.parseInt(fields[1]);
            if (iterations < MIN_ITERATIONS)
            {
                throw new InvalidConfigurationException("password hash iterations " + iterations + " below " +
                    MIN_ITERATIONS);
            }
            return new Object[] {iterations, Base64.getDecoder().decode(fields[2]),
                Base64.getDecoder().decode(fields[3]), fields[0]};
        }
        catch (final IllegalArgumentException ex)
        {
            throw new InvalidConfigurationException("password hash is malformed: " + ex.getMessage());
        }
    }

    private static byte[] derive(final String password, final byte[] salt, final int iterations)
    {
        try
        {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                .generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, HASH_BITS)).getEncoded();
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IllegalStateException("the JDK lacks PBKDF2WithHmacSHA256", ex);
        }
    }
}
