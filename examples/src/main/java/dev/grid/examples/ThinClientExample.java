package dev.grid.examples;

import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.Codecs;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * An application on the thin client, also the demo's data loader:
 * <pre>
 * ThinClientExample --host 127.0.0.1:10800 [--user U --password P] create CACHE BACKUPS
 * ThinClientExample --host ... load CACHE FROM TO TAG     # keys kFROM..kTO-1, values TAG-N, in batches
 * ThinClientExample --host ... check CACHE FROM TO TAG    # every key has its value; exit 1 if not
 * ThinClientExample --host ... transfer CACHE             # a transaction moving 10 from k0 to k1
 * </pre>
 * {@code --host} may repeat: the client uses any and fails over to the others.
 */
public final class ThinClientExample
{
    private ThinClientExample()
    {
    }

    /**
     * @param args see the class comment.
     */
    public static void main(final String[] args)
    {
        final ClientConfiguration config = new ClientConfiguration().clientName("thin-client-example");
        int i = 0;
        String user = null;
        String password = null;
        while (i < args.length && args[i].startsWith("--"))
        {
            switch (args[i])
            {
                case "--host" -> config.address(args[i + 1]);
                case "--user" -> user = args[i + 1];
                case "--password" -> password = args[i + 1];
                default -> usage("unknown option " + args[i]);
            }
            i += 2;
        }
        if (user != null)
        {
            config.credentials(user, password);
        }
        if (i + 1 >= args.length)
        {
            usage("missing command");
        }
        final String command = args[i];
        final String cacheName = args[i + 1];
        try (GridClient client = GridClient.connect(config))
        {
            switch (command)
            {
                case "create" ->
                {
                    client.createCache(new CacheConfiguration<>(cacheName, Codecs.STRING, Codecs.STRING)
                        .backups(Integer.parseInt(args[i + 2])));
                    System.out.println("created cache " + cacheName);
                }
                case "load" -> load(client.cache(cacheName), cacheName, Integer.parseInt(args[i + 2]),
                    Integer.parseInt(args[i + 3]), args[i + 4]);
                case "check" -> check(client.cache(cacheName), cacheName, Integer.parseInt(args[i + 2]),
                    Integer.parseInt(args[i + 3]), args[i + 4]);
                case "transfer" ->
                {
                    final Cache<String, String> cache = client.cache(cacheName);
                    try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
                        TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(10)))
                    {
                        final String from = tx.get(cache, "k0");
                        final String to = tx.get(cache, "k1");
                        tx.put(cache, "k0", from + " (sent)");
                        tx.put(cache, "k1", to + " (received)");
                        tx.commit();
                    }
                    System.out.println("k0 = " + cache.get("k0") + ", k1 = " + cache.get("k1"));
                }
                default -> usage("unknown command " + command);
            }
        }
    }

    /** Put keys {@code kFROM..kTO-1} with values {@code TAG-N}, in batches of 500. */
    private static void load(final Cache<String, String> cache, final String cacheName, final int from, final int to,
        final String tag)
    {
        final Map<String, String> batch = new HashMap<>();
        for (int k = from; k < to; k++)
        {
            batch.put("k" + k, tag + "-" + k);
            if (batch.size() == 500 || k == to - 1)
            {
                cache.putAll(batch);
                batch.clear();
            }
        }
        System.out.println("loaded " + (to - from) + " keys into " + cacheName + " (" + tag + ")");
    }

    /** Check that keys {@code kFROM..kTO-1} have values {@code TAG-N}; exit 1 if any does not. */
    private static void check(final Cache<String, String> cache, final String cacheName, final int from, final int to,
        final String tag)
    {
        int wrong = 0;
        for (int k = from; k < to; k++)
        {
            wrong += (tag + "-" + k).equals(cache.get("k" + k)) ? 0 : 1;
        }
        System.out.println("checked " + (to - from) + " keys of " + cacheName + ": " + wrong + " wrong");
        if (wrong > 0)
        {
            System.exit(1);
        }
    }

    private static void usage(final String why)
    {
        System.err.println(why + "\nusage: ThinClientExample --host H:P [--user U --password P] " +
            "(create CACHE BACKUPS | load CACHE FROM TO TAG | check CACHE FROM TO TAG | transfer CACHE)");
        System.exit(2);
    }
}
