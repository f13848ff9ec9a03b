package dev.grid.examples;

import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.Grid;
import dev.grid.core.MemberConfiguration;
import dev.grid.core.Transaction;

/**
 * An application that embeds a cluster member: it starts a member (a one-member cluster on 127.0.0.1 unless seeds say
 * otherwise), creates a cache, writes, reads and moves money between two accounts in a transaction, then leaves.
 * <p>
 * Run: {@code java -cp <classpath> dev.grid.examples.EmbeddedMemberExample [udpPort] [seed host:port ...]}.
 */
public final class EmbeddedMemberExample
{
    private EmbeddedMemberExample()
    {
    }

    /**
     * @param args optional UDP port, then seeds.
     */
    public static void main(final String[] args)
    {
        final int port = args.length > 0 ? Integer.parseInt(args[0]) : 47_600;
        final MemberConfiguration config = new MemberConfiguration("embedded-" + port).port(port)
            .addSeed("127.0.0.1:" + port);
        for (int i = 1; i < args.length; i++)
        {
            config.addSeed(args[i]);
        }
        try (Grid grid = Grid.start(config))
        {
            final Cache<String, Long> accounts = grid.createCache(new CacheConfiguration<>("accounts", Codecs.STRING,
                Codecs.LONG).backups(1));
            accounts.put("alice", 100L);
            accounts.put("bob", 20L);
            try (Transaction tx = grid.transactions().begin())
            {
                final long alice = tx.get(accounts, "alice");
                tx.put(accounts, "alice", alice - 30);
                tx.put(accounts, "bob", tx.get(accounts, "bob") + 30);
                tx.commit();
            }
            System.out.println("alice " + accounts.get("alice") + ", bob " + accounts.get("bob") +
                ", rebalance " + grid.rebalanceStatus().active() + ", baseline " + grid.baseline().members());
        }
    }
}
