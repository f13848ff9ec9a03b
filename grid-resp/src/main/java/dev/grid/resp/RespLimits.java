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
    private final RespSettings settings;
    private boolean refused;

    RespLimits(final RespSettings settings)
    {
        this.settings = settings;
    }

    @Override
    public void channelRead(final ChannelHandlerContext ctx, final Object msg)
    {
        if (refused)
        {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof ArrayHeaderRedisMessage header && header.length() > settings.maxArguments())
        {
            refuse(ctx, msg, "a command of " + header.length() + " arguments; at most " + settings.maxArguments() +
                " (resp.max.arguments)");
            return;
        }
        if (msg instanceof BulkStringHeaderRedisMessage header &&
            header.bulkStringLength() > settings.maxArgumentBytes())
        {
            refuse(ctx, msg, "an argument of " + header.bulkStringLength() + " bytes; at most " +
                settings.maxArgumentBytes() + " (resp.max.request.bytes)");
            return;
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
