/**
 * The engine's published surface, for the modules that plug into a member's engine or host it. Applications use
 * {@code dev.grid.node.GridMember} or the thin client, and meet only a few values of this package through the
 * member's views ({@link dev.grid.core.engine.MemberState}, {@link dev.grid.core.engine.Topology}).
 * <ul>
 *     <li>Plug-ins (the transactions of grid-tx): {@link dev.grid.core.engine.TransactionContext} is the narrow
 *     context a component is given (time, identity, the installed map, local copies, sending, WAL appends and
 *     durability, events); {@link dev.grid.core.engine.Transactions} is the component the engine drives (its
 *     messages, duty cycle, map changes, WAL replay and checkpoints); {@link dev.grid.core.engine.MessageTypes} is
 *     the one catalogue of member message types.</li>
 *     <li>Hosts (grid-node's member, grid-sim's scenarios): {@link dev.grid.core.engine.Engine} and its facades by
 *     concern, the read-only {@link dev.grid.core.engine.PartitionMap}, and the model values they speak in
 *     ({@link dev.grid.core.engine.Topology}, {@link dev.grid.core.engine.CacheDescriptor},
 *     {@link dev.grid.core.engine.MemberState} and the rest). An engine is made by
 *     {@code dev.grid.core.member.Members}.</li>
 * </ul>
 * Everything here runs on the engine's thread unless its type says otherwise (immutable values may be handed off).
 */
package dev.grid.core.engine;
