/**
 * How a host makes a member's engine ({@link dev.grid.core.member.Members}): the composition of grid-core's internal
 * components behind the {@link dev.grid.core.engine.Engine} interface. grid-node and grid-sim use it; applications
 * use {@code dev.grid.node.GridMember} instead.
 */
package dev.grid.core.member;
