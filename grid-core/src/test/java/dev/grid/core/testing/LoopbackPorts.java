package dev.grid.core.testing;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports on 127.0.0.1 for test members, chosen below the kernel's ephemeral range.
 *
 * <p>Why not port 0: a port the kernel hands out for a bind to 0 comes from the ephemeral range, and it is free only
 * until the test's member binds it. Meanwhile every Aeron publication a starting member opens binds an ephemeral
 * port of its own, and a member process takes a second or more to start: now and then one member's publication took
 * the port chosen for another, which then failed to start. Ports below 32768 (Linux's default ephemeral range starts
 * there) are never handed out for a bind to 0, so only another test's explicit choice can take one, and each port is
 * given out once per JVM.
 *
 * <p>Thread-safe.
 */
public final class LoopbackPorts
{
    private static final int FIRST = 20_000;
    private static final int END = 32_768;
    private static final int ATTEMPTS = 1_000;
    private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();

    private LoopbackPorts()
    {
    }

    /**
     * @return a port free for UDP and TCP on the loopback address now, not given out before by this JVM.
     */
    public static int next()
    {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++)
        {
            final int port = ThreadLocalRandom.current().nextInt(FIRST, END);
            if (GIVEN.add(port) && isFree(port))
            {
                return port;
            }
        }
        throw new IllegalStateException("no free loopback port in [" + FIRST + ", " + END + ") after " + ATTEMPTS +
            " attempts");
    }

    /**
     * @param count how many ports, at least 1.
     * @return the first of {@code count} consecutive ports free for UDP and TCP on the loopback address now, none
     *         given out before by this JVM (a member of several shards binds {@code port + shard}).
     */
    public static int nextRun(final int count)
    {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++)
        {
            final int first = ThreadLocalRandom.current().nextInt(FIRST, END - count);
            int taken = 0;
            while (taken < count && GIVEN.add(first + taken))
            {
                taken++;
            }
            boolean free = taken == count;
            for (int i = 0; free && i < count; i++)
            {
                free = isFree(first + i);
            }
            if (free)
            {
                return first;
            }
        }
        throw new IllegalStateException("no " + count + " consecutive free loopback ports in [" + FIRST + ", " + END +
            ") after " + ATTEMPTS + " attempts");
    }

    private static boolean isFree(final int port)
    {
        final InetAddress loopback = InetAddress.getLoopbackAddress();
        try (DatagramSocket udp = new DatagramSocket(port, loopback);
             ServerSocket tcp = new ServerSocket(port, 1, loopback))
        {
            return udp.getLocalPort() == port && tcp.getLocalPort() == port;
        }
        catch (final IOException ex)
        {
            return false;
        }
    }
}
