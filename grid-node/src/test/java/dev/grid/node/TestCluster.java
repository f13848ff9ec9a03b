package dev.grid.node;

import dev.grid.core.EntryProcessor;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.MergeOperator;
import dev.grid.core.testing.LoopbackPorts;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Members on loopback for tests: free UDP ports, short heartbeats, every member a seed. Closing stops every member
 * it started.
 */
final class TestCluster implements AutoCloseable
{
    /** The merge operator every test member registers: appends operands to the current string. */
    static final String APPEND_NAME = "append";
    static final MergeOperator<String, String> APPEND = (key, current, operands) ->
    {
        final StringBuilder merged = new StringBuilder(current == null ? "" : current);
        operands.forEach(merged::append);
        return merged.length() == 0 ? null : merged.toString();
    };

    /** An entry processor every test member registers: appends the argument and returns the value it had. */
    static final String APPEND_OLD = "appendOld";
    /** An entry processor every test member registers: always throws. */
    static final String FAILING = "failing";
    /** An entry processor every test member registers: removes the entry if its value equals the argument. */
    static final String REMOVE_IF = "removeIf";
    /** Sets the value "v" with a time-to-live of the argument's milliseconds, or reports the entry's expiry time. */
    static final String EXPIRE_IN = "expireIn";

    final List<GridMember> members = new ArrayList<>();
    final List<String> addresses = new ArrayList<>();

    /** @return a loopback port for a test member ({@link LoopbackPorts} says why not port 0). */
    static int freeUdpPort()
    {
        return LoopbackPorts.next();
    }

    static MemberConfiguration config(final String id, final int port, final List<String> seeds)
    {
        final MemberConfiguration config = new MemberConfiguration(id)
            .port(port)
            .heartbeatIntervalNs(TimeUnit.MILLISECONDS.toNanos(100))
            .failureDetectionTimeoutNs(TimeUnit.MILLISECONDS.toNanos(1500))
            .joinTimeoutNs(TimeUnit.SECONDS.toNanos(10))
            .mergeOperator(APPEND_NAME, APPEND)
            .entryProcessor(APPEND_OLD, (EntryProcessor<String, String>)(entry, argument) ->
            {
                final String old = entry.value();
                entry.setValue((old == null ? "" : old) + argument);
                return old;
            })
            .entryProcessor(FAILING, (EntryProcessor<String, String>)(entry, argument) ->
            {
                throw new IllegalStateException("failing on purpose for " + entry.key());
            })
            .entryProcessor(EXPIRE_IN, (EntryProcessor<String, String>)(entry, argument) ->
            {
                if (argument.equals("report"))
                {
                    return !entry.exists() ? null : entry.expireAtMs() == 0 ? "0" :
                        Long.toString(entry.expireAtMs() - entry.nowMs());
                }
                entry.setValue("v");
                entry.setExpireAtMs(entry.nowMs() + Long.parseLong(argument));
                return null;
            })
            .entryProcessor(REMOVE_IF, (EntryProcessor<String, String>)(entry, argument) ->
            {
                if (entry.exists() && entry.value().equals(argument))
                {
                    entry.remove();
                    return "removed";
                }
                return null;
            });
        seeds.forEach(config::addSeed);
        return config;
    }

    /**
     * Start n members concurrently (as separate launches would) and wait until each joined.
     */
    static TestCluster start(final int n)
    {
        // Ports come from below the ephemeral range (LoopbackPorts), so no starting member's Aeron takes them; another
        // process on the machine still may: start again on other ports, a few times.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return startOnce(n);
            }
            catch (final RuntimeException ex)
            {
                if (attempt >= 3 || !String.valueOf(ex.getMessage()).contains("Address already in use"))
                {
                    throw ex;
                }
                System.out.println("a port was taken before its member bound it; starting again: " + ex);
            }
        }
    }

    private static TestCluster startOnce(final int n)
    {
        final TestCluster cluster = new TestCluster();
        final List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < n; i++)
        {
            ports.add(freeUdpPort());
            cluster.addresses.add("127.0.0.1:" + ports.get(i));
        }
        final List<CompletableFuture<GridMember>> starts = new ArrayList<>();
        for (int i = 0; i < n; i++)
        {
            final MemberConfiguration config = config("m" + i, ports.get(i), cluster.addresses);
            starts.add(CompletableFuture.supplyAsync(() -> GridMember.start(config)));
        }
        try
        {
            for (final CompletableFuture<GridMember> start : starts)
            {
                cluster.members.add(start.join());
            }
        }
        catch (final RuntimeException ex)
        {
            for (final CompletableFuture<GridMember> start : starts)
            {
                start.thenAccept(GridMember::close);
            }
            cluster.close();
            throw ex;
        }
        return cluster;
    }

    /**
     * Wait until every listed member sees a topology of the given size.
     */
    void awaitMembers(final int size, final long timeoutMs, final GridMember... of)
    {
        final long deadline = System.currentTimeMillis() + timeoutMs;
        for (final GridMember member : of)
        {
            while (member.topology() == null || member.topology().members().size() != size)
            {
                if (System.currentTimeMillis() > deadline)
                {
                    throw new AssertionError(member.configuration().memberId() + " still sees " +
                        (member.topology() == null ? "nothing" : member.topology().members()));
                }
                Thread.onSpinWait();
                Thread.yield();
            }
        }
    }

    public void close()
    {
        for (final GridMember member : members)
        {
            member.close();
        }
    }
}
