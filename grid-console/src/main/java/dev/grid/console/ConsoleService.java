package dev.grid.console;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.grid.admin.Json;
import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.GridException;
import dev.grid.core.InvalidConfigurationException;
import dev.grid.node.GridMember;
import dev.grid.node.MemberService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;

/**
 * The web console a member serves on {@code console.port}: one page ({@code index.html}, {@code console.js},
 * {@code console.css}, vendored in this jar, no build step) that polls {@code GET /api/state} every second and draws
 * the topology and baseline, a partition map per cache (partitions by members, coloured by copy state, LWM/HWM lag on
 * hover), rebalance progress and throughput and p99 charts, lost partitions and the last consistency check
 * ({@code POST /api/check?cache=NAME} runs one). It reads the cluster through a thin client to its own member's
 * client port, as the admin tool would.
 * <p>
 * Settings: {@code console.port} (0 for any free port; no console if absent), {@code console.bind.address} (default
 * 127.0.0.1), {@code console.user} and {@code console.password} (the console's own thin-client user, when members
 * require users). When members list users, every request needs HTTP Basic credentials of one of them (checked as the
 * handshake checks them; send them over a trusted network or a tunnel: the console speaks plain HTTP), and a POST needs
 * the header {@value #POST_HEADER}, which cross-site forms cannot send. Client TLS is not supported yet.
 * <b>Threading:</b> the JDK's HTTP server on two threads of its own.
 */
public final class ConsoleService implements MemberService
{
    private static final Logger LOG = LoggerFactory.getLogger(ConsoleService.class);
    private static final Set<String> KEYS = Set.of("console.port", "console.bind.address", "console.user",
        "console.password");
    private static final Map<String, String> ASSETS = Map.of("/", "index.html", "/index.html", "index.html",
        "/console.js", "console.js", "/console.css", "console.css");

    /** The default bind address: the console is for operators on the member's host unless told otherwise. */
    private static final String LOOPBACK = "127.0.0.1";
    /** The header the page sends with every POST: a cross-site form cannot, so no other site can run a check. */
    static final String POST_HEADER = "X-Grid-Console";

    private final GridMember member;
    private final boolean loopbackOnly;
    private final HttpServer server;
    private final ExecutorService threads;
    private final GridClient client;
    private final ConsoleState state;

    /** Starts the console when grid-console is on a member's class path and {@code console.port} is set. */
    public static final class Provider implements MemberService.Provider
    {
        @Override
        public MemberService start(final GridMember member)
        {
            final Map<String, String> settings = member.configuration().settings();
            for (final String key : settings.keySet())
            {
                if (key.startsWith("console.") && !KEYS.contains(key))
                {
                    throw new InvalidConfigurationException("unknown setting '" + key + "'; known: " + KEYS);
                }
            }
            final String port = settings.get("console.port");
            if (port == null)
            {
                return null;
            }
            if (member.clientPort() < 0)
            {
                throw new InvalidConfigurationException("console.port needs client.port: the console reads the " +
                    "cluster through the member's client port");
            }
            if (member.configuration().clientTlsKeyStore() != null)
            {
                throw new InvalidConfigurationException("console.port with client.tls.keystore is not supported yet: " +
                    "the console reads the cluster through the member's client port, in plain TCP");
            }
            final int number;
            try
            {
                number = Integer.parseInt(port.trim());
                if (number < 0 || number > 65_535)
                {
                    throw new NumberFormatException();
                }
            }
            catch (final NumberFormatException ex)
            {
                throw new InvalidConfigurationException("console.port = '" + port + "' is not a port (0 to 65535)");
            }
            return new ConsoleService(member, number, settings.getOrDefault("console.bind.address", LOOPBACK),
                settings.get("console.user"), settings.get("console.password"));
        }
    }

    private ConsoleService(final GridMember member, final int port, final String bindAddress, final String user,
        final String password)
    {
        final String memberId = member.configuration().memberId();
        final ClientConfiguration config = new ClientConfiguration().clientName("grid-console-" + memberId)
            .address(member.configuration().bindAddress() + ":" + member.clientPort()).partitionAware(false);
        if (user != null)
        {
            config.credentials(user, password == null ? "" : password);
        }
        try
        {
            this.client = GridClient.connect(config);
        }
        catch (final GridException ex)
        {
            throw new InvalidConfigurationException("member " + memberId + "'s console cannot read the cluster " +
                "through its client port (set console.user and console.password if members require users): " +
                ex.getMessage());
        }
        this.state = new ConsoleState(client, memberId);
        // Two threads and a bounded queue: requests beyond it are refused, never queued without end (each login
        // attempt may cost a password hash).
        this.threads = new java.util.concurrent.ThreadPoolExecutor(2, 2, 0, java.util.concurrent.TimeUnit.SECONDS,
            new java.util.concurrent.ArrayBlockingQueue<>(64), runnable ->
            {
                final Thread thread = new Thread(runnable, "grid-console-" + memberId);
                thread.setDaemon(true);
                return thread;
            });
        this.loopbackOnly = isLoopback(bindAddress);
        this.member = member;
        try
        {
            server = HttpServer.create(new InetSocketAddress(bindAddress, port), 16);
        }
        catch (final IOException | RuntimeException ex)
        {
            client.close();
            threads.shutdownNow();
            throw new InvalidConfigurationException("member " + memberId + " cannot serve its console on " +
                bindAddress + ":" + port + ": " + ex.getMessage());
        }
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
        LOG.info("member {}: web console on http://{}:{}/", memberId, bindAddress, server.getAddress().getPort());
    }

