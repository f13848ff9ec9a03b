package dev.grid.node;

import dev.grid.core.PasswordHash;

import java.security.SecureRandom;

/**
 * Makes password hashes for the users of a member's configuration ({@code client.user.NAME = ROLE:HASH}): a fresh
 * random salt each time, then {@link PasswordHash}. Thread-safe.
 */
public final class Passwords
{
    private static final SecureRandom RANDOM = new SecureRandom();

    private Passwords()
    {
    }

    /**
     * @param password the password.
     * @return a new salted hash of it.
     */
    public static String newHash(final String password)
    {
        final byte[] salt = new byte[PasswordHash.SALT_BYTES];
        RANDOM.nextBytes(salt);
        return PasswordHash.hash(password, salt);
    }

    /**
     * Print a new hash of the password given as the only argument.
     *
     * @param args the password.
     */
    public static void main(final String[] args)
    {
        if (args.length != 1)
        {
            System.err.println("usage: Passwords <password>");
            System.exit(2);
        }
        System.out.println(newHash(args[0]));
    }
}
