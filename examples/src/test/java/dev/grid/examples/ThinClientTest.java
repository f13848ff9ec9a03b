package dev.grid.examples;

import dev.grid.client.ClientAdmin;
import dev.grid.client.ClientConfiguration;
import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.CacheConfiguration;
import dev.grid.core.CacheNotFoundException;
import dev.grid.core.Codecs;
import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.KeyPartitioner;
import dev.grid.core.MemberMetrics;
import dev.grid.core.PredicateResult;
import dev.grid.core.Transaction;
import dev.grid.core.TransactionConcurrency;
import dev.grid.core.TransactionIsolation;
import dev.grid.core.TransactionAbortedException;
import dev.grid.core.ValuePredicate;
import dev.grid.core.client.ClientProtocol;
import dev.grid.core.codec.MessageWriter;
import dev.grid.node.GridMember;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The thin client against three members in this JVM: every cache operation, interactive transactions, cache
 * lifecycle, and partition awareness (each key's request is served by its primary, as the members' metrics show).
 */
class ThinClientTest
{
    private static LocalMembers cluster;
    private static GridClient client;

    @BeforeAll
    static void start()
    {
        cluster = LocalMembers.start(3, config -> { });
        client = GridClient.connect(new ClientConfiguration().address(cluster.clientAddress(0)));
    }

    @AfterAll
    static void stop()
    {
        if (client != null)
        {
            client.close();
        }
        cluster.close();
    }