    /** @return the port the console listens on. */
    public int port()
    {
        return server.getAddress().getPort();
    }

    private void handle(final HttpExchange exchange) throws IOException
    {
        try (exchange)
        {
            final String path = exchange.getRequestURI().getPath();
            final String method = exchange.getRequestMethod();
            if (loopbackOnly && !loopbackHost(exchange.getRequestHeaders().getFirst("Host")))
            {
                // A page of another site whose name was made to resolve to 127.0.0.1 (DNS rebinding) names its own
                // host here: only the loopback names are served.
                send(exchange, 403, "text/plain", "a console on loopback answers only requests for localhost");
            }
            else if (!authorized(exchange))
            {
                exchange.getResponseHeaders().set("WWW-Authenticate",
                    "Basic realm=\"Grid console\", charset=\"UTF-8\"");
                send(exchange, 401, "text/plain", "the members require users: sign in with a member user");
            }
            else if (method.equals("POST") && exchange.getRequestHeaders().getFirst(POST_HEADER) == null)
            {
                send(exchange, 403, "text/plain", "POST needs the header " + POST_HEADER + " (the console's page " +
                    "sends it)");
            }
            else if (method.equals("GET") && ASSETS.containsKey(path))
            {
                asset(exchange, ASSETS.get(path));
            }
            else if (method.equals("GET") && path.equals("/api/state"))
            {
                send(exchange, 200, "application/json", answer(state::json));
            }
            else if (method.equals("POST") && path.equals("/api/check"))
            {
                final String cache = query(exchange.getRequestURI().getRawQuery(), "cache");
                send(exchange, cache == null ? 400 : 200, "application/json", cache == null ?
                    Json.write(Map.of("error", "POST /api/check?cache=NAME")) : answer(() -> state.check(cache)));
            }
            else
            {
                send(exchange, 404, "text/plain", "no such page: " + method + " " + path);
            }
        }
        catch (final RuntimeException ex)
        {
            LOG.warn("console request {} failed", exchange.getRequestURI(), ex);
        }
    }

    private static boolean isLoopback(final String address)
    {
        try
        {
            return java.net.InetAddress.getByName(address).isLoopbackAddress();
        }
        catch (final java.net.UnknownHostException ex)
        {
            return false;
        }
    }

    /** @return whether a Host header names the loopback interface (with or without a port). */
    static boolean loopbackHost(final String host)
    {
        if (host == null)
        {
            return false;
        }
        final String name = host.startsWith("[") ? host.substring(0, host.indexOf(']') + 1) :
            host.contains(":") ? host.substring(0, host.lastIndexOf(':')) : host;
        return name.equalsIgnoreCase("localhost") || name.equals("127.0.0.1") || name.equals("[::1]");
    }

    /**
     * @return true if the members list no users, or the request carries HTTP Basic credentials of one of them (any
     *     role: the console shows what the admin tool's read requests show, and runs the consistency check, which
     *     any user may).
     */
    private boolean authorized(final HttpExchange exchange)
    {
        if (member.configuration().clientUsers().isEmpty())
        {
            return true;
        }
        final String header = exchange.getRequestHeaders().getFirst("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6))
        {
            return false;
        }
        final String decoded;
        try
        {
            decoded = new String(java.util.Base64.getDecoder().decode(header.substring(6).trim()),
                StandardCharsets.UTF_8);
        }
        catch (final IllegalArgumentException ex)
        {
            return false;
        }
        final int colon = decoded.indexOf(':');
        return colon > 0 && member.authenticate(decoded.substring(0, colon), decoded.substring(colon + 1)) != null;
    }

    /** @return the answer, or a JSON error naming what failed (the page shows it and keeps polling). */
    private static String answer(final java.util.function.Supplier<String> read)
    {
        try
        {
            return read.get();
        }
        catch (final GridException ex)
        {
            return Json.write(Map.of("error", ex.errorCode() + ": " + ex.getMessage()));
        }
    }

    private static String query(final String rawQuery, final String name)
    {
        if (rawQuery == null)
        {
            return null;
        }
        for (final String pair : rawQuery.split("&"))
        {
            final int eq = pair.indexOf('=');
            if (eq > 0 && pair.substring(0, eq).equals(name))
            {
                return URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    private static void asset(final HttpExchange exchange, final String name) throws IOException
    {
        try (InputStream in = ConsoleService.class.getResourceAsStream(name))
        {
            if (in == null)
            {
                send(exchange, 404, "text/plain", "missing asset " + name);
                return;
            }
            final String type = name.endsWith(".js") ? "text/javascript" : name.endsWith(".css") ? "text/css" :
                "text/html";
            send(exchange, 200, type, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    private static void send(final HttpExchange exchange, final int status, final String type, final String body)
        throws IOException
    {
        final byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type + "; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody())
        {
            out.write(bytes);
        }
    }

    @Override
    public void close()
    {
        server.stop(0);
        threads.shutdownNow();
        client.close();
    }
}
