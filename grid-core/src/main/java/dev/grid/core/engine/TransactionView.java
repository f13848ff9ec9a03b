package dev.grid.core.engine;

/**
 * A transaction this member coordinates, as an operator sees it.
 *
 * @param id         its id on this member.
 * @param state      ACTIVE, PREPARING, COMMITTING, ROLLING_BACK or DONE.
 * @param ageNs      since it began.
 * @param partitions partitions it touched.
 * @param lockedKeys keys it holds locks on.
 */
public record TransactionView(long id, String state, long ageNs, int partitions, int lockedKeys)
{
}
