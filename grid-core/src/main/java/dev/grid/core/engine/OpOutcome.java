package dev.grid.core.engine;

/**
 * What a completed single-key operation returns: a flag (written, removed) and a value (the value read, the merged
 * value), either of which may be unused by the operation type. Immutable.
 *
 * @param flag  the operation's boolean answer.
 * @param value the operation's value answer, or null.
 * @param count the operation's count answer (size).
 * @param withoutQuorum whether a read was answered from this member's own copy without the cluster's quorum
 *                      ({@link dev.grid.core.QuorumReadPolicy#SERVE_LOCAL}).
 */
public record OpOutcome(boolean flag, byte[] value, long count, boolean withoutQuorum)
{
    public static final OpOutcome TRUE = new OpOutcome(true, null, 0);
    public static final OpOutcome FALSE = new OpOutcome(false, null, 0);

    /**
     * An outcome of an operation answered with quorum.
     *
     * @param flag  the operation's boolean answer.
     * @param value the operation's value answer, or null.
     * @param count the operation's count answer (size).
     */
    public OpOutcome(final boolean flag, final byte[] value, final long count)
    {
        this(flag, value, count, false);
    }

    public static OpOutcome of(final boolean flag)
    {
        return flag ? TRUE : FALSE;
    }

    public static OpOutcome value(final byte[] value)
    {
        return new OpOutcome(value != null, value, 0);
    }
}
