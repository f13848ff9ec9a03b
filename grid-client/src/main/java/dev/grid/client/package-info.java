/**
 * The thin client: talks TCP to members and computes key partitions with {@link dev.grid.core.KeyPartitioner}.
 * Depends on grid-core only. Arrives with the thin client issue.
 */
package dev.grid.client;
