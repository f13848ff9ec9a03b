package dev.grid.resp;

import dev.grid.core.Cache;
import dev.grid.core.CacheAlreadyExistsException;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.Codecs;
import dev.grid.core.EntryProcessor;
import dev.grid.core.ExpiryPolicy;
import dev.grid.core.GridException;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.core.MemberConfiguration;
import dev.grid.node.GridMember;
import dev.grid.node.MemberService;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.redis.RedisArrayAggregator;
import io.netty.handler.codec.redis.RedisBulkStringAggregator;
import io.netty.handler.codec.redis.RedisDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.KeyManagerFactory;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.security.KeyStore;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A member's Redis-protocol endpoint ({@link RespSettings}): a Netty server on one event-loop thread that decodes
 * RESP2 (and inline commands) with Netty's Redis decoder, and runs each command on the member's own {@code Cache}
 * API, so every write has the grid's guarantees: synchronous backups, update counters, the WAL. Each database index
 * is a Grid cache with an eternal expiry policy (so keys can have expiry times) created by the first member that
 * serves it.
 * <p>
 * <b>Threading:</b> connections are served on the event loop; replies are written there in command order. Commands
 * that must wait (SCAN pages, MULTI/EXEC and MSET transactions, AUTH's password check) run on a small pool.
 */
final class RespService implements MemberService
{
    private static final Logger LOG = LoggerFactory.getLogger(RespService.class);
    private static final long CREATE_WAIT_NS = TimeUnit.SECONDS.toNanos(30);

    final GridMember member;
    final RespSettings settings;
    final ExecutorService blocking;
    final AtomicLong clientIds = new AtomicLong();
    final AtomicInteger connections = new AtomicInteger();
    final AtomicLong commandsProcessed = new AtomicLong();
    final AtomicLong connectionsReceived = new AtomicLong();
    final ScanCursors scans = new ScanCursors();
    final long startedMs = System.currentTimeMillis();
    private final Cache<byte[], byte[]>[] databases;
    private final EventLoopGroup loop;
    private final Channel server;

    /** Finds the service for {@code GridMember}: runs it when the member's configuration has {@code resp.port}. */
    public static final class Provider implements MemberService.Provider
    {
        @Override
        public Map<String, EntryProcessor<?, ?>> entryProcessors()
        {
            return Map.of(StringProcessor.NAME, new StringProcessor());
        }

        @Override
        public MemberService start(final GridMember member)
        {
            final RespSettings settings = RespSettings.of(member.configuration());
            return settings == null ? null : new RespService(member, settings);
        }
    }

    @SuppressWarnings("unchecked")
    private RespService(final GridMember member, final RespSettings settings)
    {
        this.member = member;
        this.settings = settings;
        this.databases = new Cache[settings.databases()];
        this.blocking = Executors.newFixedThreadPool(4, task ->
        {
            final Thread thread = new Thread(task, "grid-resp-" + member.configuration().memberId());
            thread.setDaemon(true);
            return thread;
        });
        // Database 0's cache is created (or found) in the background: the cluster may not have its quorum yet.
        databaseAsync(0);
        final SslContext tls = tls(member.configuration());
        this.loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try
        {
            this.server = new ServerBootstrap().group(loop).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 << 10, 1 << 20))
                .childHandler(new ChannelInitializer<SocketChannel>()
                {
                    @Override
                    protected void initChannel(final SocketChannel channel)
                    {
                        if (tls != null)
                        {
                            channel.pipeline().addLast(tls.newHandler(channel.alloc()));
                        }
                        channel.pipeline().addLast(new RedisDecoder(true), new RespLimits(settings),
                            new RedisBulkStringAggregator(), new RedisArrayAggregator(),
                            new RespConnection(RespService.this));
                    }
                })
                .bind(new InetSocketAddress(settings.bindAddress(), settings.port())).syncUninterruptibly().channel();
        }
        catch (final RuntimeException ex)
        {
            close();
            throw ex;
        }
        LOG.info("member {} serves the Redis protocol on {}{}", member.configuration().memberId(),
            server.localAddress(), tls == null ? "" : " over TLS");
    }

    /** @return the port it listens on. */
    int port()
    {
        return ((InetSocketAddress)server.localAddress()).getPort();
    }

    /**
     * @param index a database index in range.
     * @return its Grid cache, when this member serves it (at once if it does already).
     */
    CompletableFuture<Cache<byte[], byte[]>> databaseAsync(final int index)
    {
        final Cache<byte[], byte[]> served = databaseIfServed(index);
        return served != null ? CompletableFuture.completedFuture(served) :
            CompletableFuture.supplyAsync(() -> database(index), blocking);
    }

    /**
     * @param index a database index in range.
     * @return its Grid cache, created (with an eternal expiry policy) if no member did yet; blocks while the cluster
     *     cannot create it (no quorum yet), up to 30 s.
     */
    synchronized Cache<byte[], byte[]> database(final int index)
    {
        if (databases[index] != null)
        {
            return databases[index];
        }
        final CacheConfiguration<byte[], byte[]> config = new CacheConfiguration<>(settings.cacheNames()[index],
            Codecs.BYTES, Codecs.BYTES).backups(settings.backups()).partitions(settings.partitions())
            .expiry(ExpiryPolicy.eternal());
        final long deadlineNs = System.nanoTime() + CREATE_WAIT_NS;
        while (databases[index] == null)
        {
            try
            {
                databases[index] = member.createCache(config);
            }
            catch (final CacheAlreadyExistsException ex)
            {
                try
                {
                    databases[index] = member.cache(config.name());
                }
                catch (final CacheNotFoundException notYet)
                {
                    // Another member's creation is known to the cluster but not yet here.
                    retryUntil(deadlineNs, notYet);
                }
            }
            catch (final GridException ex)
            {
                // No quorum yet (a member that started first), a topology change: the cluster settles.
                if (ex.errorCode() == dev.grid.core.ErrorCode.CONFIGURATION_INVALID)
                {
                    throw ex;
                }
                retryUntil(deadlineNs, ex);
            }
        }
        if (databases[index].configuration().expiry() == null)
        {
            throw new GridException(dev.grid.core.ErrorCode.CONFIGURATION_INVALID, "cache '" + config.name() +
                "' of database " + index + " has no expiry policy: Redis keys need one to have expiry times");
        }
        return databases[index];
    }

    private static void retryUntil(final long deadlineNs, final GridException failure)
    {
        if (System.nanoTime() - deadlineNs > 0)
        {
            throw failure;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }

    /**
     * @param index a database index in range.
     * @return its cache if this member serves it already, else null (never creates it).
     */
    synchronized Cache<byte[], byte[]> databaseIfServed(final int index)
    {
        return databases[index];
    }

    private static SslContext tls(final MemberConfiguration config)
    {
        if (config.clientTlsKeyStore() == null)
        {
            return null;
        }
        try (InputStream in = Files.newInputStream(config.clientTlsKeyStore()))
        {
            final KeyStore store = KeyStore.getInstance("PKCS12");
            final char[] password = config.clientTlsKeyStorePassword() == null ? new char[0] :
                config.clientTlsKeyStorePassword().toCharArray();
            store.load(in, password);
            final KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, password);
            return SslContextBuilder.forServer(keys).build();
        }
        catch (final Exception ex)
        {
            throw new InvalidConfigurationException("cannot serve RESP over TLS with key store " +
                config.clientTlsKeyStore() + ": " + ex);
        }
    }

    @Override
    public void close()
    {
        if (server != null)
        {
            server.close().syncUninterruptibly();
        }
        if (loop != null)
        {
            loop.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        blocking.shutdownNow();
        scans.closeAll();
    }

    @Override
    public String toString()
    {
        return "RESP endpoint";
    }
}
