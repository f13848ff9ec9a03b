/**
 * The engine's plug-in surface: what a protocol component living in another module (the transactions of grid-tx)
 * is given by a member's engine and what it offers back. {@link dev.grid.core.engine.TransactionContext} is the narrow
 * context (time, identity, the installed map, local copies, sending, WAL appends and durability, events);
 * {@link dev.grid.core.engine.Transactions} is the component the engine drives (its messages, duty cycle, map
 * changes, WAL replay and checkpoints); {@link dev.grid.core.engine.MessageTypes} is the one catalogue of member
 * message types. Applications never use this package: it is for grid-tx, grid-node and grid-sim, which compose a
 * member from it. Everything here runs on the engine's thread.
 */
package dev.grid.core.engine;
