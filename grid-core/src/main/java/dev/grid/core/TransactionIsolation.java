package dev.grid.core;

/**
 * What a transaction's reads see.
 */
public enum TransactionIsolation
{
    /** Every read sees the latest committed value; a value read twice may differ. No read locks. */
    READ_COMMITTED,
    /**
     * A key read twice gives the same value: pessimistic transactions lock it at the first read, optimistic ones
     * remember the value read.
     */
    REPEATABLE_READ,
    /**
     * Repeatable reads, and the transaction commits only if every value it read is still current at commit: as if
     * transactions ran one at a time. Pessimistic transactions get it from read locks; optimistic ones validate at
     * commit.
     */
    SERIALIZABLE
}
