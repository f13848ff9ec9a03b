/**
 * The members' binary codec: {@link dev.grid.core.codec.MessageWriter} and {@link dev.grid.core.codec.MessageReader}
 * over Agrona buffers, for the member protocol, the WAL records and the member's side of the client protocol (the
 * thin client has its own, {@code dev.grid.core.client.FrameWriter}). A reader checks every length and range it reads
 * and throws {@link dev.grid.core.codec.MalformedMessageException} naming the field, so a malformed message is
 * refused, never trusted.
 */
package dev.grid.core.codec;