    /** Issue 17, item 2: a 16 MiB value through the thin client, with a backup; one over the limit is refused. */
    @Test
    void aSixteenMebibyteValueIsStoredAndReadBack()
    {
        final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("large", Codecs.STRING,
            Codecs.STRING).partitions(8).backups(1));
        final String value = "0123456789abcdef".repeat(1 << 20);
        cache.put("large", value);
        assertEquals(value, cache.get("large"));
        assertEquals(value, cluster.members.get(2).<String, String>cache("large").get("large"), "through m2");
        final GridException refused = assertThrows(GridException.class, () -> cache.put("larger",
            value + "x".repeat(2 << 20)));
        assertEquals(ErrorCode.VALUE_TOO_LARGE, refused.errorCode(), refused.getMessage());
        assertEquals(null, cache.get("larger"));
    }

    @Test
    void everyCacheOperationWorksThroughTheThinClient()
    {
        final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("ops", Codecs.STRING,
            Codecs.STRING).backups(1).partitions(64).mergeOperator(LocalMembers.APPEND, LocalMembers.APPEND_OPERATOR));
        assertTrue(client.caches().contains("ops"));
        assertNull(cache.get("a"));
        cache.put("a", "1");
        assertEquals("1", cache.get("a"));
        assertFalse(cache.putIfAbsent("a", "2"));
        assertTrue(cache.putIfAbsent("b", "2"));
        assertFalse(cache.replace("a", "x", "3"));
        assertTrue(cache.replace("a", "1", "3"));
        assertEquals("3", cache.get("a"));
        assertTrue(cache.containsKey("b"));
        assertFalse(cache.remove("b", "wrong"));
        assertTrue(cache.remove("b", "2"));
        assertFalse(cache.containsKey("b"));
        assertEquals("3+", cache.merge("a", "+"));
        final Map<String, String> many = new HashMap<>();
        for (int i = 0; i < 200; i++)
        {
            many.put("k" + i, "v" + i);
        }
        cache.putAll(many);
        assertEquals(201, cache.size());
        final Map<String, String> read = cache.getAll(List.of("k1", "k2", "missing"));
        assertEquals(Map.of("k1", "v1", "k2", "v2"), read);
        assertTrue(cache.remove("a"));
        assertFalse(cache.remove("a"));
        assertEquals("v7", cache.getAsync("k7").join());
        // The same data through an embedded member.
        assertEquals("v9", cluster.members.get(2).<String, String>cache("ops").get("k9"));
        client.destroyCache("ops");
        assertThrows(CacheNotFoundException.class, () -> client.cache("ops"));
    }

    /**
     * A write resent after a broken connection applies once, through any member and after another client wrote its
     * key (issue 15, item 5: resent under a new identity, it applied again over the later write, ABA). The frames are
     * sent raw, as the client library resends them: the same bytes, with the client's identity and the write's number.
     */
    @Test
    void aWriteResentAfterABrokenConnectionAppliesOnceThroughAnyMember() throws IOException
    {
        final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("resent", Codecs.STRING,
            Codecs.STRING).backups(1).partitions(16).mergeOperator(LocalMembers.APPEND, LocalMembers.APPEND_OPERATOR));
        final long clientId = ClientProtocol.newClientId(new Random(3)::nextLong);
        final MessageWriter merge = new MessageWriter();
        merge.writeByte(ClientProtocol.MERGE).writeLong(77).writeString("resent").writeLong(clientId).writeLong(9)
            .writeLong(9).writeBytes(Codecs.STRING.encode("k")).writeBytes(Codecs.STRING.encode("a;"));
        final byte[] frame = new byte[merge.length()];
        merge.buffer().getBytes(0, frame);

        assertEquals("a;", rawMerge(0, frame), "the first attempt, whose connection then closed");
        assertEquals("a;b;", cache.merge("k", "b;"), "another client's write after it");
        assertEquals("a;", rawMerge(1, frame), "a resend through another member gets the first outcome");
        assertEquals("a;", rawMerge(2, frame), "and so does one through the third");
        assertEquals("a;b;", cache.get("k"), "no resend applied again");
    }

    /** Send one request frame on a new connection to a member, and read its answer's value. */
    private static String rawMerge(final int member, final byte[] request) throws IOException
    {
        final String[] address = cluster.clientAddress(member).split(":");
        try (Socket socket = new Socket())
        {
            socket.connect(new InetSocketAddress(address[0], Integer.parseInt(address[1])), 5_000);
            socket.setSoTimeout(20_000);
            final DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            final DataInputStream in = new DataInputStream(socket.getInputStream());
            final MessageWriter handshake = new MessageWriter();
            handshake.writeByte(ClientProtocol.HANDSHAKE).writeLong(1).writeInt(ClientProtocol.MAGIC)
                .writeUnsignedShort(ClientProtocol.VERSION).writeUnsignedShort(ClientProtocol.VERSION)
                .writeString(null).writeString(null).writeString("raw");
            final byte[] hello = new byte[handshake.length()];
            handshake.buffer().getBytes(0, hello);
            ByteBuffer answer = null;
            for (final byte[] frame : new byte[][] {hello, request})
            {
                out.writeInt(Integer.reverseBytes(frame.length));
                out.write(frame);
                out.flush();
                final byte[] body = new byte[Integer.reverseBytes(in.readInt())];
                in.readFully(body);
                answer = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
            }
            answer.position(ClientProtocol.ANSWER_HEADER);
            if (answer.get(0) != ClientProtocol.OK)
            {
                final int code = answer.getInt();
                final byte[] message = new byte[answer.getInt()];
                answer.get(message);
                throw new AssertionError("the merge failed: " + code + " " +
                    new String(message, StandardCharsets.UTF_8));
            }
            final byte[] value = new byte[answer.getInt()];
            answer.get(value);
            return new String(value, StandardCharsets.UTF_8);
        }
    }

    @Test
    void interactiveTransactionsCommitAndRollBackThroughTheThinClient()
    {
        final Cache<String, Long> accounts = client.createCache(new CacheConfiguration<>("accounts", Codecs.STRING,
            Codecs.LONG).backups(1).partitions(32));
        accounts.put("alice", 100L);
        accounts.put("bob", 0L);
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(10)))
        {
            final long alice = tx.get(accounts, "alice");
            tx.put(accounts, "alice", alice - 30);
            tx.put(accounts, "bob", tx.get(accounts, "bob") + 30);
            tx.commit();
        }
        assertEquals(70L, accounts.get("alice"));
        assertEquals(30L, accounts.get("bob"));
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.OPTIMISTIC,
            TransactionIsolation.SERIALIZABLE, Duration.ofSeconds(10)))
        {
            tx.put(accounts, "alice", 0L);
            tx.remove(accounts, "bob");
            tx.rollback();
        }
        assertEquals(70L, accounts.get("alice"));
        assertEquals(30L, accounts.get("bob"));
        client.destroyCache("accounts");
        final Cache<String, String> log = client.createCache(new CacheConfiguration<>("log", Codecs.STRING,
            Codecs.STRING).partitions(8).mergeOperator(LocalMembers.APPEND, LocalMembers.APPEND_OPERATOR));
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(10)))
        {
            tx.merge(log, "entry", "a");
            tx.merge(log, "entry", "b");
            tx.commit();
        }
        assertEquals("ab", log.get("entry"));
        client.destroyCache("log");
    }

    /**
     * A finished transaction answers a later commit or rollback with its outcome, through the thin client as on a
     * member: a commit after a rollback fails (it used to return normally through the thin client, as if the writes
     * were applied), a second commit returns as the first did, a rollback after a commit fails.
     */
    @Test
    void aFinishedTransactionAnswersALaterCommitOrRollbackWithItsOutcome()
    {
        final Cache<String, Long> counts = client.createCache(new CacheConfiguration<>("finished", Codecs.STRING,
            Codecs.LONG).backups(1).partitions(8));
        final GridMember member = cluster.members.get(0);
        finishedTransactionAnswersWithItsOutcome("thin client", () -> client.beginTransaction(
            TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(10)), counts);
        finishedTransactionAnswersWithItsOutcome("member", () -> member.transactions().begin(
            TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(10)),
            member.cache("finished"));
        client.destroyCache("finished");
    }

    /**
     * A blocking write the client does not wait for (a key the transaction holds locked, or any write under
     * OPTIMISTIC) that the member refuses makes the commit roll back: the commit fails with the write's own error and
     * nothing of the transaction is applied, not the writes that went before it; so does an asynchronous write's. A
     * blocking write the client waits for and whose failure the caller handles leaves the transaction as it was.
     */
    @Test
    void aWriteNotWaitedForThatFailsRollsTheCommitBack()
    {
        // No merge operator: a merge is refused by the member, after the client has gone on.
        final Cache<String, Long> ledger = client.createCache(new CacheConfiguration<>("ledger", Codecs.STRING,
            Codecs.LONG).backups(1).partitions(8));
        ledger.put("a", 10L);
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(10)))
        {
            tx.put(ledger, "a", tx.get(ledger, "a") + 1);
            tx.merge(ledger, "a", 5L);
            assertEquals(11L, tx.get(ledger, "a"), "the transaction reads its own write");
            final GridException refused = assertThrows(GridException.class, tx::commit);
            assertEquals(ErrorCode.MERGE_FAILED, refused.errorCode(), "the write's own error, not an abort to retry");
            assertTrue(refused.getMessage().contains("nothing was applied") &&
                refused.getMessage().contains("merge operator"), refused.getMessage());
            tx.rollback();
        }
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.OPTIMISTIC,
            TransactionIsolation.SERIALIZABLE, Duration.ofSeconds(10)))
        {
            tx.put(ledger, "b", 1L);
            // Asynchronous and not waited for by its caller either: its failure dooms the commit too.
            tx.mergeAsync(ledger, "b", 2L);
            assertEquals(ErrorCode.MERGE_FAILED, assertThrows(GridException.class, tx::commit).errorCode());
        }
        assertEquals(10L, ledger.get("a"), "the put before the refused merge is not applied");
        assertNull(ledger.get("b"));
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(10)))
        {
            tx.put(ledger, "a", tx.get(ledger, "a") + 1);
            // Waited for (a key not locked yet): its failure is the caller's to handle, and the transaction goes on.
            assertEquals(ErrorCode.MERGE_FAILED, assertThrows(GridException.class,
                () -> tx.merge(ledger, "c", 5L)).errorCode());
            tx.remove(ledger, "b");
            tx.commit();
        }
        assertEquals(11L, ledger.get("a"), "writes not waited for commit when none fails");
        client.destroyCache("ledger");
    }

    /**
     * More writes not waited for than the client keeps outstanding (16): the oldest are waited for as new ones go
     * out, and the commit applies every one, under PESSIMISTIC (keys read first) and OPTIMISTIC.
     */
    @Test
    void moreWritesNotWaitedForThanTheClientKeepsOutstandingAllCommit()
    {
        final Cache<String, Long> many = client.createCache(new CacheConfiguration<>("many", Codecs.STRING,
            Codecs.LONG).backups(1).partitions(16));
        final int keys = 40;
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(30)))
        {
            for (int i = 0; i < keys; i++)
            {
                assertNull(tx.get(many, "k" + i));
            }
            for (int i = 0; i < keys; i++)
            {
                tx.put(many, "k" + i, (long)i);
            }
            tx.commit();
        }
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.OPTIMISTIC,
            TransactionIsolation.SERIALIZABLE, Duration.ofSeconds(30)))
        {
            for (int i = 0; i < keys; i++)
            {
                tx.put(many, "o" + i, (long)-i);
            }
            tx.commit();
        }
        for (int i = 0; i < keys; i++)
        {
            assertEquals((long)i, many.get("k" + i), "k" + i);
            assertEquals((long)-i, many.get("o" + i), "o" + i);
        }
        client.destroyCache("many");
    }

    private static void finishedTransactionAnswersWithItsOutcome(final String through,
        final Supplier<Transaction> begin, final Cache<String, Long> cache)
    {
        cache.put("k", 1L);
        try (Transaction rolledBack = begin.get())
        {
            rolledBack.put(cache, "k", 2L);
            rolledBack.rollback();
            final TransactionAbortedException late = assertThrows(TransactionAbortedException.class,
                rolledBack::commit, through + ": commit after rollback");
            assertEquals(ErrorCode.TX_ROLLED_BACK, late.errorCode(), through);
            rolledBack.rollback();
        }
        assertEquals(1L, cache.get("k"), through + ": nothing of the rolled back transaction applied");
        try (Transaction committed = begin.get())
        {
            committed.put(cache, "k", 3L);
            committed.commit();
            committed.commit();
            final GridException late = assertThrows(GridException.class, committed::rollback,
                through + ": rollback after commit");
            assertEquals(ErrorCode.CONFIGURATION_INVALID, late.errorCode(), through);
        }
        assertEquals(3L, cache.get("k"), through);
    }

    @Test
    void predicateTransactionsCommitOrReportWhatTheirPredicatesSaw()
    {
        final Cache<String, Long> accounts = client.createCache(new CacheConfiguration<>("predicates", Codecs.STRING,
            Codecs.LONG).backups(1).partitions(32));
        accounts.put("alice", 100L);
        final PredicateResult opened = client.predicateTransaction(Duration.ofSeconds(10))
            .predicate(accounts, "alice", ValuePredicate.equalTo(100L))
            .predicate(accounts, "carol", ValuePredicate.absent())
            .set(accounts, "alice", 60L)
            .set(accounts, "carol", 40L)
            .execute();
        assertEquals(new PredicateResult.Committed(1), opened);
        assertEquals(60L, accounts.get("alice"));
        assertEquals(40L, accounts.get("carol"));
        final PredicateResult refused = client.predicateTransaction(Duration.ofSeconds(10))
            .predicate(accounts, "alice", ValuePredicate.equalTo(100L))
            .predicate(accounts, "carol", ValuePredicate.present())
            .del(accounts, "carol")
            .execute();
        assertEquals(new PredicateResult.PredicateFailure(List.of(
            new PredicateResult.SeenValue("predicates", "alice", 60L, false),
            new PredicateResult.SeenValue("predicates", "carol", 40L, true))), refused);
        assertEquals(40L, accounts.get("carol"), "nothing changed");
        assertThrows(UnsupportedOperationException.class, () -> client.predicateTransaction(Duration.ofSeconds(1))
            .predicate(accounts, "alice", (k, v) -> v != null));
        // The same predicates work embedded.
        final Cache<String, Long> embedded = cluster.members.get(1).cache("predicates");
        assertEquals(new PredicateResult.Committed(1), cluster.members.get(1).transactions()
            .predicate(Duration.ofSeconds(10)).predicate(embedded, "carol", ValuePredicate.notEqualTo(0L))
            .del(embedded, "carol").execute());
        assertNull(accounts.get("carol"));
        client.destroyCache("predicates");
    }

    /**
     * Reads a primary answers at once read each key into an array kept for its length (ClientReads): keys of one
     * length, read one after another and interleaved with writes, each find their own value; a key longer than the
     * kept arrays, an absent key, and every kind of read (get, read, containsKey) too.
     */
    @Test
    void readsOfKeysOfOneLengthEachFindTheirOwnValue()
    {
        final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("lengths", Codecs.STRING,
            Codecs.STRING).backups(1).partitions(32));
        for (int i = 0; i < 100; i++)
        {
            cache.put(String.format("k%03d", i), "v" + i);
        }
        for (int round = 0; round < 2; round++)
        {
            for (int i = 99; i >= 0; i--)
            {
                final String key = String.format("k%03d", i);
                assertEquals("v" + i, cache.get(key), key);
                assertEquals("v" + i, cache.read(key).value(), key);
                assertFalse(cache.read(key).withoutQuorum(), key);
                assertTrue(cache.containsKey(key), key);
                assertFalse(cache.containsKey(String.format("x%03d", i)), key);
                assertNull(cache.get(String.format("x%03d", i)), key);
            }
            cache.put("k050", "changed");
            assertEquals("changed", cache.get("k050"));
            cache.put("k050", "v50");
        }
        final String longKey = "long".repeat(100);
        cache.put(longKey, "far");
        assertEquals("far", cache.get(longKey));
        assertTrue(cache.containsKey(longKey));
        assertNull(cache.get(longKey + "!"));
        client.destroyCache("lengths");
    }

    @Test
    void eachKeyRequestIsServedByItsPartitionsPrimary()
    {
        final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("aware", Codecs.STRING,
            Codecs.STRING).backups(1).partitions(128));
        // Warm up: the client learns the map and opens its connections.
        cache.put("warm", "up");
        final long[] before = routed();
        for (int i = 0; i < 300; i++)
        {
            cache.put("k" + i, "v" + i);
            assertEquals("v" + i, cache.get("k" + i));
        }
        final long[] after = routed();
        assertEquals(600, after[0] - before[0], "every request was served by the member that is its primary");
        assertEquals(0, after[1] - before[1], "no request was forwarded between members");
        assertEquals(Set.of("m0", "m1", "m2"), Set.copyOf(client.connectedMembers()),
            "the client reached every primary directly");
        client.destroyCache("aware");
    }

    /**
     * A transaction begins on the primary of its first step's key, so that its coordinator holds that partition (before,
     * every transaction of a client began on the one member its begin reached): the member listing each open
     * transaction is that key's primary, for keys of every member. A transaction with no step sends nothing: its commit
     * and its rollback succeed, and no member lists it.
     */
    @Test
    void aTransactionBeginsOnThePrimaryOfItsFirstStepsKey()
    {
        final int partitions = 32;
        final Cache<String, String> cache = client.createCache(new CacheConfiguration<>("colocated", Codecs.STRING,
            Codecs.STRING).backups(1).partitions(partitions));
        // Warm up: the client learns the map and opens its connections.
        cache.put("warm", "up");
        final Map<Integer, String> primaries = client.admin().primaries("colocated");
        final Set<String> coordinators = new HashSet<>();
        for (int i = 0; i < 24; i++)
        {
            final String key = "k" + i;
            final String primary = primaries.get(KeyPartitioner.partition(Codecs.STRING.encode(key), partitions));
            try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
                TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(30)))
            {
                assertNull(tx.get(cache, key));
                final List<String> listedBy = client.admin().transactions().stream()
                    .map(ClientAdmin.TransactionInfo::memberId).toList();
                assertEquals(List.of(primary), listedBy, "the transaction whose first key is " + key);
                tx.put(cache, key, "v" + i);
                tx.put(cache, "other" + i, "w" + i);
                tx.commit();
            }
            coordinators.add(primary);
            assertEquals("v" + i, cache.get(key));
            assertEquals("w" + i, cache.get("other" + i));
        }
        assertEquals(Set.of("m0", "m1", "m2"), coordinators, "first keys of every member's partitions");

        final long before = transactionsEnded();
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.PESSIMISTIC,
            TransactionIsolation.REPEATABLE_READ, Duration.ofSeconds(30)))
        {
            tx.commit();
            // As on a member: a step after the commit fails, and is not the first step of a new transaction.
            assertEquals(ErrorCode.CONFIGURATION_INVALID, assertThrows(GridException.class,
                () -> tx.put(cache, "late", "x")).errorCode());
        }
        try (Transaction tx = client.beginTransaction(TransactionConcurrency.OPTIMISTIC,
            TransactionIsolation.SERIALIZABLE, Duration.ofSeconds(30)))
        {
            tx.rollback();
            final CompletionException late = assertThrows(CompletionException.class,
                () -> tx.putAsync(cache, "late", "x").join());
            assertEquals(ErrorCode.TX_ROLLED_BACK, ((GridException) late.getCause()).errorCode());
        }
        assertNull(cache.get("late"));
        assertEquals(List.of(), client.admin().transactions());
        assertEquals(before, transactionsEnded(), "no member began, committed or rolled back a transaction");
        client.destroyCache("colocated");
    }

    /** Summed over the members: transactions they coordinated that committed or aborted (user rollbacks included). */
    private static long transactionsEnded()
    {
        long ended = 0;
        for (final GridMember member : cluster.members)
        {
            final MemberMetrics.TransactionCounts counts = member.metrics().transactions();
            ended += counts.commits() + counts.aborts().values().stream().mapToLong(Long::longValue).sum();
        }
        return ended;
    }

    /** Summed over the members: operations served as primary, and forwarded to another member. */
    private static long[] routed()
    {
        final long[] sums = new long[2];
        for (final GridMember member : cluster.members)
        {
            final MemberMetrics metrics = member.metrics();
            sums[0] += metrics.servedAsPrimary();
            sums[1] += metrics.forwarded();
        }
        return sums;
    }
}
