/**
 * How state survives: the WAL on Chronicle Queue behind every LWM, checkpoints, recovery and WAL history for
 * rebalance. Implements {@link dev.grid.core.spi.Wal}. Arrives with the durability issue.
 */
package dev.grid.persistence;
