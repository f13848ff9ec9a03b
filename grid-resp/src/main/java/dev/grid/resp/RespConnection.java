package dev.grid.resp;

import dev.grid.core.Cache;
import dev.grid.core.GridException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.InlineCommandRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import io.netty.handler.ssl.SslHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * One Redis connection: its session (user, database, protocol version, name, MULTI queue, watched keys) and the order
 * of its replies. Commands of a pipeline run concurrently on the grid, and their replies are written in the order the
 * commands came. A command that changes how the next ones run (AUTH, SELECT of a database not served yet, HELLO with
 * AUTH) is a barrier: the commands after it wait for it. Reading stops while {@code resp.max.pending} commands are in
 * flight or the socket does not take the replies, so a client that does not read cannot make the member hold more.
 * <p>
 * <b>Threading:</b> the connection's event loop only; futures complete elsewhere and hand back to it.
 */
final class RespConnection extends SimpleChannelInboundHandler<RedisMessage>
{
    private static final Logger LOG = LoggerFactory.getLogger(RespConnection.class);

    final RespService service;
    final long id;
    volatile boolean authenticated;
    volatile String user = "default";
    volatile int database;
    volatile int protocol = 2;
    volatile String name;
    /** Commands queued since MULTI, or null outside one. */
    List<byte[][]> multi;
    /** Whether a command queued since MULTI was refused (EXEC then aborts). */
    boolean multiRefused;
    /** Values of the keys WATCH read, by database, to compare at EXEC; null if none. */
    Map<RespKey, byte[]> watched;
    int watchedDatabase;
    /** Replies in command order, each with the protocol it is written in (-1: the connection's when written). */
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private final ArrayDeque<byte[][]> gated = new ArrayDeque<>();
    private CompletableFuture<?> barrier;
    /**
     * Commands in flight by their first argument (the key, for most commands): a command on a key with one in flight
     * waits for it, as after a barrier, so that a pipeline's commands on one key run in their order. Run concurrently,
     * a pipeline's INCRs of one key once answered out of order under load.
     */
    private final HashMap<ByteBuffer, CompletableFuture<Reply>> inFlightByKey = new HashMap<>();
    private CompletableFuture<Reply> closeAfter;
    /** QUIT came: nothing after it runs. */
    private boolean quitting;
    private ChannelHandlerContext ctx;
    private boolean counted;
    private boolean refused;

    RespConnection(final RespService service)
    {
        this.service = service;
        this.id = service.clientIds.incrementAndGet();
        this.authenticated = service.member.configuration().clientUsers().isEmpty();
    }

    /**
     * @return the cache of the connection's database.
     * @throws RespException if this member does not serve it (its cache could not be created).
     */
    Cache<byte[], byte[]> cache()
    {
        final Cache<byte[], byte[]> cache = service.databaseIfServed(database);
        if (cache == null)
        {
            service.databaseAsync(database); // try again to create it, for the next command
            throw new RespException("ERR database " + database + " is not available yet: its cache could not be " +
                "created (no quorum?); try again");
        }
        return cache;
    }

    /**
     * Make the commands after the current one wait for this future.
     *
     * @param future that must complete first.
     */
    void barrier(final CompletableFuture<?> future)
    {
        barrier = future;
    }

    /**
     * Close the connection once the reply to the current command is written (QUIT).
     *
     * @param reply the reply.
     */
    void closeAfter(final CompletableFuture<Reply> reply)
    {
        closeAfter = reply;
        quitting = true;
        gated.clear();
    }

