package dev.grid.node;

import dev.grid.core.MemberConfiguration;
import dev.grid.net.ClientEndpoint;
import dev.grid.net.TlsClientEndpoint;

import java.io.IOException;

/**
 * The endpoint a member serves thin clients and the admin tool on, TLS when its configuration has a key store, and
 * the port it bound (the configured one, or a free one for 0).
 *
 * @param endpoint the endpoint, closed when the member stops.
 * @param port     the port it listens on.
 */
record ClientListener(AutoCloseable endpoint, int port)
{
    /**
     * @param config  the member's configuration (bind address, client port, limits, key store).
     * @param service what serves the requests.
     * @return the endpoint, listening.
     * @throws IOException if it cannot listen there.
     */
    static ClientListener open(final MemberConfiguration config, final ClientService service) throws IOException
    {
        final ClientEndpoint.Limits limits = new ClientEndpoint.Limits(config.clientMaxConnections(),
            config.clientMaxFrameBytes(), config.clientHandshakeTimeoutNs(), config.clientIdleTimeoutNs());
        if (config.clientTlsKeyStore() != null)
        {
            final TlsClientEndpoint tls = new TlsClientEndpoint(config.bindAddress(), config.clientPort(), limits,
                config.clientTlsKeyStore(), config.clientTlsKeyStorePassword().toCharArray(), service,
                "grid-client-tls-" + config.memberId());
            return new ClientListener(tls, tls.port());
        }
        // Polled by the member thread (MemberAgent): requests reach the engine with no hand-off between threads.
        final ClientEndpoint plain = ClientEndpoint.polled(config.bindAddress(), config.clientPort(), limits,
            service);
        return new ClientListener(plain, plain.port());
    }
}
