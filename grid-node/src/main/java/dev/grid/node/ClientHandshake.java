package dev.grid.node;

import dev.grid.core.ErrorCode;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MessageReader;
import dev.grid.core.engine.Topology;
import dev.grid.net.ClientEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The first request of a client connection ({@link ClientProtocol#HANDSHAKE}): the magic and a common protocol
 * version, then the credentials. A password is checked on a pool of its own (PBKDF2 takes hundreds of ms of CPU: not
 * on the member thread), unless it was verified before; a connection is admitted only once it passes, and one
 * that fails is answered and closed.
 * <p>
 * <b>Threading:</b> {@link #run} on the thread serving the client endpoint (the member thread, or a TLS
 * connection's reader); {@link #admit} there or on the password pool.
 */
final class ClientHandshake implements AutoCloseable
{
    /** Logged under the client service's name, as before it was a class of its own. */
    private static final Logger LOG = LoggerFactory.getLogger(ClientService.class);
    /** Handshakes that may wait for a password check; more are refused (TOO_MANY_REQUESTS), their connection closed. */
    private static final int MAX_WAITING_HANDSHAKES = 256;

    private final ClientService service;
    private final GridMember member;
    private final MemberConfiguration config;
    /** Where passwords are checked. Nothing else runs here. */
    private final ExecutorService handshakePool;
    private final VerifiedPasswords passwords = new VerifiedPasswords();

    ClientHandshake(final ClientService service, final GridMember member, final MemberConfiguration config)
    {
        this.service = service;
        this.member = member;
        this.config = config;
        this.handshakePool = new ThreadPoolExecutor(2, 2, 0, TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(MAX_WAITING_HANDSHAKES), r ->
        {
            final Thread thread = new Thread(r, "grid-client-auth-" + config.memberId());
            thread.setDaemon(true);
            return thread;
        });
    }

    @Override
    public void close()
    {
        handshakePool.shutdownNow();
    }

    void run(final ClientEndpoint.Connection connection, final ClientService.Session session, final long requestId,
        final MessageReader reader)
    {
        final int magic;
        final int minVersion;
        final int maxVersion;
        final String user;
        final String password;
        final String clientName;
        try
        {
            magic = reader.readInt("magic");
            minVersion = reader.readUnsignedShort("minVersion");
            maxVersion = reader.readUnsignedShort("maxVersion");
            user = reader.readString("user");
            password = reader.readString("password");
            clientName = reader.readString("clientName");
        }
        catch (final MalformedMessageException ex)
        {
            service.error(connection, requestId, ErrorCode.MALFORMED_REQUEST, "handshake: " + ex.getMessage());
            connection.close();
            return;
        }
        if (magic != ClientProtocol.MAGIC)
        {
            service.error(connection, requestId, ErrorCode.MALFORMED_REQUEST, "handshake: not a Grid client (magic " +
                Integer.toHexString(magic) + ")");
            connection.close();
            return;
        }
        if (minVersion > ClientProtocol.VERSION || maxVersion < ClientProtocol.MIN_VERSION || minVersion > maxVersion)
        {
            service.error(connection, requestId, ErrorCode.PROTOCOL_VERSION_UNSUPPORTED,
                "the client speaks versions [" + minVersion + ", " + maxVersion + "], this member [" +
                ClientProtocol.MIN_VERSION + ", " + ClientProtocol.VERSION + "]");
            connection.close();
            return;
        }
        // The newest version both speak: the client adapts to it (an older member: no pipelined TX_BEGIN).
        final int version = Math.min(maxVersion, ClientProtocol.VERSION);
        final Runnable check = () -> admit(connection, session, requestId, user, password, clientName, version);
        final Map<String, MemberConfiguration.ClientUser> users = config.clientUsers();
        final MemberConfiguration.ClientUser known = user == null ? null : users.get(user);
        if (users.isEmpty() || (known != null && passwords.verifiedBefore(user, password, known.passwordHash())))
        {
            // No password to check, or one verified before: let it in here, not behind the checks that wait.
            check.run();
            return;
        }
        try
        {
            handshakePool.execute(check);
        }
        catch (final RejectedExecutionException ex)
        {
            if (handshakePool.isShutdown())
            {
                service.error(connection, requestId, ErrorCode.NODE_STOPPING,
                    "member " + config.memberId() + " is stopping");
            }
            else
            {
                service.error(connection, requestId, ErrorCode.TOO_MANY_REQUESTS, "member " + config.memberId() +
                    " has " + MAX_WAITING_HANDSHAKES + " handshakes waiting for their password check; try again " +
                    "later");
            }
            connection.close();
        }
    }

    /** Check the credentials (if the member has users) and admit the connection, or answer and close it. */
    private void admit(final ClientEndpoint.Connection connection, final ClientService.Session session,
        final long requestId, final String user, final String password, final String clientName, final int version)
    {
        if (session.isClosed())
        {
            // Gone while it waited: no check is paid for a connection that cannot be let in.
            return;
        }
        final Map<String, MemberConfiguration.ClientUser> users = config.clientUsers();
        MemberConfiguration.ClientRole role = MemberConfiguration.ClientRole.ADMIN;
        if (!users.isEmpty())
        {
            final MemberConfiguration.ClientUser known = user == null ? null : users.get(user);
            if (known == null && password != null)
            {
                // As long as a known user's check: the time taken does not tell which users exist.
                passwords.spendAsForAKnownUser(password);
            }
            if (known == null || password == null || !passwords.matches(user, password, known.passwordHash()))
            {
                // The client's mistake (or an attacker's guess): one line, the user name made safe to log.
                LOG.info("member {}: client {} failed to authenticate as {}", config.memberId(),
                    connection.remote(), LogText.quote(user));
                service.error(connection, requestId, ErrorCode.AUTHENTICATION_FAILED,
                    user == null || password == null ? "this member requires a user and password" :
                    "unknown user or wrong password");
                connection.close();
                return;
            }
            role = known.role();
        }
        session.user = user == null ? "anonymous" : user;
        session.role = role;
        session.version = version;
        session.ready = true;
        connection.admit();
        LOG.info("member {}: client {} connected from {} as {} ({})", config.memberId(),
            LogText.quote(clientName), connection.remote(), LogText.quote(session.user), role);
        final Topology topology = member.topology();
        service.answer(connection, requestId, w -> w.writeUnsignedShort(version)
            .writeString(config.memberId()).writeByte(session.role.ordinal())
            .writeLong(topology == null ? 0 : topology.version()));
    }
}
