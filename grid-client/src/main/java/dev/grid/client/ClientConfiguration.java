package dev.grid.client;

import dev.grid.core.InvalidConfigurationException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * How a {@link GridClient} connects: the members' client addresses (any one is enough; the others are used when it
 * fails and for partition awareness), credentials, and timeouts. Fluent setters; validated by
 * {@link GridClient#connect}. Not thread-safe until passed to it.
 */
public final class ClientConfiguration
{
    /** Default time a request may take before it fails with a timeout: 30 s. */
    public static final long REQUEST_TIMEOUT_DEFAULT_NS = TimeUnit.SECONDS.toNanos(30);
    /**
     * Default time an operator's request may wait for its answer before it fails with a timeout: 10 min, for the
     * longest work an operator asks of the members (a consistency check of a large cache, a snapshot's creation).
     */
    public static final long OPERATOR_TIMEOUT_DEFAULT_NS = TimeUnit.MINUTES.toNanos(10);
    /** Default time to open a connection: 5 s. */
    public static final int CONNECT_TIMEOUT_DEFAULT_MS = 5_000;
    /** Default longest answer frame accepted: 64 MiB. */
    public static final int MAX_FRAME_BYTES_DEFAULT = 64 << 20;

    private final List<String> addresses = new ArrayList<>();
    private String user;
    private String password;
    private String clientName = "grid-client";
    private long requestTimeoutNs = REQUEST_TIMEOUT_DEFAULT_NS;
    private long operatorTimeoutNs = OPERATOR_TIMEOUT_DEFAULT_NS;
    private int connectTimeoutMs = CONNECT_TIMEOUT_DEFAULT_MS;
    private int maxFrameBytes = MAX_FRAME_BYTES_DEFAULT;
    private boolean partitionAware = true;
    private boolean tls;
    private Path trustStore;
    private String trustStorePassword;

    /**
     * @param address a member's client address, host:port.
     * @return this for a fluent API.
     */
    public ClientConfiguration address(final String address)
    {
        addresses.add(address);
        return this;
    }

    /**
     * @param user     the user name the members' configuration lists.
     * @param password its password.
     * @return this for a fluent API.
     */
    public ClientConfiguration credentials(final String user, final String password)
    {
        this.user = user;
        this.password = password;
        return this;
    }

    /**
     * @param name shown in the members' logs.
     * @return this for a fluent API.
     */
    public ClientConfiguration clientName(final String name)
    {
        this.clientName = name;
        return this;
    }

    /**
     * @param timeoutNs how long a request may take, positive: from the call to its answer, resends to other
     *                  members included. A request is given up within a tenth of this (at most 50 ms) after it,
     *                  with an {@link dev.grid.core.OperationTimeoutException}; a write given up may or may not
     *                  have been applied. An interactive transaction's requests are given up this long plus the
     *                  transaction's timeout after they were sent (a commit so given up fails with
     *                  TX_COMMIT_STATUS_UNKNOWN); operator requests have their own timeout
     *                  ({@link #operatorTimeoutNs}). The partition map a request's route needs is fetched with this
     *                  timeout too.
     * @return this for a fluent API.
     */
    public ClientConfiguration requestTimeoutNs(final long timeoutNs)
    {
        this.requestTimeoutNs = timeoutNs;
        return this;
    }

    /**
     * @param timeoutNs how long an operator's request ({@link ClientAdmin}, {@link ClientSnapshots}) may wait for its
     *                  answer, positive: long enough for the longest work an operator asks of the members (a
     *                  consistency check of a large cache, a snapshot's creation or restore). A request without an
     *                  answer by then (its member paused or wedged, its connection still open) fails with an
     *                  {@link dev.grid.core.OperationTimeoutException}; the member may still finish its work (a
     *                  snapshot, a baseline change). Default {@link #OPERATOR_TIMEOUT_DEFAULT_NS}.
     * @return this for a fluent API.
     */
    public ClientConfiguration operatorTimeoutNs(final long timeoutNs)
    {
        this.operatorTimeoutNs = timeoutNs;
        return this;
    }

    /**
     * @param timeoutMs how long opening a connection may take, positive.
     * @return this for a fluent API.
     */
    public ClientConfiguration connectTimeoutMs(final int timeoutMs)
    {
        this.connectTimeoutMs = timeoutMs;
        return this;
    }

    /**
     * @param aware send each key's request straight to its partition's primary (default), or everything to one member.
     * @return this for a fluent API.
     */
    public ClientConfiguration partitionAware(final boolean aware)
    {
        this.partitionAware = aware;
        return this;
    }

    /**
     * Connect over TLS (the members must serve TLS), verifying the members' certificates, including that each names
     * the host connected to.
     *
     * @param trustStore a PKCS12 file with the certificates to trust; null for the JDK's default trust store.
     * @param password   its password.
     * @return this for a fluent API.
     */
    public ClientConfiguration tls(final Path trustStore, final String password)
    {
        this.tls = true;
        this.trustStore = trustStore;
        this.trustStorePassword = password;
        return this;
    }

    void validate()
    {
        if (addresses.isEmpty())
        {
            throw new InvalidConfigurationException("a client needs at least one member address");
        }
        for (final String address : addresses)
        {
            final int colon = address == null ? -1 : address.lastIndexOf(':');
            if (colon <= 0 || !address.substring(colon + 1).matches("[0-9]{1,5}"))
            {
                throw new InvalidConfigurationException("address '" + address + "' must be host:port");
            }
        }
        if ((user == null) != (password == null))
        {
            throw new InvalidConfigurationException("give both a user and a password, or neither");
        }
        if (requestTimeoutNs <= 0 || operatorTimeoutNs <= 0 || connectTimeoutMs <= 0)
        {
            throw new InvalidConfigurationException("timeouts must be positive: request " + requestTimeoutNs +
                " ns, operator " + operatorTimeoutNs + " ns, connect " + connectTimeoutMs + " ms");
        }
    }

    List<String> addresses()
    {
        return addresses;
    }

    String user()
    {
        return user;
    }

    String password()
    {
        return password;
    }

    String clientName()
    {
        return clientName;
    }

    long requestTimeoutNs()
    {
        return requestTimeoutNs;
    }

    long operatorTimeoutNs()
    {
        return operatorTimeoutNs;
    }

    int connectTimeoutMs()
    {
        return connectTimeoutMs;
    }

    int maxFrameBytes()
    {
        return maxFrameBytes;
    }

    boolean partitionAware()
    {
        return partitionAware;
    }

    boolean tls()
    {
        return tls;
    }

    Path trustStore()
    {
        return trustStore;
    }

    String trustStorePassword()
    {
        return trustStorePassword;
    }
}