    @Override
    public void channelActive(final ChannelHandlerContext context)
    {
        this.ctx = context;
        service.connectionsReceived.incrementAndGet();
        counted = true;
        if (service.connections.incrementAndGet() > service.settings.maxConnections())
        {
            refused = true;
            final SslHandler tls = context.pipeline().get(SslHandler.class);
            if (tls == null)
            {
                refuse(context);
            }
            else
            {
                // Over TLS the refusal can only be read once the handshake is done.
                tls.handshakeFuture().addListener(done -> refuse(context));
            }
            return;
        }
        if (service.databaseIfServed(database) == null)
        {
            // Commands wait until database 0's cache is there (a member just started).
            final CompletableFuture<?> ready = service.databaseAsync(database);
            barrier(ready);
            ready.whenComplete((r, e) -> context.executor().execute(this::releaseGate));
        }
    }

    private static void refuse(final ChannelHandlerContext context)
    {
        final ByteBuf out = context.alloc().buffer();
        Reply.error("ERR max number of clients reached").write(out, 2);
        context.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void channelInactive(final ChannelHandlerContext context)
    {
        if (counted)
        {
            service.connections.decrementAndGet();
            counted = false;
        }
    }

    @Override
    protected void channelRead0(final ChannelHandlerContext context, final RedisMessage message)
    {
        if (refused || quitting)
        {
            return;
        }
        final byte[][] args = arguments(message);
        if (args == null || args.length == 0)
        {
            return;
        }
        if (barrier == null || barrier.isDone())
        {
            waitForSameKey(args);
        }
        if (barrier != null && !barrier.isDone() || !gated.isEmpty())
        {
            // Waiting commands count toward the pipeline's limit: reading stops until the barrier lifts.
            gated.add(args);
            if (gated.size() + pending.size() >= service.settings.maxPending())
            {
                ctx.channel().config().setAutoRead(false);
            }
            return;
        }
        dispatch(args);
    }

    private void dispatch(final byte[][] args)
    {
        service.commandsProcessed.incrementAndGet();
        final int protocolNow = protocol;
        CompletableFuture<Reply> reply;
        try
        {
            reply = Commands.execute(this, args);
        }
        catch (final RuntimeException ex)
        {
            reply = CompletableFuture.completedFuture(failure(ex));
        }
        // Forgotten when its reply is written (drain): a done one left here meanwhile holds nothing back.
        final ByteBuffer key = args.length > 1 && !reply.isDone() ? ByteBuffer.wrap(args[1]) : null;
        if (key != null)
        {
            inFlightByKey.put(key, reply);
        }
        // A reply is written in the protocol of the moment its command came, but HELLO's own in the one it chose.
        pending.add(new Pending(reply, Commands.isHello(args) ? -1 : protocolNow, key));
        if (pending.size() >= service.settings.maxPending())
        {
            ctx.channel().config().setAutoRead(false);
        }
        if (reply.isDone())
        {
            drain();
        }
        else
        {
            reply.whenComplete((r, e) -> ctx.executor().execute(this::drain));
        }
        if (barrier != null && !barrier.isDone())
        {
            barrier.whenComplete((r, e) -> ctx.executor().execute(this::releaseGate));
        }
    }

    /** Run the commands that waited for a barrier, until the next barrier. */
    private void releaseGate()
    {
        while (!gated.isEmpty() && (barrier == null || barrier.isDone()) && !quitting)
        {
            if (!waitForSameKey(gated.peek()))
            {
                dispatch(gated.poll());
            }
        }
        resumeIfDrained();
    }

    /**
     * @return whether a command on the same first argument is in flight: it is then this command's barrier (the
     *         commands after it wait too, so that their order holds).
     */
    private boolean waitForSameKey(final byte[][] args)
    {
        if (args.length < 2 || inFlightByKey.isEmpty())
        {
            return false;
        }
        final CompletableFuture<Reply> before = inFlightByKey.get(ByteBuffer.wrap(args[1]));
        if (before == null || before.isDone())
        {
            return false;
        }
        barrier = before;
        before.whenComplete((r, e) -> ctx.executor().execute(this::releaseGate));
        return true;
    }

    /** Write the replies that are ready, in command order. */
    private void drain()
    {
        boolean wrote = false;
        while (!pending.isEmpty() && pending.peek().reply().isDone())
        {
            final Pending next = pending.poll();
            final CompletableFuture<Reply> done = next.reply();
            if (next.key() != null)
            {
                inFlightByKey.remove(next.key(), done);
            }
            Reply reply;
            try
            {
                reply = done.join();
            }
            catch (final CompletionException ex)
            {
                reply = failure(ex.getCause());
            }
            final ByteBuf out = ctx.alloc().buffer();
            reply.write(out, next.protocol() < 0 ? protocol : next.protocol());
            if (done == closeAfter)
            {
                ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
                pending.clear();
                return;
            }
            ctx.write(out);
            wrote = true;
        }
        if (wrote)
        {
            ctx.flush();
        }
        resumeIfDrained();
    }

    private void resumeIfDrained()
    {
        if (!ctx.channel().config().isAutoRead() && !refused && !quitting &&
            pending.size() + gated.size() < service.settings.maxPending() / 2 + 1 &&
            ctx.channel().isWritable() && ctx.channel().isActive())
        {
            ctx.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void channelWritabilityChanged(final ChannelHandlerContext context)
    {
        if (!context.channel().isWritable())
        {
            context.channel().config().setAutoRead(false);
        }
        else
        {
            resumeIfDrained();
        }
        context.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(final ChannelHandlerContext context, final Throwable cause)
    {
        LOG.debug("RESP connection {} from {}: {}", id, context.channel().remoteAddress(), cause.toString());
        if (context.channel().isActive())
        {
            final ByteBuf out = context.alloc().buffer();
            Reply.error("ERR Protocol error: " + rootMessage(cause)).write(out, 2);
            context.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** A reply to come, the protocol to write it in (-1: the connection's at the time), its key in inFlightByKey. */
    private record Pending(CompletableFuture<Reply> reply, int protocol, ByteBuffer key)
    {
    }

    /**
     * @param failure of a command.
     * @return the error reply that names it: Grid's errors with their code, anything else as an internal error.
     */
    static Reply failure(final Throwable failure)
    {
        final Throwable cause = failure instanceof CompletionException && failure.getCause() != null ?
            failure.getCause() : failure;
        if (cause instanceof GridException grid)
        {
            return Reply.error("ERR " + grid.getMessage());
        }
        if (cause instanceof RespException resp)
        {
            return Reply.error(resp.getMessage());
        }
        LOG.warn("a RESP command failed unexpectedly", cause);
        return Reply.error("ERR internal error: " + cause);
    }

    private static String rootMessage(final Throwable cause)
    {
        Throwable root = cause;
        while (root.getCause() != null)
        {
            root = root.getCause();
        }
        return String.valueOf(root.getMessage());
    }

    /** @return the command's arguments, or null for a message that is not a command. */
    private static byte[][] arguments(final RedisMessage message)
    {
        if (message instanceof ArrayRedisMessage array)
        {
            final List<RedisMessage> children = array.children();
            final byte[][] args = new byte[children.size()][];
            for (int i = 0; i < args.length; i++)
            {
                if (!(children.get(i) instanceof FullBulkStringRedisMessage bulk) || bulk.isNull())
                {
                    throw new RespException("ERR Protocol error: a command is an array of bulk strings");
                }
                args[i] = ByteBufUtil.getBytes(bulk.content());
            }
            return args;
        }
        if (message instanceof InlineCommandRedisMessage inline)
        {
            return split(inline.content());
        }
        if (message instanceof SimpleStringRedisMessage simple)
        {
            return split(simple.content());
        }
        throw new RespException("ERR Protocol error: a command is an array of bulk strings or an inline command");
    }

    private static byte[][] split(final String line)
    {
        final List<byte[]> words = new ArrayList<>();
        for (final String word : line.trim().split("\\s+"))
        {
            if (!word.isEmpty())
            {
                words.add(word.getBytes(StandardCharsets.UTF_8));
            }
        }
        return words.toArray(new byte[0][]);
    }
}
