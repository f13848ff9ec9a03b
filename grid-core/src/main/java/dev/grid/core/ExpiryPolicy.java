package dev.grid.core;

import java.time.Duration;
import java.util.Objects;

/**
 * When a cache's entries expire, in the shapes of JCache's {@code ExpiryPolicy}: a duration counted from an entry's
 * creation ({@link Kind#CREATED}), its last write ({@link Kind#MODIFIED}), its last read or creation
 * ({@link Kind#ACCESSED}), or any of them ({@link Kind#TOUCHED}); or never ({@link Kind#ETERNAL}). A cache created
 * with any policy, eternal included, also takes a time-to-live per write ({@link Cache#put(Object, Object, Duration)}),
 * which a later write without one replaces by the policy's (an eternal policy: never).
 * <p>
 * The key's primary decides expiry times from its clock and removes expired entries as counted updates replicated to
 * every copy, so copies stay equal; an expired entry is never returned. An access extends an {@link Kind#ACCESSED} or
 * {@link Kind#TOUCHED} entry's life by an update only once less than half its duration is left, so reads do not each
 * cost a write. Immutable.
 *
 * @param kind       from what an entry's life is counted.
 * @param durationMs how long it lives, in milliseconds; 0 for {@link Kind#ETERNAL}.
 */
public record ExpiryPolicy(Kind kind, long durationMs)
{
    /** From what an entry's life is counted. */
    public enum Kind
    {
        /** Entries never expire unless written with a time-to-live. */
        ETERNAL,
        /** From the entry's creation; writes do not extend it. */
        CREATED,
        /** From the entry's last write. */
        MODIFIED,
        /** From the entry's creation or last read; writes do not extend it. */
        ACCESSED,
        /** From the entry's last write or read. */
        TOUCHED
    }

    /**
     * @throws InvalidConfigurationException if the duration is not positive (or not 0 for an eternal policy).
     */
    public ExpiryPolicy
    {
        Objects.requireNonNull(kind, "kind must not be null");
        if (kind == Kind.ETERNAL ? durationMs != 0 : durationMs <= 0)
        {
            throw new InvalidConfigurationException("expiry policy " + kind + " with duration " + durationMs +
                " ms: " + (kind == Kind.ETERNAL ? "an eternal policy has none" : "must be positive"));
        }
    }

    /** @return a policy under which entries live until removed, or for the time-to-live they were written with. */
    public static ExpiryPolicy eternal()
    {
        return new ExpiryPolicy(Kind.ETERNAL, 0);
    }

    /** @return a policy counting from creation. */
    public static ExpiryPolicy created(final Duration duration)
    {
        return new ExpiryPolicy(Kind.CREATED, duration.toMillis());
    }

    /** @return a policy counting from the last write. */
    public static ExpiryPolicy modified(final Duration duration)
    {
        return new ExpiryPolicy(Kind.MODIFIED, duration.toMillis());
    }

    /** @return a policy counting from creation or the last read. */
    public static ExpiryPolicy accessed(final Duration duration)
    {
        return new ExpiryPolicy(Kind.ACCESSED, duration.toMillis());
    }

    /** @return a policy counting from the last write or read. */
    public static ExpiryPolicy touched(final Duration duration)
    {
        return new ExpiryPolicy(Kind.TOUCHED, duration.toMillis());
    }

    /**
     * @return the instant {@code durationMs} after {@code nowMs}, saturated (a huge duration never wraps into the
     *         past and expires at once).
     */
    public static long after(final long nowMs, final long durationMs)
    {
        final long sum = nowMs + durationMs;
        return ((nowMs ^ sum) & (durationMs ^ sum)) < 0 ? Long.MAX_VALUE : sum;
    }

    /**
     * @param ttl a time-to-live, not negative.
     * @return it in whole milliseconds, as a write with a time-to-live of its own carries it: 0 only for zero (never
     *         expires), a positive one under a millisecond rounded up, a huge one saturated.
     */
    public static long ttlMillis(final Duration ttl)
    {
        if (ttl.isZero())
        {
            return 0;
        }
        try
        {
            return Math.max(1, ttl.toMillis());
        }
        catch (final ArithmeticException ex)
        {
            return Long.MAX_VALUE;
        }
    }

    /** @return whether a read extends an entry's life. */
    public boolean extendsOnRead()
    {
        return kind == Kind.ACCESSED || kind == Kind.TOUCHED;
    }

    /**
     * The expiry time of an entry written now.
     *
     * @param created          whether the write creates the entry (it was absent or expired).
     * @param currentExpireAtMs the entry's expiry time before the write (0: never), if it exists.
     * @param nowMs            the deciding member's wall clock, epoch milliseconds.
     * @return the entry's expiry time in epoch milliseconds, 0 for never.
     */
    public long expireAtOnWrite(final boolean created, final long currentExpireAtMs, final long nowMs)
    {
        return switch (kind)
        {
            case ETERNAL -> 0;
            case CREATED, ACCESSED -> created ? after(nowMs, durationMs) : currentExpireAtMs;
            case MODIFIED, TOUCHED -> after(nowMs, durationMs);
        };
    }
}
