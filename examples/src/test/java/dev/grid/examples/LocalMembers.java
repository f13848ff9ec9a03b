package dev.grid.examples;

import dev.grid.core.EntryProcessor;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.MergeOperator;
import dev.grid.core.testing.LoopbackPorts;
import dev.grid.node.GridMember;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Members in this JVM on loopback, each serving thin clients on a free TCP port, for the thin-client tests. Closing
 * stops every member it started.
 */
final class LocalMembers implements AutoCloseable
{
    /** The merge operator every member registers: appends the operand to the current string. */
    static final String APPEND = "append";
    static final MergeOperator<String, String> APPEND_OPERATOR = (key, current, operands) ->
    {
        final StringBuilder merged = new StringBuilder(current == null ? "" : current);
        operands.forEach(merged::append);
        return merged.toString();
    };

    /** An entry processor every member registers: appends the argument and returns the value it had. */
    static final String APPEND_OLD = "appendOld";

    final List<GridMember> members = new ArrayList<>();

    static LocalMembers start(final int n, final Consumer<MemberConfiguration> extra)
    {
        final List<String> seeds = new ArrayList<>();
        final List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < n; i++)
        {
            ports.add(LoopbackPorts.next());
            seeds.add("127.0.0.1:" + ports.get(i));
        }
        final LocalMembers cluster = new LocalMembers();
        final List<CompletableFuture<GridMember>> starts = new ArrayList<>();
        for (int i = 0; i < n; i++)
        {
            final MemberConfiguration config = new MemberConfiguration("m" + i).port(ports.get(i))
                .heartbeatIntervalNs(TimeUnit.MILLISECONDS.toNanos(100))
                .failureDetectionTimeoutNs(TimeUnit.MILLISECONDS.toNanos(1500))
                .joinTimeoutNs(TimeUnit.SECONDS.toNanos(10)).clientPort(0)
                .mergeOperator(APPEND, APPEND_OPERATOR)
                .entryProcessor(APPEND_OLD, (EntryProcessor<String, String>)(entry, argument) ->
                {
                    final String old = entry.value();
                    entry.setValue((old == null ? "" : old) + argument);
                    return old;
                });
            seeds.forEach(config::addSeed);
            extra.accept(config);
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
            starts.forEach(s -> s.thenAccept(GridMember::close));
            cluster.close();
            throw ex;
        }
        return cluster;
    }

    String clientAddress(final int member)
    {
        return "127.0.0.1:" + members.get(member).clientPort();
    }

    @Override
    public void close()
    {
        members.forEach(GridMember::close);
    }
}
