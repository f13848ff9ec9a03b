package dev.grid.node;

import dev.grid.core.PasswordHash;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Password checks of thin-client handshakes. PBKDF2 costs a few hundred ms (its point): a member pays it once per
 * user and password, then remembers the pair it verified as a keyed hash (HMAC under a key of this member's life,
 * binding user, configured hash and password), so a client that reconnects is let in at once while a guess still
 * pays in full. An unknown user is made to cost a PBKDF2 too, so the time taken does not tell which users exist.
 * Thread-safe.
 */
final class VerifiedPasswords
{
    /** The key of the proofs, random for each life of the member. */
    private final SecretKeySpec key;
    /** By user: the proof of the password last verified by PBKDF2. */
    private final Map<String, byte[]> verified = new ConcurrentHashMap<>();

    VerifiedPasswords()
    {
        final byte[] bytes = new byte[32];
        new SecureRandom().nextBytes(bytes);
        this.key = new SecretKeySpec(bytes, "HmacSHA256");
    }

    /**
     * @return whether the password is the one the user's configured hash was made of (PBKDF2 unless verified before).
     */
    boolean matches(final String user, final String password, final String passwordHash)
    {
        if (verifiedBefore(user, password, passwordHash))
        {
            return true;
        }
        if (!PasswordHash.matches(password, passwordHash))
        {
            return false;
        }
        verified.put(user, proof(user, password, passwordHash));
        return true;
    }

    /** @return whether this member verified this user's password already (cheap: a keyed hash, no PBKDF2). */
    boolean verifiedBefore(final String user, final String password, final String passwordHash)
    {
        final byte[] known = user == null || password == null ? null : verified.get(user);
        return known != null && MessageDigest.isEqual(known, proof(user, password, passwordHash));
    }

    /** Spend what checking a known user's password costs, for a user that does not exist. */
    void spendAsForAKnownUser(final String password)
    {
        PasswordHash.matches(password, UnknownUser.HASH);
    }

    private byte[] proof(final String user, final String password, final String passwordHash)
    {
        try
        {
            final Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac.doFinal((user + '\u0000' + passwordHash + '\u0000' + password).getBytes(StandardCharsets.UTF_8));
        }
        catch (final GeneralSecurityException ex)
        {
            throw new IllegalStateException("the JDK lacks HmacSHA256", ex);
        }
    }

    /** A hash no password matches in practice (made on first use: it costs a PBKDF2). */
    private static final class UnknownUser
    {
        static final String HASH = PasswordHash.hash("no user has this password",
            "grid-unknown-user".getBytes(StandardCharsets.UTF_8));
    }
}
