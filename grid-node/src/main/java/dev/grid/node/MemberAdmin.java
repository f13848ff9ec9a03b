package dev.grid.node;

import dev.grid.core.BaselineTopology;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.ConsistencyReport;
import dev.grid.core.GridException;
import dev.grid.core.QuorumStatus;
import dev.grid.core.RebalanceStatus;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.CopyView;
import dev.grid.core.engine.OpOutcome;
import dev.grid.core.engine.TransactionView;
import dev.grid.core.engine.TxCallback;

import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * The operator's side of a member, asynchronously: baseline, lost partitions, activation, transactions, copies,
 * consistency, quorum and rebalance status. {@link GridMember}'s blocking methods and the thin client's requests
 * ({@link ClientService}) both go through it. Each question runs on the member's agent thread
 * ({@link GridMember#execute}); the returned future completes there, or fails with a stopping error if the member
 * closes first. Thread-safe: it keeps no state of its own.
 */
final class MemberAdmin
{
    private final GridMember member;

    MemberAdmin(final GridMember member)
    {
        this.member = member;
    }

    CompletableFuture<List<TransactionView>> activeTransactions()
    {
        return member.query(() -> member.engine.transactions().list());
    }

    CompletableFuture<Void> killTransaction(final long id)
    {
        final CompletableFuture<Void> future = new CompletableFuture<>();
        member.execute(() -> member.engine.transactions().kill(id, new TxCallback()
        {
            public void onSuccess(final byte[][] values)
            {
                future.complete(null);
            }

            public void onFailure(final GridException failure)
            {
                future.completeExceptionally(failure);
            }
        }), future);
        return future;
    }

    CompletableFuture<BaselineTopology> baseline()
    {
        return member.query(() -> member.engine.status().baseline());
    }

    /**
     * @param change    a {@link Baseline} change code.
     * @param memberIds the members it names.
     * @param timeoutNs the auto-adjust timeout, for {@link Baseline#AUTO_ADJUST}.
     * @return completed once the change is in the topology.
     */
    CompletableFuture<OpOutcome> changeBaseline(final int change, final List<String> memberIds, final long timeoutNs)
    {
        final CompletableFuture<OpOutcome> future = new CompletableFuture<>();
        member.execute(() -> member.engine.admin().changeBaseline(change, memberIds, timeoutNs,
            new FutureCallback(future)), future);
        return future;
    }

    CompletableFuture<List<Integer>> lostPartitions(final String cacheName)
    {
        return member.query(() -> member.engine.status().lostPartitions(cacheName));
    }

    CompletableFuture<OpOutcome> resetLostPartitions(final String cacheName)
    {
        final CompletableFuture<OpOutcome> future = new CompletableFuture<>();
        member.execute(() -> member.engine.admin().resetLostPartitions(cacheName, new FutureCallback(future)), future);
        return future;
    }

    CompletableFuture<OpOutcome> activate()
    {
        final CompletableFuture<OpOutcome> future = new CompletableFuture<>();
        member.execute(() -> member.engine.admin().activate(new FutureCallback(future)), future);
        return future;
    }

    CompletableFuture<SortedMap<Integer, CopyView>> localCopies(final String cacheName)
    {
        return member.query(() ->
        {
            final CacheDescriptor cache = member.engine.cache(cacheName);
            if (cache == null)
            {
                throw new CacheNotFoundException("no cache named '" + cacheName + "'");
            }
            final SortedMap<Integer, CopyView> views = new TreeMap<>();
            for (int p = 0; p < cache.partitions(); p++)
            {
                final CopyView view = member.engine.status().copy(cache.cacheId(), p);
                if (view != null)
                {
                    views.put(p, view);
                }
            }
            return views;
        });
    }

    CompletableFuture<ConsistencyReport> checkConsistency(final String cacheName)
    {
        final CompletableFuture<ConsistencyReport> future = new CompletableFuture<>();
        member.execute(() -> member.engine.status().checkConsistency(cacheName, (report, error) ->
        {
            if (error != null)
            {
                future.completeExceptionally(error);
            }
            else
            {
                future.complete(report);
            }
        }), future);
        return future;
    }

    CompletableFuture<QuorumStatus> quorum()
    {
        return member.query(() -> member.engine.status().quorum());
    }

    CompletableFuture<RebalanceStatus> rebalanceStatus()
    {
        return member.query(() -> member.engine.status().rebalanceStatus());
    }
}
