/**
 * Transactions as single-threaded state machines: the 2PC coordinator and participant, key locks, counter
 * reservation at prepare, recovery of in-doubt transactions, predicate transactions. Depends on grid-core only;
 * no clock, randomness, threads or sleeps (enforced by grid-sim's ArchitectureTest). Arrives with the transactions
 * issue.
 */
package dev.grid.tx;
