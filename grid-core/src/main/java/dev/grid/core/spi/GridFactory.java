package dev.grid.core.spi;

import dev.grid.core.Grid;
import dev.grid.core.MemberConfiguration;

/**
 * Starts members for {@link Grid#start(MemberConfiguration)}; the {@code grid-node} module provides it through
 * {@code META-INF/services}, so the API module does not depend on the implementation.
 */
public interface GridFactory
{
    /**
     * @param configuration of the member.
     * @return the running member.
     */
    Grid start(MemberConfiguration configuration);
}
