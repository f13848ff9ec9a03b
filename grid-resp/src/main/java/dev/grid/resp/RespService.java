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
import java.util.concurrent.atomic.AtomicReferenceArray;
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
    /** Blocking work of authentication (PBKDF2), apart so that it cannot starve the rest. */
    final ExecutorService authentication;
    private final ExecutorService creator;
    private final AtomicReferenceArray<Cache<byte[], byte[]>> databases;
    private final AtomicReferenceArray<CompletableFuture<Cache<byte[], byte[]>>> creations;
    private EventLoopGroup loop;
    private Channel server;

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

    private RespService(final GridMember member, final RespSettings settings)
    {
        this.member = member;
        this.settings = settings;
        this.databases = new AtomicReferenceArray<>(settings.databases());
        this.creations = new AtomicReferenceArray<>(settings.databases());
        this.blocking = pool(4, "grid-resp-");
        this.authentication = pool(2, "grid-resp-auth-");
        this.creator = pool(1, "grid-resp-create-");
        // Database 0's cache is created (or found) in the background: the cluster may not have its quorum yet.
        databaseAsync(0);
        SslContext tls = null;
        EventLoopGroup group = null;
        Channel bound = null;
        try
        {
            tls = tls(member.configuration());
            group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
            final SslContext tlsContext = tls;
            bound = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 << 10, 1 << 20))
                .childHandler(new ChannelInitializer<SocketChannel>()
                {
                    @Override
                    protected void initChannel(final SocketChannel channel)
                    {
                        if (tlsContext != null)
                        {
                            channel.pipeline().addLast(tlsContext.newHandler(channel.alloc()));
                        }
                        final RespConnection connection = new RespConnection(RespService.this);
                        channel.pipeline().addLast(new RedisDecoder(true),
                            new RespLimits(settings, () -> connection.authenticated), new RedisBulkStringAggregator(),
                            new RedisArrayAggregator(), connection);
                    }
                })
                .bind(new InetSocketAddress(settings.bindAddress(), settings.port())).syncUninterruptibly().channel();
        }
        catch (final Throwable ex)
        {
            // Netty rethrows a failed bind's checked BindException unchecked: every failure ends here.
            this.loop = group;
            this.server = null;
            close();
            throw new InvalidConfigurationException("member " + member.configuration().memberId() +
                " cannot serve RESP on " + settings.bindAddress() + ":" + settings.port() + ": " + ex);
        }
        this.loop = group;
        this.server = bound;
        LOG.info("member {} serves the Redis protocol on {}{}", member.configuration().memberId(),
            server.localAddress(), tls == null ? "" : " over TLS");
    }

    private ExecutorService pool(final int threads, final String name)
    {
        return Executors.newFixedThreadPool(threads, task ->
        {
            final Thread thread = new Thread(task, name + member.configuration().memberId());
            thread.setDaemon(true);
            return thread;
        });
    }

    /** @return the port it listens on. */
    int port()
    {
        return ((InetSocketAddress)server.localAddress()).getPort();
    }

    /**
     * @param index a database index in range.
     * @return its Grid cache, when this member serves it (at once if it does already); one creation per index runs
     *     at a time, on the creator thread, and a failed one is tried again by the next caller.
     */
    CompletableFuture<Cache<byte[], byte[]>> databaseAsync(final int index)
    {
        final Cache<byte[], byte[]> served = databases.get(index);
        if (served != null)
        {
            return CompletableFuture.completedFuture(served);
        }
        synchronized (creations)
        {
            final CompletableFuture<Cache<byte[], byte[]>> running = creations.get(index);
            if (running != null && !running.isCompletedExceptionally())
            {
                return running;
            }
            final CompletableFuture<Cache<byte[], byte[]>> creation = CompletableFuture.supplyAsync(
                () -> createOrOpen(index), creator);
            creations.set(index, creation);
            return creation;
        }
    }

    /**
     * @param index a database index in range.
     * @return its Grid cache, waiting for its creation as {@link #databaseAsync} starts it.
     */
    Cache<byte[], byte[]> database(final int index)
    {
        return databaseAsync(index).join();
    }

    /**
     * @param index a database index in range.
     * @return its cache if this member serves it already, else null (never creates it). Lock-free: event loop.
     */
    Cache<byte[], byte[]> databaseIfServed(final int index)
    {
        return databases.get(index);
    }

    /**
     * @param index a database index in range.
     * @return its cache if it exists in the cluster (served here or not), else null; blocks on a round trip.
     */
    Cache<byte[], byte[]> existingDatabase(final int index)
    {
        final Cache<byte[], byte[]> served = databases.get(index);
        if (served != null)
        {
            return served;
        }
        try
        {
            return member.cache(settings.cacheNames()[index]);
        }
        catch (final CacheNotFoundException ex)
        {
            return null;
        }
    }

    /** Create or open a database's cache, retrying while the cluster cannot (no quorum yet), up to 30 s. */
    private Cache<byte[], byte[]> createOrOpen(final int index)
    {
        final CacheConfiguration<byte[], byte[]> config = new CacheConfiguration<>(settings.cacheNames()[index],
            Codecs.BYTES, Codecs.BYTES).backups(settings.backups()).partitions(settings.partitions())
            .expiry(ExpiryPolicy.eternal());
        final long deadlineNs = System.nanoTime() + CREATE_WAIT_NS;
        Cache<byte[], byte[]> cache = null;
        while (cache == null)
        {
            try
            {
                cache = member.createCache(config);
            }
            catch (final CacheAlreadyExistsException ex)
            {
                try
                {
                    cache = member.cache(config.name());
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
        if (cache.configuration().expiry() == null)
        {
            throw new GridException(dev.grid.core.ErrorCode.CONFIGURATION_INVALID, "cache '" + config.name() +
                "' of database " + index + " has no expiry policy: Redis keys need one to have expiry times");
        }
        databases.set(index, cache);
        return cache;
    }

    private static void retryUntil(final long deadlineNs, final GridException failure)
    {
        if (System.nanoTime() - deadlineNs > 0)
        {
            throw failure;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        if (Thread.currentThread().isInterrupted())
        {
            throw failure; // the service is closing
        }
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
        authentication.shutdownNow();
        creator.shutdownNow();
        scans.closeAll();
    }

    @Override
    public String toString()
    {
        return "RESP endpoint";
    }
}
