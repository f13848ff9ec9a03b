package dev.grid.examples;

import dev.grid.client.ClientAdmin;
import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;

/**
 * An operator's session in code (the same requests {@code grid-admin} makes): the members, the baseline, each
 * member's rebalance, and a consistency check of every cache.
 * <p>
 * Run: {@code java -cp <classpath> dev.grid.examples.AdminSessionExample host:port [user password]}.
 */
public final class AdminSessionExample
{
    private AdminSessionExample()
    {
    }

    /**
     * @param args a member's client address, optionally user and password.
     */
    public static void main(final String[] args)
    {
        final ClientConfiguration config = new ClientConfiguration().address(args.length > 0 ? args[0] :
            "127.0.0.1:10800").clientName("admin-session-example").partitionAware(false);
        if (args.length > 2)
        {
            config.credentials(args[1], args[2]);
        }
        try (GridClient client = GridClient.connect(config))
        {
            final ClientAdmin admin = client.admin();
            final ClientAdmin.ClusterState state = admin.clusterState();
            System.out.println("topology " + state.topologyVersion() + ", coordinator " + state.coordinator());
            for (final ClientAdmin.Member member : state.members())
            {
                final ClientAdmin.Rebalance rebalance = admin.onMember(member.memberId()).rebalanceStatus();
                System.out.println("  " + member.memberId() + " at " + member.clientAddress() + ": caught up " +
                    rebalance.totalHistorical() + " partitions historically, " + rebalance.totalFull() + " fully");
            }
            System.out.println("baseline " + admin.baseline().members() + ", offline " + admin.baseline().offline());
            for (final String cache : client.caches())
            {
                final ClientAdmin.ConsistencyResult result = admin.checkConsistency(cache);
                System.out.println("cache " + cache + ": " + result.partitionsChecked() + " partitions checked, " +
                    (result.isClean() ? "consistent" : result.conflicts().size() + " conflicts"));
            }
        }
    }
}
