/**
 * How state survives: the WAL on Chronicle Queue behind every LWM, checkpoints, recovery and WAL history for
 * rebalance. {@link dev.grid.persistence.ChronicleWal} implements {@link dev.grid.core.spi.Wal};
 * {@link dev.grid.persistence.DataDirectory} guards a member's data directory.
 */
package dev.grid.persistence;
