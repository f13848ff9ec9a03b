package dev.grid.core;

/**
 * Starts members for {@link Grid#start(MemberConfiguration)}; the {@code grid-node} module provides it through
 * {@code META-INF/services}, so the API module does not depend on the implementation. It lives beside {@link Grid}
 * (not among the SPIs the protocols are written against) so that the API package and the SPI package depend one way.
 */
public interface GridFactory
{
    /**
     * @param configuration of the member.
     * @return the running member.
     */
    Grid start(MemberConfiguration configuration);
}
