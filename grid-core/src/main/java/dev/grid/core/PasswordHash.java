package dev.grid.core;

import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;

/**
 * Salted password hashes for the users a member's configuration lists: PBKDF2 with HMAC-SHA256 from the JDK, written
 * as {@code pbkdf2-sha256:<iterations>:<base64 salt>:<base64 hash>}. A member stores only these; a client sends its
 * password in the handshake (use TLS where the network is not trusted), and the member compares in constant time.
 * <p>
 * {@code scripts/java.sh dev.grid.node.Passwords <password>} prints a new hash for a configuration file. Thread-safe.
 */
public final class PasswordHash
{
    /** The scheme prefix of every hash. */
    public static final String SCHEME = "pbkdf2-sha256";
    /** Iterations of new hashes: about 10 ms on a small machine, paid once per connection. */
    public static final int ITERATIONS = 20_000;
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
        if (salt.length < SALT_BYTES)
        {
            throw new InvalidConfigurationException("a password salt needs at least " + SALT_BYTES + " bytes");
        }
        return SCHEME + ":" + ITERATIONS + ":" + Base64.getEncoder().encodeToString(salt) + ":" +
            Base64.getEncoder().encodeToString(derive(password, salt, ITERATIONS));
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
        final byte[] expected = (byte[])parts[2];
        return MessageDigest.isEqual(expected, derive(password, (byte[])parts[1], (int)parts[0]));
    }

    private static Object[] parse(final String encoded)
    {
        final String[] fields = encoded == null ? new String[0] : encoded.split(":");
        if (fields.length != 4 || !SCHEME.equals(fields[0]))
        {
            throw new InvalidConfigurationException("password hash must look like " + SCHEME +
                ":<iterations>:<base64 salt>:<base64 hash> (make one with dev.grid.core.PasswordHash)");
        }
        try
        {
            final int iterations = Integer.parseInt(fields[1]);
            if (iterations < 1_000)
            {
                throw new InvalidConfigurationException("password hash iterations " + iterations + " below 1000");
            }
            return new Object[] {iterations, Base64.getDecoder().decode(fields[2]),
                Base64.getDecoder().decode(fields[3])};
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
