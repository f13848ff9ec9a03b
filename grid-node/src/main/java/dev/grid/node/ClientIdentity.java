package dev.grid.node;

/**
 * A thin client's identity for one write: the client, the write's number there (the same in every resend), and the
 * lowest number the client may still resend ({@code ClientProtocol#PUT}). The engine remembers the write's outcome
 * under it, so a resend through any member applies nothing. Immutable.
 */
record ClientIdentity(long clientId, long sequence, long watermark)
{
    /** No client: the operation is the submitting member's own. */
    static final ClientIdentity NONE = new ClientIdentity(0, 0, 0);

    /** @return the identity of the {@code index}-th write of a request that numbered its writes from this one. */
    ClientIdentity plus(final int index)
    {
        return new ClientIdentity(clientId, sequence + index, watermark);
    }
}
