package dev.grid.resp;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.redis.ArrayHeaderRedisMessage;
import io.netty.handler.codec.redis.BulkStringHeaderRedisMessage;
import io.netty.util.ReferenceCountUtil;

import java.nio.charset.StandardCharsets;

/**
 * Refuses a command before it is gathered when it is larger than the member allows: more arguments than
 * {@code resp.max.arguments} or an argument longer than {@code resp.max.request.bytes}. The refusal is a protocol
 * error, answered and followed by closing the connection, as Redis does, since the rest of the stream cannot be
 * trusted to be framed. Runs on the connection's event loop; one per connection.
 */
final class RespLimits extends ChannelInboundHandlerAdapter
{
    /** An unauthenticated connection's longest argument: enough for AUTH and HELLO. */
    static final int UNAUTHENTICATED_ARGUMENT_BYTES = 4_096;
    /** An unauthenticated connection's most arguments of a command. */
    static final int UNAUTHENTICATED_ARGUMENTS = 16;

    private final RespSettings settings;
    private final java.util.function.BooleanSupplier authenticated;
    private boolean refused;
    /** Bytes of the command being gathered, against {@link RespSettings#maxCommandBytes()}. */
    private long commandBytes;

    RespLimits(final RespSettings settings, final java.util.function.BooleanSupplier authenticated)
    {
        this.settings = settings;
        this.authenticated = authenticated;
    }

    @Override
    public void channelRead(final ChannelHandlerContext ctx, final Object msg)
    {
        if (refused)
        {
            ReferenceCountUtil.release(msg);
            return;
        }
        final boolean known = authenticated.getAsBoolean();
        final int maxArguments = known ? settings.maxArguments() : UNAUTHENTICATED_ARGUMENTS;
        final int maxArgumentBytes = known ? settings.maxArgumentBytes() : UNAUTHENTICATED_ARGUMENT_BYTES;
        if (msg instanceof ArrayHeaderRedisMessage header)
        {
            commandBytes = 0;
            if (header.length() > maxArguments)
            {
                refuse(ctx, msg, "a command of " + header.length() + " arguments; at most " + maxArguments +
                    (known ? " (resp.max.arguments)" : " before AUTH"));
                return;
            }
        }
        if (msg instanceof BulkStringHeaderRedisMessage header)
        {
            commandBytes += Math.max(0, header.bulkStringLength());
            if (header.bulkStringLength() > maxArgumentBytes)
            {
                refuse(ctx, msg, "an argument of " + header.bulkStringLength() + " bytes; at most " +
                    maxArgumentBytes + (known ? " (resp.max.request.bytes)" : " before AUTH"));
                return;
            }
            if (commandBytes > settings.maxCommandBytes())
            {
                refuse(ctx, msg, "a command of more than " + settings.maxCommandBytes() + " bytes " +
                    "(resp.max.command.bytes)");
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    private void refuse(final ChannelHandlerContext ctx, final Object msg, final String what)
    {
        refused = true;
        ReferenceCountUtil.release(msg);
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(Unpooled.wrappedBuffer(("-ERR Protocol error: " + what + "\r\n")
            .getBytes(StandardCharsets.UTF_8))).addListener(ChannelFutureListener.CLOSE);
    }
}
